--
-- 080_versions: several fingerprints of one template side by side (two
-- branches on one server), which version a clone copies, run identities
-- and gc of one run, gc of old versions.  The race of a clone of A while B
-- builds is tests/isolation/specs/050_template_versions.spec.
--
\i tests/regress/include/setup.sql
\set SHOW_CONTEXT never

-- branch A builds version A, with a table only A has
SELECT mint.template_begin('mint_rt_v', 'A');
\! psql -X -q -v ON_ERROR_STOP=1 -d mint_rt_v -c "CREATE TABLE a_only (x int)"
SELECT mint.template_finish('mint_rt_v');
SELECT oid AS a_oid FROM pg_database WHERE datname = 'mint_rt_v' \gset

-- branch B (another session) builds version B under the template's name;
-- A moves aside, same database, to a name derived from its fingerprint
\c contrib_regression
\set SHOW_CONTEXT never
SELECT mint.template_begin('mint_rt_v', 'B');
\! psql -X -q -v ON_ERROR_STOP=1 -d mint_rt_v -c "CREATE TABLE b_only (x int)"
SELECT mint.template_finish('mint_rt_v');
SELECT datname, kind, template, fingerprint, state, version_of
  FROM mint.databases ORDER BY datname;
SELECT datname = 'mint_rt_v_v' || left(encode(sha256(convert_to('mint_rt_v', 'UTF8') || '\x00'::bytea || convert_to('A', 'UTF8')), 'hex'), 12) AS deterministic_name,
       datistemplate, datallowconn
  FROM pg_database WHERE oid = :a_oid;

-- this session chose B: its clone has B's schema
SELECT mint.clone('mint_rt_v', 'mint_rt_v_b');
\c mint_rt_v_b
SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class WHERE relname LIKE '%\_only';

-- a session that chose A (template_begin says ready, rebuilds nothing) gets A
\c contrib_regression
\set SHOW_CONTEXT never
SELECT mint.template_begin('mint_rt_v', 'A');
SELECT count(*) AS a_still_there FROM pg_database WHERE oid = :a_oid;
SELECT mint.clone('mint_rt_v', 'mint_rt_v_a');
\c mint_rt_v_a
SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class WHERE relname LIKE '%\_only';

-- a session that chose nothing cannot know which version is meant
\c contrib_regression
\set SHOW_CONTEXT never
SELECT mint.clone('mint_rt_v', 'mint_rt_v_x');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM pg_database WHERE datname = 'mint_rt_v_x';
-- ... unless it names the version
SELECT mint.clone('mint_rt_v', 'mint_rt_v_x', 'A');
SELECT fingerprint FROM mint.databases WHERE datname = 'mint_rt_v_x';
SELECT mint.clone('mint_rt_v', 'mint_rt_v_x', 'B');
SELECT fingerprint FROM mint.databases WHERE datname = 'mint_rt_v_x';
-- a version nobody built
SELECT mint.clone('mint_rt_v', 'mint_rt_v_x', 'C');
\echo :LAST_ERROR_SQLSTATE
SELECT mint.clone('mint_rt_v', 'mint_rt_v_x', NULL);
\echo :LAST_ERROR_SQLSTATE
-- a template with one version needs no choice (as before 1.2)
\i tests/regress/include/app_template.sql
SELECT mint.clone('mint_rt_app', 'mint_rt_app_c');
SELECT fingerprint FROM mint.databases WHERE datname = 'mint_rt_app_c';

-- runs: distinct names per run, the run recorded with the clone
SELECT mint.worker_name('app', 'gw0', 'r1'), mint.worker_name('app', 'gw0', ''),
       mint.worker_name('app', 'gw0', NULL) = mint.worker_name('app', 'gw0') AS no_run_same_name;
SELECT octet_length(mint.worker_name(repeat('b', 60), 'gw1', 'run-12345')) AS len,
       mint.worker_name(repeat('b', 60), 'gw1', 'r1') <> mint.worker_name(repeat('b', 60), 'gw1', 'r2') AS distinct_runs,
       right(mint.worker_name(repeat('b', 60), 'gw1', 'r1'), 4) AS keeps_worker;
SET pg_mint.run = 'r1';
SELECT mint.clone('mint_rt_app', mint.worker_name('mint_rt_w', 'gw0', current_setting('pg_mint.run')));
SET pg_mint.run = 'r2';
SELECT mint.clone('mint_rt_app', mint.worker_name('mint_rt_w', 'gw0', current_setting('pg_mint.run')));
RESET pg_mint.run;
SELECT datname, run FROM mint.databases WHERE datname LIKE 'mint\_rt\_w%' ORDER BY datname;
SET pg_mint.run = 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx';
\echo :LAST_ERROR_SQLSTATE

-- gc of one run drops that run's idle clones only
SELECT datname, regexp_replace(reason, '[0-9-]+ [0-9:]+$', 'T') FROM mint.gc_preview('0', 'r2');
SELECT * FROM mint.gc('0', 'r1');
SELECT datname, run FROM mint.databases WHERE datname LIKE 'mint\_rt\_w%' ORDER BY datname;
SELECT * FROM mint.gc('0', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM mint.gc('0', '');
\echo :LAST_ERROR_SQLSTATE

-- old versions: a third fingerprint (C moves B aside); with two versions
-- kept, gc drops the one used longest ago (A), but only once unused for
-- older_than; the others stay
SELECT mint.template_begin('mint_rt_v', 'C');
SELECT mint.template_finish('mint_rt_v');
SELECT mint.clone('mint_rt_v', 'mint_rt_v_b2', 'B');
SELECT datname = 'mint_rt_v' AS under_template_name, fingerprint FROM mint.databases
 WHERE version_of = 'mint_rt_v' ORDER BY fingerprint;
SET pg_mint.template_versions_kept = 2;
SELECT count(*) FROM mint.gc_preview('1 hour') WHERE reason LIKE 'version %';
SELECT regexp_replace(reason, 'last used [0-9-]+ [0-9:]+', 'last used T') FROM mint.gc_preview('0')
 WHERE reason LIKE 'version %';
SELECT datname AS a_name FROM pg_database WHERE oid = :a_oid \gset
SELECT count(*) AS a_dropped FROM mint.gc('0') g WHERE g = :'a_name';
SELECT count(*) FROM pg_database WHERE oid = :a_oid;
SELECT fingerprint FROM mint.databases WHERE version_of = 'mint_rt_v' ORDER BY fingerprint;
RESET pg_mint.template_versions_kept;
-- a session that still chose A learns that A is gone
SELECT mint.clone('mint_rt_v', 'mint_rt_v_a2', 'A');
\echo :LAST_ERROR_SQLSTATE

\i tests/regress/include/teardown.sql
