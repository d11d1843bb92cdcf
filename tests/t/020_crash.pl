# tests/t/020_crash.pl -- a builder that dies mid-build.
#
# A template whose build was never finished must never be reported 'ready'
# or cloned, and must not block anybody: the next template_begin rebuilds it.
#  A. the builder's client process is killed with SIGKILL while another
#     worker waits in template_begin: the waiter becomes the builder at once;
#  B. the builder's server process is killed with SIGKILL (the postmaster
#     restarts every session): afterwards nothing is locked, the unfinished
#     template cannot be cloned (55000) and the next template_begin rebuilds.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

my $node = PostgreSQL::Test::Cluster->new('crash');
$node->init;
# the test framework turns restart_after_crash off; B needs the usual restart
$node->append_conf('postgresql.conf', "max_worker_processes = 8\nrestart_after_crash = on\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pg_mint');

my $locks_sql = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = 0 AND objsubid = 28020";

# SQLSTATE of a statement that is expected to fail
sub sqlstate_of
{
	my ($db, $sql) = @_;
	my ($stdout, $stderr);
	$node->psql($db, "\\set VERBOSITY verbose\n$sql", stdout => \$stdout, stderr => \$stderr);
	return $stderr =~ /ERROR:\s+([0-9A-Z]{5}):/ ? $1 : "no error ($stderr)";
}

# ---------------------------------------------------------------------------
# A. the builder's client is killed while another session waits
# ---------------------------------------------------------------------------
my $builder = $node->background_psql('postgres', on_error_stop => 0);
is($builder->query_safe("SELECT mint.template_begin('app_tpl', 'v1')"), 'build', 'A: first caller builds');

# the schema is created over a second connection, half of it
$node->safe_psql('app_tpl', 'CREATE TABLE half_built (id int)');

# a second worker waits in template_begin
my $waiter = $node->background_psql('postgres', on_error_stop => 0);
$waiter->query_until(qr/waiting now/, "\\echo waiting now\nSELECT mint.template_begin('app_tpl', 'v1');\n");
ok( $node->poll_query_until('postgres', "$locks_sql AND NOT granted", '1'),
	'A: the second caller waits on the build lock');

# SIGKILL the builder process (a test runner killed mid-build)
$builder->{run}->signal('KILL');
my $t0 = time;
my $out = $waiter->query("SELECT 'end'");
my $elapsed = time - $t0;
is($out, "build\nend", 'A: the waiter becomes the builder');
cmp_ok($elapsed, '<', 10, sprintf('A: ... promptly (%.2f s)', $elapsed));
eval { $builder->{run}->finish; };

# the half-built template was dropped, not reused
is($node->safe_psql('app_tpl', "SELECT count(*) FROM pg_class WHERE relname = 'half_built'"),
	'0', 'A: the rebuilt template starts empty');
is($node->safe_psql('postgres', "SELECT state FROM mint.databases WHERE datname = 'app_tpl'"),
	'building', 'A: the new build is in progress');
is($node->safe_psql('postgres', "$locks_sql AND granted"), '1', 'A: exactly one build lock, held by the new builder');

$node->safe_psql('app_tpl', 'CREATE TABLE items (id int); INSERT INTO items VALUES (1), (2)');
$waiter->query_safe("SELECT mint.template_finish('app_tpl')");
is($node->safe_psql('postgres', "SELECT mint.clone('app_tpl', 'app_gw0')"), 'app_gw0', 'A: the new template clones');
is($node->safe_psql('app_gw0', 'SELECT count(*) FROM items'), '2', 'A: with the new schema');
$waiter->quit;
is($node->safe_psql('postgres', $locks_sql), '0', 'A: no pg_mint lock left');

# ---------------------------------------------------------------------------
# B. the builder's backend is killed with SIGKILL
# ---------------------------------------------------------------------------
$builder = $node->background_psql('postgres', on_error_stop => 0);
is($builder->query_safe("SELECT mint.template_begin('crash_tpl', 'v1')"), 'build', 'B: builds');
my $pid = $builder->query_safe('SELECT pg_backend_pid()');
$node->safe_psql('crash_tpl', 'CREATE TABLE half_built (id int)');

kill 'KILL', $pid or die "could not kill backend $pid: $!";
# the postmaster restarts all sessions; wait until it accepts connections again
ok($node->poll_query_until('postgres', 'SELECT 1', '1'), 'B: server back after the crash');
eval { $builder->{run}->finish; };

is($node->safe_psql('postgres', $locks_sql), '0', 'B: no pg_mint lock left in pg_locks');
is($node->safe_psql('postgres', "SELECT state FROM mint.databases WHERE datname = 'crash_tpl'"),
	'building', 'B: the template is recorded as unfinished');
is(sqlstate_of('postgres', "SELECT mint.clone('crash_tpl', 'crash_gw0')"), '55000',
	'B: an unfinished template cannot be cloned');
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_database WHERE datname = 'crash_gw0'"),
	'0', 'B: ... and no clone was made');

$builder = $node->background_psql('postgres', on_error_stop => 0);
$t0 = time;
is($builder->query_safe("SELECT mint.template_begin('crash_tpl', 'v1')"), 'build',
	'B: the next template_begin rebuilds');
$elapsed = time - $t0;
cmp_ok($elapsed, '<', 5, sprintf('B: ... promptly (%.2f s)', $elapsed));
is($node->safe_psql('crash_tpl', "SELECT count(*) FROM pg_class WHERE relname = 'half_built'"),
	'0', 'B: the rebuilt template starts empty');
$node->safe_psql('crash_tpl', 'CREATE TABLE items (id int)');
$builder->query_safe("SELECT mint.template_finish('crash_tpl')");
is($builder->query_safe("SELECT mint.template_begin('crash_tpl', 'v1')"), 'ready', 'B: finished now');
is($builder->query_safe("SELECT mint.clone('crash_tpl', 'crash_gw0')"), 'crash_gw0', 'B: and clones');
$builder->quit;

# a builder killed and never followed by another: gc removes its leftovers
$builder = $node->background_psql('postgres', on_error_stop => 0);
$builder->query_safe("SELECT mint.template_begin('orphan_tpl', 'v1')");
$builder->{run}->signal('KILL');
eval { $builder->{run}->finish; };
ok($node->poll_query_until('postgres', "$locks_sql", '0'), 'C: the dead builder\'s lock goes away');
is($node->safe_psql('postgres', 'SELECT string_agg(g, \',\' ORDER BY g) FROM mint.gc() g'),
	'orphan_tpl', 'C: gc drops the unfinished template of a dead builder, and nothing else');
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_database WHERE datname = 'orphan_tpl'"),
	'0', 'C: it is gone');

$node->stop;
done_testing();
