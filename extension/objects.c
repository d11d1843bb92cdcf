/*
 * objects.c -- pg_mint finds its own schema and tables by identity.
 *
 * A name is not proof: CREATE EXTENSION silently reuses a schema "mint" that
 * somebody made before, and whoever owns a schema can drop, rename and
 * replace what is in it.  So before pg_mint reads or writes its bookkeeping
 * (and before any of its SQL names "mint.registry") this file checks, from
 * the catalogs:
 *
 *  - the extension pg_mint is installed in this database, and the role that
 *    installed it (which owns its tables, and as which pg_mint writes them)
 *    is still a superuser;
 *  - its schema is the one named "mint", owned by that role or a superuser;
 *  - each bookkeeping table of that name in that schema is an ordinary table
 *    owned by the extension's owner and a member of the extension
 *    (pg_depend deptype 'e'), and each index pg_mint probes belongs to it.
 *
 * The result is cached per backend and thrown away on any relation, schema
 * or role invalidation (a DROP/CREATE EXTENSION, ALTER SCHEMA RENAME/OWNER,
 * ALTER ROLE ... NOSUPERUSER), so it costs a few microseconds only after a
 * catalog change.
 *
 * Layer: primitives (bottom).  Called by guard.c and registry.c; calls
 * nothing of pg_mint's.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/dependency.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_index.h"
#include "catalog/pg_namespace.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "compat.h"
#include "pg_mint.h"

static MintObjects objects;
static bool callbacks_registered = false;

static void
objects_invalidate(Datum arg, Oid relid)
{
	objects.valid = false;
}

static void
objects_syscache_invalidate(Datum arg, int cacheid, uint32 hashvalue)
{
	objects.valid = false;
}

static void
broken(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("pg_mint's own objects in database \"%s\" cannot be trusted: %s",
					get_database_name(MyDatabaseId), what),
			 errdetail("pg_mint refuses to read or write bookkeeping that a role other than the extension's owner could have changed."),
			 errhint("A superuser should check schema \"mint\" and reinstall: DROP EXTENSION pg_mint; CREATE EXTENSION pg_mint;")));
}

/* the extension's row: its OID, owner and schema */
static bool
find_extension(Oid *extoid, Oid *extowner, Oid *extnsp)
{
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	bool		found = false;

	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber, F_NAMEEQ,
				CStringGetDatum("pg_mint"));
	scan = systable_beginscan(rel, ExtensionNameIndexId, true, NULL, 1, &key);
	if (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_extension ext = (Form_pg_extension) GETSTRUCT(tup);

		*extoid = ext->oid;
		*extowner = ext->extowner;
		*extnsp = ext->extnamespace;
		found = true;
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return found;
}

/* table relname of the extension's schema, checked; its OID */
static Oid
member_table(const char *relname)
{
	Oid			relid = get_relname_relid(relname, objects.nsp);
	HeapTuple	tup;
	Form_pg_class cls;
	bool		ok;

	if (!OidIsValid(relid))
		broken(psprintf("table mint.%s is missing", relname));
	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tup))
		broken(psprintf("table mint.%s is missing", relname));
	cls = (Form_pg_class) GETSTRUCT(tup);
	ok = cls->relkind == RELKIND_RELATION && cls->relowner == objects.extowner;
	ReleaseSysCache(tup);
	if (!ok || getExtensionOfObject(RelationRelationId, relid) != objects.extoid)
		broken(psprintf("mint.%s is not the table the extension created", relname));
	return relid;
}

/* index idxname of the extension's schema, checked to index table relid */
static Oid
member_index(const char *idxname, Oid relid)
{
	Oid			idx = get_relname_relid(idxname, objects.nsp);
	HeapTuple	tup;
	bool		ok = false;

	if (OidIsValid(idx))
	{
		tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(idx));
		if (HeapTupleIsValid(tup))
		{
			ok = ((Form_pg_index) GETSTRUCT(tup))->indrelid == relid;
			ReleaseSysCache(tup);
		}
	}
	if (!ok)
		broken(psprintf("index mint.%s is missing or belongs to another table", idxname));
	return idx;
}

/*
 * pg_mint's objects in the current database, verified (see the file header);
 * errors when they are missing or could have been tampered with.
 */
const MintObjects *
mint_objects(void)
{
	HeapTuple	tup;
	Oid			nspowner;
	char	   *nspname;

	if (!callbacks_registered)
	{
		CacheRegisterRelcacheCallback(objects_invalidate, (Datum) 0);
		CacheRegisterSyscacheCallback(NAMESPACEOID, objects_syscache_invalidate, (Datum) 0);
		CacheRegisterSyscacheCallback(AUTHOID, objects_syscache_invalidate, (Datum) 0);
		callbacks_registered = true;
	}
	if (objects.valid)
		return &objects;

	memset(&objects, 0, sizeof(objects));
	if (!find_extension(&objects.extoid, &objects.extowner, &objects.nsp))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("extension \"pg_mint\" is not installed in database \"%s\"",
						get_database_name(MyDatabaseId)),
				 errhint("Call pg_mint from the database where a superuser ran CREATE EXTENSION pg_mint.")));
	if (!superuser_arg(objects.extowner))
		broken(psprintf("its owner, role \"%s\", is no longer a superuser",
						GetUserNameFromId(objects.extowner, true)));

	tup = SearchSysCache1(NAMESPACEOID, ObjectIdGetDatum(objects.nsp));
	if (!HeapTupleIsValid(tup))
		broken("its schema is missing");
	nspname = pstrdup(NameStr(((Form_pg_namespace) GETSTRUCT(tup))->nspname));
	nspowner = ((Form_pg_namespace) GETSTRUCT(tup))->nspowner;
	ReleaseSysCache(tup);
	/* pg_mint's SQL says "mint.": that name must lead to this schema */
	if (strcmp(nspname, "mint") != 0 || get_namespace_oid("mint", true) != objects.nsp)
		broken(psprintf("its schema is named \"%s\", not \"mint\"", nspname));
	if (nspowner != objects.extowner && !superuser_arg(nspowner))
		broken(psprintf("schema \"mint\" is owned by role \"%s\", who is not a superuser",
						GetUserNameFromId(nspowner, true)));

	objects.registry = member_table("registry");
	objects.registry_datname_idx = member_index("registry_datname_key", objects.registry);
	objects.pool_config = member_table("pool_config");
	objects.pool_config_pkey = member_index("pool_config_pkey", objects.pool_config);
	objects.pool_events = member_table("pool_events");
	/* 1.2 added template versions and runs; before ALTER EXTENSION UPDATE, 1.1's rules */
	objects.has_versions = get_attnum(objects.registry, "version_of") != InvalidAttrNumber &&
		get_attnum(objects.registry, "run") != InvalidAttrNumber;
	/* 1.3 added leases, quotas and metrics */
	objects.has_shared = get_attnum(objects.registry, "lease_expires") != InvalidAttrNumber &&
		OidIsValid(get_relname_relid("quota_config", objects.nsp));
	if (objects.has_shared)
	{
		objects.quota_config = member_table("quota_config");
		objects.stat_events = member_table("stat_events");
	}
	objects.valid = true;
	return &objects;
}
