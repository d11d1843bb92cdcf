/* sql/pg_mint--1.3.sql -- pg_mint 1.3 (1.2, then the changes of pg_mint--1.2--1.3.sql) */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION pg_mint" to load this file. \quit

/*
 * CREATE EXTENSION reuses a schema "mint" that exists already, and whoever
 * owns a schema can drop and replace what is in it.  pg_mint's bookkeeping
 * decides which databases may be dropped, so it only lives in a schema that
 * no role but a superuser controls.
 */
DO $mint_check$
DECLARE
    nsp_oid oid;
    nsp_owner oid;
    culprit text;
    bad_grantee oid;
BEGIN
    SELECT n.oid, n.nspowner INTO nsp_oid, nsp_owner
      FROM pg_catalog.pg_namespace n WHERE n.nspname OPERATOR(pg_catalog.=) 'mint';
    IF NOT (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.oid OPERATOR(pg_catalog.=) nsp_owner) THEN
        RAISE EXCEPTION USING
            ERRCODE = '42501',
            MESSAGE = pg_catalog.format('schema "mint" already exists and is owned by role "%s", who is not a superuser',
                                        pg_catalog.pg_get_userbyid(nsp_owner)),
            DETAIL = 'Whoever owns the schema could change pg_mint''s bookkeeping and make it drop databases it did not create.',
            HINT = 'Rename or drop that schema, or give it to a superuser (ALTER SCHEMA mint OWNER TO postgres), then create the extension again.';
    END IF;
    SELECT a.grantee INTO bad_grantee
      FROM pg_catalog.pg_namespace n,
           LATERAL pg_catalog.aclexplode(n.nspacl) a
     WHERE n.oid OPERATOR(pg_catalog.=) nsp_oid
       AND a.privilege_type OPERATOR(pg_catalog.=) 'CREATE'
       AND (a.grantee OPERATOR(pg_catalog.=) 0::pg_catalog.oid
            OR NOT (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.oid OPERATOR(pg_catalog.=) a.grantee))
     LIMIT 1;
    IF bad_grantee OPERATOR(pg_catalog.=) 0::pg_catalog.oid THEN
        RAISE EXCEPTION USING
            ERRCODE = '42501',
            MESSAGE = 'every role (PUBLIC) may create objects in schema "mint"',
            DETAIL = 'Objects another role puts in pg_mint''s schema could stand in for pg_mint''s own.',
            HINT = 'REVOKE CREATE ON SCHEMA mint FROM PUBLIC, then create the extension again.';
    ELSIF bad_grantee IS NOT NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = '42501',
            MESSAGE = pg_catalog.format('role "%s" may create objects in schema "mint"', pg_catalog.pg_get_userbyid(bad_grantee)),
            DETAIL = 'Objects another role puts in pg_mint''s schema could stand in for pg_mint''s own.',
            HINT = 'REVOKE CREATE ON SCHEMA mint FROM that role, then create the extension again.';
    END IF;
    SELECT pg_catalog.pg_get_userbyid(o.owner) INTO culprit
      FROM (SELECT c.relowner AS owner FROM pg_catalog.pg_class c WHERE c.relnamespace OPERATOR(pg_catalog.=) nsp_oid
            UNION ALL SELECT p.proowner FROM pg_catalog.pg_proc p WHERE p.pronamespace OPERATOR(pg_catalog.=) nsp_oid
            UNION ALL SELECT t.typowner FROM pg_catalog.pg_type t WHERE t.typnamespace OPERATOR(pg_catalog.=) nsp_oid
            UNION ALL SELECT o.oprowner FROM pg_catalog.pg_operator o WHERE o.oprnamespace OPERATOR(pg_catalog.=) nsp_oid) o
     WHERE NOT (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.oid OPERATOR(pg_catalog.=) o.owner)
     LIMIT 1;
    IF culprit IS NOT NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = '42501',
            MESSAGE = pg_catalog.format('schema "mint" already holds objects of role "%s", who is not a superuser', culprit),
            DETAIL = 'Objects another role put in pg_mint''s schema could stand in for pg_mint''s own.',
            HINT = 'Move or drop them (or the schema), then create the extension again.';
    END IF;
END
$mint_check$;

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
    version_of     text,            -- templates: the template name this is a version of
    run            text,            -- clones: the run (pg_mint.run) that made it
    -- checked at the end of each statement: a swap renames two rows in one
    -- statement (deferring to commit is not allowed where pg_mint writes
    -- this table, in a security-restricted operation)
    CONSTRAINT registry_datname_key UNIQUE (datname) DEFERRABLE INITIALLY IMMEDIATE
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

-- issue 15: dumps -- neither table is dumped (see the end of this file)

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

/* a clone of the version of template built for fingerprint */
CREATE FUNCTION mint.clone(template text, target text, fingerprint text)
RETURNS name
AS 'MODULE_PATHNAME', 'mint_clone_version'
LANGUAGE C VOLATILE;

CREATE FUNCTION mint.drop(target text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'mint_drop'
LANGUAGE C VOLATILE;

CREATE FUNCTION mint.worker_name(base text, worker text)
RETURNS name
AS 'MODULE_PATHNAME', 'mint_sql_worker_name'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

/* the per-worker name of one run */
CREATE FUNCTION mint.worker_name(base text, worker text, run text)
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

/* gc of one run: its clones (and leftovers nobody works on) only */
CREATE FUNCTION mint.gc(older_than interval, run text)
RETURNS SETOF name
AS 'MODULE_PATHNAME', 'mint_gc'
LANGUAGE C VOLATILE;

CREATE FUNCTION mint.gc_preview(older_than interval, run text)
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
         WHERE a.datid OPERATOR(pg_catalog.=) d.oid)::pg_catalog.int4 AS connections,
       r.version_of,
       r.run
  FROM mint.registry r
  JOIN pg_catalog.pg_database d ON d.oid OPERATOR(pg_catalog.=) r.datid
                               AND d.datname OPERATOR(pg_catalog.=) r.datname;
GRANT SELECT ON mint.databases TO PUBLIC;

/*
 * ready counts the pool owner's spares of the template's current build;
 * being_made counts refill workers running CREATE DATABASE for a spare of
 * the template (visible to the pool's owner and to pg_read_all_stats).
 */
CREATE VIEW mint.pools AS
SELECT p.template,
       p.spares AS target_size,
       (SELECT pg_catalog.count(*) FROM mint.registry r
          JOIN pg_catalog.pg_database d ON d.oid OPERATOR(pg_catalog.=) r.datid
                                       AND d.datname OPERATOR(pg_catalog.=) r.datname
         WHERE r.kind OPERATOR(pg_catalog.=) 'spare'
           AND r.template OPERATOR(pg_catalog.=) p.template
           AND r.state OPERATOR(pg_catalog.=) 'ready'
           AND r.owner OPERATOR(pg_catalog.=) p.owner
           AND r.template_datid OPERATOR(pg_catalog.=)
               (SELECT t.datid FROM mint.registry t
                 WHERE t.kind OPERATOR(pg_catalog.=) 'template'
                   AND t.datname OPERATOR(pg_catalog.=) p.template
                   AND t.state OPERATOR(pg_catalog.=) 'ready'))::pg_catalog.int4 AS ready,
       (SELECT pg_catalog.count(*) FROM pg_catalog.pg_stat_activity a
         WHERE a.backend_type OPERATOR(pg_catalog.=) 'pg_mint pool'
           AND a.state OPERATOR(pg_catalog.=) 'active'
           AND a.query OPERATOR(pg_catalog.~~) 'CREATE DATABASE \_mint\_spare\_%'
           AND a.query OPERATOR(pg_catalog.~~)
               ('% TEMPLATE ' OPERATOR(pg_catalog.||)
                pg_catalog.replace(pg_catalog.quote_ident(p.template), '%', '\%') OPERATOR(pg_catalog.||) '%')
       )::pg_catalog.int4 AS being_made,
       p.hits OPERATOR(pg_catalog.+) (SELECT pg_catalog.count(*) FROM mint.pool_events e
                  WHERE e.template OPERATOR(pg_catalog.=) p.template AND e.hit) AS hits,
       p.misses OPERATOR(pg_catalog.+) (SELECT pg_catalog.count(*) FROM mint.pool_events e
                    WHERE e.template OPERATOR(pg_catalog.=) p.template AND NOT e.hit) AS misses
  FROM mint.pool_config p;
GRANT SELECT ON mint.pools TO PUBLIC;

/* ---- 1.3: one server for many CI jobs ---- */

/*
 * Leases: a clone may carry a time to live.  lease_expires is when mint.gc()
 * may drop it whatever its age; lease_ttl is what mint.renew(target) adds
 * when it is not told how long.  NULL: no lease (1.2's rules).
 */
ALTER TABLE mint.registry ADD COLUMN lease_expires timestamptz, ADD COLUMN lease_ttl interval;

/*
 * Quotas per role (role 0: the default for every role without a row of its
 * own, superusers excepted).  NULL: no limit.  Written only by
 * mint.set_quota, which only superusers may call.
 */
CREATE TABLE mint.quota_config (
    role          oid PRIMARY KEY,
    max_databases integer CHECK (max_databases >= 0),
    max_bytes     bigint CHECK (max_bytes >= 0)
);
REVOKE ALL ON mint.quota_config FROM PUBLIC;
GRANT SELECT ON mint.quota_config TO PUBLIC;
-- not dumped: quotas name roles by OID, which mean another role (or none) in
-- another cluster; set them again with mint.set_quota after a restore

/*
 * Metrics: one row per event, appended (never updated: no row lock is shared
 * by two calls) by pg_mint's workers as the extension owner; mint.stats
 * aggregates them.  Unlogged: a crash empties it, like the server's own
 * statistics.  mint.gc() removes rows older than 30 days.
 */
CREATE UNLOGGED TABLE mint.stat_events (
    at       timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    template text,
    event    text NOT NULL CHECK (event IN ('build', 'clone', 'spare', 'lease_expired', 'quota_refused')),
    ms       double precision,
    role     oid
);
REVOKE ALL ON mint.stat_events FROM PUBLIC;
GRANT SELECT ON mint.stat_events TO PUBLIC;

/* a clone with a lease of ttl */
CREATE FUNCTION mint.clone(template text, target text, ttl interval)
RETURNS name
AS 'MODULE_PATHNAME', 'mint_clone_lease'
LANGUAGE C VOLATILE;

CREATE FUNCTION mint.clone(template text, target text, fingerprint text, ttl interval)
RETURNS name
AS 'MODULE_PATHNAME', 'mint_clone_version_lease'
LANGUAGE C VOLATILE;

/* extend the lease of one of the caller's clones; returns when it expires now */
CREATE FUNCTION mint.renew(target text, ttl interval DEFAULT NULL)
RETURNS timestamptz
AS 'MODULE_PATHNAME', 'mint_renew'
LANGUAGE C VOLATILE;

/* gc that may terminate the sessions on clones whose lease expired */
CREATE FUNCTION mint.gc(older_than interval, terminate boolean)
RETURNS SETOF name
AS 'MODULE_PATHNAME', 'mint_gc'
LANGUAGE C VOLATILE;

CREATE FUNCTION mint.gc_preview(older_than interval, terminate boolean)
RETURNS TABLE (datname name, reason text)
AS 'MODULE_PATHNAME', 'mint_gc_preview'
LANGUAGE C VOLATILE;

/* role NULL: the default quota; both limits NULL: no quota */
CREATE FUNCTION mint.set_quota(role regrole, max_databases integer, max_bytes bigint)
RETURNS void
AS 'MODULE_PATHNAME', 'mint_set_quota'
LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION mint.set_quota(regrole, integer, bigint) FROM PUBLIC;

/* mint.databases: when each lease expires */
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
       r.run,
       r.lease_expires
  FROM mint.registry r
  JOIN pg_catalog.pg_database d ON d.oid OPERATOR(pg_catalog.=) r.datid
                               AND d.datname OPERATOR(pg_catalog.=) r.datname;

/*
 * What pg_mint's workers are copying and waiting to copy.  Each worker
 * publishes it as its pg_stat_activity query text; mint._activity() reads
 * those of every role (as the extension owner) and shows a caller every row
 * (pid, role, operation, state, since when it waits: the queue ahead of
 * it), but template and target only of roles whose privileges it has, or
 * all of them with pg_read_all_stats (pg_stat_activity's rule).
 */
CREATE FUNCTION mint._activity()
RETURNS TABLE (pid integer, role text, operation text, template text, target text,
               state text, waiting_since timestamptz)
AS 'MODULE_PATHNAME', 'mint_activity'
LANGUAGE C VOLATILE;

CREATE VIEW mint.activity AS
SELECT a.pid, a.role, a.operation, a.template, a.target, a.state, a.waiting_since
  FROM mint._activity() a;
GRANT SELECT ON mint.activity TO PUBLIC;

/* quotas and what each role holds now (sizes the caller may see) */
CREATE VIEW mint.quotas AS
SELECT CASE WHEN q.role OPERATOR(pg_catalog.=) 0::pg_catalog.oid THEN NULL
            ELSE pg_catalog.pg_get_userbyid(q.role) END AS role,
       q.max_databases,
       q.max_bytes,
       CASE WHEN q.role OPERATOR(pg_catalog.<>) 0::pg_catalog.oid THEN
       (SELECT pg_catalog.count(*) FROM mint.registry r
          JOIN pg_catalog.pg_database d ON d.oid OPERATOR(pg_catalog.=) r.datid
         WHERE d.datdba OPERATOR(pg_catalog.=) q.role
           AND r.state OPERATOR(pg_catalog.<>) 'dropping')::pg_catalog.int4 END AS databases,
       CASE WHEN q.role OPERATOR(pg_catalog.<>) 0::pg_catalog.oid THEN
       (SELECT pg_catalog.sum(mint._database_size(d.oid)) FROM mint.registry r
          JOIN pg_catalog.pg_database d ON d.oid OPERATOR(pg_catalog.=) r.datid
         WHERE d.datdba OPERATOR(pg_catalog.=) q.role
           AND r.state OPERATOR(pg_catalog.<>) 'dropping')::pg_catalog.int8 END AS bytes
  FROM mint.quota_config q;
GRANT SELECT ON mint.quotas TO PUBLIC;

/*
 * Per template: builds and their time, copies made for clones and their
 * time (p50, p95), pool hits and misses, bytes held (template versions,
 * clones, spares; sizes the caller may see), leases expired, quota
 * refusals.  Times in milliseconds; counts over the samples kept (30 days).
 */
CREATE VIEW mint.stats AS
WITH e AS (
    SELECT s.template,
           pg_catalog.count(*) FILTER (WHERE s.event OPERATOR(pg_catalog.=) 'build') AS builds,
           pg_catalog.avg(s.ms) FILTER (WHERE s.event OPERATOR(pg_catalog.=) 'build') AS build_ms_avg,
           pg_catalog.count(*) FILTER (WHERE s.event OPERATOR(pg_catalog.=) 'clone') AS clones,
           pg_catalog.percentile_cont(0.5::pg_catalog.float8) WITHIN GROUP (ORDER BY s.ms)
               FILTER (WHERE s.event OPERATOR(pg_catalog.=) 'clone') AS clone_ms_p50,
           pg_catalog.percentile_cont(0.95::pg_catalog.float8) WITHIN GROUP (ORDER BY s.ms)
               FILTER (WHERE s.event OPERATOR(pg_catalog.=) 'clone') AS clone_ms_p95,
           pg_catalog.count(*) FILTER (WHERE s.event OPERATOR(pg_catalog.=) 'lease_expired') AS leases_expired,
           pg_catalog.count(*) FILTER (WHERE s.event OPERATOR(pg_catalog.=) 'quota_refused') AS quota_refusals
      FROM mint.stat_events s
     WHERE s.template IS NOT NULL
     GROUP BY s.template),
     p AS (
    SELECT pc.template,
           pc.hits OPERATOR(pg_catalog.+) (SELECT pg_catalog.count(*) FROM mint.pool_events pe
                      WHERE pe.template OPERATOR(pg_catalog.=) pc.template AND pe.hit) AS hits,
           pc.misses OPERATOR(pg_catalog.+) (SELECT pg_catalog.count(*) FROM mint.pool_events pe
                        WHERE pe.template OPERATOR(pg_catalog.=) pc.template AND NOT pe.hit) AS misses
      FROM mint.pool_config pc),
     h AS (
    SELECT COALESCE(r.version_of, r.template, r.datname) AS template,
           pg_catalog.count(*) AS databases,
           pg_catalog.sum(mint._database_size(d.oid)) AS bytes
      FROM mint.registry r
      JOIN pg_catalog.pg_database d ON d.oid OPERATOR(pg_catalog.=) r.datid
                                   AND d.datname OPERATOR(pg_catalog.=) r.datname
     GROUP BY 1),
     t AS (SELECT e.template FROM e UNION SELECT p.template FROM p UNION SELECT h.template FROM h)
SELECT t.template,
       COALESCE(e.builds, 0) AS builds,
       e.build_ms_avg,
       COALESCE(e.clones, 0) AS clones,
       e.clone_ms_p50,
       e.clone_ms_p95,
       COALESCE(p.hits, 0) AS pool_hits,
       COALESCE(p.misses, 0) AS pool_misses,
       COALESCE(h.databases, 0) AS databases_held,
       COALESCE(h.bytes, 0)::pg_catalog.int8 AS bytes_held,
       COALESCE(e.leases_expired, 0) AS leases_expired,
       COALESCE(e.quota_refusals, 0) AS quota_refusals
  FROM t
  LEFT JOIN e ON e.template OPERATOR(pg_catalog.=) t.template
  LEFT JOIN p ON p.template OPERATOR(pg_catalog.=) t.template
  LEFT JOIN h ON h.template OPERATOR(pg_catalog.=) t.template;
GRANT SELECT ON mint.stats TO PUBLIC;

/* refill workers making a spare publish it as their activity (mint.activity) */
CREATE OR REPLACE VIEW mint.pools AS
SELECT p.template,
       p.spares AS target_size,
       (SELECT pg_catalog.count(*) FROM mint.registry r
          JOIN pg_catalog.pg_database d ON d.oid OPERATOR(pg_catalog.=) r.datid
                                       AND d.datname OPERATOR(pg_catalog.=) r.datname
         WHERE r.kind OPERATOR(pg_catalog.=) 'spare'
           AND r.template OPERATOR(pg_catalog.=) p.template
           AND r.state OPERATOR(pg_catalog.=) 'ready'
           AND r.owner OPERATOR(pg_catalog.=) p.owner
           AND r.template_datid OPERATOR(pg_catalog.=)
               (SELECT t.datid FROM mint.registry t
                 WHERE t.kind OPERATOR(pg_catalog.=) 'template'
                   AND t.datname OPERATOR(pg_catalog.=) p.template
                   AND t.state OPERATOR(pg_catalog.=) 'ready'))::pg_catalog.int4 AS ready,
       (SELECT pg_catalog.count(*) FROM mint.activity a
         WHERE a.operation OPERATOR(pg_catalog.=) 'spare'
           AND a.template OPERATOR(pg_catalog.=) p.template)::pg_catalog.int4 AS being_made,
       p.hits OPERATOR(pg_catalog.+) (SELECT pg_catalog.count(*) FROM mint.pool_events e
                  WHERE e.template OPERATOR(pg_catalog.=) p.template AND e.hit) AS hits,
       p.misses OPERATOR(pg_catalog.+) (SELECT pg_catalog.count(*) FROM mint.pool_events e
                    WHERE e.template OPERATOR(pg_catalog.=) p.template AND NOT e.hit) AS misses
  FROM mint.pool_config p;

/*
 * mint.gc() started in a background worker (as the caller), without waiting
 * for it: for schedulers whose job must not wait for DROP DATABASE (pg_cron
 * before 1.6.3 on PostgreSQL 15 and later).  What it drops goes to the
 * server log.  false when no background worker slot is free.
 */
CREATE FUNCTION mint.janitor(older_than interval DEFAULT '1 hour', terminate boolean DEFAULT false)
RETURNS boolean
AS 'MODULE_PATHNAME', 'mint_janitor'
LANGUAGE C VOLATILE;

-- issue 15: dumps
/*
 * What pg_dump keeps of pg_mint: the extension, nothing of its bookkeeping.
 * mint.registry names databases by OID, mint.pool_config names their owners
 * by OID: in another cluster (a restore, a new machine) those numbers mean
 * nothing or another database and role, and pg_mint must never drop or hand
 * out a database on their word.  Neither table is marked for pg_dump
 * (pg_extension_config_dump); a restored pg_mint starts empty, templates are
 * rebuilt by the first template_begin, pools set again with mint.set_pool.
 *
 * A dump taken from pg_mint 1.0-1.2 still carries both tables' rows.  pg_mint
 * writes them only under its guard (extension/guard.c: as the extension
 * owner, search_path pinned to exactly "pg_catalog, pg_temp"); rows that
 * arrive any other way -- COPY from such a dump (pg_dump's output sets
 * search_path to ''), an INSERT by hand -- are skipped with a warning naming
 * them, so a restore goes on and pg_mint never acts on them.  The function
 * has no SET search_path of its own (it reads the caller's), so everything
 * in it is schema-qualified; it runs with the writer's privileges.
 */
CREATE FUNCTION mint._refuse_foreign_rows()
RETURNS trigger
LANGUAGE plpgsql
AS $mint_guard$
BEGIN
    IF pg_catalog.current_setting('search_path') OPERATOR(pg_catalog.=) 'pg_catalog, pg_temp' THEN
        RETURN NEW;
    END IF;
    IF TG_TABLE_NAME OPERATOR(pg_catalog.=) 'registry' THEN
        RAISE WARNING USING
            ERRCODE = '01000',
            MESSAGE = pg_catalog.format('pg_mint bookkeeping row for database "%s" (OID %s) skipped', NEW.datname, NEW.datid),
            DETAIL = 'Only pg_mint itself records the databases it makes; a row restored from a dump names a database of another cluster.',
            HINT = 'Nothing to do: templates are rebuilt by mint.template_begin, and databases restored separately are not pg_mint''s to drop.';
    ELSE
        RAISE WARNING USING
            ERRCODE = '01000',
            MESSAGE = pg_catalog.format('pg_mint pool setting for template "%s" skipped', NEW.template),
            DETAIL = 'Only mint.set_pool records pools; a row restored from a dump names its owner by an OID of another cluster.',
            HINT = 'Set the pool again with mint.set_pool as the template''s owner.';
    END IF;
    RETURN NULL;
END
$mint_guard$;
REVOKE ALL ON FUNCTION mint._refuse_foreign_rows() FROM PUBLIC;

CREATE TRIGGER refuse_foreign_rows BEFORE INSERT ON mint.registry
    FOR EACH ROW EXECUTE FUNCTION mint._refuse_foreign_rows();
CREATE TRIGGER refuse_foreign_rows BEFORE INSERT ON mint.pool_config
    FOR EACH ROW EXECUTE FUNCTION mint._refuse_foreign_rows();

/*
 * DROP EXTENSION pg_mint leaves the databases it made in place, as ordinary
 * databases (templates stay IS_TEMPLATE, not accepting connections): a
 * notice lists them, with how to remove them.  The event trigger cannot tell
 * which extension a DROP EXTENSION names, so it looks for pg_mint's names in
 * the command; it never raises an error.
 */
CREATE FUNCTION mint._drop_notice()
RETURNS event_trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $mint_drop$
DECLARE
    n bigint;
    dbs text;
    named text := '\mmint\M';
BEGIN
    IF TG_TAG OPERATOR(pg_catalog.=) 'DROP EXTENSION' THEN
        named := '\mpg_mint\M';
    END IF;
    IF pg_catalog.current_query() OPERATOR(pg_catalog.!~*) named THEN
        RETURN;
    END IF;
    SELECT pg_catalog.count(*),
           pg_catalog.string_agg(pg_catalog.format('%I (%s)', r.datname, r.kind), ', '
                                 ORDER BY r.kind OPERATOR(pg_catalog.<>) 'template', r.datname)
      INTO n, dbs
      FROM mint.registry r
      JOIN pg_catalog.pg_database d ON d.oid OPERATOR(pg_catalog.=) r.datid
                                   AND d.datname OPERATOR(pg_catalog.=) r.datname;
    IF n OPERATOR(pg_catalog.>) 0 THEN
        RAISE NOTICE USING
            MESSAGE = pg_catalog.format('databases pg_mint made stay as ordinary databases: %s', dbs),
            DETAIL = 'Nothing drops them any more once pg_mint is gone; templates stay marked IS_TEMPLATE and do not accept connections.',
            HINT = 'To remove them, before dropping the extension: SELECT mint.drop(datname) FROM mint.databases; afterwards: ALTER DATABASE name IS_TEMPLATE false, then DROP DATABASE name.';
    END IF;
EXCEPTION WHEN OTHERS THEN
    RETURN;  -- never stand in the way of the DROP
END
$mint_drop$;
REVOKE ALL ON FUNCTION mint._drop_notice() FROM PUBLIC;

CREATE EVENT TRIGGER mint_drop_notice ON ddl_command_start
    WHEN TAG IN ('DROP EXTENSION', 'DROP SCHEMA')
    EXECUTE FUNCTION mint._drop_notice();
-- end issue 15: dumps
