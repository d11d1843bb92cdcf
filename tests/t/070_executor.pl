# tests/t/070_executor.pl -- a session's executor: one background worker
# runs all of a session's pg_mint calls, each as the role the session has at
# that moment, and goes away with the session or when idle; and strategy
# auto's choice between WAL_LOG and FILE_COPY.
#
# Which worker ran a call is read from pg_stat_activity (the executor's
# application_name is "pg_mint worker for PID <caller>"); which copy
# strategy ran, from pg_stat_bgwriter.checkpoints_req (FILE_COPY requests
# two checkpoints, WAL_LOG none).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/pool_helpers";
use PoolUtil;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = pool_node('executor', "max_worker_processes = 16\nfsync = off\n");
build_template($node, 'tpl', 'v1', 'CREATE TABLE t AS SELECT g FROM generate_series(1, 1000) g');
val($node, 'CREATE ROLE alice LOGIN CREATEDB');
val($node, 'CREATE ROLE bob LOGIN CREATEDB');
val($node, 'CREATE ROLE carol LOGIN');		# no CREATEDB
val($node, 'GRANT alice, carol TO bob');

my $s = $node->background_psql('postgres', on_error_stop => 0);
my $caller = $s->query_safe('SELECT pg_backend_pid()');
my $exec_sql = "SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_mint worker'"
  . " AND application_name = 'pg_mint worker for PID $caller'";

# ---------------------------------------------------------------------------
# 1. one executor for the session's calls
# ---------------------------------------------------------------------------
is($s->query_safe("SELECT mint.clone('tpl', 'w1')"), 'w1', '1: first clone');
my $pid1 = val($node, $exec_sql);
like($pid1, qr/^\d+$/, '1: the session has an executor after its first call');
is($s->query_safe("SELECT mint.clone('tpl', 'w1')"), 'w1', '1: the clone replaced');
is($s->query_safe("SELECT mint.clone('tpl', 'w2')"), 'w2', '1: another clone');
is(val($node, $exec_sql), $pid1, '1: the same executor ran every call');
is(val($node, "SELECT state FROM pg_stat_activity WHERE pid = $pid1"), 'idle', '1: it is idle between calls');
is(poll_until($node, "SELECT count(*) FROM mint.registry WHERE state = 'dropping'", '0'), '0',
	'1: the replaced copy was dropped in the background');
# an idle executor serves interrupts: DROP DATABASE (15+) waits until every
# backend has absorbed its barrier, idle executors too
val($node, 'CREATE DATABASE plain');
is(sqlstate($node, "SET statement_timeout = '5s'; DROP DATABASE plain"), 'none',
	'1: an idle executor does not hold up DROP DATABASE elsewhere');
is(val($node, $exec_sql), $pid1, '1: and stays for its session');

# ---------------------------------------------------------------------------
# 2. each call runs as the role the session has then (SET ROLE between calls)
# ---------------------------------------------------------------------------
$s->query_safe('SET ROLE alice');
is($s->query_safe("SELECT mint.clone('tpl', 'w_alice')"), 'w_alice', '2: a clone as alice');
is(val($node, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'w_alice'"), 'alice',
	'2: it belongs to alice');
$s->query_safe('SET ROLE carol');
$s->query("SELECT mint.clone('tpl', 'w_carol')");
like($s->{stderr}, qr/permission denied|CREATEDB/, '2: as carol (no CREATEDB) the same executor refuses');
$s->{stderr} = '';
is(val($node, "SELECT count(*) FROM pg_database WHERE datname = 'w_carol'"), '0', '2: nothing was made for carol');
$s->query_safe('RESET ROLE');
is($s->query_safe("SELECT mint.clone('tpl', 'w3')"), 'w3', '2: after an error the session clones again');
is(val($node, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'w3'"), 'postgres',
	'2: as the role it has again');
# alice may not replace a clone of postgres's, even through a reused executor
$s->query_safe('SET ROLE alice');
$s->query("SELECT mint.clone('tpl', 'w3')");
like($s->{stderr}, qr/ERROR/, "2: alice cannot replace postgres's clone");
$s->{stderr} = '';
$s->query_safe('RESET ROLE');
is(val($node, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'w3'"), 'postgres',
	"2: postgres's clone is untouched");

# ---------------------------------------------------------------------------
# 3. SET SESSION AUTHORIZATION: a new executor, connected as the new user
# ---------------------------------------------------------------------------
$s->query_safe('SET SESSION AUTHORIZATION bob');
is($s->query_safe("SELECT mint.clone('tpl', 'w_bob')"), 'w_bob', '3: a clone as bob');
is(val($node, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'w_bob'"), 'bob',
	'3: it belongs to bob');
is(val($node, "SELECT usename FROM pg_stat_activity WHERE backend_type = 'pg_mint worker'"
	  . " AND application_name = 'pg_mint worker for PID $caller'"), 'bob',
	'3: the executor now logs in as bob');
$s->query_safe('RESET SESSION AUTHORIZATION');

# ---------------------------------------------------------------------------
# 4. idle timeout, and 0 = one worker per call
# ---------------------------------------------------------------------------
$s->query_safe('SET pg_mint.executor_idle_timeout = 200');
is($s->query_safe("SELECT mint.clone('tpl', 'w4')"), 'w4', '4: a clone with a short idle timeout');
is(poll_until($node, "SELECT count(*) FROM ($exec_sql) e", '0', 30), '0', '4: the idle executor leaves');
is($s->query_safe("SELECT mint.clone('tpl', 'w4')"), 'w4', '4: the next call starts a new one');
$s->query_safe('SET pg_mint.executor_idle_timeout = 0');
is($s->query_safe("SELECT mint.clone('tpl', 'w5')"), 'w5', '4: a clone with no executor reuse');
is(poll_until($node, "SELECT count(*) FROM ($exec_sql) e", '0', 30), '0',
	'4: with executor_idle_timeout = 0 the worker exits after its call');
$s->query_safe('RESET pg_mint.executor_idle_timeout');

# ---------------------------------------------------------------------------
# 5. the executor goes with its session
# ---------------------------------------------------------------------------
is($s->query_safe("SELECT mint.clone('tpl', 'w6')"), 'w6', '5: a clone');
like(val($node, $exec_sql), qr/^\d+$/, '5: the session has an executor');
$s->quit;
is(poll_until($node, "SELECT count(*) FROM ($exec_sql) e", '0', 30), '0', '5: it exits when the session ends');

# a terminated executor: the session's next call starts a new one
my $s2 = $node->background_psql('postgres', on_error_stop => 0);
my $caller2 = $s2->query_safe('SELECT pg_backend_pid()');
is($s2->query_safe("SELECT mint.clone('tpl', 'w7')"), 'w7', '5: a clone in a new session');
my $e2 = val($node, "SELECT pid FROM pg_stat_activity WHERE application_name = 'pg_mint worker for PID $caller2'");
val($node, "SELECT pg_terminate_backend($e2)");
is(poll_until($node, "SELECT count(*) FROM pg_stat_activity WHERE pid = $e2", '0', 30), '0', '5: executor terminated');
is($s2->query_safe("SELECT mint.clone('tpl', 'w7')"), 'w7', '5: the next call works');
isnt(val($node, "SELECT pid FROM pg_stat_activity WHERE application_name = 'pg_mint worker for PID $caller2'"),
	$e2, '5: with a new executor');

# ---------------------------------------------------------------------------
# 6. strategy auto: FILE_COPY with fsync off, WAL_LOG with fsync on (small
#    template, nobody else copying it)
# ---------------------------------------------------------------------------
my $major = int(val($node, 'SHOW server_version_num') / 10000);
my $req_sql = $major >= 17
  ? 'SELECT num_requested FROM pg_stat_checkpointer'
  : 'SELECT checkpoints_req FROM pg_stat_bgwriter';
my $no_drops = "SELECT count(*) FROM mint.registry WHERE state = 'dropping'";
SKIP:
{
	skip 'STRATEGY exists from PostgreSQL 15', 4 if $major < 15;
	poll_until($node, $no_drops, '0');
	my $before = val($node, $req_sql);
	is($s2->query_safe("SELECT mint.clone('tpl', 'a_off')"), 'a_off', '6: auto with fsync off');
	is(poll_until($node, "SELECT ($req_sql) >= $before + 2", 't', 30), 't',
		'6: fsync off: auto copied with FILE_COPY (two checkpoints requested)');

	val($node, 'ALTER SYSTEM SET fsync = on');
	val($node, 'SELECT pg_reload_conf()');
	poll_until($node, 'SHOW fsync', 'on', 10);
	$s2->quit;
	$s2 = $node->background_psql('postgres', on_error_stop => 0);	# an executor that has read the new setting
	poll_until($node, $no_drops, '0');
	$before = val($node, $req_sql);
	is($s2->query_safe("SELECT mint.clone('tpl', 'a_on')"), 'a_on', '6: auto with fsync on');
	# one checkpoint of our own, then count: WAL_LOG requested none
	val($node, 'CHECKPOINT');
	poll_until($node, "SELECT ($req_sql) >= $before + 1", 't', 30);
	is(val($node, $req_sql), $before + 1, '6: fsync on, small template: auto copied with WAL_LOG (no checkpoint)');
	val($node, 'ALTER SYSTEM RESET fsync');
	val($node, 'SELECT pg_reload_conf()');
}
$s2->quit;

done_testing();
