# tests/t/260_shared_server.pl -- one server for many CI jobs (issue 16):
# leases, quotas per role, admission control with its FIFO queue and
# mint.activity, and mint.stats; each as an ordinary and as a hostile role.
#
#  1. leases: clone(..., ttl) in every form, pg_mint.lease (SET and ALTER
#     ROLE), mint.databases.lease_expires, gc drops an expired lease whatever
#     its age and keeps a running lease whatever its age, never a clone with
#     a session unless gc(older_than, terminate => true); mint.renew extends
#     (with the clone's own ttl, an explicit one, or pg_mint.lease), refuses
#     what is not the caller's (42501), not a clone (42809), without lease
#     (22023); mint.janitor() runs gc detached as its caller (mallory's
#     leaves alice's expired lease alone); a pool hit gets the caller's lease;
#  2. quotas: only superusers set them (REVOKE, and the C check behind a
#     GRANT); databases and bytes, per role and default (superusers exempt);
#     refused at once with 53400 naming the quota and what uses it, nothing
#     created; a replace within the quota works; template builds count; two
#     concurrent clones by one role with a quota of one: exactly one passes,
#     the other fails at once while the first is still in flight; a clone
#     renamed away and back still counts (by OID);
#  3. admission control: with pg_mint.max_concurrent_copies = 1 copies start
#     in arrival order across roles (alice, mallory, alice, mallory), shown
#     in mint.activity (waiting/copying, waiting_since), others' template and
#     target hidden; lock_timeout ends a wait with 55P03, statement_timeout
#     with 57014; SQL advisory locks cannot hold the queue; a terminated
#     copier frees its slot; a role that holds a lock on its own template in
#     an open transaction holds no slot (its copies wait for the template,
#     bounded by lock_timeout: 55P03), others' copies go on;
#  4. mint.stats counts builds, clones (p50/p95), pool hits, bytes held,
#     leases expired and quota refusals.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::RealBin/pool_helpers";
use PoolUtil;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use IPC::Run;

my $node = pool_node('shared_server', "max_worker_processes = 24\n");
my $schema = 'CREATE TABLE items (id int); INSERT INTO items SELECT generate_series(1, 100);'
  . " CREATE TABLE build_marker (build text); INSERT INTO build_marker VALUES ('v1');";
val($node, 'CREATE ROLE alice LOGIN CREATEDB; CREATE ROLE mallory LOGIN CREATEDB; CREATE ROLE bob LOGIN CREATEDB;');

sub err_of
{
	my ($sql, %o) = @_;
	my ($out, $err) = ('', '');
	$node->psql($o{db} // 'postgres', "\\set VERBOSITY verbose\n$sql", stdout => \$out, stderr => \$err,
		$o{user} ? (extra_params => [ '-U', $o{user} ]) : ());
	return $err;
}

sub exists_db
{
	my ($db) = @_;
	return val($node, "SELECT count(*) FROM pg_database WHERE datname = '$db'");
}

is(build_template($node, 'at', 'v1', $schema, user => 'alice'), 'build', 'alice builds template at');
is(build_template($node, 'mt', 'v1', $schema, user => 'mallory'), 'build', 'mallory builds template mt');

# ---- 1. leases ---------------------------------------------------------------
{
	is(val($node, "SELECT mint.clone('at', 'l_plain')", user => 'alice'), 'l_plain', '1: clone without a lease');
	is(val($node, "SELECT mint.clone('at', 'l_named', ttl => '1 hour')", user => 'alice'), 'l_named', '1: clone(..., ttl => ...)');
	is(val($node, "SELECT mint.clone('at', 'l_pos', '2 hours'::interval)", user => 'alice'), 'l_pos', '1: clone(..., interval)');
	is(val($node, "SELECT mint.clone('at', 'l_fp', 'v1', '3 hours')", user => 'alice'), 'l_fp', '1: clone(t, x, fingerprint, ttl)');
	is(val($node, "SET pg_mint.lease = '4h'; SELECT mint.clone('at', 'l_guc')", user => 'alice'), 'l_guc', '1: clone under SET pg_mint.lease');
	is( val($node, "SELECT string_agg(datname || ':' || coalesce(round(extract(epoch FROM lease_expires - created_at) / 3600)::text, '-'), ','"
			  . " ORDER BY datname) FROM mint.databases WHERE datname LIKE 'l\\_%'"),
		'l_fp:3,l_guc:4,l_named:1,l_plain:-,l_pos:2', '1: mint.databases.lease_expires follows each ttl');
	is( val($node, "SELECT attname FROM pg_attribute WHERE attrelid = 'mint.databases'::regclass"
			  . " AND attnum = (SELECT max(attnum) FROM pg_attribute WHERE attrelid = 'mint.databases'::regclass)"),
		'lease_expires', '1: lease_expires is the last column of mint.databases');
	val($node, "ALTER ROLE bob SET pg_mint.lease = '90min'");
	is(val($node, "SELECT mint.clone('at', 'l_role')", user => 'bob'), 'l_role', '1: bob clones with ALTER ROLE ... SET pg_mint.lease');
	is(val($node, "SELECT round(extract(epoch FROM lease_expires - created_at) / 60) FROM mint.databases WHERE datname = 'l_role'"),
		'90', '1: ... a lease of 90 minutes');
	is(sqlstate($node, "SELECT mint.clone('at', 'l_bad', '-1 hour'::interval)", user => 'alice'), '22023', '1: a negative ttl is refused');

	# renew
	my $before = val($node, "SELECT lease_expires FROM mint.databases WHERE datname = 'l_named'");
	is(val($node, "SELECT mint.renew('l_named') > '$before'::timestamptz", user => 'alice'), 't', '1: renew extends the lease by its own ttl');
	is(val($node, "SELECT mint.renew('l_named', '5 hours') BETWEEN now() + '299 min' AND now() + '301 min'", user => 'alice'), 't',
		'1: renew with a ttl returns when it expires now');
	is(val($node, "SELECT lease_ttl FROM mint.registry WHERE datname = 'l_named'"), '05:00:00', '1: ... and keeps that ttl');
	is(sqlstate($node, "SELECT mint.renew('l_plain')", user => 'alice'), '22023', '1: renew of a clone without lease and no ttl: 22023');
	is(val($node, "SET pg_mint.lease = '10min'; SELECT mint.renew('l_plain') < now() + '11 min'", user => 'alice'), 't',
		'1: ... with pg_mint.lease set it gets that lease');
	is(sqlstate($node, "SELECT mint.renew('l_named', '100 years')", user => 'mallory'), '42501', '1: mallory cannot renew alice\'s lease');
	is(sqlstate($node, "SELECT mint.renew('at', '1 hour')", user => 'alice'), '42809', '1: a template has no lease (42809)');
	is(sqlstate($node, "SELECT mint.renew('postgres', '1 hour')", user => 'alice'), '42809', '1: nor a database pg_mint did not make');
	is(sqlstate($node, "SELECT mint.renew('l_named', '0')", user => 'alice'), '22023', '1: ttl 0 is refused');
	is(sqlstate($node, "UPDATE mint.registry SET lease_expires = now() + '100 years'", user => 'mallory'), '42501',
		'1: mallory cannot write the bookkeeping');

	# expiry: gc drops an expired lease whatever its age; a running lease stays whatever its age
	is(val($node, "SELECT mint.clone('at', 'l_short', '1 second'::interval)", user => 'alice'), 'l_short', '1: a clone with a 1 s lease');
	is(poll_until($node, "SELECT lease_expires < now() FROM mint.databases WHERE datname = 'l_short'", 't', 30), 't', '1: its lease expires');
	is(val($node, "SELECT string_agg(datname, ',') FROM mint.gc_preview('100 years')", user => 'alice'), 'l_short',
		'1: gc_preview(100 years) lists only the expired lease');
	like(val($node, "SELECT reason FROM mint.gc_preview('100 years')", user => 'alice'), qr/^lease expired /, '1: ... with its reason');
	is(val($node, "SELECT string_agg(gc, ',') FROM mint.gc('0')", user => 'mallory'), '', '1: mallory\'s gc does not drop alice\'s expired lease');
	my $g = val($node, "SELECT string_agg(gc, ',' ORDER BY gc) FROM mint.gc('100 years')", user => 'alice');
	is($g, 'l_short', '1: gc(100 years) drops the expired lease and nothing else');
	is(exists_db('l_named'), '1', '1: a running lease is kept');
	is(val($node, "SELECT count(*) FROM mint.gc('0')", user => 'alice'), '0', '1: gc(0) keeps every clone whose lease runs');

	# a session on an expired lease: kept unless asked
	is(val($node, "SELECT mint.clone('at', 'l_busy', '1 second'::interval)", user => 'alice'), 'l_busy', '1: another short lease');
	my $sit = $node->background_psql('l_busy', extra_params => [ '-U', 'alice' ]);
	$sit->query_safe('SELECT 1');
	is(poll_until($node, "SELECT lease_expires < now() FROM mint.databases WHERE datname = 'l_busy'", 't', 30), 't', '1: it expires');
	is(val($node, "SELECT count(*) FROM mint.gc('100 years')", user => 'alice'), '0', '1: gc leaves an expired lease with a session');
	is(exists_db('l_busy'), '1', '1: ... it is still there');
	is(val($node, "SELECT count(*) FROM mint.gc_preview('100 years', terminate => true)", user => 'alice'), '1',
		'1: gc_preview(..., terminate => true) lists it');
	is(val($node, "SELECT count(*) FROM mint.gc('100 years', terminate => true)", user => 'mallory'), '0',
		'1: mallory\'s gc with terminate does not touch it');
	is(val($node, "SELECT string_agg(gc, ',') FROM mint.gc('100 years', terminate => true)", user => 'alice'), 'l_busy',
		'1: alice\'s gc(..., terminate => true) drops it, session and all');
	$sit->quit;

	# mint.janitor(): gc in a detached worker, as the caller
	is(val($node, "SELECT mint.clone('at', 'l_jan', '1 second'::interval)", user => 'alice'), 'l_jan', '1: a short lease for the janitor');
	is(poll_until($node, "SELECT lease_expires < now() FROM mint.databases WHERE datname = 'l_jan'", 't', 30), 't', '1: it expires');
	is(val($node, "SELECT mint.janitor('0', true)", user => 'mallory'), 't', '1: mallory starts a janitor');
	is(poll_until($node, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_mint janitor'", '0', 30), '0',
		'1: ... it finishes');
	is(exists_db('l_jan'), '1', '1: ... and left alice\'s expired lease alone (it runs as mallory)');
	is(val($node, "SELECT mint.janitor()", user => 'alice'), 't', '1: alice starts a janitor and returns at once');
	is(poll_until($node, "SELECT count(*) FROM pg_database WHERE datname = 'l_jan'", '0', 30), '0', '1: ... it drops her expired lease');

	# the CLI: clone --ttl, renew
	{
		local $ENV{PGHOST} = $node->host;
		local $ENV{PGPORT} = $node->port;
		local $ENV{PGDATABASE} = 'postgres';
		my ($out, $err) = ('', '');
		IPC::Run::run([ 'pg_mint', '-U', 'alice', 'clone', 'at', 'l_cli', '--ttl', '45 minutes' ], '>', \$out, '2>', \$err);
		is($out, "l_cli\n", '1: pg_mint clone --ttl') or diag $err;
		is(val($node, "SELECT round(extract(epoch FROM lease_expires - created_at) / 60) FROM mint.databases WHERE datname = 'l_cli'"),
			'45', '1: ... gives the lease');
		IPC::Run::run([ 'pg_mint', '-U', 'alice', 'renew', 'l_cli', '--ttl', '3 hours' ], '>', \$out, '2>', \$err);
		like($out, qr/^l_cli\t\d{4}-/, '1: pg_mint renew prints the new expiry') or diag $err;
		ok(!IPC::Run::run([ 'pg_mint', '-U', 'mallory', 'renew', 'l_cli', '--ttl', '100 years' ], '>', \$out, '2>', \$err),
			'1: pg_mint renew of another role\'s clone fails');
		like($err, qr/SQLSTATE 42501/, '1: ... with 42501');
		ok(!IPC::Run::run([ 'pg_mint', '-U', 'alice', 'clone', 'at', 'l_cli2', '--ttl', 'soon' ], '>', \$out, '2>', \$err),
			'1: a bad --ttl fails');
		is(exists_db('l_cli2'), '0', '1: ... before cloning');
	}

	# a pool hit hands out a spare with the caller's lease
	val($node, "SELECT mint.set_pool('at', 1)", user => 'alice');
	ok(wait_pool_full($node, 'at', 1), '1: alice\'s pool fills');
	is(val($node, "SELECT mint.clone('at', 'l_hit', '7 hours'::interval)", user => 'alice'), 'l_hit', '1: a clone from the pool');
	is(val($node, "SELECT hits FROM mint.pools WHERE template = 'at'"), '1', '1: ... was a pool hit');
	is(val($node, "SELECT round(extract(epoch FROM lease_expires - now()) / 3600) FROM mint.databases WHERE datname = 'l_hit'"),
		'7', '1: ... with the caller\'s lease');
	ok(wait_pool_full($node, 'at', 1), '1: the pool refills');
	val($node, "SELECT mint.set_pool('at', 0)", user => 'alice');
	ok(wait_pool_full($node, 'at', 0), '1: pool off');
	val($node, "SELECT mint.drop(datname) FROM mint.databases WHERE datname LIKE 'l\\_%'");
}

# ---- 2. quotas ---------------------------------------------------------------
{
	is(sqlstate($node, "SELECT mint.set_quota('mallory', 1000, NULL)", user => 'mallory'), '42501', '2: mallory cannot set a quota');
	is(sqlstate($node, "SELECT mint.set_quota(NULL, 1000, NULL)", user => 'alice'), '42501', '2: nor alice the default');
	val($node, 'GRANT EXECUTE ON FUNCTION mint.set_quota(regrole, integer, bigint) TO mallory');
	like(err_of("SELECT mint.set_quota('mallory', 1000, NULL)", user => 'mallory'), qr/42501: permission denied to set pg_mint quotas/,
		'2: even with EXECUTE granted, only a superuser sets quotas');
	val($node, 'REVOKE EXECUTE ON FUNCTION mint.set_quota(regrole, integer, bigint) FROM mallory');
	is(sqlstate($node, "INSERT INTO mint.quota_config VALUES ('mallory'::regrole, 1000, NULL)", user => 'mallory'), '42501',
		'2: nor write mint.quota_config');
	is(sqlstate($node, "SELECT mint.set_quota('alice', -1, NULL)"), '22023', '2: a negative limit is refused');

	val($node, "SELECT mint.set_quota('alice', 2, NULL)");
	is(val($node, "SELECT role || ':' || max_databases || ':' || databases FROM mint.quotas WHERE role = 'alice'"), 'alice:2:1',
		'2: mint.quotas shows the quota and what alice holds (her template)');
	is(val($node, "SELECT mint.clone('at', 'q_a1')", user => 'alice'), 'q_a1', '2: a clone within the quota');
	my $n_before = val($node, 'SELECT count(*) FROM pg_database');
	my $err = err_of("SELECT mint.clone('at', 'q_a2')", user => 'alice');
	like($err, qr/ERROR:\s+53400: database quota of role "alice" exceeded: it may hold at most 2 databases/,
		'2: one more is refused with 53400, naming the quota');
	like($err, qr/DETAIL:.*holds 2 .*Held now \(oldest first\): at, q_a1\./s, '2: ... and saying what uses it');
	is(val($node, 'SELECT count(*) FROM pg_database'), $n_before, '2: ... nothing was created');
	is(val($node, "SELECT mint.clone('at', 'q_a1')", user => 'alice'), 'q_a1', '2: replacing a clone stays within the quota');
	is(sqlstate($node, "SELECT mint.template_begin('at2', 'v1')", user => 'alice'), '53400', '2: a template build beyond it is refused too');
	is(exists_db('at2'), '0', '2: ... before creating anything');

	val($node, "SELECT mint.set_quota('alice', NULL, 1)");
	like(err_of("SELECT mint.drop('q_a1'); SELECT mint.clone('at', 'q_a3')", user => 'alice'),
		qr/53400: size quota of role "alice" exceeded: it may hold at most 1 bytes/, '2: a size quota refuses with 53400');
	val($node, "SELECT mint.set_quota('alice', NULL, NULL)");
	is(val($node, "SELECT count(*) FROM mint.quotas WHERE role = 'alice'"), '0', '2: both limits NULL removes the quota');

	# the default applies to roles without their own quota, not to superusers
	val($node, "SELECT mint.set_quota(NULL, 1, NULL)");
	is(sqlstate($node, "SELECT mint.clone('mt', 'q_m1')", user => 'mallory'), '53400', '2: the default quota holds mallory (her template counts)');
	is(val($node, "SELECT mint.clone('mt', 'q_su')"), 'q_su', '2: a superuser is exempt from the default');
	val($node, "SELECT mint.set_quota('mallory', 3, NULL)");
	is(val($node, "SELECT mint.clone('mt', 'q_m1')", user => 'mallory'), 'q_m1', '2: a role\'s own quota overrides the default');
	val($node, "SELECT mint.set_quota(NULL, NULL, NULL)");
	# dodging it under another role's name: not a member, so PostgreSQL refuses
	is(sqlstate($node, "SET ROLE alice; SELECT mint.clone('mt', 'q_m9')", user => 'mallory'), '42501',
		'2: mallory cannot clone as alice');

	# race: quota of 2 (template + one clone); two clones at once; the first blocked while copying
	val($node, "SELECT mint.set_quota('mallory', 3, NULL)");
	my $holder = $node->background_psql('postgres');
	$holder->query_safe("BEGIN; COMMENT ON DATABASE mt IS 'hold'");
	my $c1 = start_psql($node, ["SELECT mint.clone('mt', 'q_r1')"], user => 'mallory');
	is(poll_until($node, "SELECT state FROM mint.activity WHERE target = 'q_r1'", 'waiting', 30), 'waiting',
		'2: mallory\'s first clone is in flight (waiting for its template)');
	my $t0 = time;
	my $st = sqlstate($node, "SET statement_timeout = '30s'; SELECT mint.clone('mt', 'q_r2')", user => 'mallory');
	is($st, '53400', '2: the concurrent second clone is refused (the first is in flight)');
	cmp_ok(time - $t0, '<', 15, '2: ... at once, while the first still copies');
	$holder->query_safe('COMMIT');
	my ($rc) = finish_psql($c1);
	ok(!$rc, '2: the first clone succeeds');
	is(exists_db('q_r1') . exists_db('q_r2'), '10', '2: exactly one of the two exists');
	$holder->quit;
	val($node, "SELECT mint.set_quota('mallory', NULL, NULL)");
	val($node, "SELECT mint.drop(d) FROM unnest(ARRAY['q_r1', 'q_m1', 'q_su', 'q_a1']) d");

	# renaming a clone away and back makes no room: the quota counts by OID
	val($node, "SELECT mint.set_quota('alice', 2, NULL)");
	is(val($node, "SELECT mint.clone('at', 'q_n1')", user => 'alice'), 'q_n1', '2: alice clones up to her quota of 2');
	val($node, 'ALTER DATABASE q_n1 RENAME TO q_n1_away', user => 'alice');
	is(val($node, "SELECT databases FROM mint.quotas WHERE role = 'alice'"), '2',
		'2: a clone renamed away still counts in mint.quotas');
	is(sqlstate($node, "SELECT mint.clone('at', 'q_n2')", user => 'alice'), '53400',
		'2: ... and in the check: renaming it away makes no room for one more');
	is(exists_db('q_n2'), '0', '2: ... nothing was created');
	val($node, 'ALTER DATABASE q_n1_away RENAME TO q_n1', user => 'alice');
	is(val($node, "SELECT mint.drop('q_n1')", user => 'alice'), 't', '2: renamed back, it is pg_mint\'s again');
	val($node, "SELECT mint.set_quota('alice', NULL, NULL)");
}

# ---- 3. admission control ----------------------------------------------------
{
	val($node, "LOAD 'pg_mint'; ALTER SYSTEM SET pg_mint.max_concurrent_copies = 1; SELECT pg_reload_conf()");
	is(poll_until($node, "SELECT mint.worker_name('a', 'b'); SHOW pg_mint.max_concurrent_copies", "a_b\n1", 30), "a_b\n1",
		'3: pg_mint.max_concurrent_copies = 1 (SIGHUP)');
	is(sqlstate($node, "SELECT mint.worker_name('a', 'b'); SET pg_mint.max_concurrent_copies = 5", user => 'mallory'), '55P02', '3: no session may change it');

	# a superuser's SHARE lock on pg_database keeps a copy that holds its slot
	# inside CREATE DATABASE (after its template's lock), so the rest queue
	my $holder = $node->background_psql('postgres');
	$holder->query_safe('BEGIN; LOCK TABLE pg_database IN SHARE MODE');
	my @order = ([ 'alice', 'at', 'f_a1' ], [ 'mallory', 'mt', 'f_m1' ], [ 'alice', 'at', 'f_a2' ], [ 'mallory', 'mt', 'f_m2' ]);
	my @h;
	for my $i (0 .. $#order)
	{
		my ($who, $tpl, $tgt) = @{ $order[$i] };
		push @h, start_psql($node, ["SET statement_timeout = '120s'", "SELECT mint.clone('$tpl', '$tgt')"], user => $who);
		my $want = $i == 0 ? 'copying' : 'waiting';
		is(poll_until($node, "SELECT state FROM mint.activity WHERE target = '$tgt'", $want, 30), $want, "3: $who\'s $tgt is $want");
	}
	is(val($node, "SELECT string_agg(target || ':' || state || ':' || (waiting_since IS NOT NULL), ',' ORDER BY waiting_since NULLS FIRST)"
			. " FROM mint.activity"),
		'f_a1:copying:false,f_m1:waiting:true,f_a2:waiting:true,f_m2:waiting:true', '3: mint.activity: one copying, three queued in order');
	is( val($node, "SELECT string_agg(role || ':' || operation || ':' || coalesce(template, '-') || ':' || coalesce(target, '-'), ','"
			  . " ORDER BY waiting_since NULLS FIRST) FROM mint.activity", user => 'alice'),
		'alice:clone:at:f_a1,mallory:clone:-:-,alice:clone:at:f_a2,mallory:clone:-:-',
		'3: alice sees every row, but template and target only of her own');
	is(val($node, "SELECT count(*) FROM mint.activity WHERE template IS NOT NULL", user => 'mallory'), '2',
		'3: mallory sees the names of her own two only');
	is(val($node, "SELECT count(*) FROM mint._activity() WHERE target = 'f_a1'", user => 'mallory'), '0',
		'3: mint._activity() hides them too');

	# bounded waits
	my $t0 = time;
	like(err_of("SET lock_timeout = '300ms'; SELECT mint.clone('mt', 'f_m3')", user => 'mallory'),
		qr/55P03: could not start copying database "f_m3" within lock_timeout \(300 ms\)/, '3: lock_timeout ends the wait: 55P03');
	cmp_ok(time - $t0, '<', 20, '3: ... promptly');
	like(err_of("SET statement_timeout = '300ms'; SELECT mint.clone('mt', 'f_m4')", user => 'mallory'),
		qr/57014/, '3: statement_timeout ends the wait: 57014');
	is(exists_db('f_m3') . exists_db('f_m4'), '00', '3: neither was created');

	# SQL advisory locks cannot reach the queue or the slots
	my $adv = $node->background_psql('postgres', extra_params => [ '-U', 'mallory' ]);
	$adv->query_safe('SELECT pg_advisory_lock(0), pg_advisory_lock(0, 0), pg_advisory_lock(1), pg_advisory_lock(28024, 0)');

	$holder->query_safe('COMMIT');
	for my $i (0 .. $#h)
	{
		my ($rc, $out, $err) = finish_psql($h[$i]);
		ok(!$rc, "3: $order[$i][2] finished") or diag $err;
	}
	is( val($node, "SELECT string_agg(datname, ',' ORDER BY created_at) FROM mint.registry WHERE datname LIKE 'f\\_%'"),
		'f_a1,f_m1,f_a2,f_m2', '3: copies ran in arrival order, across roles and templates');
	$adv->quit;

	# an executor that finished its copy (its session still open) is not listed
	my $live = $node->background_psql('postgres', extra_params => [ '-U', 'alice' ]);
	is($live->query_safe("SELECT mint.clone('at', 'f_live')"), 'f_live', '3: a clone from a session that stays open');
	is(val($node, 'SELECT count(*) FROM mint.activity'), '0', '3: ... mint.activity is empty once it is done');
	$live->quit;

	# a copier terminated mid-copy frees its slot
	$holder->query_safe('BEGIN; LOCK TABLE pg_database IN SHARE MODE');
	my $k = start_psql($node, ["SELECT mint.clone('at', 'f_k1')"], user => 'alice');
	is(poll_until($node, "SELECT state FROM mint.activity WHERE target = 'f_k1'", 'copying', 30), 'copying', '3: f_k1 copying');
	my $w = start_psql($node, ["SET statement_timeout = '60s'", "SELECT mint.clone('mt', 'f_k2')"], user => 'mallory');
	is(poll_until($node, "SELECT state FROM mint.activity WHERE target = 'f_k2'", 'waiting', 30), 'waiting', '3: f_k2 waits');
	val($node, "SELECT pg_terminate_backend(pid) FROM mint.activity WHERE target = 'f_k1'");
	is(poll_until($node, "SELECT state FROM mint.activity WHERE target = 'f_k2'", 'copying', 30), 'copying',
		'3: once the copier is gone, the next copy gets its slot');
	$holder->query_safe('COMMIT');
	my ($rc2, undef, $err2) = finish_psql($w);
	ok(!$rc2, '3: ... and finishes') or diag $err2;
	my ($rc1) = finish_psql($k);
	ok($rc1, '3: the terminated clone failed');
	is(exists_db('f_k1') . exists_db('f_k2'), '01', '3: nothing half-made of the terminated copy');

	# a role that holds a lock on its own template in an open transaction
	# holds no copy slot: its copies wait for the template, not in the queue
	my $own = $node->background_psql('postgres', extra_params => [ '-U', 'mallory' ]);
	$own->query_safe("BEGIN; COMMENT ON DATABASE mt IS 'mine'");
	my $m = start_psql($node, ["SET statement_timeout = '120s'", "SELECT mint.clone('mt', 'h_m1')"], user => 'mallory');
	is(poll_until($node, "SELECT state FROM mint.activity WHERE target = 'h_m1'", 'waiting', 30), 'waiting',
		'3: mallory\'s clone of her locked template waits');
	is(val($node, "SELECT wait_event_type || ':' || wait_event FROM pg_stat_activity a JOIN mint.activity m USING (pid)"
			. " WHERE m.target = 'h_m1'"), 'Lock:object', '3: ... for the template\'s lock, not for a copy slot');
	$t0 = time;
	is(val($node, "SET statement_timeout = '20s'; SELECT mint.clone('at', 'h_a1')", user => 'alice'), 'h_a1',
		'3: alice\'s copy meanwhile gets the only slot');
	cmp_ok(time - $t0, '<', 15, '3: ... without waiting for mallory\'s');
	like(err_of("SET lock_timeout = '300ms'; SELECT mint.clone('mt', 'h_m2')", user => 'mallory'),
		qr/55P03: could not lock template database "mt" to copy it to "h_m2" within lock_timeout \(300 ms\)/,
		'3: lock_timeout ends the wait for a locked template: 55P03, naming it');
	$own->query_safe('COMMIT');
	$own->quit;
	my ($rcm, undef, $errm) = finish_psql($m);
	ok(!$rcm, '3: mallory\'s clone finishes once she commits') or diag $errm;
	is(exists_db('h_m1') . exists_db('h_m2') . exists_db('h_a1'), '101', '3: h_m1 and h_a1 exist, h_m2 does not');
	val($node, "SELECT mint.drop('h_m1')", user => 'mallory');
	val($node, "SELECT mint.drop('h_a1')", user => 'alice');
	$holder->quit;

	# an uncommitted rename to the target's name: the copy (made under a
	# private name) holds its slot only while copying; the rename to the
	# target waits, with no slot, cancellable
	val($node, 'CREATE DATABASE h_scratch', user => 'mallory');
	my $ren = $node->background_psql('postgres', extra_params => [ '-U', 'mallory' ]);
	$ren->query_safe('BEGIN; ALTER DATABASE h_scratch RENAME TO h_target');
	my $rt = start_psql($node, ["SET statement_timeout = '120s'", "SELECT mint.clone('mt', 'h_target')"], user => 'mallory');
	is(poll_until($node, "SELECT count(*) FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid AND NOT l.granted"
			. " WHERE a.backend_type LIKE 'pg\\_mint%' AND a.usename = 'mallory'", '1', 30), '1',
		'3: mallory\'s clone to a name she is renaming to in an open transaction waits');
	is(val($node, "SELECT count(*) FROM mint.activity WHERE target = 'h_target'"), '0', '3: ... holding no copy slot');
	is(val($node, "SET statement_timeout = '20s'; SELECT mint.clone('at', 'h_a2')", user => 'alice'), 'h_a2',
		'3: alice\'s copy meanwhile gets the only slot');
	$ren->query_safe('ROLLBACK');
	$ren->quit;
	my ($rcr, undef, $errr) = finish_psql($rt);
	ok(!$rcr, '3: mallory\'s clone finishes once the rename is rolled back') or diag $errr;
	is(val($node, "SELECT kind || ':' || state FROM mint.databases WHERE datname = 'h_target'"), 'clone:ready',
		'3: ... and h_target is a ready clone');

	# a bookkeeping row of the target's name held by an open transaction (a
	# renew, then the clone renamed away): the new clone waits for it with no
	# slot, and its own statement_timeout ends the wait at once
	is(val($node, "SELECT mint.clone('mt', 'h_c1', '1 hour'::interval)", user => 'mallory'), 'h_c1', '3: a clone with a lease');
	my $rn = $node->background_psql('postgres', extra_params => [ '-U', 'mallory' ]);
	$rn->query_safe("BEGIN; SELECT mint.renew('h_c1', '2 hours'::interval)");
	val($node, 'ALTER DATABASE h_c1 RENAME TO h_c1_away', user => 'mallory');
	my $sc = start_psql($node, ["SET statement_timeout = '8s'", "SELECT mint.clone('mt', 'h_c1')"], user => 'mallory');
	is(poll_until($node, "SELECT count(*) FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid AND NOT l.granted"
			. " WHERE a.backend_type LIKE 'pg\\_mint%' AND a.usename = 'mallory'", '1', 30), '1',
		'3: the clone into the renamed-away name waits for the row the renew holds');
	is(val($node, "SET statement_timeout = '20s'; SELECT mint.clone('at', 'h_a3')", user => 'alice'), 'h_a3',
		'3: alice\'s copy meanwhile gets the only slot');
	$t0 = time;
	my ($rcs, undef, $errs) = finish_psql($sc);
	like($errs, qr/canceling statement due to statement timeout/, '3: statement_timeout ends the wait') or diag $errs;
	cmp_ok(time - $t0, '<', 30, '3: ... promptly, though the renew\'s transaction is still open');
	is(val($node, "SELECT count(*) FROM pg_database WHERE datname = 'h_c1' OR datname LIKE '\\_mint\\_new%'"), '0',
		'3: nothing half-made is left');
	$rn->query_safe('COMMIT');
	$rn->quit;

	# sessions connected to the template: the copy waits for them (and
	# fails, as CREATE DATABASE does, after 5 s) before it queues, not in a slot
	val($node, 'ALTER DATABASE mt ALLOW_CONNECTIONS true', user => 'mallory');
	my $on = $node->background_psql('mt', extra_params => [ '-U', 'mallory' ]);
	$on->query_safe('SELECT 1');
	my $sm = start_psql($node, ["SELECT mint.clone('mt', 'h_m5')"], user => 'mallory');
	is(poll_until($node, "SELECT state FROM mint.activity WHERE target = 'h_m5'", 'waiting', 30), 'waiting',
		'3: a clone of a template with a session on it waits');
	is(val($node, "SET statement_timeout = '20s'; SELECT mint.clone('at', 'h_a4')", user => 'alice'), 'h_a4',
		'3: alice\'s copy meanwhile gets the only slot');
	is(val($node, "SELECT count(*) FROM mint.activity WHERE target = 'h_m5'"), '1',
		'3: ... while mallory\'s still waits (it holds no slot)');
	my ($rcm5, undef, $errm5) = finish_psql($sm);
	like($errm5, qr/template database "mt" is being accessed by other users/, '3: then it fails, naming the template');
	$on->quit;
	val($node, 'ALTER DATABASE mt ALLOW_CONNECTIONS false', user => 'mallory');
	val($node, "SELECT mint.drop('h_target')", user => 'mallory');
	val($node, "SELECT mint.drop(d) FROM unnest(ARRAY['h_a2', 'h_a3', 'h_a4']) d", user => 'alice');
	# a database the caller may not copy is refused before pg_mint locks it
	# or waits for its sessions (else anyone could keep others out of it)
	is(val($node, "SELECT mint.clone('at', 'h_own')", user => 'alice'), 'h_own', '3: alice has a clone');
	my $sit = $node->background_psql('h_own', extra_params => [ '-U', 'alice' ]);
	$sit->query_safe('SELECT 1');
	$t0 = time;
	like(err_of("SET statement_timeout = '30s'; SELECT mint.clone('h_own', 'h_steal')", user => 'mallory'),
		qr/42501: permission denied to copy database "h_own"/, '3: mallory may not copy alice\'s clone: 42501');
	cmp_ok(time - $t0, '<', 4, '3: ... at once, not after waiting for alice\'s session');
	$sit->quit;

	# a lock on the half-made copy (under its private name) does not keep a
	# failed clone waiting past the caller's statement_timeout: the cleanup
	# gives up after a moment and leaves the copy to mint.gc()
	val($node, 'CREATE DATABASE h_x', user => 'mallory');
	my $ra = $node->background_psql('postgres', extra_params => [ '-U', 'mallory' ]);
	$ra->query_safe('BEGIN; ALTER DATABASE h_x RENAME TO h_al');
	my $ac = start_psql($node, ["SET statement_timeout = '10s'", "SELECT mint.clone('at', 'h_al')"], user => 'alice');
	poll_until($node, "SELECT count(*) FROM pg_database WHERE datname LIKE '\\_mint\\_new\\_%'"
		  . " AND datdba = 'alice'::regrole", '1', 30);
	my $priv = val($node, "SELECT datname FROM pg_database WHERE datname LIKE '\\_mint\\_new\\_%'"
		  . " AND datdba = 'alice'::regrole");
	like($priv, qr/^_mint_new_/, '3: alice\'s copy is made; its rename to h_al waits');
	my $rb = $node->background_psql('postgres', extra_params => [ '-U', 'mallory' ]);
	$rb->query_safe(qq{BEGIN; ALTER ROLE mallory IN DATABASE "$priv" SET work_mem = '1MB'});
	$t0 = time;
	my ($rca, undef, $erra) = finish_psql($ac);
	like($erra, qr/statement timeout/, '3: alice\'s clone fails at its statement_timeout');
	cmp_ok(time - $t0, '<', 20, '3: ... though mallory holds a lock on the half-made copy');
	$rb->query_safe('COMMIT');
	$rb->quit;
	$ra->query_safe('ROLLBACK');
	$ra->quit;
	val($node, 'SELECT count(*) FROM mint.gc()', user => 'alice');
	is(val($node, "SELECT count(*) FROM pg_database WHERE datname = '$priv'"), '0', '3: mint.gc() drops the leftover');
	val($node, 'DROP DATABASE h_x', user => 'mallory');
	val($node, "SELECT mint.drop('h_own')", user => 'alice');

	val($node, 'DROP DATABASE h_c1_away', user => 'mallory');
	val($node, "SELECT count(*) FROM mint.gc('1000 years'::interval)", user => 'mallory');
	is(val($node, "SELECT count(*) FROM mint.registry WHERE datname = 'h_c1'"), '0', '3: gc forgets the row of the clone renamed away');
	val($node, "LOAD 'pg_mint'; ALTER SYSTEM RESET pg_mint.max_concurrent_copies; SELECT pg_reload_conf()");
}

# ---- 4. mint.stats -----------------------------------------------------------
{
	my $s = val($node, "SELECT builds, clones > 3, clone_ms_p50 > 0, clone_ms_p95 >= clone_ms_p50, pool_hits, leases_expired,"
		  . " bytes_held > 0, build_ms_avg > 0 FROM mint.stats WHERE template = 'at'");
	is($s, '1|t|t|t|1|3|t|t', '4: mint.stats for at: 1 build, clones with p50/p95, 1 pool hit, 3 leases expired, bytes held');
	cmp_ok(val($node, "SELECT quota_refusals FROM mint.stats WHERE template = 'at'"), '>=', 2, '4: ... quota refusals counted');
	is(sqlstate($node, 'INSERT INTO mint.stat_events (event) VALUES (\'clone\')', user => 'mallory'), '42501',
		'4: mallory cannot write the samples');
}

is(consistency_problems($node), '', 'registry and catalog agree at the end');
$node->stop;
done_testing();
