--
-- 090_cleanup: pg_mint removes everything it made; nothing is left behind
--
\i tests/regress/include/setup.sql
\set SHOW_CONTEXT never
\i tests/regress/include/app_template.sql

-- what there is to clean up: a template of postgres and its clone, a
-- template of mint_rt_alice and her clone
SELECT mint.clone('mint_rt_app', 'mint_rt_app_c');
\c - mint_rt_alice
\set SHOW_CONTEXT never
SELECT mint.template_begin('mint_rt_alice_tpl', 'a1');
SELECT mint.template_finish('mint_rt_alice_tpl');
SELECT mint.clone('mint_rt_alice_tpl', 'mint_rt_alice_c');
\c - postgres
\set SHOW_CONTEXT never

-- the superuser drops them all
SELECT mint.drop(datname) AS dropped, datname FROM mint.databases ORDER BY datname;
SELECT * FROM mint.gc('0');
SELECT count(*) AS registry_rows FROM mint.registry;
SELECT datname FROM pg_database WHERE datname LIKE 'mint\_rt%' OR datname LIKE '\_mint\_%';
SELECT count(*) AS pg_mint_locks FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 28020;
-- no pg_mint worker keeps running but this session's executor (one may take
-- a moment to exit after answering its caller: wait for that, bounded)
CREATE FUNCTION mint_rt_workers_gone() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  FOR i IN 1..3000 LOOP
    IF NOT EXISTS (SELECT FROM pg_stat_activity
                   WHERE backend_type IN ('pg_mint worker', 'pg_mint pool')
                     AND application_name IS DISTINCT FROM 'pg_mint worker for PID ' || pg_backend_pid()) THEN
      RETURN true;
    END IF;
    PERFORM pg_sleep(0.01);
    PERFORM pg_stat_clear_snapshot();
  END LOOP;
  RETURN false;
END $$;
SELECT mint_rt_workers_gone();
DROP FUNCTION mint_rt_workers_gone();

DROP EXTENSION pg_mint;
DROP ROLE mint_rt_alice, mint_rt_bob, mint_rt_nocreatedb, mint_rt_nologin;

\i tests/regress/include/teardown.sql
