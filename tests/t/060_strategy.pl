# tests/t/060_strategy.pl -- pg_mint.strategy = clone and auto.
#
# clone copies a template with STRATEGY FILE_COPY and file_copy_method =
# clone (PostgreSQL 18): on a file system with reflinks the copy shares the
# template's blocks.  Where the server or the file system cannot do that,
# clone fails with 0A000 before anything is made, and auto falls back to the
# server's default strategy.
#
# What "can" means is decided here independently of pg_mint: the server's
# version, and whether `cp --reflink=always` works in the data directory.
# Whether a copy shares blocks is read from the file system (FIEMAP through
# filefrag: extents flagged "shared").  Run with TESTDIR on XFS made with
# reflink=1 to exercise the cloning path (tests/matrix does, as root, for 18).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/pool_helpers";
use PoolUtil;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = pool_node('strategy', "max_worker_processes = 16\n");
my $pgdata = $node->data_dir;
my $major = int(val($node, 'SHOW server_version_num') / 10000);

# can this file system clone?  (coreutils' cp uses the same FICLONE ioctl)
my $fs_clones = do {
	my $a = "$pgdata/reflink_probe_a";
	my $b = "$pgdata/reflink_probe_b";
	open(my $fh, '>', $a) or die "$a: $!";
	print $fh ("x" x 65536);
	close $fh;
	my $ok = system('cp', '--reflink=always', $a, $b) == 0;
	unlink $a, $b;
	$ok;
};
my $can_clone = $major >= 18 && $fs_clones;
note("server $major, file system clones: " . ($fs_clones ? 'yes' : 'no'));

# a template with one table of ~8 MB, big enough to have real extents
build_template($node, 'tpl', 'v1',
	"CREATE TABLE big AS SELECT g AS id, repeat('x', 200) AS pad FROM generate_series(1, 30000) g; CHECKPOINT");

# are the blocks of table big in database $db shared with another file?
sub big_is_shared
{
	my ($db) = @_;
	my $rel = val($node, "SELECT pg_relation_filepath('big')", db => $db);
	my $out = `filefrag -v '$pgdata/$rel' 2>&1`;
	die "filefrag failed: $out" if $? != 0;
	return $out =~ /\bshared\b/ ? 1 : 0;
}

sub err_of
{
	my ($sql) = @_;
	my ($stdout, $stderr);
	$node->psql('postgres', "\\set VERBOSITY verbose\n$sql", stdout => \$stdout, stderr => \$stderr);
	return $stderr;
}

# ---------------------------------------------------------------------------
# 1. the settings accept the new values, for clones and for the pool
# ---------------------------------------------------------------------------
for my $v (qw(default wal_log file_copy clone auto))
{
	is(val($node, "LOAD 'pg_mint'; SET pg_mint.strategy = '$v'; SHOW pg_mint.strategy"),
		$v, "1: pg_mint.strategy = $v");
	is(val($node, "LOAD 'pg_mint'; SET pg_mint.pool_strategy = '$v'; SHOW pg_mint.pool_strategy"),
		$v, "1: pg_mint.pool_strategy = $v");
}
like(err_of("LOAD 'pg_mint'; SET pg_mint.strategy = reflink"), qr/22023/, '1: an unknown value is refused');

# ---------------------------------------------------------------------------
# 2. clone: shares blocks where it can, fails cleanly where it cannot
# ---------------------------------------------------------------------------
if ($can_clone)
{
	is(val($node, "SET pg_mint.strategy = clone; SELECT mint.clone('tpl', 'c_clone')"),
		'c_clone', '2: strategy clone makes the copy');
	is(big_is_shared('c_clone'), 1, '2: the copy shares its blocks with the template');
	is(val($node, 'SELECT count(*) FROM big', db => 'c_clone'), '30000', '2: the copy has the data');
	# a write to the copy, on disk (the next copy of the template shows
	# whether it reached the template's blocks)
	val($node, "UPDATE big SET pad = 'changed' WHERE id = 1", db => 'c_clone');
	val($node, 'CHECKPOINT');
}
else
{
	my $err = err_of("SET pg_mint.strategy = clone; SELECT mint.clone('tpl', 'c_clone')");
	like($err, qr/ERROR:\s+0A000: cannot clone the files of database "tpl"/, '2: strategy clone fails with 0A000 naming the template');
	like($err, qr/DETAIL:\s+(file_copy_method exists from PostgreSQL 18|FICLONE in ".*" failed)/, '2: the detail says why');
	like($err, qr/HINT:\s+.*strategy auto/, '2: the hint names auto');
	is(val($node, "SELECT count(*) FROM pg_database WHERE datname = 'c_clone'"), '0', '2: nothing was made');
	is(val($node, "SELECT count(*) FROM mint.registry WHERE datname = 'c_clone'"), '0', '2: nothing was registered');
}

# ---------------------------------------------------------------------------
# 3. auto: clones where it can, otherwise copies with the server's default
# ---------------------------------------------------------------------------
is(val($node, "SET pg_mint.strategy = auto; SELECT mint.clone('tpl', 'c_auto')"),
	'c_auto', '3: strategy auto makes the copy');
is(val($node, 'SELECT count(*) FROM big', db => 'c_auto'), '30000', '3: the copy has the data');
is(val($node, "SELECT pad = repeat('x', 200) FROM big WHERE id = 1", db => 'c_auto'), 't',
	'3: a change to an earlier copy did not reach the template');
is(big_is_shared('c_auto'), $can_clone ? 1 : 0,
	'3: auto shares blocks exactly where cloning works');
is(val($node, "SET pg_mint.strategy = 'default'; SELECT mint.clone('tpl', 'c_default')"),
	'c_default', '3: strategy default still copies');
is(big_is_shared('c_default'), 0, '3: the default strategy copies every block');

# ---------------------------------------------------------------------------
# 4. the pool's refiller: pool_strategy = auto makes spares the same way
# ---------------------------------------------------------------------------
val($node, "LOAD 'pg_mint'; ALTER SYSTEM SET pg_mint.pool_strategy = auto");
val($node, 'SELECT pg_reload_conf()');
val($node, "SELECT mint.set_pool('tpl', 1)");
ok(wait_pool_full($node, 'tpl', 1), '4: the pool is filled');
is(val($node, "SELECT mint.clone('tpl', 'c_pool')"), 'c_pool', '4: a clone from the pool');
is(big_is_shared('c_pool'), $can_clone ? 1 : 0, '4: spares share blocks exactly where cloning works');
val($node, "SELECT mint.set_pool('tpl', 0)");
val($node, "LOAD 'pg_mint'; ALTER SYSTEM RESET pg_mint.pool_strategy");
val($node, 'SELECT pg_reload_conf()');

# ---------------------------------------------------------------------------
# 5. a role without superuser gets the same (file_copy_method is the
#    caller's own setting, nothing it could not set by hand)
# ---------------------------------------------------------------------------
val($node, 'CREATE ROLE app LOGIN CREATEDB');
build_template($node, 'app_tpl', 'v1', 'CREATE TABLE big AS SELECT g AS id FROM generate_series(1, 50000) g',
	user => 'app');
my $st = sqlstate($node, "SET pg_mint.strategy = clone; SELECT mint.clone('app_tpl', 'app_c')", user => 'app');
is($st, $can_clone ? 'none' : '0A000', '5: clone as a plain role with CREATEDB');
if ($can_clone)
{
	is(big_is_shared('app_c'), 1, '5: shared blocks for the plain role too');
	is(val($node, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'app_c'"), 'app',
		'5: the copy belongs to the caller');
}

$node->stop;
done_testing();
