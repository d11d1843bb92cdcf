# tests/t/041_pool_crash.pl -- the warm pool when its refill worker dies.
#
#  5. immediate shutdown while the refiller copies a spare (a ~50 MB
#     template, STRATEGY FILE_COPY, so a copy takes a while): after the
#     restart registry and catalog agree (a spare row and its database exist
#     only together), the half-made spare is nowhere, every spare shown as
#     ready is complete and is handed out, mint.gc('0') keeps valid spares,
#     and the pool refills once a clone kicks it;
#  6. pg_terminate_backend on the refiller while it copies a spare: no
#     database, registry row or data directory is left of it; the next kick
#     refills the pool.
# mint-tap: alone (tests/run runs it with no other TAP file: catches the refiller mid-copy: needs the refiller not to be starved)
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/pool_helpers";
use PoolUtil;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

my $node = pool_node('pool_crash', "max_worker_processes = 16\npg_mint.strategy = file_copy\n");
my $T = 'big_tpl';
is( build_template(
		$node, $T, 'v1', q{
CREATE TABLE big AS SELECT g, repeat('x', 200) AS pad FROM generate_series(1, 200000) g;
CREATE TABLE items AS SELECT g AS id FROM generate_series(1, 1000) g;
CREATE TABLE build_marker (build text);
INSERT INTO build_marker VALUES ('v1');
}),
	'build',
	'template of ~50 MB built');
note('template size: ' . val($node, "SELECT pg_size_pretty(pg_database_size('$T'))"));

# the spare the refiller is copying right now ('' when none)
# (not yet committed: pg_stat_activity still shows the statement for a moment after)
my $copying_sql = "SELECT coalesce((SELECT s FROM (SELECT substring(query from '_mint_spare_[0-9a-f]+') AS s"
  . " FROM pg_stat_activity WHERE backend_type = 'pg_mint pool' AND state = 'active'"
  . " AND query LIKE 'CREATE DATABASE%') a WHERE s NOT IN (SELECT datname FROM mint.registry) LIMIT 1), '')";

# data directories of databases the catalog does not know
sub orphan_dirs
{
	my %known = map { $_ => 1 } split /\n/, val($node, 'SELECT oid FROM pg_database');
	opendir(my $d, $node->data_dir . '/base') or die "base: $!";
	my @o = sort grep { /^\d+$/ && !$known{$_} } readdir $d;
	closedir $d;
	return join(',', @o);
}

sub complete
{
	my ($db) = @_;
	return clone_content($node, $db) . ':' . val($node, 'SELECT count(*) FROM big', db => $db);
}

# ---------------------------------------------------------------------------
# 5. immediate shutdown while a spare is being copied
# ---------------------------------------------------------------------------
# a persistent session watches, so the shutdown follows within milliseconds
my $watch = $node->background_psql('postgres');
val($node, "SELECT mint.set_pool('$T', 4)");
my ($ready, $copying) = (0, '');
my $deadline = time + $POLL_SECS;
while (time < $deadline)
{
	($ready, $copying) = split /\|/,
	  $watch->query_safe("SELECT (SELECT ready FROM mint.pools WHERE template = '$T') || '|' || ($copying_sql)"), -1;
	last if $ready >= 1 && $copying ne '';
	last if $ready == 4;
}
my $t_caught = time;
$node->stop('immediate');
my $t_stopped = time;
eval { $watch->quit };
ok($ready >= 1 && $ready < 4 && $copying ne '', "5: caught the refiller copying $copying with $ready spare(s) ready");
note(sprintf('5: immediate shutdown %.0f ms after the refiller was seen copying', 1000 * ($t_stopped - $t_caught)));
$node->start;

is(consistency_problems($node), '', '5: after the restart registry and catalog agree');
my $half = val($node, "SELECT count(*) FROM pg_database WHERE datname = '$copying'") . '|'
  . val($node, "SELECT count(*) FROM mint.registry WHERE datname = '$copying'");
# the copy may have committed between the last look and the shutdown; then it is whole
ok($half eq '0|0' || $half eq '1|1', "5: the spare being copied exists with its row or not at all ($half)");
is(val($node, "SELECT count(*) FROM mint.registry WHERE kind = 'spare' AND state <> 'ready'"), '0',
	'5: no spare in any state but ready');
is(val($node, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_mint pool'"), '0',
	'5: no refiller runs after the restart');
my $survivors = spare_oids($node, $T);
my $n = scalar keys %$survivors;
cmp_ok($n, '>=', $ready, "5: $n ready spare(s) survived the crash");
is(val($node, "SELECT ready FROM mint.pools WHERE template = '$T'"), $n, '5: mint.pools counts them');

my @gc = split /\n/, val($node, "SELECT * FROM mint.gc('0')");
is(in_set({ map { (val($node, "SELECT datname FROM mint.registry WHERE datid = $_") => 1) } keys %$survivors }, @gc),
	0, "5: mint.gc('0') keeps the valid spares (it dropped: " . (join(',', @gc) || 'nothing') . ')');
is(consistency_problems($node), '', '5: registry and catalog agree after gc');

# every spare shown as ready is complete: take them all (oldest first)
my ($h0) = pool_counts($node, $T);
my @taken;
for my $i (1 .. $n)
{
	val($node, "SELECT mint.clone('$T', 'after_crash_$i')");
	push @taken, oid_of($node, "after_crash_$i");
}
my ($h1) = pool_counts($node, $T);
is($h1 - $h0, $n, "5: the next $n clones are pool hits");
is(join(',', sort @taken), join(',', sort keys %$survivors), '5: ... handing out exactly the surviving spares');
is_deeply([ map { complete("after_crash_$_") } 1 .. $n ], [ ('v1:1000:200000') x $n ],
	'5: ... each of them complete');
ok(wait_pool_full($node, $T, 4), '5: the kicked refiller refills the pool to 4');
is(consistency_problems($node), '', '5: registry and catalog agree');
note('data directories PostgreSQL left of the interrupted CREATE DATABASE (not in the catalog): '
	  . (orphan_dirs() || 'none'));

# ---------------------------------------------------------------------------
# 6. the refiller terminated while it copies a spare
# ---------------------------------------------------------------------------
my $orphans_before = orphan_dirs();
val($node, "SELECT mint.set_pool('$T', 6)");
my $killed = '';
$deadline = time + $POLL_SECS;
while (time < $deadline && $killed eq '')
{
	$killed = val($node,
		    "SELECT coalesce((SELECT substring(query from '_mint_spare_[0-9a-f]+') FROM pg_stat_activity"
		  . " WHERE backend_type = 'pg_mint pool' AND state = 'active' AND query LIKE 'CREATE DATABASE%'"
		  . " AND pg_terminate_backend(pid) LIMIT 1), '')");
	usleep(10_000) if $killed eq '';
}
isnt($killed, '', "6: terminated the refiller while it copied $killed");
is(poll_until($node, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_mint pool'", '0'), '0',
	'6: the refiller is gone');
is(val($node, "SELECT count(*) FROM pg_database WHERE datname = '$killed'"), '0', '6: no database of the interrupted copy');
is(val($node, "SELECT count(*) FROM mint.registry WHERE datname = '$killed'"), '0', '6: no registry row of it');
is(orphan_dirs(), $orphans_before, '6: no data directory of it');
is(consistency_problems($node), '', '6: registry and catalog agree');
my $after_kill = val($node, "SELECT ready FROM mint.pools WHERE template = '$T'");
cmp_ok($after_kill, '<', 6, "6: the pool stopped short ($after_kill of 6)");

my ($h2) = pool_counts($node, $T);
val($node, "SELECT mint.clone('$T', 'after_cancel')");
my ($h3) = pool_counts($node, $T);
is($h3 - $h2, 1, '6: the next clone is a hit');
is(complete('after_cancel'), 'v1:1000:200000', '6: ... complete');
ok(wait_pool_full($node, $T, 6), '6: ... and kicks a refill to 6');
is(consistency_problems($node), '', '6: registry and catalog agree');

$node->stop;
done_testing();
