# tests/t/240_upgrade.pl -- ALTER EXTENSION pg_mint UPDATE from 1.0 to 1.1
# (the security release) and on to 1.2 (template versions, runs) on a cluster
# whose databases and pools are in use.  One shared library serves every SQL
# version: it is the newest build that runs here, before and after each
# update, as after installing the new package.
#
#  1. under 1.0: role app builds app_tpl (and app_tpl2), clones app_c1 and
#     app_c2 and sets a pool of 2 spares (full); role squat holds pools 1.0 let
#     it claim (a template that does not exist, another role's template) and
#     an unfolded pool event of one; a session sits on app_c1, another (app, in
#     postgres) has used pg_mint;
#  2. ALTER EXTENSION pg_mint UPDATE as the superuser: extversion 1.1;
#  3. app's template, clones, pool and spares are intact (same OIDs, same
#     bookkeeping rows, same counters), squat's pools and their events are
#     gone, both sessions still work, a clone over app_c2 is a pool hit
#     handing out one of the old spares, the pool refills, gc_preview and
#     template_begin work;
#  4. the upgraded extension equals a fresh 1.1 install in another database
#     of the same cluster: view columns and definitions (pg_get_viewdef),
#     extension members, functions, tables, privileges, configuration;
#  5. a hostile schema "mint" (owned by a non-superuser, CREATE granted to a
#     non-superuser or PUBLIC, objects of a non-superuser) refuses the update
#     with 42501 and leaves 1.0 in place; once fixed, the update goes
#     through; CREATE EXTENSION into a hostile schema is refused too;
#  6. 1.1 -> 1.2 in use: templates, clones, pool and sessions keep working
#     (the old session's template_begin choice included); a new fingerprint
#     builds a second version beside the first; upgraded (from 1.1, and from
#     1.0 in one step) equals a fresh 1.2 install;
#  7. 1.2 -> 1.3 (issue 15: dumps) in use: templates, clones, the pool (a hit
#     and its refill), sessions, set_pool and new builds keep working; no
#     table is marked for pg_dump any more; upgraded from every released
#     version (1.0, 1.1, 1.2, in one ALTER EXTENSION UPDATE each, and along
#     the chain) equals a fresh 1.3 install, triggers, event triggers and
#     initial privileges included.
#  8. 1.3's shared-server features on the upgraded cluster: the 1.3 library
#     served 1.2 as before (a lease setting ignored); after the update nothing
#     has a lease, old sessions clone with leases, renew, quotas, stats and
#     activity work; the views of 1.3 (activity, quotas, stats, their columns
#     and privileges) are the same upgraded and fresh.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::RealBin/pool_helpers";
use PoolUtil;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('upgrade');
$node->init;
$node->append_conf('postgresql.conf', "max_connections = 60\nmax_worker_processes = 16\n");
$node->start;

sub extversion
{
	my ($db) = @_;
	return val($node, "SELECT coalesce((SELECT extversion FROM pg_extension WHERE extname = 'pg_mint'), 'none')",
		db => $db // 'postgres');
}

# (SQLSTATE, message) of the error $sql raises in $db; ('none', stderr) when it succeeds
sub error_of
{
	my ($db, $sql) = @_;
	my ($out, $err) = ('', '');
	$node->psql($db, "\\set VERBOSITY verbose\n$sql", stdout => \$out, stderr => \$err);
	return $err =~ /ERROR:\s+([0-9A-Z]{5}):\s+([^\n]*)/ ? ($1, $2) : ('none', $err);
}

# ---------------------------------------------------------------------------
# catalog views of the extension, compared before/after and upgraded/fresh
# ---------------------------------------------------------------------------
my $ext = "(SELECT oid FROM pg_extension WHERE extname = 'pg_mint')";
my $mint = "'mint'::regnamespace";

sub view_columns
{
	my ($view) = @_;
	return "SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', ' ORDER BY attnum)"
	  . " FROM pg_attribute WHERE attrelid = '$view'::regclass AND attnum > 0 AND NOT attisdropped";
}

my %catalog = (
	'members' => "SELECT string_agg(d, E'\\n' ORDER BY d) FROM"
	  . " (SELECT pg_describe_object(classid, objid, objsubid) AS d FROM pg_depend"
	  . "   WHERE refclassid = 'pg_extension'::regclass AND refobjid = $ext AND deptype = 'e') x",
	'view mint.databases' => "SELECT pg_get_viewdef('mint.databases'::regclass)",
	'view mint.pools' => "SELECT pg_get_viewdef('mint.pools'::regclass)",
	'columns of mint.databases' => view_columns('mint.databases'),
	'columns of mint.pools' => view_columns('mint.pools'),
	'functions' => "SELECT string_agg(pg_get_functiondef(oid), E'\\n'"
	  . " ORDER BY proname, pg_get_function_identity_arguments(oid)) FROM pg_proc WHERE pronamespace = $mint",
	'relations' => "SELECT string_agg(c.relname || ' ' || c.relkind::text || ' owner=' || pg_get_userbyid(c.relowner)"
	  . " || ' acl=' || coalesce(c.relacl::text, '-') || ' cols=' || coalesce((SELECT string_agg(a.attname || ' '"
	  . "   || format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END"
	  . "   || coalesce(' default ' || pg_get_expr(ad.adbin, ad.adrelid), ''), ', ' ORDER BY a.attnum)"
	  . "   FROM pg_attribute a LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum"
	  . "   WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '')"
	  . " || ' constraints=' || coalesce((SELECT string_agg(conname || ': ' || pg_get_constraintdef(oid), '; '"
	  . "   ORDER BY conname) FROM pg_constraint WHERE conrelid = c.oid), '')"
	  . " || ' indexes=' || coalesce((SELECT string_agg(pg_get_indexdef(indexrelid), '; ' ORDER BY indexrelid::regclass::text)"
	  . "   FROM pg_index WHERE indrelid = c.oid), ''),"
	  . " E'\\n' ORDER BY c.relname) FROM pg_class c WHERE c.relnamespace = $mint",
	'function privileges' => "SELECT string_agg(oid::regprocedure::text || ' owner=' || pg_get_userbyid(proowner)"
	  . " || ' acl=' || coalesce(proacl::text, '-'), E'\\n' ORDER BY oid::regprocedure::text)"
	  . " FROM pg_proc WHERE pronamespace = $mint",
	'schema' => "SELECT nspname || ' owner=' || pg_get_userbyid(nspowner) || ' acl=' || coalesce(nspacl::text, '-')"
	  . " FROM pg_namespace WHERE oid = $mint",
	'extension' => "SELECT pg_get_userbyid(extowner) || ' ' || extnamespace::regnamespace || ' ' || extrelocatable"
	  . " || ' ' || extversion || ' ' || coalesce(extconfig::regclass[]::text, '-') || ' ' || coalesce(extcondition::text, '-')"
	  . " FROM pg_extension WHERE extname = 'pg_mint'",
	'triggers' => "SELECT coalesce(string_agg(pg_get_triggerdef(t.oid), E'\\n' ORDER BY c.relname, t.tgname), '-')"
	  . " FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE c.relnamespace = $mint AND NOT t.tgisinternal",
	'event triggers' => "SELECT coalesce(string_agg(e.evtname || ' ' || e.evtevent || ' ' || e.evtfoid::regprocedure::text"
	  . " || ' ' || coalesce(e.evttags::text, '-') || ' ' || e.evtenabled::text || ' owner=' || pg_get_userbyid(e.evtowner),"
	  . " E'\\n' ORDER BY e.evtname), '-') FROM pg_event_trigger e JOIN pg_depend d ON d.classid = 'pg_event_trigger'::regclass"
	  . " AND d.objid = e.oid AND d.refclassid = 'pg_extension'::regclass AND d.refobjid = $ext AND d.deptype = 'e'",
	'initial privileges' => "SELECT coalesce(string_agg(pg_describe_object(i.classoid, i.objoid, i.objsubid) || ' '"
	  . " || i.privtype::text || ' ' || i.initprivs::text, E'\\n' ORDER BY pg_describe_object(i.classoid, i.objoid, i.objsubid)), '-') FROM pg_init_privs i"
	  . " JOIN pg_depend d ON d.classid = i.classoid AND d.objid = i.objoid AND d.refclassid = 'pg_extension'::regclass"
	  . " AND d.refobjid = $ext AND d.deptype = 'e'",
	# what the views' rewrite rules use: nothing outside pg_catalog but pg_mint's own
	'objects the views use' => "SELECT string_agg(DISTINCT pg_describe_object(d.refclassid, d.refobjid, 0), ', ')"
	  . " FROM pg_depend d JOIN pg_rewrite r ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid"
	  . " WHERE r.ev_class IN ('mint.databases'::regclass, 'mint.pools'::regclass)"
	  . "   AND d.refclassid IN ('pg_operator'::regclass, 'pg_proc'::regclass)"
	  . "   AND NOT EXISTS (SELECT 1 FROM pg_operator o WHERE d.refclassid = 'pg_operator'::regclass"
	  . "                     AND o.oid = d.refobjid AND o.oprnamespace = 'pg_catalog'::regnamespace)"
	  . "   AND NOT EXISTS (SELECT 1 FROM pg_proc p WHERE d.refclassid = 'pg_proc'::regclass"
	  . "                     AND p.oid = d.refobjid AND p.pronamespace = 'pg_catalog'::regnamespace)",);

sub catalog_of
{
	my ($db) = @_;
	return { map { $_ => val($node, $catalog{$_}, db => $db) } keys %catalog };
}

# app's databases as mint.databases lists them, with their OIDs
my $app_dbs_sql = "SELECT string_agg(m.datname || '|' || m.kind || '|' || m.state || '|' || m.owner || '|' || d.oid,"
  . " E'\\n' ORDER BY m.datname) FROM mint.databases m JOIN pg_database d ON d.datname = m.datname"
  . " WHERE m.datname IN ('app_tpl', 'app_tpl2', 'app_c1', 'app_c2')";
# every bookkeeping row
my $registry_sql = "SELECT string_agg(concat_ws('|', datid, datname, kind, template, template_datid, fingerprint,"
  . " server_version, state, pg_get_userbyid(owner), created_at), E'\\n' ORDER BY datid) FROM mint.registry";
my $pools_sql = "SELECT string_agg(template || ':' || spares || ':' || pg_get_userbyid(owner), ',' ORDER BY template)"
  . " FROM mint.pool_config";
my $events_sql = "SELECT coalesce(string_agg(template || ':' || hit, ',' ORDER BY template), '') FROM mint.pool_events";
my $no_refiller_sql = "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_mint pool'";

# ---------------------------------------------------------------------------
# 1. pg_mint 1.0 in use
# ---------------------------------------------------------------------------
val($node, "CREATE EXTENSION pg_mint VERSION '1.0'");
is(extversion(), '1.0', '1: CREATE EXTENSION pg_mint VERSION 1.0');
val($node, 'CREATE ROLE app LOGIN CREATEDB; CREATE ROLE squat LOGIN CREATEDB');

my $schema = q{
CREATE TABLE items AS SELECT g AS id FROM generate_series(1, 100) g;
CREATE TABLE build_marker (build text);
INSERT INTO build_marker VALUES ('v1');
};
is(build_template($node, 'app_tpl', 'v1', $schema, user => 'app'), 'build', '1: app builds app_tpl');
is(build_template($node, 'app_tpl2', 'w1', $schema, user => 'app'), 'build', '1: app builds app_tpl2');
is(val($node, "SELECT mint.clone('app_tpl', 'app_c1')", user => 'app'), 'app_c1', '1: app clones app_c1');
is(val($node, "SELECT mint.clone('app_tpl', 'app_c2')", user => 'app'), 'app_c2', '1: app clones app_c2');
val($node, "SELECT mint.set_pool('app_tpl', 2)", user => 'app');
ok(wait_pool_full($node, 'app_tpl', 2), '1: app\'s pool of app_tpl fills to 2 spares');

# squat claims pools 1.0 let it claim: for a template nobody built yet, and
# for app's app_tpl2.  The library running here is the 1.1 build, which may
# already refuse that; then the row 1.0's set_pool wrote (template, spares,
# caller) is recorded directly, as a 1.0 installation would carry it.
for my $tpl ('future_tpl', 'app_tpl2')
{
	my $st = sqlstate($node, "SELECT mint.set_pool('$tpl', 1)", user => 'squat');
	if ($st ne 'none')
	{
		note("set_pool('$tpl', 1) as squat: SQLSTATE $st from the installed library;"
			  . " recording the row pg_mint 1.0's set_pool wrote");
		val($node, "INSERT INTO mint.pool_config (template, spares, owner) VALUES ('$tpl', 1, 'squat'::regrole)");
	}
}
# a miss 1.0 counted for squat's pool of app_tpl2, not folded yet
val($node, "INSERT INTO mint.pool_events (template, hit) VALUES ('app_tpl2', false)");
is(poll_until($node, $no_refiller_sql, '0'), '0', '1: no refill worker running');
is(val($node, $pools_sql), 'app_tpl:2:app,app_tpl2:1:squat,future_tpl:1:squat',
	'1: pool_config holds app\'s pool and the two pools squat claimed');
ok(wait_pool_full($node, 'app_tpl', 2), '1: app\'s pool is full');

# sessions in use across the update
my $on_c1 = $node->background_psql('app_c1', extra_params => [ '-U', 'app' ]);
$on_c1->set_query_timer_restart;
my $c1_pid = $on_c1->query_safe('SELECT pg_backend_pid()');
is($on_c1->query_safe('SELECT count(*) FROM items'), '100', '1: a session of app sits on app_c1');
my $app_s = $node->background_psql('postgres', extra_params => [ '-U', 'app' ]);
$app_s->set_query_timer_restart;
is($app_s->query_safe("SELECT mint.template_begin('app_tpl', 'v1')"), 'ready',
	'1: a session of app in postgres has used pg_mint (template_begin: ready)');
is($app_s->query_safe("SELECT target_size || '|' || ready FROM mint.pools WHERE template = 'app_tpl'"), '2|2',
	'1: ... and read mint.pools');

my $dbs_before = val($node, $app_dbs_sql);
my %oid = map { $_ => oid_of($node, $_) } qw(app_tpl app_tpl2 app_c1 app_c2);
is( $dbs_before,
	join("\n",
		"app_c1|clone|ready|app|$oid{app_c1}",  "app_c2|clone|ready|app|$oid{app_c2}",
		"app_tpl|template|ready|app|$oid{app_tpl}", "app_tpl2|template|ready|app|$oid{app_tpl2}"),
	'1: mint.databases lists app\'s templates and clones');
my $registry_before = val($node, $registry_sql);
my $tpl_flags_sql = "SELECT string_agg(datname || ' ' || datistemplate || ' ' || datallowconn, ', ' ORDER BY datname)"
  . " FROM pg_database WHERE datname IN ('app_tpl', 'app_tpl2')";
my $tpl_flags_before = val($node, $tpl_flags_sql);
my $spares_before = spare_oids($node, 'app_tpl');
is(scalar keys %$spares_before, 2, '1: two spares registered');
my @counts_before = pool_counts($node, 'app_tpl');
my $catalog_10 = catalog_of('postgres');
is(consistency_problems($node), '', '1: registry and catalog agree');

# ---------------------------------------------------------------------------
# 2. the update
# ---------------------------------------------------------------------------
{
	my ($st, $msg) = error_of('postgres', "ALTER EXTENSION pg_mint UPDATE TO '1.1'");
	is($st, 'none', '2: ALTER EXTENSION pg_mint UPDATE succeeds') or diag($msg);
}
is(extversion(), '1.1', '2: extversion is 1.1');

# ---------------------------------------------------------------------------
# 3. after the update
# ---------------------------------------------------------------------------
is(val($node, $app_dbs_sql), $dbs_before,
	'3: mint.databases lists app_tpl, app_tpl2 (templates), app_c1, app_c2 (clones), ready, same OIDs');
is(val($node, $registry_sql), $registry_before, '3: every bookkeeping row is unchanged (spares included)');
is(val($node, "SELECT target_size || '|' || ready || '|' || being_made FROM mint.pools WHERE template = 'app_tpl'"),
	'2|2|0', '3: mint.pools: app\'s pool, target 2, 2 ready');
is(join(',', sort keys %{ spare_oids($node, 'app_tpl') }), join(',', sort keys %$spares_before),
	'3: app\'s spares are still registered (same OIDs)');
is( val($node, "SELECT count(*) FROM pg_database WHERE oid IN (" . join(',', keys %$spares_before) . ')'),
	'2', '3: ... and exist');
is(join('|', pool_counts($node, 'app_tpl')), join('|', @counts_before), '3: app\'s hits and misses are unchanged');
is(val($node, $pools_sql), 'app_tpl:2:app', '3: squat\'s pools (future_tpl, app_tpl2) are gone, app\'s stays');
is(val($node, $events_sql), '', '3: ... and the events of squat\'s pool with them');
is(val($node, "SELECT count(*) FROM mint.pools WHERE template IN ('future_tpl', 'app_tpl2')"), '0',
	'3: mint.pools lists no pool of squat');

is($on_c1->query_safe('SELECT pg_backend_pid() || \'|\' || (SELECT count(*) FROM items)'), "$c1_pid|100",
	'3: the session on app_c1 is the same and still works');
is(clone_content($node, 'app_c1', user => 'app'), 'v1:100', '3: app_c1 is intact');
is(clone_content($node, 'app_c2', user => 'app'), 'v1:100', '3: app_c2 is intact');
is(val($node, $tpl_flags_sql), $tpl_flags_before, '3: app_tpl and app_tpl2 are still closed templates');

# a clone over app_c2 from the session that used pg_mint before the update
{
	my $old_c2 = $oid{app_c2};
	my ($h0, $m0) = pool_counts($node, 'app_tpl');
	is($app_s->query_safe("SELECT mint.clone('app_tpl', 'app_c2')"), 'app_c2',
		'3: mint.clone(app_tpl, app_c2) as app, in a session older than the update');
	my ($h1, $m1) = pool_counts($node, 'app_tpl');
	is(($h1 - $h0) . '|' . ($m1 - $m0), '1|0', '3: ... a pool hit (hits +1, misses +0)');
	my $new_c2 = oid_of($node, 'app_c2');
	ok($spares_before->{$new_c2}, "3: ... app_c2 (OID $new_c2) is one of the old spares");
	is(val($node, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE oid = $new_c2"), 'app', '3: ... owned by app');
	is(clone_content($node, 'app_c2', user => 'app'), 'v1:100', '3: ... complete');
	is(poll_until($node, "SELECT count(*) FROM pg_database WHERE oid = $old_c2", '0'), '0',
		'3: the old app_c2 is dropped in the background');
	is(poll_until($node, "SELECT count(*) FROM mint.registry WHERE datid = $old_c2", '0'), '0', '3: ... and forgotten');
	ok(wait_pool_full($node, 'app_tpl', 2), '3: the pool refills to 2');
	is( val($node, "SELECT string_agg(DISTINCT pg_get_userbyid(owner), ',') FROM mint.registry"
			  . " WHERE kind = 'spare' AND template = 'app_tpl'"),
		'app', '3: ... with spares of app');
}

{
	my $pv = "SELECT coalesce(string_agg(datname || ': ' || reason, ', ' ORDER BY datname), '') FROM mint.gc_preview('0')";
	my $su = val($node, $pv);
	like($su, qr/^app_c2: idle clone created [^,]*$/,
		'3: mint.gc_preview(0) works: only app_c2, an idle clone (app_c1 is in use, templates and spares stay)');
	is(val($node, $pv, user => 'app'), $su, '3: ... the same for app');
}
is(val($node, "SELECT mint.template_begin('app_tpl', 'v1')", user => 'app'), 'ready',
	'3: template_begin(app_tpl, v1) as app: ready');
is($app_s->query_safe("SELECT mint.template_begin('app_tpl', 'v1')"), 'ready', '3: ... also in the older session');
is(sqlstate($node, "SELECT mint.set_pool('future_tpl', 1)", user => 'squat'), '3D000',
	'3: squat cannot claim a pool for a template that does not exist (3D000)');
is(sqlstate($node, "SELECT mint.set_pool('app_tpl2', 1)", user => 'squat'), '42501',
	'3: squat cannot claim a pool for app\'s template (42501)');
is(consistency_problems($node), '', '3: registry and catalog agree');

# ---------------------------------------------------------------------------
# 4. the upgraded extension equals a fresh 1.1 install
# ---------------------------------------------------------------------------
{
	val($node, 'CREATE DATABASE fresh');
	val($node, "CREATE EXTENSION pg_mint VERSION '1.1'", db => 'fresh');
	is(extversion('fresh'), '1.1', '4: fresh: CREATE EXTENSION pg_mint installs 1.1');
	my $up = catalog_of('postgres');
	my $fresh = catalog_of('fresh');
	for my $k (sort keys %catalog)
	{
		is($up->{$k}, $fresh->{$k}, "4: $k: upgraded = fresh 1.1");
	}
	is($up->{'columns of mint.databases'}, $catalog_10->{'columns of mint.databases'},
		'4: mint.databases has the columns it had in 1.0');
	is($up->{'columns of mint.pools'}, $catalog_10->{'columns of mint.pools'},
		'4: mint.pools has the columns it had in 1.0');
	isnt($up->{'view mint.pools'}, $catalog_10->{'view mint.pools'}, '4: mint.pools was redefined');
	like($up->{'view mint.pools'}, qr/r\.owner = p\.owner/, '4: ... ready counts the pool owner\'s spares only');
	is($up->{'objects the views use'}, 'function mint._database_size(oid)',
		'4: the views use pg_catalog\'s operators and functions only (and mint._database_size)');
	is($up->{'members'}, $catalog_10->{'members'}, '4: the update neither adds nor removes member objects');
	note("members:\n$up->{members}");
}

# ---------------------------------------------------------------------------
# 5. a hostile schema "mint" refuses the update
# ---------------------------------------------------------------------------
{
	my $db = 'hostile';
	val($node, "CREATE DATABASE $db");
	val($node, "CREATE EXTENSION pg_mint VERSION '1.0'", db => $db);
	is(extversion($db), '1.0', '5: a third database with pg_mint 1.0');
	my $c10 = val($node, $catalog{members}, db => $db);

	val($node, 'ALTER SCHEMA mint OWNER TO squat', db => $db);
	my ($st, $msg) = error_of($db, "ALTER EXTENSION pg_mint UPDATE TO '1.1'");
	is($st, '42501', '5: schema mint owned by squat: ALTER EXTENSION pg_mint UPDATE fails with 42501');
	like($msg, qr/"squat"/, "5: ... naming the owner ($msg)");
	is(extversion($db), '1.0', '5: ... extversion stays 1.0');
	is(val($node, $catalog{'view mint.pools'}, db => $db), $catalog_10->{'view mint.pools'},
		'5: ... and the 1.0 views are untouched');

	val($node, 'ALTER SCHEMA mint OWNER TO postgres; GRANT CREATE ON SCHEMA mint TO squat', db => $db);
	($st, $msg) = error_of($db, "ALTER EXTENSION pg_mint UPDATE TO '1.1'");
	is($st, '42501', '5: CREATE on schema mint granted to squat: 42501');
	like($msg, qr/"squat"/, "5: ... naming the grantee ($msg)");
	is(extversion($db), '1.0', '5: ... extversion stays 1.0');

	val($node, 'REVOKE CREATE ON SCHEMA mint FROM squat; GRANT CREATE ON SCHEMA mint TO PUBLIC', db => $db);
	($st, $msg) = error_of($db, "ALTER EXTENSION pg_mint UPDATE TO '1.1'");
	is($st, '42501', "5: CREATE on schema mint granted to PUBLIC: 42501 ($msg)");
	is(extversion($db), '1.0', '5: ... extversion stays 1.0');

	val($node, 'REVOKE CREATE ON SCHEMA mint FROM PUBLIC;'
		  . ' CREATE TABLE mint.planted (x int); ALTER TABLE mint.planted OWNER TO squat', db => $db);
	($st, $msg) = error_of($db, "ALTER EXTENSION pg_mint UPDATE TO '1.1'");
	is($st, '42501', '5: a table of squat in schema mint: 42501');
	like($msg, qr/"squat"/, "5: ... naming its owner ($msg)");
	is(extversion($db), '1.0', '5: ... extversion stays 1.0');
	is(val($node, $catalog{members}, db => $db), $c10, '5: ... the extension\'s members are unchanged');

	val($node, 'DROP TABLE mint.planted', db => $db);
	($st, $msg) = error_of($db, "ALTER EXTENSION pg_mint UPDATE TO '1.1'");
	is($st, 'none', '5: once the schema is clean again, the update goes through') or diag($msg);
	is(extversion($db), '1.1', '5: ... extversion 1.1');
	is(val($node, $catalog{'view mint.pools'}, db => $db), val($node, $catalog{'view mint.pools'}, db => 'fresh'),
		'5: ... with the 1.1 views');

	# CREATE EXTENSION (1.1) into a schema mint that squat made beforehand
	val($node, 'CREATE DATABASE hostile_new');
	val($node, 'CREATE SCHEMA mint AUTHORIZATION squat', db => 'hostile_new');
	($st, $msg) = error_of('hostile_new', 'CREATE EXTENSION pg_mint');
	is($st, '42501', "5: CREATE EXTENSION pg_mint into a schema mint of squat: 42501 ($msg)");
	is(extversion('hostile_new'), 'none', '5: ... no extension created');
}

# ---------------------------------------------------------------------------
# 6. 1.1 -> 1.2: template versions and runs
# ---------------------------------------------------------------------------
{
	my $reg11 = val($node, $registry_sql);
	my $dbs11 = val($node, $app_dbs_sql);
	my ($st, $msg) = error_of('postgres', "ALTER EXTENSION pg_mint UPDATE TO '1.2'");
	is($st, 'none', '6: ALTER EXTENSION pg_mint UPDATE (1.1 -> 1.2) succeeds') or diag($msg);
	is(extversion(), '1.2', '6: extversion is 1.2');
	is(val($node, $app_dbs_sql), $dbs11, '6: app\'s templates and clones are listed as before, same OIDs');
	is(val($node, $registry_sql), $reg11, '6: the bookkeeping rows are unchanged');
	is( val($node, "SELECT string_agg(datname || '=' || coalesce(version_of, '-'), ',' ORDER BY datname)"
			  . " FROM mint.registry WHERE kind = 'template'"),
		'app_tpl=app_tpl,app_tpl2=app_tpl2', '6: every template is a version of its own name');
	is($on_c1->query_safe('SELECT count(*) FROM items'), '100', '6: the session on app_c1 still works');
	is(val($node, "SELECT mint.template_begin('app_tpl', 'v1')", user => 'app'), 'ready',
		'6: template_begin(app_tpl, v1): ready, no rebuild');
	is(oid_of($node, 'app_tpl'), $oid{app_tpl}, '6: ... the same database');
	is(val($node, "SELECT mint.clone('app_tpl', 'app_c3')", user => 'app'), 'app_c3', '6: clone of app_tpl');
	is(clone_content($node, 'app_c3', user => 'app'), 'v1:100', '6: ... with v1');

	# a second branch builds v2; the session that chose v1 before the update still gets v1
	my $v2 = q{
CREATE TABLE items AS SELECT g AS id FROM generate_series(1, 200) g;
CREATE TABLE build_marker (build text);
INSERT INTO build_marker VALUES ('v2');
};
	is(build_template($node, 'app_tpl', 'v2', $v2, user => 'app'), 'build', '6: app builds version v2 of app_tpl');
	is( val($node, "SELECT string_agg(fingerprint || ':' || (datname = 'app_tpl')::text, ',' ORDER BY fingerprint)"
			  . " FROM mint.databases WHERE version_of = 'app_tpl'"),
		'v1:false,v2:true', '6: v1 moved aside, v2 under the template\'s name');
	is(val($node, "SELECT oid FROM pg_database WHERE datname = 'app_tpl'") ne $oid{app_tpl} ? 'new' : 'same', 'new',
		'6: ... a new database');
	is(val($node, "SELECT count(*) FROM pg_database WHERE oid = $oid{app_tpl}"), '1', '6: ... v1\'s database is kept');
	is($app_s->query_safe("SELECT mint.clone('app_tpl', 'app_c4')"), 'app_c4',
		'6: the session older than both updates clones app_tpl');
	is(clone_content($node, 'app_c4', user => 'app'), 'v1:100', '6: ... and gets v1, the version it chose');
	is(val($node, "SELECT mint.clone('app_tpl', 'app_c5', 'v2')", user => 'app'), 'app_c5', '6: clone of v2 by name');
	is(clone_content($node, 'app_c5', user => 'app'), 'v2:200', '6: ... with v2');
	is(consistency_problems($node), '', '6: registry and catalog agree');

	# upgraded = fresh 1.2, from 1.1 and from 1.0 in one step
	val($node, 'CREATE DATABASE fresh12');
	val($node, "CREATE EXTENSION pg_mint VERSION '1.2'", db => 'fresh12');
	is(extversion('fresh12'), '1.2', '6: CREATE EXTENSION pg_mint VERSION 1.2 installs 1.2');
	val($node, 'CREATE DATABASE old10');
	val($node, "CREATE EXTENSION pg_mint VERSION '1.0'", db => 'old10');
	($st, $msg) = error_of('old10', "ALTER EXTENSION pg_mint UPDATE TO '1.2'");
	is($st, 'none', '6: 1.0 -> 1.2 in one ALTER EXTENSION UPDATE') or diag($msg);
	is(extversion('old10'), '1.2', '6: ... extversion 1.2');
	my $fresh = catalog_of('fresh12');
	for my $db ('postgres', 'old10')
	{
		my $up = catalog_of($db);
		for my $k (sort keys %catalog)
		{
			is($up->{$k}, $fresh->{$k}, "6: $db: $k: upgraded = fresh 1.2");
		}
	}
}

# ---------------------------------------------------------------------------
# 7. 1.2 -> 1.3: nothing of the bookkeeping in dumps, DROP EXTENSION notice
# ---------------------------------------------------------------------------
{
	ok(wait_pool_full($node, 'app_tpl', 2), '7: before the update, app\'s pool of app_tpl is full');
	# under 1.2 the 1.3 library works as 1.2 did (no lease, no quota)
	is(val($node, "SET pg_mint.lease = '1h'; SELECT mint.clone('app_tpl', 'app_c12', 'v1')", user => 'app'), 'app_c12',
		'7: under 1.2 with the 1.3 library: a clone (pg_mint.lease is ignored)');
	my $reg12 = val($node, $registry_sql);
	my $dbs12 = val($node, $app_dbs_sql);
	my $spares12 = spare_oids($node, 'app_tpl');
	isnt(val($node, "SELECT coalesce(extconfig::regclass[]::text, '-') FROM pg_extension WHERE extname = 'pg_mint'"), '-',
		'7: under 1.2, mint tables are marked for pg_dump');
	my ($st, $msg) = error_of('postgres', 'ALTER EXTENSION pg_mint UPDATE');
	is($st, 'none', '7: ALTER EXTENSION pg_mint UPDATE (1.2 -> 1.3) succeeds') or diag($msg);
	is(extversion(), '1.3', '7: extversion is 1.3');
	is(val($node, "SELECT coalesce(extconfig::regclass[]::text, '-') FROM pg_extension WHERE extname = 'pg_mint'"), '-',
		'7: no table is marked for pg_dump any more');
	is(val($node, $registry_sql), $reg12, '7: the bookkeeping rows are unchanged');
	is(val($node, $app_dbs_sql), $dbs12, '7: app\'s templates and clones are listed as before, same OIDs');
	is(join(',', sort keys %{ spare_oids($node, 'app_tpl') }), join(',', sort keys %$spares12),
		'7: the pool\'s spares are still registered');
	is($on_c1->query_safe('SELECT count(*) FROM items'), '100', '7: the session on app_c1 still works');

	is($app_s->query_safe("SELECT mint.clone('app_tpl', 'app_c8')"), 'app_c8',
		'7: the session older than every update clones app_tpl');
	is(clone_content($node, 'app_c8', user => 'app'), 'v1:100', '7: ... and still gets v1, the version it chose');
	my ($h0, $m0) = pool_counts($node, 'app_tpl');
	is(val($node, "SELECT mint.clone('app_tpl', 'app_c6', 'v2')", user => 'app'), 'app_c6',
		'7: a new session of app clones v2 of app_tpl');
	my ($h1, $m1) = pool_counts($node, 'app_tpl');
	is(($h1 - $h0) . '|' . ($m1 - $m0), '1|0', '7: ... a pool hit');
	ok($spares12->{ oid_of($node, 'app_c6') }, '7: ... app_c6 is one of the spares made under 1.2');
	ok(wait_pool_full($node, 'app_tpl', 2), '7: the pool refills to 2 (the refiller\'s bookkeeping rows go through)');
	is(val($node, "SELECT mint.set_pool('app_tpl2', 1)", user => 'app'), '', '7: set_pool as app');
	ok(wait_pool_full($node, 'app_tpl2', 1), '7: ... a new pool fills');
	val($node, "SELECT mint.set_pool('app_tpl2', 0)", user => 'app');
	is(build_template($node, 'app_tpl3', 'x1', $schema, user => 'app'), 'build', '7: a new template is built');
	is(val($node, "SELECT mint.clone('app_tpl3', 'app_c7')", user => 'app'), 'app_c7', '7: ... and cloned');
	is(clone_content($node, 'app_c7', user => 'app'), 'v1:100', '7: ... complete');
	like(val($node, "SELECT coalesce(string_agg(datname, ',' ORDER BY datname), '') FROM mint.gc_preview('0')"),
		qr/app_c7/, '7: gc_preview sees the new clone');
	is(consistency_problems($node), '', '7: registry and catalog agree');

	# upgraded = fresh 1.3, from every released version
	val($node, 'CREATE DATABASE fresh13');
	val($node, 'CREATE EXTENSION pg_mint', db => 'fresh13');
	is(extversion('fresh13'), '1.3', '7: CREATE EXTENSION pg_mint installs 1.3');
	for my $from ('1.1', '1.2')
	{
		(my $db = "from$from") =~ s/\.//;
		val($node, "CREATE DATABASE $db");
		val($node, "CREATE EXTENSION pg_mint VERSION '$from'", db => $db);
	}
	for my $db ('old10', 'from11', 'from12', 'fresh12')
	{
		($st, $msg) = error_of($db, 'ALTER EXTENSION pg_mint UPDATE');
		is($st, 'none', "7: $db: ALTER EXTENSION pg_mint UPDATE to 1.3") or diag($msg);
	}
	val($node, 'CREATE DATABASE oneshot10');
	val($node, "CREATE EXTENSION pg_mint VERSION '1.0'", db => 'oneshot10');
	($st, $msg) = error_of('oneshot10', 'ALTER EXTENSION pg_mint UPDATE');
	is($st, 'none', '7: 1.0 -> 1.3 in one ALTER EXTENSION UPDATE') or diag($msg);
	my $fresh = catalog_of('fresh13');
	like($fresh->{'triggers'}, qr/refuse_foreign_rows/, '7: fresh 1.3 has the triggers that refuse restored rows');
	like($fresh->{'event triggers'}, qr/mint_drop_notice ddl_command_start/, '7: ... and the DROP EXTENSION notice');
	for my $db ('postgres', 'old10', 'oneshot10', 'from11', 'from12', 'fresh12')
	{
		my $up = catalog_of($db);
		for my $k (sort keys %catalog)
		{
			is($up->{$k}, $fresh->{$k}, "7: $db: $k: upgraded = fresh 1.3");
		}
	}
}

# ---------------------------------------------------------------------------
# 8. 1.3 after the update: leases, quotas, admission control, metrics
# ---------------------------------------------------------------------------
{
	my %catalog13 = (
		%catalog,
		'view mint.activity' => "SELECT pg_get_viewdef('mint.activity'::regclass)",
		'view mint.quotas' => "SELECT pg_get_viewdef('mint.quotas'::regclass)",
		'view mint.stats' => "SELECT pg_get_viewdef('mint.stats'::regclass)",
		'columns of mint.activity' => view_columns('mint.activity'),
		'columns of mint.stats' => view_columns('mint.stats'),
		'columns of mint.quotas' => view_columns('mint.quotas'),
		'view privileges' => "SELECT string_agg(relname || ' acl=' || coalesce(relacl::text, '-'), E'\\n' ORDER BY relname)"
		  . " FROM pg_class WHERE relnamespace = $mint AND relkind = 'v'",);
	my $catalog13_of = sub {
		my ($db) = @_;
		return { map { $_ => val($node, $catalog13{$_}, db => $db) } keys %catalog13 };
	};

	is(val($node, "SELECT count(*) FROM mint.databases WHERE datname = 'app_c12' AND lease_expires IS NULL"), '1',
		'8: the clone made under 1.2 has no lease');
	is(val($node, "SELECT count(*) FROM mint.databases WHERE lease_expires IS NOT NULL"), '0', '8: no database has a lease');
	is($on_c1->query_safe('SELECT count(*) FROM items'), '100', '8: the session on app_c1 still works');
	is($app_s->query_safe("SELECT mint.clone('app_tpl', 'app_c10', ttl => '1 hour')"), 'app_c10',
		'8: the session older than every update clones with a lease');
	is(val($node, "SELECT lease_expires > now() + '59 min' FROM mint.databases WHERE datname = 'app_c10'"), 't',
		'8: ... mint.databases shows it');
	is(val($node, "SELECT mint.renew('app_c10', '2 hours') > now() + '119 min'", user => 'app'), 't', '8: renew works');
	val($node, "SELECT mint.set_quota('app', 100, NULL)");
	is(val($node, "SELECT max_databases FROM mint.quotas WHERE role = 'app'"), '100', '8: quotas can be set');
	is(val($node, "SELECT mint.clone('app_tpl', 'app_c11', 'v1')", user => 'app'), 'app_c11', '8: a clone within the quota');
	cmp_ok(val($node, "SELECT clones FROM mint.stats WHERE template = 'app_tpl'"), '>=', 1, '8: mint.stats counts it');
	is(val($node, 'SELECT count(*) FROM mint.activity'), '0', '8: mint.activity is empty when nothing copies');
	is(consistency_problems($node), '', '8: registry and catalog agree');

	my $fresh = $catalog13_of->('fresh13');
	for my $db ('postgres', 'old10', 'oneshot10', 'from11', 'from12', 'fresh12')
	{
		is(extversion($db), '1.3', "8: $db: extversion 1.3");
		my $up = $catalog13_of->($db);
		for my $k (sort keys %catalog13)
		{
			is($up->{$k}, $fresh->{$k}, "8: $db: $k: upgraded = fresh 1.3");
		}
	}
}

is(consistency_problems($node), '', 'registry and catalog agree at the end');
$on_c1->quit;
$app_s->quit;
$node->stop;
done_testing();
