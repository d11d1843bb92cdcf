/* sql/pg_mint--1.2--1.3.sql -- pg_mint 1.2 to 1.3: one server for many CI jobs */

\echo Use "ALTER EXTENSION pg_mint UPDATE TO '1.3'" to load this file. \quit

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
-- mint.registry and mint.pool_config leave pg_dump: taking a table out of
-- the extension and back drops its pg_extension_config_dump mark.
ALTER EXTENSION pg_mint DROP TABLE mint.registry;
ALTER EXTENSION pg_mint ADD TABLE mint.registry;
ALTER EXTENSION pg_mint DROP TABLE mint.pool_config;
ALTER EXTENSION pg_mint ADD TABLE mint.pool_config;
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
