# tests/t/030_slots.pl -- background worker slots and stray sessions.
#
#  A. more concurrent clone() calls than free max_worker_processes slots:
#     all wait for a slot and succeed;
#  B. every slot taken (by parallel query workers): a caller with
#     pg_mint.worker_wait_timeout = 1ms fails with 53400 and leaves nothing
#     behind; a caller with the default timeout waits and succeeds once a
#     slot is free;
#  C. stray sessions on the target (idle, idle in an open transaction, busy
#     in a query): clone() replaces the target well under 5 s and ends them;
#     a stray session on the template during the build is ended by
#     template_finish; a session on a database pg_mint did not create is
#     never terminated; gc() leaves a clone alone while someone uses it.
#  Slot pressure lives in three files, each the one place for its part:
#  here, slots taken by *other* PostgreSQL workers (parallel query) and clones
#  queued behind a build; 130_fault_slots.pl, slots held by pg_mint's own
#  workers (24 concurrent clones/drops, never more workers than slots, the
#  53400 timing); 042_pool_slots.pl, refillers giving way to clones.
# mint-tap: alone (tests/run runs it with no other TAP file: asserts wall times (< 3 s) and holds every worker slot)
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(time);

my $node = PostgreSQL::Test::Cluster->new('slots');
$node->init;
# 4 slots, one of them taken by the logical replication launcher
$node->append_conf('postgresql.conf', "max_worker_processes = 4\nmax_connections = 60\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pg_mint');

my $bgworkers_sql = "SELECT count(*) FROM pg_stat_activity WHERE backend_type IN "
  . "('parallel worker', 'logical replication launcher', 'pg_mint worker')";

sub sqlstate_and_error
{
	my ($db, $sql) = @_;
	my ($stdout, $stderr);
	$node->psql($db, "\\set VERBOSITY verbose\n$sql", stdout => \$stdout, stderr => \$stderr);
	return ($stderr =~ /ERROR:\s+([0-9A-Z]{5}):/ ? $1 : 'no error', $stderr);
}

# psql running one command in the background
sub start_psql
{
	my ($db, $sql) = @_;
	my %h = (out => '', err => '');
	$h{run} = IPC::Run::start(
		[ 'psql', '-XAtq', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr($db), '-c', $sql ],
		'<', \undef, '>', \$h{out}, '2>', \$h{err},
		IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
	return \%h;
}

# the template: built by one session, schema over a second connection
my $builder = $node->background_psql('postgres');
is($builder->query_safe("SELECT mint.template_begin('app_tpl', 'v1')"), 'build', 'template build starts');
$node->safe_psql('app_tpl', 'CREATE TABLE items (id int); INSERT INTO items VALUES (1), (2), (3)');

# ---------------------------------------------------------------------------
# A. 12 clones at once, 3 free slots
# ---------------------------------------------------------------------------
# the clones queue behind the build, so all of them start the moment it ends
my $n = 12;
my @clones = map { start_psql('postgres', "SELECT mint.clone('app_tpl', 'slot_gw$_')") } 1 .. $n;
ok( $node->poll_query_until(
		'postgres',
		"SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = 0 AND objsubid = 28020 AND NOT granted",
		"$n"),
	"A: $n clones wait for the build");
$builder->query_safe("SELECT mint.template_finish('app_tpl')");
my $t0 = time;
my $ok = 0;
for my $i (1 .. $n)
{
	my $h = $clones[ $i - 1 ];
	$h->{run}->finish;
	$ok++ if $h->{run}->result == 0 && $h->{out} eq "slot_gw$i\n";
	diag("clone $i: $h->{err}") if $h->{err} ne '';
}
is($ok, $n, sprintf('A: all %d clones succeed with 3 free worker slots (%.2f s)', $n, time - $t0));
is( $node->safe_psql(
		'postgres',
		"SELECT count(*) FROM mint.databases WHERE kind = 'clone' AND state = 'ready' AND datname LIKE 'slot\\_gw%'"),
	"$n",
	'A: all are registered and ready');
is($node->safe_psql('slot_gw7', 'SELECT count(*) FROM items'), '3', 'A: a clone has the schema');
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_database WHERE datname LIKE '\\_mint\\_%'"),
	'0', 'A: no private leftovers');

# ---------------------------------------------------------------------------
# B. all slots taken by a parallel query
# ---------------------------------------------------------------------------
$node->safe_psql('postgres',
	'CREATE TABLE big AS SELECT g FROM generate_series(1, 200000) g; ANALYZE big');
my $hog = $node->background_psql('postgres', on_error_stop => 0);
my $hog_pid = $hog->query_safe('SELECT pg_backend_pid()');
$hog->query_until(
	qr/hogging/, q{SET max_parallel_workers_per_gather = 4;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET statement_timeout = '120s';
\echo hogging
SELECT count(*) FROM big WHERE pg_sleep(0.01) IS NOT NULL;
});
ok($node->poll_query_until('postgres', $bgworkers_sql, '4'), 'B: every worker slot is taken');

my ($state, $err) = sqlstate_and_error('postgres',
	"SET pg_mint.worker_wait_timeout = '1ms'; SELECT mint.clone('app_tpl', 'late_gw')");
is($state, '53400', 'B: an impatient caller fails with 53400');
like($err, qr/HINT:.*pg_mint\.worker_wait_timeout/, 'B: the hint names the setting');
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_database WHERE datname = 'late_gw' OR datname LIKE '\\_mint\\_%'"),
	'0', 'B: ... and leaves no database behind');
is($node->safe_psql('postgres', "SELECT count(*) FROM mint.registry WHERE datname = 'late_gw'"),
	'0', 'B: ... nor bookkeeping');
is( $node->safe_psql(
		'postgres', "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = 0 AND objsubid = 28020"),
	'0',
	'B: ... nor locks');

# a patient caller waits for a slot...
my $patient = start_psql('postgres', "SELECT mint.clone('app_tpl', 'patient_gw')");
ok( $node->poll_query_until(
		'postgres',
		"SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%patient_gw%' AND backend_type = 'client backend' AND wait_event_type = 'Extension'",
		'1'),
	'B: a patient caller waits for a free slot');
# ...and gets one when the parallel query ends
$node->safe_psql('postgres', "SELECT pg_cancel_backend($hog_pid)");
$patient->{run}->finish;
is($patient->{out}, "patient_gw\n", 'B: and succeeds once a slot is free');
$hog->quit;

# ---------------------------------------------------------------------------
# C. stray sessions
# ---------------------------------------------------------------------------
$node->safe_psql('postgres', "SELECT mint.clone('app_tpl', 'stray_gw')");
$node->safe_psql('stray_gw', 'INSERT INTO items VALUES (99)');
my $idle = $node->background_psql('stray_gw', on_error_stop => 0);
my $in_tx = $node->background_psql('stray_gw', on_error_stop => 0);
$in_tx->query_safe('BEGIN; UPDATE items SET id = id');
my $busy = start_psql('stray_gw', 'SELECT pg_sleep(120)');
ok($node->poll_query_until('postgres', "SELECT count(*) FROM pg_stat_activity WHERE datname = 'stray_gw'", '3'),
	'C: three stray sessions on the target');
my @stray_pids = split /\n/,
  $node->safe_psql('postgres', "SELECT pid FROM pg_stat_activity WHERE datname = 'stray_gw' ORDER BY pid");

$t0 = time;
is($node->safe_psql('postgres', "SELECT mint.clone('app_tpl', 'stray_gw')"), 'stray_gw',
	'C: clone replaces a target with stray sessions');
my $elapsed = time - $t0;
cmp_ok($elapsed, '<', 3, sprintf('C: ... well under 5 s (%.2f s)', $elapsed));
is( $node->safe_psql(
		'postgres', 'SELECT count(*) FROM pg_stat_activity WHERE pid IN (' . join(',', @stray_pids) . ')'),
	'0',
	'C: the stray sessions are gone');
is($node->safe_psql('stray_gw', 'SELECT count(*) FROM items'), '3', 'C: the target is a fresh copy');
$busy->{run}->finish;
isnt($busy->{run}->result, 0, 'C: the busy stray session was ended');
eval { $idle->quit; };
eval { $in_tx->quit; };

# a stray session on the template while it is being built is ended by
# template_finish, and the sealed template refuses new ones
$builder->query_safe("SELECT mint.template_begin('app_tpl', 'v2')");
my $on_tpl = $node->background_psql('app_tpl', on_error_stop => 0);
$on_tpl->query_safe('BEGIN; SELECT 1');
$t0 = time;
$builder->query_safe("SELECT mint.template_finish('app_tpl')");
$elapsed = time - $t0;
cmp_ok($elapsed, '<', 3, sprintf('C: template_finish ends the session on the template (%.2f s)', $elapsed));
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_stat_activity WHERE datname = 'app_tpl'"),
	'0', 'C: nobody left on the template');
# (the statement goes in -c: psql exits before reading stdin, and a write
# to it could fail with EPIPE)
my ($ret, $stdout, $stderr) = $node->psql('app_tpl', '', extra_params => [ '-c', 'SELECT 1' ]);
like($stderr, qr/not currently accepting connections/, 'C: a finished template refuses connections');
eval { $on_tpl->quit; };
$builder->quit;

# a session on a database pg_mint did not create is never terminated, not
# even when that database is cloned from (CREATE DATABASE itself refuses)
$node->safe_psql('postgres', 'CREATE DATABASE hand_src');
my $on_hand = $node->background_psql('hand_src', on_error_stop => 0);
my $hand_pid = $on_hand->query_safe('SELECT pg_backend_pid()');
($state, $err) = sqlstate_and_error('postgres', "SELECT mint.clone('hand_src', 'from_hand')");
is($state, '55006', 'C: cloning from a hand-made database with a session on it fails as CREATE DATABASE does');
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_stat_activity WHERE pid = $hand_pid"),
	'1', 'C: the session on the hand-made database was not terminated');
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_database WHERE datname = 'from_hand' OR datname LIKE '\\_mint\\_%'"),
	'0', 'C: nothing left behind');
$on_hand->quit;

# gc leaves a clone with a session alone, and takes it once it is free
my $user = $node->background_psql('slot_gw1', on_error_stop => 0);
$user->query_safe('SELECT 1');
my $gone = $node->safe_psql('postgres', "SELECT string_agg(g, ',' ORDER BY g) FROM mint.gc('0') g");
unlike(",$gone,", qr/,slot_gw1,/, 'C: gc keeps a clone that is in use');
like(",$gone,", qr/,slot_gw2,/, 'C: gc drops idle clones');
$user->quit;
ok($node->poll_query_until('postgres', "SELECT count(*) FROM pg_stat_activity WHERE datname = 'slot_gw1'", '0'),
	'C: the clone is free');
is($node->safe_psql('postgres', "SELECT string_agg(g, ',') FROM mint.gc('0') g"), 'slot_gw1',
	'C: gc takes it now');

$node->stop;
done_testing();
