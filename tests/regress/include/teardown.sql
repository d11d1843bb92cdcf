\set ECHO none
-- tests/regress/include/teardown.sql -- the end of every regress file: drop
-- what pg_mint manages through pg_mint (templates last), wait (bounded) for
-- its background workers to exit, then reset.sql.  What pg_mint itself
-- leaves behind is checked by 090_cleanup, not here.  Quiet: prints nothing
-- unless something fails.
\c contrib_regression postgres
\set SHOW_CONTEXT never
SET client_min_messages = warning;
SELECT EXISTS (SELECT FROM pg_extension WHERE extname = 'pg_mint') AS mint_rt_extension \gset
\if :mint_rt_extension
SELECT count(mint.drop(datname)) AS mint_rt_dropped
  FROM (SELECT datname FROM mint.databases ORDER BY kind = 'template', datname) d \gset
SELECT count(*) AS mint_rt_collected FROM mint.gc('0') \gset
\endif
DO $$
BEGIN
  FOR i IN 1..3000 LOOP
    EXIT WHEN NOT EXISTS (SELECT FROM pg_stat_activity WHERE backend_type = 'pg_mint worker');
    PERFORM pg_sleep(0.01);
    PERFORM pg_stat_clear_snapshot();
  END LOOP;
  IF EXISTS (SELECT FROM pg_stat_activity WHERE backend_type = 'pg_mint worker') THEN
    RAISE WARNING 'teardown: a pg_mint worker is still running after 30 s';
  END IF;
END $$;
RESET client_min_messages;
\set mint_rt_nested
\i tests/regress/include/reset.sql
\unset mint_rt_nested
\set ECHO all
