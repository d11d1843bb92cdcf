# tests/t/042_pool_slots.pl -- the warm pool under max_worker_processes
# pressure (max_worker_processes = 4: 3 slots besides the logical
# replication launcher).
#
#  7. three pools refilling hold every free slot; 12 concurrent clones of
#     another template (each needs a worker slot) all succeed within the
#     default pg_mint.worker_wait_timeout: the refillers give way; the pools
#     refill once clones kick them again;
#  8. every slot taken by a parallel query: a pool hit still succeeds at once
#     (it needs no worker), a miss times out (53400, the control), set_pool
#     works; the spares of a pool turned off while no refiller could run are
#     dropped by mint.gc() (stale spares), valid spares are kept.
#  Slot pressure without a pool: 030_slots.pl and 130_fault_slots.pl.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/pool_helpers";
use PoolUtil;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

my $node = pool_node('pool_slots', "max_worker_processes = 4\n");

my $schema = q{
CREATE TABLE big AS SELECT g, repeat('x', 200) AS pad FROM generate_series(1, 80000) g;
CREATE TABLE items AS SELECT g AS id FROM generate_series(1, 1000) g;
CREATE TABLE build_marker (build text);
INSERT INTO build_marker VALUES ('v1');
};
for my $t (qw(hot1 hot2 hot3 cold))
{
	is(build_template($node, $t, 'v1', $schema), 'build', "template $t built");
}
my $default_wait = val($node, "LOAD 'pg_mint'; SHOW pg_mint.worker_wait_timeout");

# ---------------------------------------------------------------------------
# 7. refilling pools vs 12 callers that need worker slots
# ---------------------------------------------------------------------------
{
	my $barrier = $node->background_psql('postgres');
	$barrier->query_safe('SELECT pg_advisory_lock(4242)');
	my @callers = map {
		start_psql($node, [ 'SELECT pg_advisory_lock_shared(4242)', "SELECT mint.clone('cold', 'cold_$_')" ])
	} 1 .. 12;
	is( poll_until(
			$node,
			"SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242 AND NOT granted", '12'),
		'12',
		'7: 12 callers wait at the barrier');

	val($node, "SELECT mint.set_pool('hot$_', 8)") for 1 .. 3;
	is(poll_until($node, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_mint pool'", '3', 20),
		'3', '7: three refillers hold all 3 free worker slots');
	my $t0 = time;
	$barrier->query_safe('SELECT pg_advisory_unlock(4242)');
	my ($ok, @errs) = (0);
	for my $i (1 .. 12)
	{
		my ($rc, $out, $err) = finish_psql($callers[ $i - 1 ]);
		if ($rc == 0 && $out eq "cold_$i") { $ok++ }
		else                               { push @errs, "caller $i: $err" }
	}
	my $secs = time - $t0;
	$barrier->quit;
	is($ok, 12, sprintf('7: all 12 clones succeed with pg_mint.worker_wait_timeout = %s (%.2f s)', $default_wait, $secs))
	  or diag(join("\n", @errs));
	is_deeply([ map { clone_content($node, "cold_$_") } 1 .. 12 ], [ ('v1:1000') x 12 ], '7: ... all complete');
	note('7: pools right after the burst: '
		  . val($node, "SELECT string_agg(template || ' ' || ready || '/' || target_size, ', ' ORDER BY template) FROM mint.pools"));

	# the refillers gave way; once the burst is over the pools should fill up
	# again without anyone cloning from them ("kept topped up in the background")
	is( poll_until(
			$node,
			"SELECT count(*) FROM mint.pools WHERE template LIKE 'hot_' AND ready = target_size"
			  . " AND NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE backend_type = 'pg_mint pool')",
			'3', 10),
		'3',
		'7: after the burst the pools refill to 8 on their own');
	is(poll_until($node, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_mint pool'", '0'), '0',
		'7: no refiller left');
	# a clone of each pooled template kicks its refill
	val($node, "SELECT mint.clone('hot$_', 'hot_kick_$_')") for 1 .. 3;
	ok(wait_pool_full($node, "hot$_", 8), "7: pool hot$_ refills to 8 after a clone kicks it") for 1 .. 3;
	is(consistency_problems($node), '', '7: registry and catalog agree');
}

# ---------------------------------------------------------------------------
# 8. every worker slot taken
# ---------------------------------------------------------------------------
{
	my $hot1_spares = spare_oids($node, 'hot1');
	my $hot2_names = val($node, "SELECT string_agg(datname, ',' ORDER BY datname) FROM mint.registry WHERE kind = 'spare' AND template = 'hot2'");
	val($node, 'CREATE TABLE hog AS SELECT g FROM generate_series(1, 200000) g; ANALYZE hog');
	my $hog = $node->background_psql('postgres', on_error_stop => 0);
	my $hog_pid = $hog->query_safe('SELECT pg_backend_pid()');
	$hog->query_until(
		qr/hogging/, q{SET max_parallel_workers_per_gather = 4;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET statement_timeout = '120s';
\echo hogging
SELECT count(*) FROM hog WHERE pg_sleep(0.01) IS NOT NULL;
});
	is( poll_until(
			$node,
			"SELECT count(*) FROM pg_stat_activity WHERE backend_type IN ('parallel worker', 'logical replication launcher')",
			'4'),
		'4',
		'8: a parallel query holds every worker slot');

	my ($h0) = pool_counts($node, 'hot1');
	is( val($node, "SET pg_mint.worker_wait_timeout = '1ms'; SELECT mint.clone('hot1', 'no_slot_hit')"),
		'no_slot_hit', '8: a pool hit needs no worker slot');
	my ($h1) = pool_counts($node, 'hot1');
	is($h1 - $h0, 1, '8: ... it was a hit');
	ok($hot1_spares->{ oid_of($node, 'no_slot_hit') }, '8: ... of a ready spare');
	is(clone_content($node, 'no_slot_hit'), 'v1:1000', '8: ... complete');
	is(sqlstate($node, "SET pg_mint.worker_wait_timeout = '1ms'; SELECT mint.clone('cold', 'no_slot_miss')"),
		'53400', '8: control: a clone that needs a worker times out (53400)');

	is(sqlstate($node, "SELECT mint.set_pool('hot2', 0)"), 'none', '8: set_pool(t, 0) works with no slot free');
	is(val($node, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_mint pool'"), '0',
		'8: ... no refiller could start');

	$node->safe_psql('postgres', "SELECT pg_cancel_backend($hog_pid)");
	eval { $hog->quit };
	is( poll_until(
			$node, "SELECT count(*) FROM pg_stat_activity WHERE backend_type IN ('parallel worker', 'pg_mint pool')", '0'),
		'0',
		'8: slots free again');

	my $valid = val($node, "SELECT string_agg(datid::text, ',') FROM mint.registry WHERE kind = 'spare' AND template IN ('hot1', 'hot3')");
	my $gc = val($node, "SELECT string_agg(g, ',' ORDER BY g) FROM mint.gc() g");
	is($gc, $hot2_names, '8: mint.gc() drops exactly the spares of the pool that was turned off');
	is(val($node, "SELECT count(*) FROM mint.registry WHERE kind = 'spare' AND template = 'hot2'")
		  . val($node, "SELECT count(*) FROM pg_database WHERE datname = ANY (string_to_array('$hot2_names', ','))"),
		'00', '8: ... they are gone');
	is(val($node, "SELECT count(*) FROM mint.registry r JOIN pg_database d ON d.oid = r.datid"
			  . " WHERE r.kind = 'spare' AND r.state = 'ready' AND r.datid IN ($valid)"),
		scalar(split /,/, $valid), '8: ... the valid spares of hot1 and hot3 are kept');
	is(consistency_problems($node), '', '8: registry and catalog agree');
}

$node->stop;
done_testing();
