# tests/t/250_hostile_locks.pl -- a hostile role's open transactions and
# hand-made changes cannot stall or trick anyone else's pg_mint calls.
#
#  1. mallory holds her pool's row (BEGIN; set_pool ... left open) and drops
#     her template by hand: everyone's mint.gc() still finishes promptly; the
#     orphaned pool row goes once the transaction has ended.
#  2. mallory keeps a transaction open after taking spares from her pools:
#     her refillers do not keep their worker slots while it stays open.
#  3. a database dropped by hand leaves a bookkeeping row: the name can be
#     built and cloned again at once (no raw unique-violation error).
#  4. alice's mint.drop fails because mallory sits on alice's clone (alice
#     cannot terminate her session): the clone is left as it was, not marked
#     for dropping, and a later gc does not drop it behind alice's back.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::RealBin/pool_helpers";
use PoolUtil;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

my $node = pool_node('hostile_locks', "max_worker_processes = 16\n");
my $schema = 'CREATE TABLE items (id int); INSERT INTO items SELECT generate_series(1, 10);';
val($node, 'CREATE ROLE mallory LOGIN CREATEDB; CREATE ROLE alice LOGIN CREATEDB;');

sub err_of
{
	my ($sql, %o) = @_;
	my ($out, $err) = ('', '');
	$node->psql($o{db} // 'postgres', "\\set VERBOSITY verbose\n$sql", stdout => \$out, stderr => \$err,
		$o{user} ? (extra_params => [ '-U', $o{user} ]) : ());
	return $err;
}

# ---- 1. gc is not stalled by a held pool row --------------------------------
{
	is(build_template($node, 'mp', 'v1', $schema, user => 'mallory'), 'build', '1: mallory builds mp');
	val($node, "SELECT mint.set_pool('mp', 1)", user => 'mallory');
	ok(wait_pool_full($node, 'mp', 1), '1: her pool fills');
	my $holder = $node->background_psql('postgres', extra_params => [ '-U', 'mallory' ]);
	$holder->query_safe("BEGIN; SELECT mint.set_pool('mp', 2);");
	val($node, 'ALTER DATABASE mp IS_TEMPLATE false; DROP DATABASE mp WITH (FORCE);', user => 'mallory');

	my $t0 = time;
	my $err = err_of("SET statement_timeout = '60s'; SELECT count(*) FROM mint.gc('0');");
	my $secs = time - $t0;
	unlike($err, qr/ERROR/, '1: the superuser\'s gc succeeds while mallory holds her pool row') or diag $err;
	cmp_ok($secs, '<', 20, sprintf('1: ... promptly (%.1f s)', $secs));
	is(val($node, "SELECT count(*) FROM mint.registry WHERE datname = 'mp'"), '0', '1: ... and forgot the dropped template');
	$err = err_of("SET statement_timeout = '60s'; SELECT count(*) FROM mint.gc('0');", user => 'alice');
	unlike($err, qr/ERROR/, '1: alice\'s gc too') or diag $err;
	$holder->query_safe('COMMIT');
	$holder->quit;
	val($node, "SELECT count(*) FROM mint.gc('0')");
	is(val($node, "SELECT count(*) FROM mint.pool_config WHERE template = 'mp'"), '0',
		'1: once the transaction ended, gc forgot the orphaned pool');
	is(poll_until($node, q{SELECT count(*) FROM mint.registry WHERE template = 'mp' AND kind = 'spare'}, '0'), '0',
		'1: ... and its spares are gone (gc or refiller)')
	  or val($node, "SELECT count(*) FROM mint.gc('0')");
}

# ---- 2. refillers do not sit on slots behind an open transaction ------------
{
	for my $i (1 .. 3)
	{
		is(build_template($node, "mq$i", 'v1', $schema, user => 'mallory'), 'build', "2: mallory builds mq$i");
		val($node, "SELECT mint.set_pool('mq$i', 2)", user => 'mallory');
	}
	ok(wait_pool_full($node, "mq$_", 2), "2: pool mq$_ full") for 1 .. 3;
	# hits in autocommit start the refillers; while they work and linger,
	# a DO block takes the next spares and stays open
	val($node, "SELECT mint.clone('mq$_', 'mqc$_')", user => 'mallory') for 1 .. 3;
	is(poll_until($node, q{SELECT count(*) > 0 FROM pg_stat_activity WHERE backend_type = 'pg_mint pool'}, 't', 10), 't',
		'2: refillers are at work');
	my $bg = start_psql($node,
		[ q{DO $$ BEGIN PERFORM mint.clone('mq1', 'mqd1'); PERFORM mint.clone('mq2', 'mqd2'); PERFORM mint.clone('mq3', 'mqd3'); PERFORM pg_sleep(25); END $$;} ],
		user => 'mallory');
	is(poll_until($node, q{SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'DO $$ BEGIN PERFORM mint.clone(''mq1'', ''mqd1'')%' AND wait_event = 'PgSleep'}, '1', 20),
		'1', '2: mallory sleeps in a transaction that took three spares');
	my $t0 = time;
	is(poll_until($node, q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_mint pool'}, '0', 15), '0',
		'2: her refillers leave while the transaction is still open');
	cmp_ok(time - $t0, '<', 12, '2: ... within the linger time, not after her 25 s');
	my (undef, undef, $bgerr) = finish_psql($bg);
	unlike($bgerr, qr/ERROR/, '2: her transaction commits in the end');
	val($node, "SELECT mint.clone('mq$_', 'mqe$_')", user => 'mallory') for 1 .. 3;
	ok(wait_pool_full($node, "mq$_", 2), "2: the next clone restarts the refill of mq$_") for 1 .. 3;
	is(poll_until($node, q{SELECT count(*) FROM pg_database WHERE datname LIKE '\_mint\_old\_%'}, '0'), '0',
		'2: the replaced clones are dropped in the end')
	  or val($node, "SELECT count(*) FROM mint.gc('0')");
}

# ---- 3. names dropped by hand can be used again ----------------------------
{
	is(build_template($node, 'st_tpl', 'v1', $schema, user => 'alice'), 'build', '3: alice builds st_tpl');
	val($node, "SELECT mint.clone('st_tpl', 'st_c')", user => 'alice');
	val($node, 'DROP DATABASE st_c', user => 'alice');
	is(err_of("SELECT mint.clone('st_tpl', 'st_c')", user => 'alice'), '', '3: clone to a name whose clone was dropped by hand works');
	is(val($node, q{SELECT count(*) FROM mint.registry r JOIN pg_database d ON d.oid = r.datid AND d.datname = r.datname WHERE r.datname = 'st_c'}),
		'1', '3: ... and is registered');
	val($node, 'ALTER DATABASE st_tpl IS_TEMPLATE false; DROP DATABASE st_tpl;', user => 'alice');
	is(build_template($node, 'st_tpl', 'v2', $schema, user => 'alice'), 'build',
		'3: template_begin on a template name dropped by hand builds again (no 23505)');
	is(val($node, "SELECT count(*) FROM mint.registry WHERE datname = 'st_tpl'"), '1', '3: one row for it');
}

# ---- 4. a failed drop leaves the clone as it was ----------------------------
{
	val($node, "SELECT mint.clone('st_tpl', 'a_keep')", user => 'alice');
	my $squat = $node->background_psql('a_keep', extra_params => [ '-U', 'mallory' ]);
	my $pid = $squat->query_safe('SELECT pg_backend_pid()');
	like(err_of("SELECT mint.drop('a_keep')", user => 'alice'), qr/ERROR:\s+42501/,
		'4: alice cannot drop her clone while mallory sits on it (42501, as by hand)');
	is(val($node, "SELECT state FROM mint.registry WHERE datname = 'a_keep'"), 'ready', '4: ... it is still ready, not dropping');
	is(val($node, "SELECT datallowconn FROM pg_database WHERE datname = 'a_keep'"), 't', '4: ... and accepts connections');
	val($node, "SELECT count(*) FROM mint.gc('1 hour')");
	is(val($node, "SELECT count(*) FROM pg_database WHERE datname = 'a_keep'"), '1', '4: a later gc(1 hour) leaves it');
	is(val($node, "SELECT count(*) FROM pg_stat_activity WHERE pid = $pid"), '1', '4: ... and mallory\'s session on it');
	$squat->quit;
	is(poll_until($node, "SELECT count(*) FROM pg_stat_activity WHERE pid = $pid", '0'), '0', '4: mallory leaves');
	is(val($node, "SELECT mint.drop('a_keep')", user => 'alice'), 't', '4: now alice drops it');
}

is(poll_until($node, q{SELECT count(*) FROM pg_stat_activity WHERE backend_type IN ('pg_mint pool', 'pg_mint worker')}, '0'),
	'0', 'end: no pg_mint worker left');
is(consistency_problems($node), '', 'end: registry and catalog agree');
$node->stop;
done_testing();
