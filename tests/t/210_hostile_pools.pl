# tests/t/210_hostile_pools.pl -- pools belong to templates' owners; a
# caller never receives a database owned by another role.
#
#  1. A CREATEDB role cannot configure the pool of another role's template
#     (42501), of a template that does not exist yet (3D000), or of a
#     database that is not a pg_mint template (42809); pool_config unchanged.
#  2. A superuser may configure a victim's pool, but the pool (and every
#     spare) is the template owner's.
#  3. A superuser's clone never takes another role's spare: it gets a copy of
#     its own (owned by it), even when the spare owner edited the spare.
#  4. A squatter's own pool never serves the victim of a template name the
#     squatter rebuilt: spares of a role that no longer owns the template are
#     not handed out, and the template's new owner does not inherit the pool.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::RealBin/pool_helpers";
use PoolUtil;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = pool_node('hostile_pools', "max_worker_processes = 16\n");
my $schema = 'CREATE TABLE items (id int); INSERT INTO items SELECT generate_series(1, 10);';

val($node, 'CREATE ROLE victim LOGIN CREATEDB; CREATE ROLE squat LOGIN CREATEDB; CREATE ROLE nocreate LOGIN');
is(build_template($node, 'v_tpl', 'v1', $schema, user => 'victim'), 'build', 'victim builds v_tpl');
is(build_template($node, 's_tpl', 's1', $schema, user => 'squat'), 'build', 'squat builds s_tpl');
is(build_template($node, 'su_tpl', 'x1', $schema), 'build', 'the superuser builds su_tpl');
val($node, 'CREATE DATABASE handmade');

my $config = sub { val($node, q{SELECT coalesce(string_agg(template || ':' || spares || ':' || pg_get_userbyid(owner), ',' ORDER BY template), '') FROM mint.pool_config}) };

# ---- 1. squatting refused ---------------------------------------------------
is(sqlstate($node, "SELECT mint.set_pool('v_tpl', 2)", user => 'squat'), '42501',
	'1: squat cannot set the pool of victim\'s template (42501)');
is(sqlstate($node, "SELECT mint.set_pool('su_tpl', 2)", user => 'squat'), '42501',
	'1: ... nor of the superuser\'s template (42501)');
is(sqlstate($node, "SELECT mint.set_pool('future_tpl', 2)", user => 'squat'), '3D000',
	'1: ... nor claim a name nobody has built yet (3D000)');
is(sqlstate($node, "SELECT mint.set_pool('handmade', 2)", user => 'squat'), '42809',
	'1: ... nor pool a database pg_mint did not build (42809)');
is(sqlstate($node, "SELECT mint.set_pool('v_tpl', 2)", user => 'nocreate'), '42501',
	'1: a role without CREATEDB: 42501');
{
	my ($out, $err) = ('', '');
	$node->psql('postgres', "SELECT mint.set_pool('v_tpl', 2)", stdout => \$out, stderr => \$err,
		extra_params => [ '-U', 'squat' ]);
	like($err, qr/must be owner of template database "v_tpl" to configure its pool/, '1: the error names the template');
}
is($config->(), '', '1: no pool was recorded');

# ---- 2. a superuser configures the victim's pool: it is still the victim's --
val($node, "SELECT mint.set_pool('v_tpl', 2)");
is($config->(), 'v_tpl:2:victim', '2: the superuser set it; the template\'s owner owns the pool');
ok(wait_pool_full($node, 'v_tpl', 2), '2: the pool fills');
is(val($node, q{SELECT string_agg(DISTINCT pg_get_userbyid(d.datdba), ',') FROM mint.registry r JOIN pg_database d ON d.oid = r.datid WHERE r.kind = 'spare' AND r.template = 'v_tpl'}),
	'victim', '2: every spare is owned by the victim');
is(sqlstate($node, "SELECT mint.set_pool('v_tpl', 3)", user => 'squat'), '42501', '2: squat still cannot change it');

# ---- 3. nobody receives another role's database -----------------------------
{
	my $spares = spare_oids($node, 'v_tpl');
	my @c0 = pool_counts($node, 'v_tpl');
	is(val($node, "SELECT mint.clone('v_tpl', 'su_clone')"), 'su_clone', '3: the superuser clones v_tpl');
	ok(!$spares->{ oid_of($node, 'su_clone') }, '3: ... and did not get one of the victim\'s spares');
	is(val($node, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'su_clone'"), 'postgres',
		'3: ... its database is its own');
	is(join('|', pool_counts($node, 'v_tpl')), join('|', @c0), '3: ... no hit counted');

	# inside a transaction block (the worker's pool path)
	val($node, "BEGIN; SELECT mint.clone('v_tpl', 'su_clone2'); COMMIT;");
	ok(!$spares->{ oid_of($node, 'su_clone2') }, '3: in a transaction block too');
	is(val($node, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'su_clone2'"), 'postgres',
		'3: ... owned by the superuser');

	is(val($node, "SELECT mint.clone('v_tpl', 'sq_clone')", user => 'squat'), 'sq_clone', '3: squat clones v_tpl');
	ok(!$spares->{ oid_of($node, 'sq_clone') }, '3: ... without a spare');
	is(val($node, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'sq_clone'"), 'squat',
		'3: ... owned by squat');

	is(val($node, "SELECT mint.clone('v_tpl', 'v_clone')", user => 'victim'), 'v_clone', '3: the victim clones');
	ok($spares->{ oid_of($node, 'v_clone') }, '3: ... and gets one of its spares');
	is(val($node, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'v_clone'"), 'victim',
		'3: ... owned by the victim');
}

# a spare whose owner was changed by hand is never handed to its pool's owner
{
	ok(wait_pool_full($node, 'v_tpl', 2), '3: the pool refills');
	my @sp = sort keys %{ spare_oids($node, 'v_tpl') };
	val($node, "DO \$\$ BEGIN EXECUTE format('ALTER DATABASE %I OWNER TO squat', (SELECT datname FROM pg_database WHERE oid = $_)); END \$\$")
	  for @sp;
	is(val($node, "SELECT mint.clone('v_tpl', 'v_clone2')", user => 'victim'), 'v_clone2', '3: the victim clones again');
	is(val($node, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'v_clone2'"), 'victim',
		'3: ... spares that now belong to squat are not handed out: a copy owned by the victim');
	ok(!(grep { $_ eq oid_of($node, 'v_clone2') } @sp), '3: ... not one of the re-owned spares');
	val($node, "DO \$\$ BEGIN EXECUTE format('ALTER DATABASE %I OWNER TO victim', (SELECT datname FROM pg_database WHERE oid = $_)); END \$\$")
	  for @sp;
	val($node, "SELECT mint.set_pool('v_tpl', 0)", user => 'victim');
}

# ---- 4. a pool does not follow a template name to another owner ------------
{
	val($node, "SELECT mint.set_pool('s_tpl', 2)", user => 'squat');
	ok(wait_pool_full($node, 's_tpl', 2), '4: squat\'s own pool fills');
	my $sq_spares = spare_oids($node, 's_tpl');
	# squat hands its template to the victim (a hand-made change pg_mint must not trust)
	val($node, 'ALTER DATABASE s_tpl OWNER TO victim');
	is(val($node, "SELECT mint.clone('s_tpl', 'v_from_s')", user => 'victim'), 'v_from_s', '4: the victim clones s_tpl');
	ok(!$sq_spares->{ oid_of($node, 'v_from_s') }, '4: ... without squat\'s spares');
	is(val($node, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'v_from_s'"), 'victim',
		'4: ... owned by the victim');
	is(val($node, "SELECT mint.clone('s_tpl', 's_again')", user => 'squat'), 's_again',
		'4: squat clones the template it no longer owns');
	ok(!$sq_spares->{ oid_of($node, 's_again') }, '4: ... and gets no spare either: the pool is dormant');
	is(sqlstate($node, "SELECT mint.set_pool('s_tpl', 3)", user => 'squat'), '42501',
		'4: squat can no longer configure it');
	val($node, "SELECT mint.set_pool('s_tpl', 1)", user => 'victim');
	is($config->() =~ /s_tpl:1:victim/ ? 1 : 0, 1, '4: the new owner takes the pool over');
}

# ---- 5. the pool of a dropped template is gone with it ----------------------
{
	val($node, "SELECT mint.set_pool('su_tpl', 1)");
	ok(wait_pool_full($node, 'su_tpl', 1), '5: su_tpl pool full');
	is(val($node, "SELECT mint.drop('su_tpl')"), 't', '5: mint.drop(su_tpl)');
	is(val($node, "SELECT count(*) FROM mint.pools WHERE template = 'su_tpl'"), '0', '5: mint.pools forgot the pool');
	is(sqlstate($node, "SELECT mint.set_pool('su_tpl', 0)"), '3D000', '5: set_pool on the dropped template: 3D000');
	is(poll_until($node, q{SELECT count(*) FROM mint.registry WHERE kind = 'spare' AND template = 'su_tpl'}, '0'), '0',
		'5: its spares are dropped in the background');
}

# ---- 6. a pool nobody could fill is refused ----------------------------------
{
	is(build_template($node, 'g_tpl', 'g1', $schema, user => 'victim'), 'build', '6: victim builds g_tpl');
	val($node, 'CREATE ROLE team NOLOGIN CREATEDB; GRANT team TO victim; ALTER DATABASE g_tpl OWNER TO team;');
	my $want = $node->safe_psql('postgres', 'SHOW server_version_num') >= 170000 ? 'none' : '42501';
	is(sqlstate($node, "SELECT mint.set_pool('g_tpl', 2)", user => 'victim'), $want,
		'6: a pool for a template owned by a NOLOGIN group role is refused before PostgreSQL 17 (its refiller could not log in)');
	val($node, 'ALTER ROLE team LOGIN NOCREATEDB');
	is(sqlstate($node, "SELECT mint.set_pool('g_tpl', 2)", user => 'victim'), '42501',
		'6: ... and one whose owner lacks CREATEDB');
	is(sqlstate($node, "SELECT mint.set_pool('g_tpl', 0)", user => 'victim'), 'none', '6: turning a pool off is always allowed');
	val($node, 'ALTER ROLE team CREATEDB');
	is(sqlstate($node, "SELECT mint.set_pool('g_tpl', 1)", user => 'victim'), 'none', '6: with LOGIN and CREATEDB it is accepted');
	ok(wait_pool_full($node, 'g_tpl', 1), '6: ... and fills, with spares of team');
	is(val($node, q{SELECT string_agg(DISTINCT pg_get_userbyid(d.datdba), ',') FROM mint.registry r JOIN pg_database d ON d.oid = r.datid WHERE r.kind = 'spare' AND r.template = 'g_tpl'}),
		'team', '6: ... owned by the template\'s owner');
	val($node, "SELECT mint.set_pool('g_tpl', 0)", user => 'victim');
}

is(poll_until($node, q{SELECT count(*) FROM pg_stat_activity WHERE backend_type IN ('pg_mint pool', 'pg_mint worker')}, '0'),
	'0', 'end: no pg_mint worker left');
is(consistency_problems($node), '', 'end: registry and catalog agree');
$node->stop;
done_testing();
