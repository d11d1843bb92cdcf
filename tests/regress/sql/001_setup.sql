--
-- 001_setup: creating the extension, its SQL contract, and the roles
-- tests/regress/include/setup.sql makes for the other files.
--
-- Every database these tests make is called mint_rt...; roles are mint_rt_*.
-- reset.sql removes leftovers of an interrupted earlier run by hand first
-- (quietly: on a clean cluster there is nothing to do).
--
\i tests/regress/include/reset.sql
\set SHOW_CONTEXT never

CREATE EXTENSION pg_mint;
SELECT extname, extversion, extnamespace::regnamespace AS schema
  FROM pg_extension WHERE extname = 'pg_mint';

-- the SQL contract: names, argument types, defaults, result types
SELECT p.proname,
       pg_get_function_arguments(p.oid) AS arguments,
       pg_get_function_result(p.oid) AS result,
       p.prosecdef AS security_definer
  FROM pg_proc p
 WHERE p.pronamespace = 'mint'::regnamespace AND p.proname NOT LIKE '\_%'
 ORDER BY p.proname, 2;

SELECT attname, format_type(atttypid, atttypmod)
  FROM pg_attribute
 WHERE attrelid = 'mint.databases'::regclass AND attnum > 0
 ORDER BY attnum;

-- the GUCs and their defaults
SELECT name, setting, unit, context
  FROM pg_settings WHERE name LIKE 'pg\_mint.%' ORDER BY name;

-- roles (as setup.sql makes them): two ordinary CREATEDB roles, one
-- without CREATEDB, one without LOGIN
CREATE ROLE mint_rt_alice LOGIN CREATEDB;
CREATE ROLE mint_rt_bob LOGIN CREATEDB;
CREATE ROLE mint_rt_nocreatedb LOGIN;
CREATE ROLE mint_rt_nologin NOLOGIN CREATEDB;

-- nothing managed yet
SELECT count(*) FROM mint.databases;
SELECT count(*) FROM mint.registry;

\i tests/regress/include/teardown.sql
