/* sql/pg_mint--1.2--1.3.sql -- pg_mint 1.2 to 1.3 */

\echo Use "ALTER EXTENSION pg_mint UPDATE TO '1.3'" to load this file. \quit

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
