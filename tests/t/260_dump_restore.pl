# tests/t/260_dump_restore.pl -- pg_dump/pg_restore of the maintenance
# database into a fresh cluster (issue 15: dumps).
#
#  1. cluster "old": role app builds app_tpl, clones app_c1 and app_c2, keeps
#     a pool of 1 spare; the maintenance database also holds an ordinary
#     table of the user's;
#  2. pg_dump -Fc of postgres keeps the extension and the user's table and
#     nothing of pg_mint's bookkeeping (no COPY of a mint table);
#  3. cluster "new", where databases named app_tpl and app_c1 exist that
#     pg_mint did not make there (restored separately, say): pg_restore into
#     its postgres succeeds; the extension is there (same version), its
#     bookkeeping is empty; mint.gc('0') and `pg_mint gc --older-than 0`
#     drop nothing; mint.drop and template_begin refuse the databases of
#     those names; pg_mint works (a new template, a clone, gc of that clone);
#  4. a dump of pg_mint 1.2 (whose bookkeeping tables were marked for
#     pg_dump) restored into the new cluster: the restore succeeds, every
#     bookkeeping row and pool setting it carries is skipped with a warning,
#     gc drops nothing.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::RealBin/pool_helpers";
use PoolUtil;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $conf = "max_worker_processes = 16\n";
my $old = pool_node('old', $conf);
my $tmp = PostgreSQL::Test::Utils::tempdir;
my $cli = "$ENV{TESTDIR}/cli/pg_mint";

# ---------------------------------------------------------------------------
# 1. pg_mint in use on the old cluster
# ---------------------------------------------------------------------------
my $version = val($old, "SELECT extversion FROM pg_extension WHERE extname = 'pg_mint'");
val($old, 'CREATE ROLE app LOGIN CREATEDB');
val($old, "CREATE TABLE public.app_settings (k text PRIMARY KEY, v text); INSERT INTO app_settings VALUES ('a', '1')");
my $schema = "CREATE TABLE items AS SELECT g AS id FROM generate_series(1, 100) g;"
  . " CREATE TABLE build_marker (build text); INSERT INTO build_marker VALUES ('v1');";
is(build_template($old, 'app_tpl', 'v1', $schema, user => 'app'), 'build', '1: app builds app_tpl');
is(val($old, "SELECT mint.clone('app_tpl', 'app_c1')", user => 'app'), 'app_c1', '1: clone app_c1');
is(val($old, "SELECT mint.clone('app_tpl', 'app_c2')", user => 'app'), 'app_c2', '1: clone app_c2');
val($old, "SELECT mint.set_pool('app_tpl', 1)", user => 'app');
ok(wait_pool_full($old, 'app_tpl', 1), '1: the pool holds 1 spare');
is(val($old, 'SELECT count(*) FROM mint.registry'), '4', '1: 4 bookkeeping rows (template, 2 clones, spare)');

# ---------------------------------------------------------------------------
# 2. the dump
# ---------------------------------------------------------------------------
my $dump = "$tmp/postgres.dump";
command_ok([ 'pg_dump', '-Fc', '-f', $dump, '-d', $old->connstr('postgres') ], '2: pg_dump -Fc postgres');
my $toc = `pg_restore -l '$dump'`;
like($toc, qr/ EXTENSION - pg_mint /, '2: the dump holds the extension');
like($toc, qr/TABLE DATA public app_settings /, '2: ... and the user\'s table\'s rows');
unlike($toc, qr/TABLE DATA mint /, '2: ... and no rows of any pg_mint table');
my $sql = `pg_restore -f - '$dump'`;
unlike($sql, qr/COPY mint\./, '2: no COPY into a pg_mint table in the restore script');

# ---------------------------------------------------------------------------
# 3. restore into a fresh cluster
# ---------------------------------------------------------------------------
my $new = PostgreSQL::Test::Cluster->new('new');
$new->init;
$new->append_conf('postgresql.conf', "max_connections = 60\n$conf");
$new->start;
val($new, 'CREATE ROLE app LOGIN CREATEDB');
# databases of the same names that pg_mint did not make in this cluster
val($new, 'CREATE DATABASE app_tpl OWNER app');
val($new, 'CREATE DATABASE app_c1 OWNER app');
val($new, 'CREATE TABLE keep (x int); INSERT INTO keep VALUES (7)', db => 'app_c1');
my %newoid = map { $_ => oid_of($new, $_) } qw(app_tpl app_c1);

my ($out, $err) = ('', '');
my $ok = IPC::Run::run([ 'pg_restore', '-d', $new->connstr('postgres'), $dump ], '>', \$out, '2>', \$err);
ok($ok, '3: pg_restore into the new cluster\'s postgres succeeds') or diag($err);
is($err, '', '3: ... with nothing on stderr');
is(val($new, "SELECT extversion FROM pg_extension WHERE extname = 'pg_mint'"), $version,
	"3: the extension is there ($version)");
is(val($new, 'SELECT v FROM app_settings'), '1', '3: the user\'s table is restored');
is(val($new, 'SELECT (SELECT count(*) FROM mint.registry) || \'|\' || (SELECT count(*) FROM mint.pool_config)'),
	'0|0', '3: pg_mint\'s bookkeeping is empty');
is(val($new, 'SELECT count(*) FROM mint.databases'), '0', '3: mint.databases lists nothing');
is(val($new, "SELECT coalesce(string_agg(g, ','), '') FROM mint.gc('0') g"), '', '3: mint.gc(0) drops nothing');
{
	my ($o, $e) = ('', '');
	my $r = IPC::Run::run([ $cli, '--dsn', $new->connstr('postgres'), 'gc', '--older-than', '0' ], '>', \$o, '2>', \$e);
	ok($r, '3: pg_mint gc --older-than 0 succeeds') or diag("$o\n$e");
}
is( val($new, "SELECT string_agg(datname || '=' || oid, ',' ORDER BY datname) FROM pg_database"
		  . " WHERE datname IN ('app_tpl', 'app_c1')"),
	"app_c1=$newoid{app_c1},app_tpl=$newoid{app_tpl}", '3: app_tpl and app_c1 of this cluster are untouched');
is(val($new, 'SELECT x FROM keep', db => 'app_c1'), '7', '3: ... with their contents');
isnt(sqlstate($new, "SELECT mint.drop('app_c1')"), 'none', '3: mint.drop(app_c1) refuses a database pg_mint did not make');

is(val($new, "SELECT count(*) FROM pg_database WHERE oid = $newoid{app_c1}"), '1', '3: ... app_c1 stays');
isnt(sqlstate($new, "SELECT mint.template_begin('app_tpl', 'v1')", user => 'app'), 'none',
	'3: template_begin(app_tpl) refuses a database of that name pg_mint did not make');
is(val($new, "SELECT count(*) FROM pg_database WHERE oid = $newoid{app_tpl}"), '1', '3: ... app_tpl stays');
is(build_template($new, 'app_tpl_new', 'v1', $schema, user => 'app'), 'build', '3: pg_mint builds a new template');
is(val($new, "SELECT mint.clone('app_tpl_new', 'app_c9')", user => 'app'), 'app_c9', '3: ... and clones it');
is(clone_content($new, 'app_c9', user => 'app'), 'v1:100', '3: ... complete');
is(val($new, "SELECT string_agg(g, ',') FROM mint.gc('0') g"), 'app_c9', '3: mint.gc(0) drops that clone only');
is(consistency_problems($new), '', '3: registry and catalog agree');

# ---------------------------------------------------------------------------
# 4. a dump of pg_mint 1.2, whose bookkeeping was marked for pg_dump
# ---------------------------------------------------------------------------
SKIP:
{
	my $have12 = val($old, "SELECT count(*) FROM pg_available_extension_versions WHERE name = 'pg_mint' AND version = '1.2'");
	skip 'pg_mint 1.2 is not installed beside the current version', 6 unless $have12;
	val($old, 'CREATE DATABASE maint12');
	val($old, "CREATE EXTENSION pg_mint VERSION '1.2'", db => 'maint12');
	val($old, 'GRANT CREATE ON DATABASE maint12 TO app');
	my $b = $old->background_psql('maint12', extra_params => [ '-U', 'app' ]);
	is($b->query_safe("SELECT mint.template_begin('old_tpl', 'v1')"), 'build', '4: under 1.2, app builds old_tpl');
	$b->query_safe("SELECT mint.template_finish('old_tpl')");
	$b->query_safe("SELECT mint.clone('old_tpl', 'old_c1')");
	$b->query_safe("SELECT mint.set_pool('old_tpl', 0)");
	$b->quit;
	my $d12 = "$tmp/maint12.dump";
	command_ok([ 'pg_dump', '-Fc', '-f', $d12, '-d', $old->connstr('maint12') ], '4: pg_dump of the 1.2 database');
	like(`pg_restore -l '$d12'`, qr/TABLE DATA mint registry /, '4: ... it carries mint.registry\'s rows');
	val($new, 'CREATE DATABASE maint12');
	($out, $err) = ('', '');
	# (pg_restore shows the server's warnings with --verbose)
	$ok = IPC::Run::run([ 'pg_restore', '--verbose', '-d', $new->connstr('maint12'), $d12 ], '>', \$out, '2>', \$err);
	ok($ok, '4: pg_restore into the new cluster succeeds') or diag($err);
	like($err, qr/pg_mint bookkeeping row for database "old_c1" \(OID \d+\) skipped/,
		'4: ... warning that the row of old_c1 is skipped');
	like($err, qr/pg_mint pool setting for template "old_tpl" skipped/, '4: ... and the pool setting');
	is( val($new, 'SELECT (SELECT count(*) FROM mint.registry) || \'|\' || (SELECT count(*) FROM mint.pool_config)',
			db => 'maint12'),
		'0|0', '4: no stale bookkeeping');
	is(val($new, "SELECT coalesce(string_agg(g, ','), '') FROM mint.gc('0') g", db => 'maint12'), '',
		'4: mint.gc(0) drops nothing');
}

$old->stop;
$new->stop;
done_testing();
