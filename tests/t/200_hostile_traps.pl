# tests/t/200_hostile_traps.pl -- nothing a caller controls is resolved while
# pg_mint runs as another role (security issue: CREATEDB -> superuser).
#
# A role "evil" with CREATEDB plants traps on every name pg_mint's SQL could
# resolve through a search_path:
#  - operators of its own, twins of every pg_catalog =, <>, <, >, <=, >=, +,
#    -, *, ~~, || on text, name, oid, regclass, integer, bigint, boolean,
#    timestamptz and interval (same argument types, so they win when "evil"
#    comes first on the path);
#  - functions and an aggregate shadowing pg_catalog ones (clock_timestamp,
#    now, count(*), to_char, quote_ident, replace, format, pg_get_userbyid,
#    coalesce-free);
#  - tables/views named like pg_mint's (registry, pool_config, pool_events,
#    databases, pools) and like catalogs (pg_database, pg_stat_activity) in
#    public (CREATE granted to PUBLIC, as before PostgreSQL 15) and in
#    pg_temp.
# Every trap logs (table evil.trap_log and a WARNING in the server log) and
# tries ALTER ROLE evil SUPERUSER.  Then every SQL entry point of pg_mint is
# called, with and without a warm pool, in autocommit, in a DO block and in a
# transaction block, by evil (path: pg_temp, evil, public, pg_catalog) and by
# the superuser with evil's path (evil, public, pg_catalog).  The traps must
# never fire, and evil must gain nothing.  A control proves the traps work.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::RealBin/pool_helpers";
use PoolUtil;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = pool_node('hostile_traps', "max_worker_processes = 16\n");

my $schema = 'CREATE TABLE items (id int); INSERT INTO items SELECT generate_series(1, 10);';

# ---- the attacker and its traps --------------------------------------------
val($node, q{
CREATE ROLE evil LOGIN CREATEDB;
CREATE ROLE victim LOGIN CREATEDB;
CREATE SCHEMA evil AUTHORIZATION evil;
GRANT CREATE ON SCHEMA public TO PUBLIC;   -- the pre-15 default
});

val($node, q{
CREATE TABLE evil.trap_log (who text, what text);
GRANT SELECT, INSERT, DELETE ON evil.trap_log TO PUBLIC;
GRANT USAGE ON SCHEMA evil TO PUBLIC;
CREATE FUNCTION evil.trap(what text) RETURNS void LANGUAGE plpgsql AS $f$
BEGIN
  RAISE WARNING 'pg_mint-trap fired: % as %', what, current_user;
  BEGIN
    INSERT INTO evil.trap_log (who, what) VALUES (current_user, what);
  EXCEPTION WHEN others THEN NULL;
  END;
  BEGIN
    EXECUTE 'ALTER ROLE evil SUPERUSER';
  EXCEPTION WHEN others THEN NULL;
  END;
END $f$;
CREATE FUNCTION evil.trap_true(what text) RETURNS boolean LANGUAGE plpgsql AS $f$
BEGIN PERFORM evil.trap(what); RETURN true; END $f$;

-- twins of pg_catalog's binary operators
DO $d$
DECLARE o record; fn text;
BEGIN
  FOR o IN SELECT p.oid, p.oprname, p.oprleft::regtype AS l, p.oprright::regtype AS r,
                  p.oprresult::regtype AS res
             FROM pg_catalog.pg_operator p
            WHERE p.oprnamespace = 'pg_catalog'::regnamespace AND p.oprkind = 'b'
              AND p.oprname IN ('=', '<>', '<', '>', '<=', '>=', '+', '-', '*', '~~', '||')
              AND p.oprleft::regtype::text IN ('text', 'name', 'oid', 'regclass', 'integer', 'bigint',
                                             'boolean', 'timestamp with time zone', 'interval')
              AND p.oprright::regtype::text IN ('text', 'name', 'oid', 'regclass', 'integer', 'bigint',
                                              'boolean', 'timestamp with time zone', 'interval')
  LOOP
    fn := pg_catalog.format('evil.op_%s', o.oid);
    EXECUTE pg_catalog.format(
      'CREATE FUNCTION %s(a %s, b %s) RETURNS %s LANGUAGE plpgsql AS $x$ BEGIN PERFORM evil.trap(%L); RETURN a OPERATOR(pg_catalog.%s) b; END $x$',
      fn, o.l, o.r, o.res, pg_catalog.format('operator %s(%s, %s)', o.oprname, o.l, o.r), o.oprname);
    EXECUTE pg_catalog.format('CREATE OPERATOR evil.%s (LEFTARG = %s, RIGHTARG = %s, FUNCTION = %s)',
                              o.oprname, o.l, o.r, fn);
  END LOOP;
END $d$;

-- functions shadowing pg_catalog's
CREATE FUNCTION evil.clock_timestamp() RETURNS timestamptz LANGUAGE plpgsql AS $f$
BEGIN PERFORM evil.trap('clock_timestamp()'); RETURN pg_catalog.clock_timestamp(); END $f$;
CREATE FUNCTION evil.now() RETURNS timestamptz LANGUAGE plpgsql AS $f$
BEGIN PERFORM evil.trap('now()'); RETURN pg_catalog.now(); END $f$;
CREATE FUNCTION evil.to_char(timestamptz, text) RETURNS text LANGUAGE plpgsql AS $f$
BEGIN PERFORM evil.trap('to_char()'); RETURN pg_catalog.to_char($1, $2); END $f$;
CREATE FUNCTION evil.quote_ident(text) RETURNS text LANGUAGE plpgsql AS $f$
BEGIN PERFORM evil.trap('quote_ident()'); RETURN pg_catalog.quote_ident($1); END $f$;
CREATE FUNCTION evil.replace(text, text, text) RETURNS text LANGUAGE plpgsql AS $f$
BEGIN PERFORM evil.trap('replace()'); RETURN pg_catalog.replace($1, $2, $3); END $f$;
CREATE FUNCTION evil.format(text) RETURNS text LANGUAGE plpgsql AS $f$
BEGIN PERFORM evil.trap('format()'); RETURN pg_catalog.format($1); END $f$;
CREATE FUNCTION evil.pg_get_userbyid(oid) RETURNS name LANGUAGE plpgsql AS $f$
BEGIN PERFORM evil.trap('pg_get_userbyid()'); RETURN pg_catalog.pg_get_userbyid($1); END $f$;
CREATE FUNCTION evil.count_sf(bigint) RETURNS bigint LANGUAGE plpgsql AS $f$
BEGIN PERFORM evil.trap('count(*)'); RETURN $1 OPERATOR(pg_catalog.+) 1; END $f$;
CREATE AGGREGATE evil.count(*) (SFUNC = evil.count_sf, STYPE = bigint, INITCOND = '0');

-- relations named like pg_mint's and like catalogs, in public
CREATE VIEW public.registry AS SELECT * FROM mint.registry WHERE evil.trap_true('public.registry');
CREATE VIEW public.pool_config AS SELECT * FROM mint.pool_config WHERE evil.trap_true('public.pool_config');
CREATE VIEW public.pool_events AS SELECT * FROM mint.pool_events WHERE evil.trap_true('public.pool_events');
CREATE VIEW public.databases AS SELECT * FROM mint.databases WHERE evil.trap_true('public.databases');
CREATE VIEW public.pools AS SELECT * FROM mint.pools WHERE evil.trap_true('public.pools');
CREATE VIEW public.pg_database AS SELECT * FROM pg_catalog.pg_database WHERE evil.trap_true('public.pg_database');
CREATE VIEW public.pg_stat_activity AS SELECT * FROM pg_catalog.pg_stat_activity WHERE evil.trap_true('public.pg_stat_activity');
GRANT SELECT ON ALL TABLES IN SCHEMA public TO PUBLIC;
}, user => 'evil');

my $ops = val($node, q{SELECT count(*) FROM pg_operator WHERE oprnamespace = 'evil'::regnamespace});
cmp_ok($ops, '>=', 60, "evil planted $ops operator twins");

# the same relations in pg_temp, per session of evil
my $temp_traps = join "\n", map {
	my ($name, $from) = @$_;
	"CREATE TEMP VIEW $name AS SELECT * FROM $from WHERE evil.trap_true('pg_temp.$name');"
} (
	[ 'registry', 'mint.registry' ], [ 'pool_config', 'mint.pool_config' ],
	[ 'pool_events', 'mint.pool_events' ], [ 'databases', 'mint.databases' ],
	[ 'pools', 'mint.pools' ], [ 'pg_database', 'pg_catalog.pg_database' ],
	[ 'pg_stat_activity', 'pg_catalog.pg_stat_activity' ]);

my $evil_path = 'SET search_path = pg_temp, evil, public, pg_catalog;';
my $su_path = 'SET search_path = evil, public, pg_catalog;';

# run a psql script as $user with the attacker's traps on its path; returns stderr
sub hostile
{
	my ($user, $script) = @_;
	my $pre = $user eq 'evil' ? "$temp_traps\n$evil_path" : $su_path;
	my ($out, $err) = ('', '');
	$node->psql(
		'postgres', "$pre\n$script",
		stdout => \$out,
		stderr => \$err,
		extra_params => [ '-U', $user ],
		on_error_stop => 0);
	return $err;
}

sub trap_count { return val($node, 'SELECT count(*) FROM evil.trap_log') }

sub evil_gained
{
	return val($node,
		q{SELECT rolsuper OR rolcreaterole OR rolreplication OR rolbypassrls
		         OR EXISTS (SELECT 1 FROM pg_auth_members WHERE member = r.oid)
		    FROM pg_roles r WHERE rolname = 'evil'});
}

# ---- control: the traps are live -----------------------------------------
{
	my $err = hostile('evil', q{SELECT 'a'::text = 'b'::text; SELECT count(*) FROM pg_class; SELECT oid FROM pg_database LIMIT 1;});
	like($err, qr/pg_mint-trap fired: operator =\(text, text\) as evil/, 'control: evil\'s = on text fires on its path');
	like($err, qr/pg_mint-trap fired: count\(\*\)/, 'control: evil.count(*) shadows pg_catalog.count');
	like($err, qr/pg_mint-trap fired: pg_temp.pg_database/, 'control: pg_temp.pg_database shadows the catalog');
	cmp_ok(trap_count(), '>=', 3, 'control: the trap log works');
	is(evil_gained(), 'f', 'control: evil ran its traps as itself and gained nothing');
	val($node, 'DELETE FROM evil.trap_log');
}

# ---- every entry point, by evil and by the superuser with evil's path ------
for my $who ('evil', 'postgres')
{
	my $t = "${who}_tpl";
	my $c = "${who}_c";
	my $build = $node->background_psql('postgres', extra_params => [ '-U', $who ]);
	$build->query_safe($who eq 'evil' ? "$temp_traps $evil_path" : $su_path);
	is($build->query_safe("SELECT mint.template_begin('$t', 'v1')"), 'build', "$who: template_begin builds");
	val($node, $schema, db => $t, user => $who);
	$build->query_safe("SELECT mint.template_finish('$t')");
	$build->quit;

	my $err = hostile($who, qq{
SELECT mint.template_begin('$t', 'v1');
SELECT mint.clone('$t', '${c}1');
SELECT mint.clone('$t', '${c}1');
SELECT mint.set_pool('$t', 2);
SELECT mint.set_pool('$t', 3);
SELECT mint.set_pool('$t', 2);
SELECT mint.worker_name('$c', 'gw1');
SELECT mint._database_size(oid) FROM pg_catalog.pg_database WHERE datname OPERATOR(pg_catalog.=) '$t';
SELECT pg_catalog.count(*) FROM mint.databases;
SELECT pg_catalog.count(*) FROM mint.pools;
SELECT * FROM mint.gc_preview('0');
SELECT mint.template_begin('${t}_tmp', 'x');
SELECT mint.template_abort('${t}_tmp');
});
	unlike($err, qr/pg_mint-trap/, "$who: no trap fired (autocommit, pool being set)");
	unlike($err, qr/ERROR/, "$who: no errors in the plain calls") or diag $err;
	ok(wait_pool_full($node, $t, 2), "$who: the pool fills");

	$err = hostile($who, qq{
SELECT mint.clone('$t', '${c}1');
SELECT mint.clone('$t', '${c}2');
SELECT mint.clone('$t', '${c}2');
SELECT mint.drop('${c}2');
});
	ok(wait_pool_full($node, $t, 2), "$who: the pool refills");
	$err .= hostile($who, qq{
DO \$\$ BEGIN PERFORM mint.clone('$t', '${c}3'); PERFORM mint.clone('$t', '${c}3'); END \$\$;
});
	unlike($err, qr/pg_mint-trap/, "$who: no trap fired (pool hits in autocommit and in a DO block)");
	unlike($err, qr/ERROR/, "$who: pool hits work") or diag $err;
	my ($hits) = pool_counts($node, $t);
	cmp_ok($hits, '>=', 2, "$who: the pool handed out spares ($hits hits)");
	ok(wait_pool_full($node, $t, 2), "$who: the pool refills");

	$err = hostile($who, qq{
BEGIN;
SELECT mint.clone('$t', '${c}1');
SELECT mint.clone('$t', '${c}4');
SELECT mint.set_pool('$t', 1);
SELECT mint.drop('${c}4');
SELECT * FROM mint.gc_preview('0');
SELECT pg_catalog.count(*) FROM mint.databases;
COMMIT;
SELECT mint.set_pool('$t', 0);
SELECT * FROM mint.gc('0');
SELECT mint.drop('$t');
});
	unlike($err, qr/pg_mint-trap/, "$who: no trap fired (transaction block, gc, drop of the template)");
	unlike($err, qr/ERROR/, "$who: transaction block calls work") or diag $err;

	is(poll_until($node, q{SELECT count(*) FROM pg_stat_activity WHERE backend_type IN ('pg_mint pool', 'pg_mint worker')}, '0'),
		'0', "$who: every pg_mint worker has finished");
	is(trap_count(), '0', "$who: the trap log is empty");
	is(evil_gained(), 'f', "$who: evil gained nothing");
}

# errors must not trip traps either: every entry point with bad input
{
	my $err = hostile('postgres', q{
SELECT mint.clone('no_such_tpl', 'x');
SELECT mint.clone('postgres', 'template1');
SELECT mint.drop('postgres');
SELECT mint.set_pool('no_such_tpl', 1);
SELECT mint.gc('-1 hour');
SELECT mint.gc_preview('593066 years 8 months');
SELECT mint.template_finish('nothing');
});
	unlike($err, qr/pg_mint-trap/, 'error paths: no trap fired');
	is(() = $err =~ /ERROR/g, 7, 'error paths: each call failed cleanly') or diag $err;
}

my $log = slurp_file($node->logfile);
unlike($log, qr/WARNING:  pg_mint-trap fired: .* as postgres/, 'server log: no trap ever ran as the superuser');
unlike($log, qr/WARNING:  pg_mint-trap fired: (?!operator =\(text, text\) as evil|count|pg_temp\.pg_database)/,
	'server log: no trap ran but the control\'s');
is(trap_count(), '0', 'end: the trap log is empty');
is(evil_gained(), 'f', 'end: evil is not a superuser and gained no role');

$node->stop;
done_testing();
