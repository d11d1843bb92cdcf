\set ECHO none
-- tests/regress/include/teardown.sql -- the end of every regress file: wait
-- (bounded) until pg_mint's background workers are gone (a session's
-- executor leaves with its session; a worker may still be dropping a
-- replaced copy after its caller got the answer), then reset.sql
-- drops the test databases, roles and the extension by hand, without
-- relying on the code under test.  That pg_mint itself removes everything
-- it made is checked by 090_cleanup.  Quiet: prints nothing unless
-- something fails.
\c contrib_regression postgres
\set SHOW_CONTEXT never
SET client_min_messages = warning;
DO $$
BEGIN
  FOR i IN 1..3000 LOOP
    EXIT WHEN NOT EXISTS (SELECT FROM pg_stat_activity WHERE backend_type IN ('pg_mint worker', 'pg_mint pool'));
    PERFORM pg_sleep(0.01);
    PERFORM pg_stat_clear_snapshot();
  END LOOP;
  IF EXISTS (SELECT FROM pg_stat_activity WHERE backend_type IN ('pg_mint worker', 'pg_mint pool')) THEN
    RAISE WARNING 'teardown: a pg_mint worker is still running after 30 s';
  END IF;
END $$;
RESET client_min_messages;
\set mint_rt_nested
\i tests/regress/include/reset.sql
\unset mint_rt_nested
\set ECHO all
