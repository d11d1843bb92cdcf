# tests/t/050_blockers.pl -- what outlives a session keeps pg_mint's hands off.
#
# A prepared transaction, an active logical replication slot or a
# subscription in a database survives the termination of its sessions, and
# DROP DATABASE fails on it.  mint.clone (replacing the database) and
# mint.drop must refuse with 55006 naming the culprit, leave the database as
# it was, and work again once it is gone.  Each case runs without a pool
# (the clone worker swaps) and with a warm pool (the spare is swapped in the
# caller's own transaction): both go through the same checks, which read
# shared memory and pg_subscription's index directly.
use strict;
use warnings;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('blockers');
$node->init(allows_streaming => 'logical');
$node->append_conf('postgresql.conf', "max_worker_processes = 16\nmax_prepared_transactions = 4\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pg_mint');

my $builder = $node->background_psql('postgres');
is($builder->query_safe("SELECT mint.template_begin('blk_tpl', 'v1')"), 'build', 'template build starts');
$node->safe_psql('blk_tpl', 'CREATE TABLE items (id int)');
$builder->query_safe("SELECT mint.template_finish('blk_tpl')");
$builder->quit;

# stderr of a statement expected to fail, with its SQLSTATE
sub error_of
{
	my ($sql) = @_;
	my ($stdout, $stderr);
	$node->psql('postgres', "\\set VERBOSITY verbose\n$sql", stdout => \$stdout, stderr => \$stderr);
	return $stderr;
}

sub oid_of
{
	my ($name) = @_;
	return $node->safe_psql('postgres', "SELECT oid FROM pg_database WHERE datname = '$name'");
}

sub pool_full
{
	return $node->poll_query_until('postgres',
		"SELECT ready >= target_size FROM mint.pools WHERE template = 'blk_tpl'", 't');
}

for my $spares (0, 2)
{
	my $how = $spares ? 'with a warm pool' : 'without a pool';
	my $t = "blk_target_$spares";
	$node->safe_psql('postgres', "SELECT mint.set_pool('blk_tpl', $spares)");
	is($node->safe_psql('postgres', "SELECT mint.clone('blk_tpl', '$t')"), $t, "$how: clone made");
	ok(pool_full(), "$how: pool full") if $spares;
	my $hits0 = $node->safe_psql('postgres', "SELECT coalesce(sum(hits), 0) FROM mint.pools");
	my $oid = oid_of($t);

	# 1. a prepared transaction
	$node->safe_psql($t, "BEGIN; CREATE TABLE pending (id int); PREPARE TRANSACTION 'blk_gid_$spares'");
	like(error_of("SELECT mint.clone('blk_tpl', '$t')"),
		qr/ERROR:\s+55006: database "$t" is used by prepared transaction "blk_gid_$spares"/,
		"$how: clone refuses, naming the prepared transaction");
	like(error_of("SELECT mint.drop('$t')"),
		qr/ERROR:\s+55006: database "$t" is used by prepared transaction "blk_gid_$spares"/,
		"$how: drop refuses too");
	is(oid_of($t), $oid, "$how: the target is the same database");
	$node->safe_psql($t, "ROLLBACK PREPARED 'blk_gid_$spares'");

	# 2. a subscription (never connected)
	$node->safe_psql($t,
		"CREATE SUBSCRIPTION blk_sub_$spares CONNECTION 'dbname=nowhere' PUBLICATION nothing WITH (connect = false)");
	like(error_of("SELECT mint.clone('blk_tpl', '$t')"),
		qr/ERROR:\s+55006: database "$t" is used by subscription "blk_sub_$spares"/,
		"$how: clone refuses, naming the subscription");
	is(oid_of($t), $oid, "$how: the target is still the same database");
	$node->safe_psql($t, "ALTER SUBSCRIPTION blk_sub_$spares SET (slot_name = NONE)");
	$node->safe_psql($t, "DROP SUBSCRIPTION blk_sub_$spares");

	# 3. an active logical replication slot (pg_recvlogical streams from it)
	$node->safe_psql($t, "SELECT pg_create_logical_replication_slot('blk_slot_$spares', 'test_decoding')");
	my ($out, $err) = ('', '');
	my $recv = IPC::Run::start(
		[ 'pg_recvlogical', '-d', $node->connstr($t), '--slot', "blk_slot_$spares", '--start',
		  '--no-loop', '-f', '/dev/null' ],
		'>', \$out, '2>', \$err);
	ok( $node->poll_query_until('postgres',
			"SELECT active FROM pg_replication_slots WHERE slot_name = 'blk_slot_$spares'", 't'),
		"$how: the slot is active");
	like(error_of("SELECT mint.clone('blk_tpl', '$t')"),
		qr/ERROR:\s+55006: database "$t" is used by active replication slot "blk_slot_$spares"/,
		"$how: clone refuses, naming the active slot");
	is(oid_of($t), $oid, "$how: the target is still the same database");
	is($node->safe_psql('postgres', "SELECT active FROM pg_replication_slots WHERE slot_name = 'blk_slot_$spares'"),
		't', "$how: the slot's consumer was left alone");
	$recv->kill_kill;
	ok( $node->poll_query_until('postgres',
			"SELECT NOT active FROM pg_replication_slots WHERE slot_name = 'blk_slot_$spares'", 't'),
		"$how: the slot is inactive once its consumer is gone");

	# nothing blocks any more: the replace works, the inactive slot goes with the old copy
	ok(pool_full(), "$how: pool full again") if $spares;
	is($node->safe_psql('postgres', "SELECT mint.clone('blk_tpl', '$t')"), $t, "$how: clone replaces it now");
	isnt(oid_of($t), $oid, "$how: a new database");
	is($node->safe_psql('postgres', "SELECT coalesce(sum(hits), 0) FROM mint.pools") - $hits0,
		$spares ? 1 : 0, "$how: " . ($spares ? 'one pool hit' : 'no pool involved'));
	ok( $node->poll_query_until('postgres',
			"SELECT count(*) = 0 FROM pg_replication_slots WHERE slot_name = 'blk_slot_$spares'", 't'),
		"$how: the inactive slot was dropped with the old copy");
	ok( $node->poll_query_until('postgres', "SELECT count(*) = 0 FROM mint.registry WHERE state <> 'ready'", 't'),
		"$how: no unfinished registry row");
}

$node->safe_psql('postgres', "SELECT mint.set_pool('blk_tpl', 0)");
$node->stop;
done_testing();
