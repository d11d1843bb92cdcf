# tests/t/230_hostile_concurrency.pl -- concurrency findings of the security
# review, each fixed; this test keeps them fixed.
#
#  A. self-deadlock: a pool hit renames a spare into place inside the
#     caller's own transaction (a DO block in autocommit), which then holds
#     its locks; a later mint.gc() in the same transaction must skip those
#     databases instead of waiting for a background worker that waits for
#     the caller (new target and replaced target); a mint.drop() of such a
#     database fails at once with 55006 instead of hanging, and the whole DO
#     rolls back; BEGIN; clone; gc; COMMIT works;
#  B. 24 concurrent clones onto 4 targets with a full pool: every call
#     succeeds (no "changed by someone else"), 3 bursts;
#  C. 6 concurrent mint.gc('0'): all succeed, everything idle is collected
#     once, no "does not exist" error;
#  D. an older_than that overflows timestamp arithmetic is refused (22023),
#     drops nothing;
#  E. a template's pool goes with it: mint.drop(template) and a template
#     dropped by hand (after mint.gc) leave no pool row and no spare.
#
# Every statement that could hang if a bug came back runs under
# statement_timeout and an IPC::Run timeout, so the test fails instead.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/pool_helpers";
use PoolUtil;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

my $node = pool_node('hostile_conc', "max_worker_processes = 32\nmax_connections = 100\n");

my $T      = 'a_tpl';
my $schema = 'CREATE TABLE items(id int); INSERT INTO items SELECT generate_series(1,1000);';
is(build_template($node, $T, 'v1', $schema), 'build', 'template a_tpl built');
val($node, "SELECT mint.set_pool('$T', 3)");
ok(wait_pool_full($node, $T, 3), 'pool of 3 full');

# hard limit of a psql run: well above statement_timeout, so a hang shows as
# a timed-out run rather than a stuck test
my $HARD_SECS = 90;

# Run $sql (verbose errors, so SQLSTATEs show) with an IPC::Run timeout.
# Returns a hash: rc, out, err, secs, timed_out, sqlstate.
sub run_timed
{
	my ($sql, %o) = @_;
	my ($stdout, $stderr, $timed_out) = ('', '', 0);
	my $t0 = time;
	my $rc = $node->psql(
		$o{db} // 'postgres', "\\set VERBOSITY verbose\n$sql",
		stdout    => \$stdout,
		stderr    => \$stderr,
		timeout   => $o{timeout} // $HARD_SECS,
		timed_out => \$timed_out);
	my %r = (
		rc        => $rc,
		out       => $stdout // '',
		err       => $stderr // '',
		secs      => time - $t0,
		timed_out => $timed_out);
	$r{sqlstate} = $r{err} =~ /ERROR:\s+([0-9A-Z]{5}):/ ? $1 : 'none';
	diag(sprintf("run_timed: %s\n  rc=%s timed_out=%s %.1f s\n  stderr: %s", $sql, $rc // 'undef',
			$timed_out, $r{secs}, $r{err}))
	  if $timed_out || ($r{err} =~ /ERROR/ && !$o{expect_error});
	return \%r;
}

# finish_psql that fails instead of dying when the IPC::Run timer fires
sub finish_bounded
{
	my ($h) = @_;
	my @r = eval { finish_psql($h) };
	return @r unless $@;
	my $why = $@;
	eval { $h->{run}->kill_kill };
	return (-1, '', "IPC::Run timeout or failure: $why; stderr so far: $h->{err}");
}

# start N psql sessions that queue on an advisory lock, then release them at
# once; each runs @$cmds after the barrier.  Returns the finished results
# [rc, last line, stderr] in order.
sub burst
{
	my ($label, $key, @cmd_lists) = @_;
	my $barrier = $node->background_psql('postgres');
	$barrier->query_safe("SELECT pg_advisory_lock($key)");
	my $n       = scalar @cmd_lists;
	my @callers = map {
		start_psql($node,
			[ "SET statement_timeout = '60s'", "SELECT pg_advisory_lock_shared($key)", @$_ ])
	} @cmd_lists;
	is( poll_until(
			$node,
			"SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = $key AND NOT granted",
			"$n"),
		"$n",
		"$label: $n sessions wait at the barrier");
	$barrier->query_safe("SELECT pg_advisory_unlock($key)");
	my @res = map { [ finish_bounded($_) ] } @callers;
	$barrier->quit;
	return @res;
}

sub no_old_left
{
	my ($label) = @_;
	is(poll_until($node, "SELECT count(*) FROM pg_database WHERE datname LIKE '\\_mint\\_old\\_%'", '0'),
		'0', "$label: no _mint_old_ database remains");
	is(consistency_problems($node), '', "$label: registry and catalog agree");
}

sub items_in
{
	my ($db) = @_;
	my ($rc, $out, $err) = $node->psql($db, 'SELECT count(*) FROM items', timeout => $HARD_SECS);
	return $rc == 0 ? $out : "error: $err";
}

# ---------------------------------------------------------------------------
# A. self-deadlock in one transaction
# ---------------------------------------------------------------------------
{
	for my $case ('new target', 'existing target (replace)')
	{
		ok(wait_pool_full($node, $T, 3), "A ($case): pool full");
		my $old_oid = oid_of($node, 'a_c1');
		is($old_oid ne '' ? 'exists' : 'absent', $case eq 'new target' ? 'absent' : 'exists',
			"A ($case): a_c1 is " . ($case eq 'new target' ? 'absent' : 'present') . ' beforehand');
		my $spares = spare_oids($node, $T);
		my ($h0) = pool_counts($node, $T);
		my $r = run_timed(
			q{SET statement_timeout = '30s';
DO $$ BEGIN PERFORM mint.clone('a_tpl','a_c1'); PERFORM mint.gc('0'); END $$;});
		ok(!$r->{timed_out} && $r->{rc} == 0 && $r->{err} !~ /ERROR/,
			"A ($case): DO clone + gc('0') completes without error");
		cmp_ok($r->{secs}, '<', 20, sprintf("A ($case): ... in %.2f s, well before statement_timeout", $r->{secs}));
		my ($h1) = pool_counts($node, $T);
		is($h1 - $h0, 1, "A ($case): the clone was a pool hit (the path under test)");
		my $new_oid = oid_of($node, 'a_c1');
		ok($spares->{$new_oid}, "A ($case): a_c1 is one of the spares that were ready");
		is(items_in('a_c1'), '1000', "A ($case): a_c1 is usable and complete (1000 items)");
		if ($old_oid ne '')
		{
			if ($new_oid ne $old_oid)
			{
				is(poll_until($node, "SELECT count(*) FROM pg_database WHERE oid = $old_oid", '0'), '0',
					"A ($case): the replaced a_c1 is dropped in the background");
			}
			else { fail("A ($case): a_c1 was not replaced (still OID $old_oid)") }
		}
		no_old_left("A ($case)");
	}

	# clone replaces a_c2 from the pool, then drop(a_c2) in the same
	# transaction: refused at once, the DO rolls back entirely
	is(val($node, "SELECT mint.clone('$T', 'a_c2')"), 'a_c2', 'A (drop): a_c2 exists beforehand');
	no_old_left('A (drop): before');
	ok(wait_pool_full($node, $T, 3), 'A (drop): pool full');
	my $a_c2_oid = oid_of($node, 'a_c2');
	my $r = run_timed(
		q{SET statement_timeout = '30s';
DO $$ BEGIN PERFORM mint.clone('a_tpl','a_c2'); PERFORM mint.drop('a_c2'); END $$;},
		expect_error => 1);
	ok(!$r->{timed_out}, 'A (drop): DO clone + drop does not hang');
	is($r->{sqlstate}, '55006', 'A (drop): ... fails with 55006');
	like($r->{err}, qr/database "a_c2" was replaced from a warm pool earlier in this transaction/,
		'A (drop): ... saying a_c2 was replaced from a warm pool earlier in this transaction');
	cmp_ok($r->{secs}, '<', 20, sprintf('A (drop): ... quickly (%.2f s)', $r->{secs}));
	is(oid_of($node, 'a_c2'), $a_c2_oid, 'A (drop): a_c2 is still the pre-existing database (same OID)');
	is(items_in('a_c2'), '1000', 'A (drop): ... usable');
	is(poll_until($node, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_mint worker'", '0'),
		'0', 'A (drop): no pg_mint worker is left stuck');
	ok(wait_pool_full($node, $T, 3), 'A (drop): the pool is full (the spare went back with the rollback)');
	no_old_left('A (drop)');

	# explicit transaction block: clone runs in a worker and commits on its own
	$r = run_timed(q{SET statement_timeout = '30s';
BEGIN;
SELECT mint.clone('a_tpl','a_c3');
SELECT mint.gc('0');
COMMIT;});
	ok(!$r->{timed_out} && $r->{rc} == 0 && $r->{err} !~ /ERROR/,
		'A (block): BEGIN; clone; gc(0); COMMIT completes without error');
	cmp_ok($r->{secs}, '<', 20, sprintf('A (block): ... in %.2f s', $r->{secs}));
	like($r->{out}, qr/^a_c3$/m, 'A (block): clone returned a_c3');
	note('A (block): the block printed: ' . join(',', split /\n/, $r->{out}));
	is(poll_until($node, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_mint worker'", '0'),
		'0', 'A (block): no pg_mint worker is left');
	no_old_left('A (block)');
}

# ---------------------------------------------------------------------------
# B. 24 concurrent clones onto 4 targets, pool-hit path
# ---------------------------------------------------------------------------
for my $round (1 .. 3)
{
	ok(wait_pool_full($node, $T, 3), "B$round: pool of 3 full");
	my ($h0) = pool_counts($node, $T);
	my @res = burst("B$round", 4242, map { [ "SELECT mint.clone('$T', 'par_' || ($_ % 4))" ] } 0 .. 23);
	my ($ok, $someone_else) = (0, 0);
	for my $i (0 .. 23)
	{
		my ($rc, $out, $err) = @{ $res[$i] };
		my $want = 'par_' . ($i % 4);
		$someone_else++ if $err =~ /changed by someone else/;
		if ($rc == 0 && $out eq $want && $err !~ /ERROR/) { $ok++ }
		else { diag("B$round caller $i: rc=$rc out=$out err=$err") }
	}
	is($ok, 24, "B$round: all 24 concurrent clone() calls succeed");
	is($someone_else, 0, "B$round: no 'changed by someone else' error");
	my ($h1) = pool_counts($node, $T);
	cmp_ok($h1 - $h0, '>=', 1, "B$round: the pool-hit path was taken (" . ($h1 - $h0) . ' hits)');
	is_deeply([ map { items_in("par_$_") } 0 .. 3 ], [ ('1000') x 4 ],
		"B$round: par_0..par_3 exist, each with 1000 items");
	no_old_left("B$round");
}

# ---------------------------------------------------------------------------
# C. 6 concurrent mint.gc('0')
# ---------------------------------------------------------------------------
{
	for my $i (1 .. 12)
	{
		val($node, "SET statement_timeout = '60s'; SELECT mint.clone('$T', 'gc_$i')");
	}
	is(val($node, "SELECT count(*) FROM pg_database WHERE datname ~ '^gc_[0-9]+\$'"), '12', 'C: 12 clones gc_N exist');
	ok(wait_pool_full($node, $T, 3), 'C: pool full');
	no_old_left('C: before');
	my $clones = val($node, "SELECT count(*) FROM mint.databases WHERE kind = 'clone'");
	cmp_ok($clones, '>=', 12, "C: $clones idle clones to collect");

	my @res = burst('C', 4343, map { ["SELECT count(*) FROM mint.gc('0')"] } 1 .. 6);
	my ($ok, $dne, $sum) = (0, 0, 0);
	for my $i (0 .. 5)
	{
		my ($rc, $out, $err) = @{ $res[$i] };
		$dne++ if $err =~ /does not exist/;
		if ($rc == 0 && $out =~ /^\d+$/ && $err !~ /ERROR/) { $ok++; $sum += $out }
		else { diag("C gc $i: rc=$rc out=$out err=$err") }
	}
	is($ok,  6, 'C: all 6 concurrent gc calls succeed');
	is($dne, 0, "C: no 'does not exist' error");
	is(val($node, "SELECT count(*) FROM pg_database WHERE datname ~ '^gc_[0-9]+\$'"), '0',
		'C: every gc_N is gone');
	is(val($node, "SELECT count(*) FROM mint.databases WHERE kind = 'clone'"), '0', 'C: no clone is left');
	is($sum, $clones, "C: the 6 calls together report each of the $clones clones once");
	is(consistency_problems($node), '', 'C: registry and catalog agree');
}

# ---------------------------------------------------------------------------
# D. older_than that overflows
# ---------------------------------------------------------------------------
{
	is(val($node, "SELECT mint.clone('$T', 'd_fresh')"), 'd_fresh', 'D: a fresh clone');
	my $d_oid = oid_of($node, 'd_fresh');
	my @bad = ('593066 years 8 months -423:58:09.448384', '100000 years', '-1 hour');
	my $pg_major = val($node, "SELECT current_setting('server_version_num')::int / 10000");
	if ($pg_major >= 17) { push @bad, 'infinity' }
	else { note("D: 'infinity'::interval needs PostgreSQL 17+ (server is $pg_major): not tested") }
	for my $iv (@bad)
	{
		for my $f ('gc_preview', 'gc')
		{
			my $r = run_timed("SET statement_timeout = '30s'; SELECT * FROM mint.$f('$iv')", expect_error => 1);
			ok(!$r->{timed_out}, "D: mint.$f('$iv') returns");
			is($r->{sqlstate}, '22023', "D: mint.$f('$iv') fails with 22023");
		}
	}
	is(oid_of($node, 'd_fresh'), $d_oid, 'D: the fresh clone survives them');
	is(val($node, "SELECT count(*) FROM mint.gc_preview('1000 years')"), '0',
		"D: mint.gc_preview('1000 years') returns no rows with a fresh clone");
	is(oid_of($node, 'd_fresh'), $d_oid, 'D: ... and the clone is still there');
}

# ---------------------------------------------------------------------------
# E. pool rows go with their template
# ---------------------------------------------------------------------------
{
	ok(wait_pool_full($node, $T, 3), 'E: pool of a_tpl full');
	is(val($node, "SET statement_timeout = '60s'; SELECT mint.drop('$T')"), 't', 'E: mint.drop(a_tpl)');
	is(val($node, "SELECT count(*) FROM mint.pools WHERE template = '$T'"), '0', 'E: mint.pools has no row for it');
	is(val($node, "SELECT count(*) FROM mint.pool_config WHERE template = '$T'"), '0',
		'E: mint.pool_config has no row for it');
	is( poll_until(
			$node,
			"SELECT (SELECT count(*) FROM mint.registry WHERE kind = 'spare' AND template = '$T')"
			  . " + (SELECT count(*) FROM pg_database WHERE datname LIKE '\\_mint\\_spare\\_%')",
			'0'),
		'0',
		'E: every spare of a_tpl is dropped and forgotten');
	is(sqlstate($node, "SET statement_timeout = '30s'; SELECT mint.set_pool('$T', 0)"), '3D000',
		'E: set_pool(dropped template, 0): 3D000');
	is(sqlstate($node, "SET statement_timeout = '30s'; SELECT mint.set_pool('never_existed', 1)"), '3D000',
		'E: set_pool(never existed, 1): 3D000');
	is(val($node, "SELECT count(*) FROM mint.pool_config"), '0', 'E: ... and they created no pool row');
	is(consistency_problems($node), '', 'E: registry and catalog agree');

	# a template dropped by hand
	is(build_template($node, 'b_tpl', 'v1', $schema), 'build', 'E: template b_tpl built');
	val($node, "SELECT mint.set_pool('b_tpl', 2)");
	ok(wait_pool_full($node, 'b_tpl', 2), 'E: pool of b_tpl full');
	val($node, 'ALTER DATABASE b_tpl IS_TEMPLATE false');
	val($node, 'DROP DATABASE b_tpl WITH (FORCE)');
	my $r = run_timed("SET statement_timeout = '60s'; SELECT mint.gc('0')");
	ok(!$r->{timed_out} && $r->{rc} == 0 && $r->{err} !~ /ERROR/, 'E: mint.gc(0) after the hand drop succeeds');
	is(val($node, "SELECT count(*) FROM mint.pool_config WHERE template = 'b_tpl'"), '0',
		'E: ... and the pool row of b_tpl is gone');
	is(val($node, "SELECT count(*) FROM mint.pools WHERE template = 'b_tpl'"), '0',
		'E: ... mint.pools shows none');
	is( poll_until(
			$node,
			"SELECT (SELECT count(*) FROM mint.registry WHERE kind = 'spare' AND template = 'b_tpl')"
			  . " + (SELECT count(*) FROM pg_database WHERE datname LIKE '\\_mint\\_spare\\_%')",
			'0'),
		'0',
		'E: ... and its spares are dropped');
	is(consistency_problems($node), '', 'E: registry and catalog agree');
}

$node->stop;
done_testing();
