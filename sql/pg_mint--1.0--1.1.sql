/* sql/pg_mint--1.0--1.1.sql -- pg_mint 1.0 to 1.1: the security release */

\echo Use "ALTER EXTENSION pg_mint UPDATE TO '1.1'" to load this file. \quit


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
            MESSAGE = pg_catalog.format('schema "mint" is owned by role "%s", who is not a superuser',
                                        pg_catalog.pg_get_userbyid(nsp_owner)),
            DETAIL = 'Whoever owns the schema could change pg_mint''s bookkeeping and make it drop databases it did not create.',
            HINT = 'Rename or drop that schema, or give it to a superuser (ALTER SCHEMA mint OWNER TO postgres), then run ALTER EXTENSION pg_mint UPDATE again.';
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
            HINT = 'REVOKE CREATE ON SCHEMA mint FROM PUBLIC, then run ALTER EXTENSION pg_mint UPDATE again.';
    ELSIF bad_grantee IS NOT NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = '42501',
            MESSAGE = pg_catalog.format('role "%s" may create objects in schema "mint"', pg_catalog.pg_get_userbyid(bad_grantee)),
            DETAIL = 'Objects another role puts in pg_mint''s schema could stand in for pg_mint''s own.',
            HINT = 'REVOKE CREATE ON SCHEMA mint FROM that role, then run ALTER EXTENSION pg_mint UPDATE again.';
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
            MESSAGE = pg_catalog.format('schema "mint" holds objects of role "%s", who is not a superuser', culprit),
            DETAIL = 'Objects another role put in pg_mint''s schema could stand in for pg_mint''s own.',
            HINT = 'Move or drop them (or the schema), then run ALTER EXTENSION pg_mint UPDATE again.';
    END IF;
END
$mint_check$;

/*
 * 1.1: a pool belongs to its template's owner.  Pools that 1.0 let another
 * role configure (or that name no pg_mint template of their owner) are
 * removed; their spares become stale and mint.gc() drops them.  Pools of
 * templates their owner built stay, with their spares.
 */
DELETE FROM mint.pool_config p
 WHERE NOT EXISTS (SELECT 1 FROM mint.registry t
                     JOIN pg_catalog.pg_database d ON d.oid OPERATOR(pg_catalog.=) t.datid
                                                  AND d.datname OPERATOR(pg_catalog.=) t.datname
                    WHERE t.kind OPERATOR(pg_catalog.=) 'template'
                      AND t.datname OPERATOR(pg_catalog.=) p.template
                      AND d.datdba OPERATOR(pg_catalog.=) p.owner);
DELETE FROM mint.pool_events e
 WHERE NOT EXISTS (SELECT 1 FROM mint.pool_config p WHERE p.template OPERATOR(pg_catalog.=) e.template);

/*
 * Name uniqueness is checked at the end of each statement, not at commit:
 * pg_mint now writes the registry in a security-restricted operation, where
 * deferred triggers may not be queued.
 */
ALTER TABLE mint.registry
    DROP CONSTRAINT registry_datname_key,
    ADD CONSTRAINT registry_datname_key UNIQUE (datname) DEFERRABLE INITIALLY IMMEDIATE;

/* views: every operator and function schema-qualified */
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
         WHERE a.datid OPERATOR(pg_catalog.=) d.oid)::pg_catalog.int4 AS connections
  FROM mint.registry r
  JOIN pg_catalog.pg_database d ON d.oid OPERATOR(pg_catalog.=) r.datid
                               AND d.datname OPERATOR(pg_catalog.=) r.datname;

/*
 * ready counts the pool owner's spares of the template's current build;
 * being_made counts refill workers running CREATE DATABASE for a spare of
 * the template (visible to the pool's owner and to pg_read_all_stats).
 */
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
