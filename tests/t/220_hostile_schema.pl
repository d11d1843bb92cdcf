# tests/t/220_hostile_schema.pl -- pg_mint finds its own objects by identity.
#
#  1. CREATE EXTENSION into a schema "mint" that a non-superuser owns, that
#     grants CREATE to a non-superuser or PUBLIC, or that holds a
#     non-superuser's objects, fails with 42501 and installs nothing.
#  2. After a careless ALTER SCHEMA mint OWNER TO <non-superuser>, every
#     pg_mint function refuses (42501) instead of trusting the schema.
#  3. The schema owner renames the real schema away and puts a forged
#     "mint.registry" (naming a hand-made database as a pg_mint clone, with a
#     trap) in a new schema "mint": the superuser's gc refuses, drops
#     nothing, runs no trap.
#  4. An extension whose installing role is no longer a superuser is not
#     trusted either.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::RealBin/pool_helpers";
use PoolUtil;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = pool_node('hostile_schema');
my $schema = 'CREATE TABLE items (id int); INSERT INTO items SELECT generate_series(1, 10);';

val($node, 'CREATE ROLE evil LOGIN CREATEDB; CREATE ROLE installer LOGIN SUPERUSER;');

sub err_of
{
	my ($db, $sql, $user) = @_;
	my ($out, $err) = ('', '');
	$node->psql($db, "\\set VERBOSITY verbose\n$sql", stdout => \$out, stderr => \$err,
		$user ? (extra_params => [ '-U', $user ]) : ());
	return $err;
}

sub installed { my ($db) = @_; return val($node, q{SELECT count(*) FROM pg_extension WHERE extname = 'pg_mint'}, db => $db) }

# ---- 1. pre-created schemas -------------------------------------------------
{
	val($node, 'CREATE DATABASE evil_db', user => 'evil');
	val($node, 'CREATE SCHEMA mint', db => 'evil_db', user => 'evil');
	my $err = err_of('evil_db', 'CREATE EXTENSION pg_mint');
	like($err, qr/ERROR:\s+42501: schema "mint" already exists and is owned by role "evil", who is not a superuser/,
		'1: a schema mint owned by a CREATEDB role: CREATE EXTENSION fails with 42501');
	is(installed('evil_db'), '0', '1: ... and installs nothing');

	val($node, 'CREATE DATABASE grant_db');
	val($node, 'CREATE SCHEMA mint; GRANT CREATE ON SCHEMA mint TO evil;', db => 'grant_db');
	like(err_of('grant_db', 'CREATE EXTENSION pg_mint'), qr/ERROR:\s+42501: role "evil" may create objects in schema "mint"/,
		'1: a superuser\'s schema mint where evil may create: 42501');
	val($node, 'REVOKE CREATE ON SCHEMA mint FROM evil; GRANT CREATE ON SCHEMA mint TO PUBLIC;', db => 'grant_db');
	like(err_of('grant_db', 'CREATE EXTENSION pg_mint'), qr/ERROR:\s+42501: every role \(PUBLIC\) may create objects in schema "mint"/,
		'1: ... where PUBLIC may create: 42501');
	val($node, 'REVOKE CREATE ON SCHEMA mint FROM PUBLIC; GRANT CREATE ON SCHEMA mint TO evil;', db => 'grant_db');
	val($node, 'CREATE FUNCTION mint.registry_helper() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$', db => 'grant_db', user => 'evil');
	val($node, 'REVOKE CREATE ON SCHEMA mint FROM evil;', db => 'grant_db');
	like(err_of('grant_db', 'CREATE EXTENSION pg_mint'), qr/ERROR:\s+42501: schema "mint" already holds objects of role "evil"/,
		'1: ... that holds an object evil left there: 42501');
	is(installed('grant_db'), '0', '1: ... nothing installed');

	val($node, 'DROP FUNCTION mint.registry_helper()', db => 'grant_db');
	is(err_of('grant_db', 'CREATE EXTENSION pg_mint'), '', '1: a clean superuser-owned schema mint is fine');
	is(installed('grant_db'), '1', '1: ... installed');
}

# ---- 2. a schema given away after installation ------------------------------
is(build_template($node, 'su_tpl', 'v1', $schema), 'build', 'the superuser builds su_tpl');
val($node, "SELECT mint.clone('su_tpl', 'su_c')");
val($node, 'CREATE DATABASE handmade');
val($node, 'ALTER SCHEMA mint OWNER TO evil');
for my $call ("SELECT mint.clone('su_tpl', 'su_c')", "SELECT mint.drop('su_c')", "SELECT * FROM mint.gc('0')",
	"SELECT * FROM mint.gc_preview('0')", "SELECT mint.template_begin('su_tpl', 'v1')")
{
	like(err_of('postgres', $call), qr/ERROR:\s+42501: pg_mint's own objects in database "postgres" cannot be trusted: schema "mint" is owned by role "evil"/,
		"2: schema owned by evil: $call refuses (42501)");
}
is(val($node, "SELECT count(*) FROM pg_database WHERE datname IN ('su_c', 'su_tpl', 'handmade')"), '3',
	'2: nothing was dropped');

# ---- 3. the schema owner replaces the schema --------------------------------
# a lax server: evil may create schemas in the maintenance database
val($node, q{
CREATE TABLE public.trap_log (who text);
GRANT INSERT, SELECT ON public.trap_log TO PUBLIC;
GRANT CREATE ON DATABASE postgres TO evil;
});
val($node, q{
ALTER SCHEMA mint RENAME TO mint_real;
CREATE SCHEMA mint;
GRANT USAGE ON SCHEMA mint TO PUBLIC;
CREATE FUNCTION mint.trap() RETURNS boolean LANGUAGE plpgsql AS $f$
BEGIN
  INSERT INTO public.trap_log VALUES (current_user);
  BEGIN EXECUTE 'ALTER ROLE evil SUPERUSER'; EXCEPTION WHEN others THEN NULL; END;
  RETURN true;
END $f$;
CREATE VIEW mint.registry AS
  SELECT * FROM mint_real.registry
  UNION ALL
  SELECT d.oid, d.datname::text, 'clone', NULL, NULL, NULL, 150000, 'ready', d.datdba,
         now() - interval '1 day', now() - interval '1 day', NULL, NULL,
         now() - interval '1 day', interval '1 hour'
    FROM pg_database d WHERE d.datname = 'handmade' AND mint.trap();
CREATE VIEW mint.quota_config AS SELECT * FROM mint_real.quota_config WHERE mint.trap();
CREATE VIEW mint.stat_events AS SELECT * FROM mint_real.stat_events WHERE mint.trap();
CREATE VIEW mint.pool_config AS SELECT * FROM mint_real.pool_config WHERE mint.trap();
CREATE VIEW mint.pool_events AS SELECT * FROM mint_real.pool_events WHERE mint.trap();
GRANT SELECT ON ALL TABLES IN SCHEMA mint TO PUBLIC;
}, user => 'evil');
# the superuser gives the schema back, not noticing the swap
val($node, 'ALTER SCHEMA mint_real OWNER TO postgres');
for my $call ("SELECT * FROM mint_real.gc('0')", "SELECT mint_real.clone('su_tpl', 'su_c')",
	"SELECT mint_real.drop('handmade')", "SELECT mint_real.set_pool('su_tpl', 1)")
{
	like(err_of('postgres', $call), qr/ERROR:\s+42501: pg_mint's own objects in database "postgres" cannot be trusted: its schema is named "mint_real", not "mint"/,
		"3: the real schema renamed away: $call refuses (42501)");
}
is(val($node, "SELECT count(*) FROM pg_database WHERE datname = 'handmade'"), '1', '3: the hand-made database survives');
is(val($node, 'SELECT count(*) FROM public.trap_log'), '0', '3: the forged registry\'s trap never ran');
is(val($node, "SELECT rolsuper FROM pg_roles WHERE rolname = 'evil'"), 'f', '3: evil is not a superuser');

# ---- 4. the installing role demoted -----------------------------------------
{
	val($node, 'CREATE DATABASE inst_db');
	val($node, 'CREATE EXTENSION pg_mint', db => 'inst_db', user => 'installer');
	is(err_of('inst_db', "SELECT * FROM mint.gc_preview('0')"), '', '4: installed by a superuser role: works');
	val($node, 'ALTER ROLE installer NOSUPERUSER');
	like(err_of('inst_db', "SELECT * FROM mint.gc_preview('0')"),
		qr/ERROR:\s+42501: pg_mint's own objects in database "inst_db" cannot be trusted: its owner, role "installer", is no longer a superuser/,
		'4: its owner demoted: pg_mint refuses (42501)');
	val($node, 'ALTER ROLE installer SUPERUSER');
	is(err_of('inst_db', "SELECT * FROM mint.gc_preview('0')"), '', '4: promoted again: works (the check is not cached stale)');
}

$node->stop;
done_testing();
