--
-- 095_dumps_uninstall: what a dump keeps of pg_mint (nothing of its
-- bookkeeping), rows that arrive from outside pg_mint's workers (a restore
-- of an old dump, an INSERT or COPY by hand) are skipped, and DROP EXTENSION
-- says which databases stay behind.  (A real pg_dump/pg_restore into a
-- second cluster: tests/t/260_dump_restore.pl.)
--
\i tests/regress/include/setup.sql
\set SHOW_CONTEXT never
\set VERBOSITY default
\i tests/regress/include/app_template.sql
SELECT mint.clone('mint_rt_app', 'mint_rt_app_c');

-- no table of pg_mint's is marked for pg_dump
SELECT extconfig IS NULL AS no_config_tables, extcondition IS NULL AS no_conditions
  FROM pg_extension WHERE extname = 'pg_mint';

-- rows from outside pg_mint's workers are skipped, with a warning each
INSERT INTO mint.registry (datid, datname, kind, state, server_version, owner)
  VALUES (1, 'template1', 'clone', 'ready', 150000, 10);
COPY mint.registry (datid, datname, kind, state, server_version, owner) FROM stdin;
1	template1	template	ready	150000	10
\.
INSERT INTO mint.pool_config (template, spares, owner) VALUES ('mint_rt_app', 1, 10);
SELECT count(*) AS forged_rows FROM mint.registry WHERE datname = 'template1';
SELECT count(*) AS forged_pools FROM mint.pool_config;
-- pg_mint's own writes go through: a pool setting (of no spares), the clone
SELECT mint.set_pool('mint_rt_app', 0);
SELECT template, spares, pg_get_userbyid(owner) AS owner FROM mint.pool_config;
SELECT datname, kind, state FROM mint.databases ORDER BY datname;

-- a DROP EXTENSION of another extension says nothing of pg_mint's databases
DROP EXTENSION IF EXISTS mint_rt_no_such_extension;

-- DROP EXTENSION pg_mint: its databases stay, as ordinary databases
DROP EXTENSION pg_mint;
SELECT datname, datistemplate, datallowconn FROM pg_database
 WHERE datname LIKE 'mint\_rt\_app%' ORDER BY datname;
SELECT count(*) AS event_triggers_left FROM pg_event_trigger WHERE evtname LIKE 'mint%';

\i tests/regress/include/teardown.sql
