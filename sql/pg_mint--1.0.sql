/* sql/pg_mint--1.0.sql -- pg_mint 1.0 */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION pg_mint" to load this file. \quit

GRANT USAGE ON SCHEMA mint TO PUBLIC;

/*
 * Bookkeeping: one row per database pg_mint created and has not finished
 * dropping.  A database belongs to pg_mint only while a row here names it by
 * OID *and* name.  Rows are written only by pg_mint's background worker, as
 * the extension owner, in the same transaction as the CREATE/RENAME they
 * describe; ordinary roles can read but never write them.
 */
CREATE TABLE mint.registry (
    datid          oid PRIMARY KEY,
    datname        text NOT NULL,
    kind           text NOT NULL CHECK (kind IN ('template', 'clone', 'spare')),
    template       text,            -- clones/spares: template they were made from
    template_datid oid,             -- clones/spares: OID of that template build
    fingerprint    text,            -- templates: build fingerprint; clones: template's
    server_version integer NOT NULL, -- server_version_num at creation
    state          text NOT NULL CHECK (state IN ('building', 'ready', 'dropping')),
    owner          oid NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at    timestamptz,
    -- checked at commit: a swap renames two rows in one statement
    CONSTRAINT registry_datname_key UNIQUE (datname) DEFERRABLE INITIALLY DEFERRED
);
REVOKE ALL ON mint.registry FROM PUBLIC;
GRANT SELECT ON mint.registry TO PUBLIC;

/* Warm pools (see mint.set_pool). */
CREATE TABLE mint.pool_config (
    template   text PRIMARY KEY,
    spares     integer NOT NULL CHECK (spares >= 0),
    owner      oid NOT NULL,
    hits       bigint NOT NULL DEFAULT 0,
    misses     bigint NOT NULL DEFAULT 0
);
REVOKE ALL ON mint.pool_config FROM PUBLIC;
GRANT SELECT ON mint.pool_config TO PUBLIC;

/*
 * Pool hits and misses, appended by clone() without touching a shared row
 * (a counter row would serialise every clone on its row lock); the pool's
 * refiller folds them into mint.pool_config.
 */
CREATE TABLE mint.pool_events (
    template   text NOT NULL,
    hit        boolean NOT NULL
);
REVOKE ALL ON mint.pool_events FROM PUBLIC;
GRANT SELECT ON mint.pool_events TO PUBLIC;

SELECT pg_catalog.pg_extension_config_dump('mint.registry', '');
SELECT pg_catalog.pg_extension_config_dump('mint.pool_config', '');

CREATE FUNCTION mint.template_begin(template text, fingerprint text DEFAULT '')
RETURNS text
AS 'MODULE_PATHNAME', 'mint_template_begin'
LANGUAGE C VOLATILE;

CREATE FUNCTION mint.template_finish(template text)
RETURNS void
AS 'MODULE_PATHNAME', 'mint_template_finish'
LANGUAGE C VOLATILE;

CREATE FUNCTION mint.template_abort(template text)
RETURNS void
AS 'MODULE_PATHNAME', 'mint_template_abort'
LANGUAGE C VOLATILE;

CREATE FUNCTION mint.clone(template text, target text)
RETURNS name
AS 'MODULE_PATHNAME', 'mint_clone'
LANGUAGE C VOLATILE;

CREATE FUNCTION mint.drop(target text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'mint_drop'
LANGUAGE C VOLATILE;

CREATE FUNCTION mint.worker_name(base text, worker text)
RETURNS name
AS 'MODULE_PATHNAME', 'mint_sql_worker_name'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION mint.gc(older_than interval DEFAULT '1 hour')
RETURNS SETOF name
AS 'MODULE_PATHNAME', 'mint_gc'
LANGUAGE C VOLATILE;

/* what mint.gc() would drop now, and why; drops nothing */
CREATE FUNCTION mint.gc_preview(older_than interval DEFAULT '1 hour')
RETURNS TABLE (datname name, reason text)
AS 'MODULE_PATHNAME', 'mint_gc_preview'
LANGUAGE C VOLATILE;

CREATE FUNCTION mint.set_pool(template text, spares integer)
RETURNS void
AS 'MODULE_PATHNAME', 'mint_set_pool'
LANGUAGE C VOLATILE;

/* size of a database, or NULL when the caller may not see it or it is gone */
CREATE FUNCTION mint._database_size(oid)
RETURNS bigint
AS 'MODULE_PATHNAME', 'mint_database_size'
LANGUAGE C STABLE STRICT;

CREATE VIEW mint.databases AS
SELECT d.datname,
       r.kind,
       r.template,
       r.fingerprint,
       r.state,
       pg_catalog.pg_get_userbyid(d.datdba) AS owner,
       r.created_at,
       mint._database_size(d.oid) AS size_bytes,
       (SELECT pg_catalog.count(*) FROM pg_catalog.pg_stat_activity a
         WHERE a.datid = d.oid)::integer AS connections
  FROM mint.registry r
  JOIN pg_catalog.pg_database d ON d.oid = r.datid AND d.datname = r.datname;
GRANT SELECT ON mint.databases TO PUBLIC;

/*
 * being_made counts refill workers running CREATE DATABASE for a spare of
 * the template (visible to the pool's owner and to pg_read_all_stats).
 */
CREATE VIEW mint.pools AS
SELECT p.template,
       p.spares AS target_size,
       (SELECT pg_catalog.count(*) FROM mint.registry r
          JOIN pg_catalog.pg_database d ON d.oid = r.datid AND d.datname = r.datname
         WHERE r.kind = 'spare' AND r.template = p.template AND r.state = 'ready'
           AND r.template_datid = (SELECT t.datid FROM mint.registry t
                                    WHERE t.kind = 'template' AND t.datname = p.template
                                      AND t.state = 'ready'))::integer AS ready,
       (SELECT pg_catalog.count(*) FROM pg_catalog.pg_stat_activity a
         WHERE a.backend_type = 'pg_mint pool' AND a.state = 'active'
           AND a.query LIKE 'CREATE DATABASE \_mint\_spare\_%'
           AND a.query LIKE '% TEMPLATE ' || pg_catalog.replace(pg_catalog.quote_ident(p.template), '%', '\%') || '%')::integer AS being_made,
       p.hits + (SELECT pg_catalog.count(*) FROM mint.pool_events e
                  WHERE e.template = p.template AND e.hit) AS hits,
       p.misses + (SELECT pg_catalog.count(*) FROM mint.pool_events e
                    WHERE e.template = p.template AND NOT e.hit) AS misses
  FROM mint.pool_config p;
GRANT SELECT ON mint.pools TO PUBLIC;
