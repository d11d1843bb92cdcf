\set ECHO none
-- tests/regress/include/setup.sql -- what every regress file starts from, so
-- that each runs alone on a fresh database or in any order:
--   pg_regress --inputdir=tests/regress --dbname=contrib_regression 050_errors
-- (run from the top of the tree: \i paths are relative to it).  A clean
-- cluster (reset.sql), the extension, and the roles:
--   mint_rt_alice, mint_rt_bob  ordinary roles with LOGIN CREATEDB
--   mint_rt_nocreatedb          LOGIN, no CREATEDB
--   mint_rt_nologin             CREATEDB, no LOGIN
-- Every database the files make is called mint_rt...; each file ends with
-- teardown.sql.  Quiet: prints nothing unless something fails.
\set mint_rt_nested
\i tests/regress/include/reset.sql
\unset mint_rt_nested
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION pg_mint;
CREATE ROLE mint_rt_alice LOGIN CREATEDB;
CREATE ROLE mint_rt_bob LOGIN CREATEDB;
CREATE ROLE mint_rt_nocreatedb LOGIN;
CREATE ROLE mint_rt_nologin NOLOGIN CREATEDB;
RESET client_min_messages;
\set ECHO all
