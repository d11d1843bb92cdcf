--
-- 060_privileges: everything runs with the caller's privileges.
-- (separate clients per role, protected databases aimed at by non-superusers,
-- and the pytest-xdist example as a non-superuser: tests/t/160_fault_privileges.pl)
--
\i tests/regress/include/setup.sql
\set SHOW_CONTEXT never
\i tests/regress/include/app_template.sql

-- a role without CREATEDB: 42501 with a clear message, nothing left behind
\c - mint_rt_nocreatedb
\set SHOW_CONTEXT never
SELECT mint.clone('mint_rt_app', 'mint_rt_nc');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS pg_mint_locks FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 28020;

-- an ordinary role with CREATEDB uses every function end to end
\c - mint_rt_alice
\set SHOW_CONTEXT never
SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user;
SELECT mint.template_begin('mint_rt_alice_tpl', 'a1');
\! psql -X -q -v ON_ERROR_STOP=1 -U mint_rt_alice -d mint_rt_alice_tpl -c "CREATE TABLE notes (id int); INSERT INTO notes VALUES (42);"
SELECT mint.template_finish('mint_rt_alice_tpl');
SELECT mint.template_begin('mint_rt_alice_tpl', 'a1');
SELECT mint.clone('mint_rt_alice_tpl', 'mint_rt_alice_c');
SELECT mint.clone('mint_rt_alice_tpl', 'mint_rt_alice_c');
SELECT mint.clone('mint_rt_alice_tpl', 'mint_rt_alice_c2');
-- (the copy the second clone replaced is dropped in the background: not listed)
SELECT datname, kind, state, owner FROM mint.databases WHERE owner = 'mint_rt_alice' AND state <> 'dropping' ORDER BY datname;
\c mint_rt_alice_c mint_rt_alice
SELECT * FROM notes;
\c contrib_regression mint_rt_alice
\set SHOW_CONTEXT never
-- a template she built on her own, abandoned, then rebuilt
SELECT mint.template_begin('mint_rt_alice_tmp', 'a1');
SELECT mint.template_abort('mint_rt_alice_tmp');

-- bob may not drop or replace alice's clones, nor rebuild her template
\c - mint_rt_bob
\set SHOW_CONTEXT never
SELECT mint.drop('mint_rt_alice_c');
\echo :LAST_ERROR_SQLSTATE
SELECT mint.clone('mint_rt_alice_tpl', 'mint_rt_alice_c');
\echo :LAST_ERROR_SQLSTATE
SELECT mint.template_begin('mint_rt_alice_tpl', 'bob-version');
\echo :LAST_ERROR_SQLSTATE
-- the same fingerprint is simply ready: nothing to change
SELECT mint.template_begin('mint_rt_alice_tpl', 'a1');
-- but her finished template is a template: bob may clone from it
SELECT mint.clone('mint_rt_alice_tpl', 'mint_rt_bob_c');
SELECT datname, template, owner FROM mint.databases WHERE datname = 'mint_rt_bob_c';
-- gc collects bob's own idle clone and skips alice's
SELECT * FROM mint.gc('0');
SELECT datname FROM mint.databases WHERE kind = 'clone' AND datname LIKE 'mint\_rt\_alice%' ORDER BY 1;
SELECT mint.clone('mint_rt_alice_tpl', 'mint_rt_bob_c');

-- nor can bob edit pg_mint's bookkeeping to trick it
INSERT INTO mint.registry (datid, datname, kind, state, server_version, owner)
SELECT oid, datname, 'clone', 'ready', 150000, 'mint_rt_bob'::regrole FROM pg_database WHERE datname = 'postgres';
\echo :LAST_ERROR_SQLSTATE
UPDATE mint.registry SET owner = 'mint_rt_bob'::regrole;
\echo :LAST_ERROR_SQLSTATE
DELETE FROM mint.registry;
\echo :LAST_ERROR_SQLSTATE
TRUNCATE mint.registry;
\echo :LAST_ERROR_SQLSTATE
UPDATE mint.pool_config SET owner = 'mint_rt_bob'::regrole;
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE mint.registry2 (x int);
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE mint.registry OWNER TO mint_rt_bob;
\echo :LAST_ERROR_SQLSTATE
-- a temporary table named like the registry changes nothing
CREATE TEMP TABLE registry (LIKE mint.registry INCLUDING DEFAULTS);
INSERT INTO pg_temp.registry (datid, datname, kind, state, server_version, owner)
SELECT oid, datname, 'clone', 'ready', 150000, 'mint_rt_bob'::regrole FROM pg_database WHERE datname = 'postgres';
SET search_path = pg_temp, mint, public;
SELECT mint.drop('postgres');
\echo :LAST_ERROR_SQLSTATE
RESET search_path;
SELECT datname FROM pg_database WHERE datname = 'postgres';
DROP TABLE pg_temp.registry;

-- a role that may act as alice (member of her role) may do what she may
\c - postgres
GRANT mint_rt_alice TO mint_rt_bob;
\c - mint_rt_bob
\set SHOW_CONTEXT never
SELECT mint.drop('mint_rt_alice_c2');
\c - postgres
REVOKE mint_rt_alice FROM mint_rt_bob;

-- SET ROLE: the clone belongs to the current role, also one without LOGIN
SET ROLE mint_rt_nologin;
SELECT mint.clone('mint_rt_alice_tpl', 'mint_rt_nologin_c');
SELECT datname, owner FROM mint.databases WHERE datname = 'mint_rt_nologin_c';
SELECT mint.drop('mint_rt_nologin_c');
RESET ROLE;
SET ROLE mint_rt_nocreatedb;
SELECT mint.clone('mint_rt_alice_tpl', 'mint_rt_nc');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- the superuser may drop anyone's clone, as by hand
SELECT mint.drop('mint_rt_bob_c');
SELECT datname, owner FROM mint.databases WHERE owner <> 'postgres' ORDER BY datname;

-- template_begin without CREATEDB (last in this file: an extension bug once
-- crashed the server here)
\c - mint_rt_nocreatedb
\set SHOW_CONTEXT never
SELECT mint.template_begin('mint_rt_nc_tpl', 'v1');
\echo :LAST_ERROR_SQLSTATE
SELECT datname FROM pg_database WHERE datname LIKE 'mint\_rt\_nc%';
SELECT count(*) FROM mint.registry WHERE datname LIKE 'mint\_rt\_nc%';
SELECT count(*) AS pg_mint_locks FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 28020;

\i tests/regress/include/teardown.sql
