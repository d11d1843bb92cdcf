# tests/t/040_pool.pl -- the warm pool (mint.set_pool) on a live server.
#
#  1. set_pool(t, 4) fills to 4 ready spares, private and closed to
#     connections; the refill worker exits when done;
#  2. 8 concurrent callers, 4 spares: every caller gets a distinct, complete
#     database; every spare is handed out at most once; hits + misses = 8;
#  3. a hit replaces an existing target atomically (the name never vanishes,
#     sessions on the old one end, the old one is dropped in the background,
#     also when it was made from another template), also inside
#     BEGIN ... COMMIT;
#  4. a rebuild (new fingerprint) invalidates the spares at once: clones
#     right after it hold the new build, old spares vanish, the pool refills;
#  8. set_pool(t, 0) and mint.drop(template) drop the spares; mint.drop of a
#     spare works;
#  9. ownership: another role cannot change the pool nor gets its spares; nor
#     does a superuser (it gets a copy of its own);
# 10. argument and privilege errors;
#  and a timing diagnostic (pool hit vs plain clone).
# Restart/cancel: 041_pool_crash.pl; worker-slot pressure and gc: 042_pool_slots.pl.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/pool_helpers";
use PoolUtil;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

my $node = pool_node('pool', "max_worker_processes = 16\n");

my $T = 'pool_tpl';
my $schema_v1 = q{
CREATE TABLE items AS SELECT g AS id FROM generate_series(1, 1000) g;
CREATE TABLE build_marker (build text);
INSERT INTO build_marker VALUES ('v1');
};
is(build_template($node, $T, 'v1', $schema_v1), 'build', 'template v1 built');

# ---------------------------------------------------------------------------
# 1. fill
# ---------------------------------------------------------------------------
val($node, "SELECT mint.set_pool('$T', 4)");
ok(wait_pool_full($node, $T, 4), '1: set_pool(t, 4) fills the pool to 4 ready spares');
is(val($node, "SELECT target_size || '|' || ready || '|' || being_made FROM mint.pools WHERE template = '$T'"),
	'4|4|0', '1: mint.pools shows target 4, ready 4, none being made');
is( val(
		$node, "SELECT count(*) FROM mint.databases
		 WHERE kind = 'spare' AND template = '$T' AND state = 'ready' AND owner = 'postgres'
		   AND fingerprint = 'v1' AND datname LIKE '\\_mint\\_spare\\_%'"),
	'4',
	'1: mint.databases lists 4 ready spares with private names');
is(consistency_problems($node), '', '1: every spare is registered and refuses connections');
my ($spare1) = split /\n/, val($node, "SELECT datname FROM mint.registry WHERE kind = 'spare' ORDER BY datname");
{
	# (-c, not stdin: psql exits before reading it, and the write could fail with EPIPE)
	my ($ret, $stdout, $stderr) = $node->psql($spare1, '', extra_params => [ '-c', 'SELECT 1' ]);
	like($stderr, qr/not currently accepting connections/, '1: nobody can connect to a spare');
}
is(val($node, "SELECT count(*) FROM pg_stat_activity WHERE backend_type IN ('pg_mint pool', 'pg_mint worker')"),
	'0', '1: the refill worker exited once the pool was full');

# ---------------------------------------------------------------------------
# 2. 8 concurrent callers, 4 spares
# ---------------------------------------------------------------------------
{
	my $spares = spare_oids($node, $T);
	my ($h0, $m0) = pool_counts($node, $T);
	my $folded0 = val($node, "SELECT hits + misses FROM mint.pool_config WHERE template = '$T'");

	# barrier: all 8 queue on a lock this session holds, then go at once
	my $barrier = $node->background_psql('postgres');
	$barrier->query_safe('SELECT pg_advisory_lock(4242)');
	my @callers = map {
		start_psql($node, [ 'SELECT pg_advisory_lock_shared(4242)', "SELECT mint.clone('$T', 'cc_$_')" ])
	} 1 .. 8;
	is( poll_until(
			$node,
			"SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242 AND NOT granted", '8'),
		'8',
		'2: 8 callers wait at the barrier');
	my $t0 = time;
	$barrier->query_safe('SELECT pg_advisory_unlock(4242)');
	my $ok = 0;
	for my $i (1 .. 8)
	{
		my ($rc, $out, $err) = finish_psql($callers[ $i - 1 ]);
		$ok++ if $rc == 0 && $out eq "cc_$i";
		diag("caller $i: rc=$rc out=$out err=$err") unless $rc == 0 && $out eq "cc_$i";
	}
	$barrier->quit;
	is($ok, 8, sprintf('2: all 8 concurrent clone() calls return their target (%.0f ms)', 1000 * (time - $t0)));

	my @oids = map { oid_of($node, "cc_$_") } 1 .. 8;
	my %distinct = map { $_ => 1 } grep { $_ ne '' } @oids;
	is(scalar(keys %distinct), 8, '2: 8 distinct databases (8 distinct OIDs)');
	my @content = map { clone_content($node, "cc_$_") } 1 .. 8;
	is_deeply(\@content, [ ('v1:1000') x 8 ], '2: every clone is complete (marker created last is there)');
	is( val(
			$node,
			"SELECT count(*) FROM mint.databases WHERE kind = 'clone' AND state = 'ready' AND datname LIKE 'cc\\_%'"),
		'8',
		'2: all 8 registered as ready clones');

	my ($h1, $m1) = pool_counts($node, $T);
	is(($h1 - $h0) + ($m1 - $m0), 8, "2: hits + misses add up to 8 (hits " . ($h1 - $h0) . ", misses " . ($m1 - $m0) . ")");
	cmp_ok($h1 - $h0, '>=', 1, '2: at least one caller got a spare');
	my $from_spares = in_set($spares, @oids);
	cmp_ok($from_spares, '>=', 1, "2: $from_spares callers got one of the 4 spares that were ready");
	cmp_ok($from_spares, '<=', $h1 - $h0, '2: ... and each of those was counted as a hit');

	is(poll_until($node, "SELECT hits + misses FROM mint.pool_config WHERE template = '$T'"
			  . " AND NOT EXISTS (SELECT 1 FROM mint.pool_events)", $folded0 + 8),
		$folded0 + 8, '2: the refiller folds the 8 events into mint.pool_config');
	ok(wait_pool_full($node, $T, 4), '2: the pool refills to 4');
	# conservation: each old spare was handed out once or is still a spare
	my $left = in_set($spares, keys %{ spare_oids($node, $T) });
	is($from_spares + $left, 4, "2: each of the 4 spares was handed out once or is still a spare ($left left)");
	is(consistency_problems($node), '', '2: registry and catalog agree');
}

# ---------------------------------------------------------------------------
# 3. a hit replaces an existing target atomically
# ---------------------------------------------------------------------------
{
	val($node, 'CREATE TABLE old_only (x int)', db => 'cc_1');
	my $old_oid = oid_of($node, 'cc_1');
	my $spares = spare_oids($node, $T);
	my ($h0) = pool_counts($node, $T);

	# a session on the old target
	my $squatter = $node->background_psql('cc_1', on_error_stop => 0);
	my $squatter_pid = $squatter->query_safe('SELECT pg_backend_pid()');

	# a watcher looks at the name in every snapshot until the OID changes
	val($node, q{
CREATE FUNCTION watch_swap(target name, old oid) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	n int; o oid; looks int := 0; gaps int := 0; deadline timestamptz := clock_timestamp() + interval '60 s';
BEGIN
	LOOP
		SELECT count(*), min(oid) INTO n, o FROM pg_database WHERE datname = target;
		looks := looks + 1;
		IF n <> 1 THEN gaps := gaps + 1; END IF;
		IF n = 1 AND o <> old THEN RETURN 'swapped gaps=' || gaps; END IF;
		IF clock_timestamp() > deadline THEN RETURN 'no swap seen gaps=' || gaps; END IF;
	END LOOP;
END $$});
	my $watcher = start_psql($node, ["SELECT watch_swap('cc_1', $old_oid)"]);
	poll_until($node, "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT watch\\_swap%' AND state = 'active'", '1');

	is(val($node, "SELECT mint.clone('$T', 'cc_1')"), 'cc_1', '3: clone over an existing target returns it');
	my $new_oid = oid_of($node, 'cc_1');
	like(val($node, "SELECT coalesce((SELECT datname FROM pg_database WHERE oid = $old_oid), 'gone')"),
		qr/^(_mint_old_[0-9a-f]+|gone)$/, '3: the old target was renamed to a private name (or is already gone)');
	my ($h1) = pool_counts($node, $T);
	is($h1 - $h0, 1, '3: it was a pool hit');
	ok($spares->{$new_oid}, '3: the target is now one of the ready spares');
	my (undef, $w) = finish_psql($watcher);
	is($w, 'swapped gaps=0', '3: a concurrent reader always saw exactly one database of that name');
	is(val($node, "SELECT count(*) FROM pg_stat_activity WHERE pid = $squatter_pid"), '0',
		'3: the session on the old target was ended before clone() returned');
	eval { $squatter->quit };
	is(clone_content($node, 'cc_1'), 'v1:1000', '3: the new target is a complete copy');
	is(val($node, "SELECT count(*) FROM pg_class WHERE relname = 'old_only'", db => 'cc_1'), '0',
		'3: ... and not the old database');
	is(poll_until($node, "SELECT count(*) FROM pg_database WHERE oid = $old_oid"
			  . " OR datname LIKE '\\_mint\\_old\\_%'", '0'),
		'0', '3: the old target is dropped in the background');
	is(poll_until($node, "SELECT count(*) FROM mint.registry WHERE datid = $old_oid", '0'), '0',
		'3: ... and forgotten');

	# a target made from another template is replaced the same way
	is(build_template($node, 'pool_other', 'o1', 'CREATE TABLE other_only (x int)'), 'build', '3: second template built');
	val($node, "SELECT mint.clone('pool_other', 'cross')");
	my $cross_old = oid_of($node, 'cross');
	ok(wait_pool_full($node, $T, 4), '3: pool full again');
	($h0) = pool_counts($node, $T);
	is(val($node, "SELECT mint.clone('$T', 'cross')"), 'cross', '3: clone over a clone of another template');
	($h1) = pool_counts($node, $T);
	is($h1 - $h0, 1, '3: ... is a pool hit');
	is(clone_content($node, 'cross'), 'v1:1000', '3: ... and holds the pooled template');
	is(poll_until($node, "SELECT count(*) FROM pg_database WHERE oid = $cross_old", '0', 10),
		'0', '3: ... and its old database (of the other template) is dropped in the background');

	# inside a transaction block
	ok(wait_pool_full($node, $T, 4), '3: pool full again');
	$spares = spare_oids($node, $T);
	($h0) = pool_counts($node, $T);
	my $old2 = oid_of($node, 'cc_2');
	is(val($node, "BEGIN; SELECT mint.clone('$T', 'cc_2'); COMMIT;"), 'cc_2',
		'3: BEGIN; clone(t, existing target); COMMIT works');
	($h1) = pool_counts($node, $T);
	is($h1 - $h0, 1, '3: ... as a pool hit');
	ok($spares->{ oid_of($node, 'cc_2') }, '3: ... handing out one of the spares');
	is(clone_content($node, 'cc_2'), 'v1:1000', '3: ... complete');
	is(poll_until($node, "SELECT count(*) FROM pg_database WHERE oid = $old2", '0'), '0',
		'3: ... and the old one is dropped');
	is(val($node, "BEGIN; SELECT mint.clone('$T', 'txn_rb'); ROLLBACK;"), 'txn_rb',
		'3: clone inside a block that rolls back');
	is(clone_content($node, 'txn_rb'), 'v1:1000', '3: ... commits on its own (documented)');
	is(consistency_problems($node), '', '3: registry and catalog agree');
}

# ---------------------------------------------------------------------------
# 4. rebuild with a new fingerprint invalidates the spares
# ---------------------------------------------------------------------------
{
	ok(wait_pool_full($node, $T, 4), '4: pool full of v1 spares');
	my $v1_spares = spare_oids($node, $T);
	my $v1_oid = oid_of($node, $T);
	my $b = $node->background_psql('postgres');
	is($b->query_safe("SELECT mint.template_begin('$T', 'v2')"), 'build', '4: new fingerprint starts a rebuild');
	val($node, q{
CREATE TABLE items AS SELECT g AS id FROM generate_series(1, 1000) g;
CREATE TABLE v2_only (x int);
CREATE TABLE build_marker (build text);
INSERT INTO build_marker VALUES ('v2');
}, db => $T);
	$b->query_safe("SELECT mint.template_finish('$T')");
	$b->quit;
	my $v2_oid = oid_of($node, $T);
	isnt($v2_oid, $v1_oid, '4: the template is a new database');

	# straight away, before the refiller could clean up
	my @got;
	for my $i (1 .. 3)
	{
		# v1 stays as a version of its own (1.2): these clones name v2
		val($node, "SELECT mint.clone('$T', 'after_v2_$i', 'v2')");
		push @got,
		  clone_content($node, "after_v2_$i") . ':'
		  . val($node, "SELECT count(*) FROM pg_class WHERE relname = 'v2_only'", db => "after_v2_$i");
	}
	is_deeply(\@got, [ ('v2:1000:1') x 3 ], '4: clones right after the rebuild hold the new build');
	is(in_set($v1_spares, map { oid_of($node, "after_v2_$_") } 1 .. 3), 0, '4: none of them is a v1 spare');
	is( poll_until(
			$node,
			'SELECT count(*) FROM pg_database WHERE oid IN (' . join(',', keys %$v1_spares) . ')', '0'),
		'0',
		'4: the v1 spares are dropped');
	is(val($node, 'SELECT count(*) FROM mint.registry WHERE datid IN (' . join(',', keys %$v1_spares) . ')'),
		'0', '4: ... and forgotten');
	ok(wait_pool_full($node, $T, 4), '4: the pool refills');
	is( val(
			$node,
			"SELECT count(*) FROM mint.registry WHERE kind = 'spare' AND template = '$T' AND template_datid = $v2_oid AND fingerprint = 'v2'"
		),
		'4',
		'4: ... with spares of the new build');
	# v1, which nobody clones any more, goes (as mint.gc would drop it once
	# unused): the sections below clone the template without naming a version
	is(val($node, "SELECT count(mint.drop(datname)) FROM mint.databases WHERE version_of = '$T' AND fingerprint = 'v1'"),
		'1', '4: the superseded version v1 is dropped');
}

# ---------------------------------------------------------------------------
# 9. ownership
# ---------------------------------------------------------------------------
{
	val($node, 'CREATE ROLE pool_a LOGIN CREATEDB; CREATE ROLE pool_b LOGIN CREATEDB; CREATE ROLE pool_c LOGIN');
	is(build_template($node, 'own_tpl', 'o1', $schema_v1, user => 'pool_a'), 'build', '9: role A builds a template');
	val($node, "SELECT mint.set_pool('own_tpl', 2)", user => 'pool_a');
	ok(wait_pool_full($node, 'own_tpl', 2), '9: A sets a pool of 2');
	is(val($node, "SELECT string_agg(DISTINCT owner, ',') FROM mint.databases WHERE kind = 'spare' AND template = 'own_tpl'"),
		'pool_a', '9: the spares belong to A');
	my $spares = spare_oids($node, 'own_tpl');

	is(sqlstate($node, "SELECT mint.set_pool('own_tpl', 3)", user => 'pool_b'), '42501',
		'9: role B cannot change A\'s pool (42501)');
	is(val($node, "SELECT spares || '|' || pg_get_userbyid(owner) FROM mint.pool_config WHERE template = 'own_tpl'"),
		'2|pool_a', '9: ... the pool is unchanged');

	my @c0 = pool_counts($node, 'own_tpl');
	is(val($node, "SELECT mint.clone('own_tpl', 'b_clone')", user => 'pool_b'), 'b_clone', '9: B clones A\'s template');
	my @c1 = pool_counts($node, 'own_tpl');
	is_deeply(\@c1, \@c0, '9: ... no hit, no miss counted');
	ok(!$spares->{ oid_of($node, 'b_clone') }, '9: ... B did not get one of A\'s spares');
	is(val($node, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'b_clone'"), 'pool_b',
		'9: ... B\'s clone is owned by B');
	is(clone_content($node, 'b_clone'), 'v1:1000', '9: ... and complete');
	my ($a_spare) = map { val($node, "SELECT datname FROM pg_database WHERE oid = $_") } sort keys %$spares;
	is(sqlstate($node, "SELECT mint.clone('own_tpl', '$a_spare')", user => 'pool_b'), '42809',
		'9: B cannot use a spare\'s name as a clone target (42809)');
	is(sqlstate($node, "SELECT mint.drop('$a_spare')", user => 'pool_b'), '42501', '9: B cannot drop A\'s spare (42501)');
	is(join(',', sort keys %{ spare_oids($node, 'own_tpl') }), join(',', sort keys %$spares),
		'9: A\'s spares are untouched');

	is(val($node, "SELECT mint.clone('own_tpl', 'a_clone')", user => 'pool_a'), 'a_clone', '9: A clones');
	ok($spares->{ oid_of($node, 'a_clone') }, '9: ... and gets a spare');
	is(val($node, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'a_clone'"), 'pool_a',
		'9: ... owned by A');
	ok(wait_pool_full($node, 'own_tpl', 2), '9: A\'s pool refills');
	$spares = spare_oids($node, 'own_tpl');
	@c0 = pool_counts($node, 'own_tpl');
	val($node, "SELECT mint.clone('own_tpl', 'su_clone')");
	@c1 = pool_counts($node, 'own_tpl');
	is_deeply(\@c1, \@c0, '9: a superuser\'s clone takes none of A\'s spares (no hit, no miss)');
	ok(!$spares->{ oid_of($node, 'su_clone') }, '9: ... it got a copy of its own');
	is(val($node, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'su_clone'"), 'postgres',
		'9: ... owned by the superuser, never by another role');
	ok(wait_pool_full($node, 'own_tpl', 2), '9: A\'s pool is still full');

	# a superuser replacing B's clone: a copy, B's old database dropped
	my $b_old = oid_of($node, 'b_clone');
	@c0 = pool_counts($node, 'own_tpl');
	val($node, "SELECT mint.clone('own_tpl', 'b_clone')");
	@c1 = pool_counts($node, 'own_tpl');
	is_deeply(\@c1, \@c0, '9: a superuser replaces B\'s clone without A\'s spares');
	is(val($node, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'b_clone'"), 'postgres',
		'9: ... the new b_clone is the superuser\'s');
	is(poll_until($node, "SELECT count(*) FROM pg_database WHERE oid = $b_old", '0', 10),
		'0', '9: ... and B\'s old database is dropped in the background');
	ok(wait_pool_full($node, 'own_tpl', 2), '9: A\'s pool is untouched');

	# 10. errors
	is(sqlstate($node, "SELECT mint.set_pool('$T', NULL)"), '22004', '10: spares NULL: 22004');
	is(sqlstate($node, "SELECT mint.set_pool(NULL, 1)"),   '22004', '10: template NULL: 22004');
	is(sqlstate($node, "SELECT mint.set_pool('$T', -1)"),  '22023', '10: spares -1: 22023');
	is(sqlstate($node, "SELECT mint.set_pool('$T', 101)"), '22023', '10: spares 101: 22023');
	is(sqlstate($node, "SELECT mint.set_pool('c_tpl', 1)", user => 'pool_c'), '42501', '10: no CREATEDB: 42501');
	is(val($node, "SELECT string_agg(template || ':' || spares, ',' ORDER BY template) FROM mint.pool_config"),
		"own_tpl:2,$T:4", '10: failed calls change no pool');
}

# ---------------------------------------------------------------------------
# 11. a spare renamed by hand is never handed out
# ---------------------------------------------------------------------------
{
	ok(wait_pool_full($node, $T, 4), '11: pool full');
	my $spares = spare_oids($node, $T);
	# the oldest ready spare: the one the next hit would take
	my $oldest = val($node, "SELECT datid FROM mint.registry WHERE kind = 'spare' AND state = 'ready'"
		  . " AND template = '$T' ORDER BY created_at LIMIT 1");
	my $name = val($node, "SELECT datname FROM pg_database WHERE oid = $oldest");
	val($node, qq{ALTER DATABASE "$name" RENAME TO hand_renamed});
	my @c0 = pool_counts($node, $T);
	is(val($node, "SELECT mint.clone('$T', 'after_rename')"), 'after_rename', '11: clone works');
	my @c1 = pool_counts($node, $T);
	is($c1[0] - $c0[0], 1, '11: ... and is a pool hit');
	my $got = oid_of($node, 'after_rename');
	ok($spares->{$got} && $got != $oldest, '11: ... with another spare, not the renamed one');
	is(clone_content($node, 'after_rename'), 'v2:1000', '11: ... complete');
	is(val($node, "SELECT datname FROM pg_database WHERE oid = $oldest"), 'hand_renamed',
		'11: the renamed database is left alone');
	is(poll_until($node, "SELECT ready FROM mint.pools WHERE template = '$T'", '4'), '4',
		'11: the pool refills to 4 usable spares');
	val($node, 'DROP DATABASE hand_renamed');
	val($node, "SELECT mint.gc('0')");
	is(val($node, "SELECT count(*) FROM mint.registry WHERE datid = $oldest"), '0',
		'11: mint.gc() forgets the row of the database dropped by hand');
	ok(wait_pool_full($node, $T, 4), '11: pool full');
	val($node, "SELECT mint.drop('after_rename')");
	is(consistency_problems($node), '', '11: registry and catalog agree');
}

# ---------------------------------------------------------------------------
# 12. spares are copied with pg_mint.pool_strategy: file_copy (the default)
#     writes almost no WAL, wal_log writes the whole template to the WAL
# ---------------------------------------------------------------------------
{
	my $wal_per_spare = sub {
		ok(wait_pool_full($node, $T, 4), "12: pool full");
		my $lsn0 = val($node, 'SELECT pg_current_wal_lsn()');
		val($node, "SELECT mint.clone('$T', 'strategy_probe')");
		ok(wait_pool_full($node, $T, 4), "12: one spare made");
		return val($node, "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '$lsn0')::bigint");
	};
	my $tpl_size = val($node, "SELECT pg_database_size('$T')");
	my $fc = $wal_per_spare->();
	# ALTER SYSTEM knows pg_mint's settings once the library is loaded
	val($node, "LOAD 'pg_mint'; ALTER SYSTEM SET pg_mint.pool_strategy = wal_log");
	val($node, 'SELECT pg_reload_conf()');
	my $wl = $wal_per_spare->();
	val($node, "LOAD 'pg_mint'; ALTER SYSTEM RESET pg_mint.pool_strategy");
	val($node, 'SELECT pg_reload_conf()');
	note("12: WAL for one hit and its refill: $fc bytes with file_copy, $wl with wal_log; template $tpl_size bytes");
	cmp_ok($fc, '<', $tpl_size / 4, '12: file_copy spares: WAL well below the template size');
	if (val($node, 'SHOW server_version_num') >= 150000)
	{
		cmp_ok($wl, '>', $tpl_size / 2, '12: pool_strategy = wal_log: the template goes through the WAL');
	}
	else
	{
		# before 15 CREATE DATABASE has no STRATEGY: every copy is a file copy
		cmp_ok($wl, '<', $tpl_size / 4, '12: before 15, pool_strategy = wal_log still copies files');
	}
	val($node, "SELECT mint.drop('strategy_probe')");
}

# ---------------------------------------------------------------------------
# 8. set_pool(t, 0), mint.drop of a spare and of the template
# ---------------------------------------------------------------------------
{
	ok(wait_pool_full($node, $T, 4), '8: pool full');
	my ($one) = keys %{ spare_oids($node, $T) };
	my $one_name = val($node, "SELECT datname FROM pg_database WHERE oid = $one");
	is(val($node, "SELECT mint.drop('$one_name')"), 't', '8: mint.drop of a spare returns true');
	is(val($node, "SELECT count(*) FROM pg_database WHERE oid = $one") . val($node, "SELECT count(*) FROM mint.registry WHERE datid = $one"),
		'00', '8: ... and it is gone');

	my $before = spare_oids($node, $T);
	val($node, "SELECT mint.set_pool('$T', 0)");
	is( poll_until(
			$node,
			'SELECT count(*) FROM pg_database WHERE oid IN (' . join(',', keys %$before) . ')'
			  . " OR oid IN (SELECT datid FROM mint.registry WHERE kind = 'spare' AND template = '$T')",
			'0'),
		'0',
		'8: set_pool(t, 0) drops every spare');
	is(val($node, "SELECT count(*) FROM mint.registry WHERE kind = 'spare' AND template = '$T'"), '0',
		'8: ... and forgets them');
	is(val($node, "SELECT target_size || '|' || ready FROM mint.pools WHERE template = '$T'"), '0|0',
		'8: mint.pools shows an empty pool');
	my ($h0, $m0) = pool_counts($node, $T);
	val($node, "SELECT mint.clone('$T', 'no_pool')");
	is(clone_content($node, 'no_pool'), 'v2:1000', '8: clone works with the pool off');
	is(join('|', pool_counts($node, $T)), "$h0|$m0", '8: ... counting neither hit nor miss');

	val($node, "SELECT mint.set_pool('$T', 2)");
	ok(wait_pool_full($node, $T, 2), '8: set_pool(t, 2) fills again');
	my $spares = spare_oids($node, $T);
	is(val($node, "SELECT mint.drop('$T')"), 't', '8: mint.drop(template)');
	is( poll_until(
			$node,
			'SELECT count(*) FROM pg_database WHERE oid IN (' . join(',', keys %$spares) . ')', '0'),
		'0',
		'8: ... drops its spares');
	is(val($node, "SELECT count(*) FROM mint.registry WHERE template = '$T' AND kind = 'spare'"), '0',
		'8: ... and forgets them');
	is(poll_until($node, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_mint pool'", '0'), '0',
		'8: no refiller left');
	is(consistency_problems($node), '', '8: registry and catalog agree');
}

# ---------------------------------------------------------------------------
# timing diagnostic: 20 pool hits vs 5 plain clones, side by side
# ---------------------------------------------------------------------------
{
	is(build_template($node, 'time_tpl', 't1', $schema_v1), 'build', 'timing: template built');
	is(build_template($node, 'time_plain', 't1', $schema_v1), 'build', 'timing: same template without a pool');
	val($node, "SELECT mint.set_pool('time_tpl', 20)");
	ok(wait_pool_full($node, 'time_tpl', 20), 'timing: pool of 20 full');
	my ($h0) = pool_counts($node, 'time_tpl');
	my $s = $node->background_psql('postgres');
	$s->query_safe('\timing on');
	my (@hit, @plain);
	for my $i (1 .. 20)
	{
		my $out = $s->query_safe("SELECT mint.clone('time_tpl', 'hit_$i')");
		push @hit, $1 if $out =~ /Time: ([0-9.]+) ms/;
	}
	ok(wait_pool_full($node, 'time_tpl', 20), 'timing: pool refilled before the plain clones');
	for my $i (1 .. 5)
	{
		my $out = $s->query_safe("SELECT mint.clone('time_plain', 'plain_$i')");
		push @plain, $1 if $out =~ /Time: ([0-9.]+) ms/;
	}
	$s->quit;
	my ($h1) = pool_counts($node, 'time_tpl');
	is($h1 - $h0, 20, 'timing: all 20 were pool hits');
	my $p50 = sub { my @v = sort { $a <=> $b } @_; return @v ? $v[ int($#v / 2) ] : -1 };
	note(sprintf('timing: pool hit p50 %.2f ms (n=%d), plain clone p50 %.2f ms (n=%d)',
		$p50->(@hit), scalar @hit, $p50->(@plain), scalar @plain));
	val($node, "SELECT mint.set_pool('time_tpl', 0)");
}

$node->stop;
done_testing();
