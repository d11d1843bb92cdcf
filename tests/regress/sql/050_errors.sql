--
-- 050_errors: pg_mint never touches a database it did not create, and says
-- clearly what stands in its way.
--
\i tests/regress/include/setup.sql
\set SHOW_CONTEXT never
\i tests/regress/include/app_template.sql

-- the maintenance and template databases
SELECT mint.clone('mint_rt_app', 'postgres');
\echo :LAST_ERROR_SQLSTATE
SELECT mint.clone('mint_rt_app', 'template1');
\echo :LAST_ERROR_SQLSTATE
SELECT mint.template_begin('postgres', 'v1');
\echo :LAST_ERROR_SQLSTATE
SELECT mint.template_begin('template1', 'v1');
\echo :LAST_ERROR_SQLSTATE
SELECT datname, datistemplate, datallowconn FROM pg_database
 WHERE datname IN ('postgres', 'template0', 'template1') ORDER BY 1;

-- a hand-made database
CREATE DATABASE mint_rt_hand;
SELECT oid AS hand_oid FROM pg_database WHERE datname = 'mint_rt_hand' \gset
SELECT mint.clone('mint_rt_app', 'mint_rt_hand');
\echo :LAST_ERROR_SQLSTATE
SELECT mint.drop('mint_rt_hand');
\echo :LAST_ERROR_SQLSTATE
SELECT mint.template_begin('mint_rt_hand', 'v1');
\echo :LAST_ERROR_SQLSTATE
SELECT mint.template_abort('mint_rt_hand');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM mint.gc('0');
SELECT oid = :hand_oid AS untouched, datistemplate, datallowconn
  FROM pg_database WHERE datname = 'mint_rt_hand';

-- cloning *from* a hand-made database is allowed where PostgreSQL allows it
-- (here: a superuser); the source is not sealed or altered
\c mint_rt_hand
CREATE TABLE handmade (x int);
\c contrib_regression
\set SHOW_CONTEXT never
SELECT mint.clone('mint_rt_hand', 'mint_rt_from_hand');
SELECT datname, kind, template, fingerprint, state FROM mint.databases WHERE datname = 'mint_rt_from_hand';
SELECT oid = :hand_oid AS untouched, datistemplate, datallowconn
  FROM pg_database WHERE datname = 'mint_rt_hand';
\c mint_rt_from_hand
SELECT count(*) AS copied FROM pg_class WHERE relname = 'handmade';
\c contrib_regression
\set SHOW_CONTEXT never
SELECT mint.drop('mint_rt_from_hand');

-- a prepared transaction on the target: clone and drop refuse, naming it,
-- and leave the database as it was (max_prepared_transactions > 0 needed)
SELECT mint.clone('mint_rt_app', 'mint_rt_px');
SELECT oid AS px_oid FROM pg_database WHERE datname = 'mint_rt_px' \gset
\c mint_rt_px
BEGIN;
CREATE TABLE in_doubt (x int);
PREPARE TRANSACTION 'mint_rt_px_gid';
\c contrib_regression
\set SHOW_CONTEXT never
SELECT mint.clone('mint_rt_app', 'mint_rt_px');
\echo :LAST_ERROR_SQLSTATE
SELECT mint.drop('mint_rt_px');
\echo :LAST_ERROR_SQLSTATE
-- gc leaves it alone too, and still collects the rest
SELECT mint.clone('mint_rt_app', 'mint_rt_px_idle');
SELECT * FROM mint.gc('0');
SELECT oid = :px_oid AS untouched FROM pg_database WHERE datname = 'mint_rt_px';
SELECT datname, state FROM mint.databases WHERE datname = 'mint_rt_px';
SELECT count(*) AS private_copies_left FROM pg_database WHERE datname LIKE '\_mint\_%';
\c mint_rt_px
ROLLBACK PREPARED 'mint_rt_px_gid';
\c contrib_regression
\set SHOW_CONTEXT never
SELECT mint.clone('mint_rt_app', 'mint_rt_px');
SELECT oid <> :px_oid AS replaced FROM pg_database WHERE datname = 'mint_rt_px';
SELECT mint.drop('mint_rt_px');

DROP DATABASE mint_rt_hand;

\i tests/regress/include/teardown.sql
