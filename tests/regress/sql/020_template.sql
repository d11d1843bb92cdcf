--
-- 020_template: template_begin / template_finish / template_abort from one
-- session.  The schema is created over a second connection (a psql started
-- with \!), as a real builder does.  Races between sessions are in
-- tests/isolation, a killed builder in tests/t/020_crash.pl.
--
\i tests/regress/include/setup.sql
\set SHOW_CONTEXT never

-- pg_mint's build lock as pg_locks shows it: cluster-wide (database 0),
-- field4 0x6D74, never an SQL advisory key (field4 1 or 2)
CREATE VIEW mint_rt_locks AS
SELECT l.mode, l.granted, l.pid = pg_backend_pid() AS mine
  FROM pg_locks l
 WHERE l.locktype = 'advisory' AND l.database = 0 AND l.objsubid = 28020;

SELECT mint.template_begin('mint_rt_tpl', 'v1');
SELECT datname, kind, template, fingerprint, state, owner, connections
  FROM mint.databases ORDER BY datname;
SELECT datistemplate, datallowconn FROM pg_database WHERE datname = 'mint_rt_tpl';
SELECT * FROM mint_rt_locks;
SELECT oid AS tpl_oid_v1 FROM pg_database WHERE datname = 'mint_rt_tpl' \gset

-- the builder asking again is still the builder
SELECT mint.template_begin('mint_rt_tpl', 'v1');

-- an unfinished template cannot be cloned, not even by its builder
SELECT mint.clone('mint_rt_tpl', 'mint_rt_early');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM pg_database WHERE datname = 'mint_rt_early';

-- the builder creates the schema over its own connection to the template
\! psql -X -q -v ON_ERROR_STOP=1 -d mint_rt_tpl -c "CREATE TABLE items (id int PRIMARY KEY, label text); INSERT INTO items VALUES (1, 'one'), (2, 'two');"

SELECT mint.template_finish('mint_rt_tpl');
SELECT datname, kind, fingerprint, state, connections FROM mint.databases ORDER BY datname;
-- sealed: a template that refuses connections
SELECT datistemplate, datallowconn FROM pg_database WHERE datname = 'mint_rt_tpl';
-- the lock is gone
SELECT count(*) FROM mint_rt_locks;

-- same fingerprint: ready, the very same database, no lock kept
SELECT mint.template_begin('mint_rt_tpl', 'v1');
SELECT oid = :tpl_oid_v1 AS same_database FROM pg_database WHERE datname = 'mint_rt_tpl';
SELECT count(*) FROM mint_rt_locks;

-- finish/abort from a session that is not building: refused, nothing changes
SELECT mint.template_finish('mint_rt_tpl');
\echo :LAST_ERROR_SQLSTATE
SELECT mint.template_abort('mint_rt_tpl');
\echo :LAST_ERROR_SQLSTATE
SELECT state FROM mint.databases WHERE datname = 'mint_rt_tpl';

-- a clone carries the schema and data built over the other connection
SELECT mint.clone('mint_rt_tpl', 'mint_rt_tpl_c1');
\c mint_rt_tpl_c1
SELECT * FROM items ORDER BY id;
\c contrib_regression
\set SHOW_CONTEXT never
SELECT mint.drop('mint_rt_tpl_c1');

-- a new fingerprint builds a new version under the template's name: an
-- empty database takes its place, and the finished v1 moves aside to
-- mint_rt_tpl_v<hash> (not dropped: others may be cloning it)
SELECT mint.template_begin('mint_rt_tpl', 'v2');
SELECT oid = :tpl_oid_v1 AS same_database FROM pg_database WHERE datname = 'mint_rt_tpl';
SELECT datname, fingerprint, state FROM mint.databases ORDER BY datname;
SELECT datistemplate, datallowconn FROM pg_database WHERE datname = 'mint_rt_tpl';
\! psql -X -q -At -d mint_rt_tpl -c "SELECT count(*) FROM pg_class WHERE relname = 'items'"

-- abort drops the half-built template and releases the lock
SELECT mint.template_abort('mint_rt_tpl');
SELECT count(*) FROM pg_database WHERE datname = 'mint_rt_tpl';
SELECT count(*) FROM mint.registry WHERE datname = 'mint_rt_tpl';
SELECT count(*) FROM mint_rt_locks;
-- and this session is no longer a builder
SELECT mint.template_finish('mint_rt_tpl');
\echo :LAST_ERROR_SQLSTATE

-- the default fingerprint is ''
SELECT mint.template_begin('mint_rt_tpl');
SELECT mint.template_finish('mint_rt_tpl');
SELECT mint.template_begin('mint_rt_tpl', '');
SELECT fingerprint = '' AS empty_fingerprint FROM mint.databases WHERE datname = 'mint_rt_tpl';

-- a builder that goes away (here: \c closes this session) leaves an
-- unfinished template that nobody may clone, and the next template_begin
-- rebuilds it
SELECT mint.template_begin('mint_rt_tpl2', 'v1');
SELECT oid AS tpl2_oid FROM pg_database WHERE datname = 'mint_rt_tpl2' \gset
\c contrib_regression
\set SHOW_CONTEXT never
-- the closed session's backend exits (and lets go of its lock) on its own
-- time: poll for that, with a 10 s deadline
DO $$
BEGIN
  FOR i IN 1..1000 LOOP
    EXIT WHEN (SELECT count(*) FROM mint_rt_locks) = 0;
    PERFORM pg_sleep(0.01);
  END LOOP;
END $$;
SELECT count(*) FROM mint_rt_locks;
SELECT state FROM mint.databases WHERE datname = 'mint_rt_tpl2';
SELECT mint.clone('mint_rt_tpl2', 'mint_rt_early');
\echo :LAST_ERROR_SQLSTATE
SELECT mint.template_begin('mint_rt_tpl2', 'v1');
SELECT oid = :tpl2_oid AS same_database FROM pg_database WHERE datname = 'mint_rt_tpl2';
SELECT state FROM mint.databases WHERE datname = 'mint_rt_tpl2';

-- calling from inside the template being built is refused (the session
-- connected to it would block CREATE DATABASE ... TEMPLATE for 5 s)
\c mint_rt_tpl2
\set SHOW_CONTEXT never
CREATE EXTENSION pg_mint;
SELECT mint.template_begin('mint_rt_tpl2', 'v1');
\echo :LAST_ERROR_SQLSTATE
SELECT mint.clone('mint_rt_tpl2', 'mint_rt_from_inside');
\echo :LAST_ERROR_SQLSTATE
SELECT mint.drop('mint_rt_tpl2');
\echo :LAST_ERROR_SQLSTATE
\c contrib_regression
\set SHOW_CONTEXT never
SELECT count(*) FROM pg_database WHERE datname = 'mint_rt_from_inside';

-- template names with quotes, spaces and non-ASCII characters work on
-- exactly that database
SELECT mint.template_begin('mint_rt "Q" tpl ü', 'v1');
SELECT datname FROM pg_database WHERE datname LIKE 'mint\_rt "%' ORDER BY datname;
SELECT mint.template_finish('mint_rt "Q" tpl ü');
SELECT datname, kind, state FROM mint.databases WHERE datname LIKE 'mint\_rt "%';
SELECT mint.template_begin('mint_rt "Q" tpl ü', 'v1');

-- the longest name PostgreSQL keeps (63 bytes, multibyte) works; 64 is refused
SELECT mint.template_begin('mint_rt_' || repeat('é', 27) || 'x', 'v1');
SELECT octet_length(datname) FROM mint.databases WHERE datname LIKE 'mint\_rt\_é%';
SELECT mint.template_abort('mint_rt_' || repeat('é', 27) || 'x');
SELECT mint.template_begin('mint_rt_' || repeat('é', 27) || 'xy', 'v1');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM pg_database WHERE datname LIKE 'mint\_rt\_é%';

-- bad arguments
SELECT mint.template_begin(NULL, 'v1');
\echo :LAST_ERROR_SQLSTATE
SELECT mint.template_begin('mint_rt_tpl', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT mint.template_begin('', 'v1');
\echo :LAST_ERROR_SQLSTATE
SELECT mint.template_finish(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT mint.template_abort('');
\echo :LAST_ERROR_SQLSTATE
SELECT mint.template_begin(repeat('t', 64), 'v1');
\echo :LAST_ERROR_SQLSTATE

-- the end state: two finished templates, one unfinished
SELECT datname, kind, fingerprint, state FROM mint.databases ORDER BY datname;
SELECT count(*) FROM mint_rt_locks;
DROP VIEW mint_rt_locks;

\i tests/regress/include/teardown.sql
