--
-- 030_clone: mint.clone(template, target), fresh and replacing.
--
\i tests/regress/include/setup.sql
\set SHOW_CONTEXT never

-- wait (bounded) until pg_mint has dropped the clones it replaced: that
-- happens in the background worker after clone() has answered
CREATE FUNCTION mint_rt_settle() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  FOR i IN 1..3000 LOOP
    IF NOT EXISTS (SELECT FROM mint.registry WHERE datname LIKE '\_mint\_%') THEN
      RETURN true;
    END IF;
    PERFORM pg_sleep(0.01);
  END LOOP;
  RETURN false;
END $$;

-- a template with a schema, built over a second connection
SELECT mint.template_begin('mint_rt_app', 'schema-1');
\! psql -X -q -v ON_ERROR_STOP=1 -d mint_rt_app -c "CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL); INSERT INTO users VALUES (1, 'ada');"
SELECT mint.template_finish('mint_rt_app');

-- a fresh clone
SELECT mint.clone('mint_rt_app', 'mint_rt_app_gw0');
SELECT pg_typeof(mint.clone('mint_rt_app', 'mint_rt_app_gw1'));
SELECT datname, kind, template, fingerprint, state, owner, connections
  FROM mint.databases WHERE kind = 'clone' ORDER BY datname;
-- clones are ordinary databases: connectable, not templates
SELECT datname, datistemplate, datallowconn FROM pg_database
 WHERE datname LIKE 'mint\_rt\_app%' ORDER BY datname;
SELECT oid AS gw0_oid FROM pg_database WHERE datname = 'mint_rt_app_gw0' \gset

-- a test dirties its clone...
\c mint_rt_app_gw0
INSERT INTO users VALUES (2, 'dirty');
SELECT count(*) FROM users;
\c contrib_regression
\set SHOW_CONTEXT never

-- ...and the next clone of the same target replaces it with a fresh copy
SELECT mint.clone('mint_rt_app', 'mint_rt_app_gw0');
SELECT oid <> :gw0_oid AS new_database FROM pg_database WHERE datname = 'mint_rt_app_gw0';
\c mint_rt_app_gw0
SELECT * FROM users ORDER BY id;
\c contrib_regression
\set SHOW_CONTEXT never
-- the replaced database goes away (in the background), nothing else is left
SELECT mint_rt_settle();
SELECT count(*) FROM pg_database WHERE oid = :gw0_oid;
SELECT datname, state FROM mint.databases WHERE kind = 'clone' ORDER BY datname;

-- inside a transaction block: the clone commits on its own, a ROLLBACK of
-- the caller's transaction does not undo it
BEGIN;
SELECT mint.clone('mint_rt_app', 'mint_rt_app_tx');
SELECT mint.clone('mint_rt_app', 'mint_rt_app_tx');
ROLLBACK;
SELECT mint_rt_settle();
SELECT datname, state FROM mint.databases WHERE datname = 'mint_rt_app_tx';

-- and inside a function
CREATE FUNCTION mint_rt_clone_twice(t text, d text) RETURNS name LANGUAGE plpgsql AS $$
BEGIN
  PERFORM mint.clone(t, d);
  RETURN mint.clone(t, d);
END $$;
SELECT mint_rt_clone_twice('mint_rt_app', 'mint_rt_app_fn');
SELECT mint_rt_settle();
SELECT datname, state FROM mint.databases WHERE datname = 'mint_rt_app_fn';

-- a target named by mint.worker_name
SELECT mint.clone('mint_rt_app', mint.worker_name('mint_rt_app', 'gw2'));

-- both strategies, and the server default, give the same result
SET pg_mint.strategy = file_copy;
SELECT mint.clone('mint_rt_app', 'mint_rt_app_fc');
SELECT mint.clone('mint_rt_app', 'mint_rt_app_fc');
SET pg_mint.strategy = wal_log;
SELECT mint.clone('mint_rt_app', 'mint_rt_app_wl');
RESET pg_mint.strategy;
SET pg_mint.strategy = 'reflink';
\echo :LAST_ERROR_SQLSTATE
-- the refiller's strategy for spares: auto unless set otherwise
SHOW pg_mint.pool_strategy;
SET pg_mint.pool_strategy = 'reflink';
\echo :LAST_ERROR_SQLSTATE
\c mint_rt_app_fc
SELECT * FROM users ORDER BY id;
\c mint_rt_app_wl
SELECT * FROM users ORDER BY id;
\c contrib_regression
\set SHOW_CONTEXT never

-- target names with quotes, spaces and non-ASCII characters: exactly that
-- database is created, replaced and dropped, and no other
SELECT mint.clone('mint_rt_app', 'mint_rt gw "1" ñ');
SELECT mint.clone('mint_rt_app', 'Mint_RT GW "1" Ñ');
SELECT datname FROM pg_database WHERE lower(datname) LIKE 'mint\_rt gw%' ORDER BY datname;
\c "mint_rt gw ""1"" ñ"
SELECT current_database(), count(*) AS users FROM users;
\c contrib_regression
\set SHOW_CONTEXT never
SELECT mint.clone('mint_rt_app', 'mint_rt gw "1" ñ');
SELECT mint_rt_settle();
SELECT mint.drop('Mint_RT GW "1" Ñ');
SELECT datname FROM pg_database WHERE lower(datname) LIKE 'mint\_rt gw%' ORDER BY datname;
-- and from a template with such a name (its build: 020_template)
SELECT mint.template_begin('mint_rt "Q" tpl ü', 'v1');
SELECT mint.template_finish('mint_rt "Q" tpl ü');
SELECT mint.clone('mint_rt "Q" tpl ü', 'mint_rt_from_quoted');
SELECT template FROM mint.databases WHERE datname = 'mint_rt_from_quoted';

-- 63 bytes is the longest target; 64 bytes is refused, not truncated
SELECT octet_length(mint.clone('mint_rt_app', 'mint_rt_' || repeat('ñ', 27) || 'x')) AS bytes;
SELECT mint.clone('mint_rt_app', 'mint_rt_' || repeat('ñ', 27) || 'xy');
\echo :LAST_ERROR_SQLSTATE
SELECT mint.clone('mint_rt_app', repeat('z', 64));
\echo :LAST_ERROR_SQLSTATE
SELECT mint.clone(repeat('z', 64), 'mint_rt_x');
\echo :LAST_ERROR_SQLSTATE
SELECT datname FROM pg_database WHERE datname LIKE 'mint\_rt\_ñ%' OR datname LIKE 'zzz%' ORDER BY datname;

-- bad arguments
SELECT mint.clone(NULL, 'mint_rt_x');
\echo :LAST_ERROR_SQLSTATE
SELECT mint.clone('mint_rt_app', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT mint.clone('', 'mint_rt_x');
\echo :LAST_ERROR_SQLSTATE
SELECT mint.clone('mint_rt_app', '');
\echo :LAST_ERROR_SQLSTATE
-- template = target
SELECT mint.clone('mint_rt_app', 'mint_rt_app');
\echo :LAST_ERROR_SQLSTATE
-- a template that does not exist
SELECT mint.clone('mint_rt_nosuch', 'mint_rt_x');
\echo :LAST_ERROR_SQLSTATE
-- (a template whose build was never finished: 020_template)
-- a pg_mint template as the target, a pg_mint clone rebuilt as a template
SELECT mint.clone('mint_rt_app', 'mint_rt "Q" tpl ü');
\echo :LAST_ERROR_SQLSTATE
SELECT mint.template_begin('mint_rt_app_gw0', 'x');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM pg_database WHERE datname = 'mint_rt_x';

-- calling from inside the target
\c mint_rt_app_gw1
\set SHOW_CONTEXT never
CREATE EXTENSION pg_mint;
SELECT mint.clone('mint_rt_app', 'mint_rt_app_gw1');
\echo :LAST_ERROR_SQLSTATE
\c contrib_regression
\set SHOW_CONTEXT never
-- the extension created in there shows whether it was replaced: not by the
-- refused call, only by the next one
\c mint_rt_app_gw1
SELECT count(*) AS pg_mint_installed FROM pg_extension WHERE extname = 'pg_mint';
\c contrib_regression
\set SHOW_CONTEXT never
SELECT mint.clone('mint_rt_app', 'mint_rt_app_gw1');
\c mint_rt_app_gw1
SELECT count(*) AS pg_mint_installed FROM pg_extension WHERE extname = 'pg_mint';
\c contrib_regression
\set SHOW_CONTEXT never
SELECT mint_rt_settle();

SELECT datname, template, state FROM mint.databases WHERE kind = 'clone' ORDER BY datname;
DROP FUNCTION mint_rt_clone_twice(text, text);
DROP FUNCTION mint_rt_settle();

\i tests/regress/include/teardown.sql
