--
-- 070_views: mint.databases lists exactly what pg_mint manages
--
\i tests/regress/include/setup.sql
\set SHOW_CONTEXT never
\i tests/regress/include/app_template.sql

SELECT mint.clone('mint_rt_app', 'mint_rt_view_c');
CREATE DATABASE mint_rt_view_hand;
-- a clone of another role's
\c - mint_rt_alice
SELECT mint.clone('mint_rt_app', 'mint_rt_alice_c');
\c - postgres
\set SHOW_CONTEXT never

-- one row per pg_mint database, none for others
SELECT datname, kind, template, fingerprint, state, owner, connections
  FROM mint.databases ORDER BY datname;
SELECT count(*) FROM mint.databases
 WHERE datname IN ('postgres', 'template0', 'template1', 'contrib_regression', 'mint_rt_view_hand');

-- created_at is when it was made, size_bytes the real size
SELECT datname,
       created_at BETWEEN now() - interval '1 hour' AND clock_timestamp() AS recent,
       size_bytes = pg_database_size(datname) AS real_size,
       size_bytes > 1000000 AS plausible
  FROM mint.databases ORDER BY datname;

-- connections counts the sessions on the database (none: this session is
-- in contrib_regression, finished templates refuse connections)
SELECT sum(connections) FROM mint.databases;

-- ordinary roles can read the view; sizes of databases they may connect to
\c - mint_rt_bob
SELECT datname, kind, state, size_bytes IS NOT NULL AS has_size
  FROM mint.databases ORDER BY datname;
\c - postgres

-- a pg_mint database dropped by hand vanishes from the view at once
DROP DATABASE mint_rt_view_c;
SELECT count(*) FROM mint.databases WHERE datname = 'mint_rt_view_c';
SELECT * FROM mint.gc();
SELECT count(*) AS forgotten FROM mint.registry WHERE datname = 'mint_rt_view_c';

-- mint.pools exists with its documented columns
SELECT attname FROM pg_attribute
 WHERE attrelid = 'mint.pools'::regclass AND attnum > 0 ORDER BY attnum;

DROP DATABASE mint_rt_view_hand;

\i tests/regress/include/teardown.sql
