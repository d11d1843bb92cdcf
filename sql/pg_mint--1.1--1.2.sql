/* sql/pg_mint--1.1--1.2.sql -- pg_mint 1.1 to 1.2: template versions and runs */

\echo Use "ALTER EXTENSION pg_mint UPDATE TO '1.2'" to load this file. \quit

/*
 * Several fingerprints of one template name live side by side, each its own
 * database: version_of names the template a template row is a version of
 * (the newest build lives under that name, older ones under
 * "<template>_v<hash>").  Every template of 1.1 is a version of its own
 * name: clones of it and template_begin with its fingerprint work on as
 * before.  run records the run identity (pg_mint.run) of each clone, so
 * concurrent runs keep their databases apart and mint.gc can collect one
 * run's clones.
 */
ALTER TABLE mint.registry ADD COLUMN version_of text, ADD COLUMN run text;
UPDATE mint.registry SET version_of = datname WHERE kind OPERATOR(pg_catalog.=) 'template';

/* a clone of the version of template built for fingerprint */
CREATE FUNCTION mint.clone(template text, target text, fingerprint text)
RETURNS name
AS 'MODULE_PATHNAME', 'mint_clone_version'
LANGUAGE C VOLATILE;

/* the per-worker name of one run */
CREATE FUNCTION mint.worker_name(base text, worker text, run text)
RETURNS name
AS 'MODULE_PATHNAME', 'mint_sql_worker_name'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

/* gc of one run: its clones (and leftovers nobody works on) only */
CREATE FUNCTION mint.gc(older_than interval, run text)
RETURNS SETOF name
AS 'MODULE_PATHNAME', 'mint_gc'
LANGUAGE C VOLATILE;

CREATE FUNCTION mint.gc_preview(older_than interval, run text)
RETURNS TABLE (datname name, reason text)
AS 'MODULE_PATHNAME', 'mint_gc_preview'
LANGUAGE C VOLATILE;

/* mint.databases: which template a version belongs to, and each clone's run */
CREATE OR REPLACE VIEW mint.databases AS
SELECT d.datname,
       r.kind,
       r.template,
       r.fingerprint,
       r.state,
       pg_catalog.pg_get_userbyid(d.datdba) AS owner,
       r.created_at,
       mint._database_size(d.oid) AS size_bytes,
       (SELECT pg_catalog.count(*) FROM pg_catalog.pg_stat_activity a
         WHERE a.datid OPERATOR(pg_catalog.=) d.oid)::pg_catalog.int4 AS connections,
       r.version_of,
       r.run
  FROM mint.registry r
  JOIN pg_catalog.pg_database d ON d.oid OPERATOR(pg_catalog.=) r.datid
                               AND d.datname OPERATOR(pg_catalog.=) r.datname;
