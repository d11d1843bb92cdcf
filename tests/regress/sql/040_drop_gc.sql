--
-- 040_drop_gc: mint.drop(target) and mint.gc(older_than)
--
\i tests/regress/include/setup.sql
\set SHOW_CONTEXT never
\i tests/regress/include/app_template.sql

-- what this file works on: clones of mint_rt_app, a finished template, and
-- a template whose builder (another session) left without finishing it
SELECT mint.clone('mint_rt_app', 'mint_rt_app_tx');
SELECT mint.clone('mint_rt_app', 'mint_rt_app_gw0');
SELECT mint.clone('mint_rt_app', 'mint_rt_app_gw1');
SELECT mint.template_begin('mint_rt_tpl', 'v1');
SELECT mint.template_finish('mint_rt_tpl');
\! psql -X -q -At -d contrib_regression -c "SELECT mint.template_begin('mint_rt_tpl2', 'v1')"
-- the builder's backend exits (and lets go of pg_mint's build lock) on its
-- own time: poll for that, with a 10 s deadline
DO $$
BEGIN
  FOR i IN 1..1000 LOOP
    EXIT WHEN NOT EXISTS (SELECT FROM pg_locks WHERE locktype = 'advisory' AND database = 0 AND objsubid = 28020);
    PERFORM pg_sleep(0.01);
  END LOOP;
END $$;
SELECT count(*) AS pg_mint_locks FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 28020;
SELECT datname, kind, state FROM mint.databases ORDER BY datname;

-- drop: true when it dropped, false when there was nothing
SELECT mint.drop('mint_rt_app_tx');
SELECT mint.drop('mint_rt_app_tx');
SELECT mint.drop('mint_rt_nosuch');
SELECT count(*) FROM pg_database WHERE datname = 'mint_rt_app_tx';
SELECT count(*) FROM mint.registry WHERE datname = 'mint_rt_app_tx';

-- a finished template can be dropped too (it is un-flagged first)
SELECT mint.drop('mint_rt_tpl');
SELECT count(*) FROM pg_database WHERE datname = 'mint_rt_tpl';

-- databases pg_mint did not create are refused and left alone
SELECT mint.drop('postgres');
\echo :LAST_ERROR_SQLSTATE
SELECT mint.drop('template1');
\echo :LAST_ERROR_SQLSTATE
SELECT mint.drop('template0');
\echo :LAST_ERROR_SQLSTATE
SELECT datname FROM pg_database WHERE datname IN ('postgres', 'template0', 'template1') ORDER BY 1;
-- the database this session is connected to
SELECT mint.drop('contrib_regression');
\echo :LAST_ERROR_SQLSTATE

-- a pg_mint clone dropped by hand and re-created by hand under the same
-- name is somebody else's database now: pg_mint refuses to touch it
SELECT mint.clone('mint_rt_app', 'mint_rt_reused');
DROP DATABASE mint_rt_reused;
CREATE DATABASE mint_rt_reused;
SELECT count(*) AS listed FROM mint.databases WHERE datname = 'mint_rt_reused';
SELECT mint.drop('mint_rt_reused');
\echo :LAST_ERROR_SQLSTATE
SELECT mint.clone('mint_rt_app', 'mint_rt_reused');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM pg_database WHERE datname = 'mint_rt_reused';

-- a pg_mint clone renamed by hand is no longer pg_mint's either
SELECT mint.clone('mint_rt_app', 'mint_rt_renamed_from');
ALTER DATABASE mint_rt_renamed_from RENAME TO mint_rt_renamed_to;
SELECT mint.drop('mint_rt_renamed_to');
\echo :LAST_ERROR_SQLSTATE
SELECT mint.drop('mint_rt_renamed_from');
SELECT datname FROM pg_database WHERE datname LIKE 'mint\_rt\_renamed%';

-- bad arguments
SELECT mint.drop(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT mint.drop('');
\echo :LAST_ERROR_SQLSTATE
SELECT mint.drop(repeat('d', 64));
\echo :LAST_ERROR_SQLSTATE

-- gc: a template being built by a live builder (this session) is left alone
SELECT mint.template_begin('mint_rt_building', 'v1');

-- gc with the default age: only what nobody works on and nobody finished
-- (mint_rt_tpl2, whose builder left); fresh clones stay; the rows
-- of databases that went away by hand are forgotten
SELECT count(*) AS rows_without_database FROM mint.registry r
 WHERE NOT EXISTS (SELECT FROM pg_database d WHERE d.oid = r.datid AND d.datname = r.datname);
SELECT * FROM mint.gc() ORDER BY 1;
SELECT count(*) AS rows_without_database FROM mint.registry r
 WHERE NOT EXISTS (SELECT FROM pg_database d WHERE d.oid = r.datid AND d.datname = r.datname);
SELECT count(*) FROM pg_database WHERE datname = 'mint_rt_tpl2';
SELECT * FROM mint.gc('1 hour') ORDER BY 1;

-- gc of everything older than now: every idle clone goes; templates, the
-- live build and databases pg_mint did not create stay
SELECT * FROM mint.gc('0') ORDER BY 1;
SELECT datname, kind, state FROM mint.databases ORDER BY datname;
SELECT datname FROM pg_database WHERE datname LIKE 'mint\_rt%' ORDER BY datname;
SELECT mint.template_abort('mint_rt_building');

-- bad arguments
SELECT * FROM mint.gc(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM mint.gc('-1 hour');
\echo :LAST_ERROR_SQLSTATE

DROP DATABASE mint_rt_reused;
DROP DATABASE mint_rt_renamed_to;

\i tests/regress/include/teardown.sql
