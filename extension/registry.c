/*
 * registry.c -- pg_mint's bookkeeping (table mint.registry).
 *
 * A database belongs to pg_mint only while a registry row names it by OID
 * and by its current name: a hand-made database that happens to reuse a
 * name, or a pg_mint database renamed by hand, is never touched.
 *
 * Reads run as the caller with the latest snapshot, so a session inside a
 * REPEATABLE READ transaction still sees a template that was finished a
 * moment ago.  Writes happen only inside pg_mint's background worker, in the
 * same transaction as the CREATE/RENAME they describe, and run as the owner
 * of the registry table (the role that created the extension): ordinary
 * roles can read the registry but cannot edit it to trick pg_mint into
 * dropping something else.  The tables are found by identity (objects.c),
 * and every statement runs with a pinned search_path (guard.c).
 *
 * Layer: bookkeeping.  Called by every layer above; calls guard.c and
 * objects.c.  Every statement on pg_mint's tables runs through here:
 * mint_registry_exec (as the extension owner, under the guard), the index
 * probes of the clone path, and mint_spi_run (search_path pinned) for gc's
 * multi-row read.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_database.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/rel.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "pg_mint.h"

/*
 * Prepared plans for pg_mint's fixed SQL, kept for the life of the backend
 * (the plan cache revalidates them when the tables change).  A session that
 * clones again and again (the warm pool's fast path runs in the caller)
 * then pays no parse/plan cost.  Keyed by the address of the SQL literal.
 */
#define MINT_MAX_PLANS 32
static struct
{
	const char *sql;
	SPIPlanPtr	plan;
}			plans[MINT_MAX_PLANS];
static int	nplans = 0;

/*
 * Run one of pg_mint's fixed statements through SPI (connected by the
 * caller) with search_path pinned, after checking that the objects its
 * "mint." names lead to are pg_mint's own.
 */
static int
spi_run_pinned(const char *sql, int nargs, Oid *types, Datum *values,
			   const char *nulls, bool read_only, long count)
{
	SPIPlanPtr	plan = NULL;
	int			i;

	for (i = 0; i < nplans; i++)
		if (plans[i].sql == sql)
		{
			plan = plans[i].plan;
			break;
		}
	if (plan == NULL)
	{
		/*
		 * A generic plan from the start: these are small indexed lookups, and
		 * custom plans would be re-planned on every call.
		 */
		plan = SPI_prepare_cursor(sql, nargs, types, CURSOR_OPT_GENERIC_PLAN);
		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed for \"%s\": %s", sql, SPI_result_code_string(SPI_result));
		if (nplans < MINT_MAX_PLANS && SPI_keepplan(plan) == 0)
		{
			plans[nplans].sql = sql;
			plans[nplans].plan = plan;
			nplans++;
		}
	}
	return SPI_execute_plan(plan, values, nulls, read_only, count);
}

int
mint_spi_run(const char *sql, int nargs, Oid *types, Datum *values,
			 const char *nulls, bool read_only, long count)
{
	int			level;
	int			ret;

	(void) mint_objects();
	level = mint_pin_search_path();
	ret = spi_run_pinned(sql, nargs, types, values, nulls, read_only, count);
	mint_unpin_search_path(level);
	return ret;
}

static char *
dup_value(MemoryContext cxt, HeapTuple tup, TupleDesc desc, int col)
{
	char	   *v = SPI_getvalue(tup, desc, col);

	return v ? MemoryContextStrdup(cxt, v) : NULL;
}

/*
 * The fixed columns of database oid's pg_database row, from the catalog
 * cache (PostgreSQL has no cache by name); false when there is none.
 */
static bool
database_row(Oid oid, FormData_pg_database *row)
{
	HeapTuple	tup = SearchSysCache1(DATABASEOID, ObjectIdGetDatum(oid));

	if (!HeapTupleIsValid(tup))
		return false;
	memcpy(row, GETSTRUCT(tup), sizeof(*row));
	ReleaseSysCache(tup);
	return true;
}

/* The default tablespace of database oid, or InvalidOid when it is gone. */
Oid
mint_db_tablespace(Oid oid)
{
	FormData_pg_database row;

	return database_row(oid, &row) ? row.dattablespace : InvalidOid;
}

/* Is database oid named name? */
bool
mint_db_named(Oid oid, const char *name)
{
	FormData_pg_database row;

	return database_row(oid, &row) && strcmp(NameStr(row.datname), name) == 0;
}

/* The owner of database oid, InvalidOid when there is none. */
Oid
mint_db_owner(Oid oid)
{
	FormData_pg_database row;

	return database_row(oid, &row) ? row.datdba : InvalidOid;
}

/* Is database oid flagged IS_TEMPLATE? */
bool
mint_db_is_template(Oid oid)
{
	FormData_pg_database row;

	return database_row(oid, &row) && row.datistemplate;
}

/*
 * Direct index lookups in pg_mint's own tables, for mint.clone()'s checks:
 * an index probe costs a fraction of an SPI query's executor start-up, and
 * every pool hit runs three of them.  Rows are read with the latest snapshot
 * like the SPI lookups; columns are found by name.
 */
static Datum
column(Relation rel, HeapTuple tup, const char *name, bool *isnull)
{
	AttrNumber	attnum = get_attnum(RelationGetRelid(rel), name);

	TupleDesc	desc = RelationGetDescr(rel);
	Datum	   *values;
	bool	   *nulls;
	Datum		result;

	if (attnum == InvalidAttrNumber)
		elog(ERROR, "column \"%s\" of %s is missing", name, RelationGetRelationName(rel));

	/*
	 * heap_deform_tuple(), not the inline heap_getattr(): the inline one
	 * calls functions that only some minor releases export (17.12 added
	 * heap_datum_check()), and a build must load on every minor of its major.
	 */
	values = palloc(desc->natts * sizeof(Datum));
	nulls = palloc(desc->natts * sizeof(bool));
	heap_deform_tuple(tup, desc, values, nulls);
	*isnull = nulls[attnum - 1];
	result = values[attnum - 1];
	pfree(values);
	pfree(nulls);
	return result;
}

static char *
column_text(Relation rel, HeapTuple tup, const char *name, MemoryContext cxt)
{
	bool		isnull;
	Datum		d;

	/* columns added by 1.2 are missing until ALTER EXTENSION UPDATE: NULL */
	if (get_attnum(RelationGetRelid(rel), name) == InvalidAttrNumber &&
		(strcmp(name, "version_of") == 0 || strcmp(name, "run") == 0))
		return NULL;
	d = column(rel, tup, name, &isnull);

	if (isnull)
		return NULL;
	return MemoryContextStrdup(cxt, TextDatumGetCString(d));
}

/*
 * Call fn on each row of table (an open relation) whose text column col
 * equals value, found through index idxname, until it returns true.
 */
typedef bool (*RowFn) (Relation rel, HeapTuple tup, void *arg);

static void
scan_text_key(Relation rel, Oid idx, const char *col, const char *value,
			  Snapshot snap, RowFn fn, void *arg)
{
	Relation	irel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;

	irel = index_open(idx, AccessShareLock);
	ScanKeyInit(&key, get_attnum(RelationGetRelid(rel), col), BTEqualStrategyNumber, F_TEXTEQ,
				CStringGetTextDatum(value));
	/* compare as the index sorts (the column's collation, not C) */
	key.sk_collation = irel->rd_indcollation[0];
	index_close(irel, NoLock);
	scan = systable_beginscan(rel, idx, true, snap, 1, &key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
		if (fn(rel, tup, arg))
			break;
	systable_endscan(scan);
}

typedef struct
{
	const char *name;
	Oid			datid;			/* the database's OID, or InvalidOid: ask the catalog */
	MintEntry  *entry;
	MemoryContext cxt;
} RegistryMatch;

/*
 * A registry row for database name: fill the entry when it names the
 * database by OID too (the given one, or the catalog cache's).
 */
static bool
registry_row(Relation rel, HeapTuple tup, void *arg)
{
	RegistryMatch *m = (RegistryMatch *) arg;
	MintEntry  *e = m->entry;
	bool		isnull;
	Oid			datid = DatumGetObjectId(column(rel, tup, "datid", &isnull));
	char	   *s;
	Datum		d;

	if (OidIsValid(m->datid) ? datid != m->datid : !mint_db_named(datid, m->name))
		return false;
	e->found = true;
	e->datid = datid;
	s = column_text(rel, tup, "kind", m->cxt);
	strlcpy(e->kind, s ? s : "", sizeof(e->kind));
	s = column_text(rel, tup, "state", m->cxt);
	strlcpy(e->state, s ? s : "", sizeof(e->state));
	e->template_name = column_text(rel, tup, "template", m->cxt);
	d = column(rel, tup, "template_datid", &isnull);
	e->template_datid = isnull ? InvalidOid : DatumGetObjectId(d);
	e->fingerprint = column_text(rel, tup, "fingerprint", m->cxt);
	d = column(rel, tup, "server_version", &isnull);
	e->server_version = isnull ? 0 : DatumGetInt32(d);
	d = column(rel, tup, "owner", &isnull);
	e->owner = isnull ? InvalidOid : DatumGetObjectId(d);
	e->version_of = column_text(rel, tup, "version_of", m->cxt);
	/* a template registered before 1.2 is a version of its own name */
	if (e->version_of == NULL && strcmp(e->kind, "template") == 0)
		e->version_of = MemoryContextStrdup(m->cxt, m->name);
	return true;
}

/* the pool_config row of a template: its owner (if the pool is on, unless any) */
typedef struct
{
	bool		any;
	Oid			owner;
} PoolMatch;

static bool
pool_row(Relation rel, HeapTuple tup, void *arg)
{
	PoolMatch  *m = (PoolMatch *) arg;
	bool		isnull;
	Datum		spares = column(rel, tup, "spares", &isnull);

	if (m->any || (!isnull && DatumGetInt32(spares) > 0))
	{
		Datum		owner = column(rel, tup, "owner", &isnull);

		m->owner = isnull ? InvalidOid : DatumGetObjectId(owner);
	}
	return true;
}

/*
 * Everything mint.clone() needs to know: the registry rows of the template
 * (the database tpl holding the version to clone) and of the target, found
 * by name and confirmed by OID against the catalog cache, and the owner of
 * the pool of template pool_tpl (the template name; pools are kept by name)
 * if it is on (InvalidOid otherwise).  *tpl_oid and *target_oid are the databases' OIDs
 * (InvalidOid: no such database); a database without a confirmed row is
 * looked up in pg_database.
 */
void
mint_registry_lookup_clone(const char *tpl, const char *pool_tpl, Oid *tpl_oid, MintEntry *te,
						   const char *target, Oid *target_oid, MintEntry *ge,
						   Oid *pool_owner)
{
	RegistryMatch m;
	Relation	rel;
	Snapshot	snap = RegisterSnapshot(GetLatestSnapshot());

	memset(te, 0, sizeof(*te));
	memset(ge, 0, sizeof(*ge));
	m.cxt = CurrentMemoryContext;

	rel = table_open(mint_objects()->registry, AccessShareLock);
	m.datid = InvalidOid;
	m.name = tpl;
	m.entry = te;
	scan_text_key(rel, mint_objects()->registry_datname_idx, "datname", tpl, snap, registry_row, &m);
	m.name = target;
	m.entry = ge;
	scan_text_key(rel, mint_objects()->registry_datname_idx, "datname", target, snap, registry_row, &m);
	table_close(rel, AccessShareLock);
	UnregisterSnapshot(snap);
	*pool_owner = mint_pool_config_owner(pool_tpl);

	*tpl_oid = te->found ? te->datid : get_database_oid(tpl, true);
	*target_oid = ge->found ? ge->datid : get_database_oid(target, true);
}

/*
 * Look up the row for database (datname, datid); entry->found tells whether
 * there is one.  datid may be InvalidOid when the database does not exist,
 * in which case nothing is found.
 */
void
mint_registry_lookup(const char *datname, Oid datid, MintEntry *entry)
{
	RegistryMatch m;
	Relation	rel;
	Snapshot	snap;

	memset(entry, 0, sizeof(*entry));
	if (!OidIsValid(datid))
		return;
	m.name = datname;
	m.datid = datid;
	m.entry = entry;
	m.cxt = CurrentMemoryContext;
	snap = RegisterSnapshot(GetLatestSnapshot());
	rel = table_open(mint_objects()->registry, AccessShareLock);
	scan_text_key(rel, mint_objects()->registry_datname_idx, "datname", datname, snap, registry_row, &m);
	table_close(rel, AccessShareLock);
	UnregisterSnapshot(snap);
}

static Oid
pool_config_owner(const char *tpl, bool any)
{
	PoolMatch	m;
	Relation	rel;
	Snapshot	snap = RegisterSnapshot(GetLatestSnapshot());

	m.any = any;
	m.owner = InvalidOid;
	rel = table_open(mint_objects()->pool_config, AccessShareLock);
	scan_text_key(rel, mint_objects()->pool_config_pkey, "template", tpl, snap, pool_row, &m);
	table_close(rel, AccessShareLock);
	UnregisterSnapshot(snap);
	return m.owner;
}

/* The recorded owner of tpl's pool if it is on (spares > 0), else InvalidOid. */
Oid
mint_pool_config_owner(const char *tpl)
{
	return pool_config_owner(tpl, false);
}

/* The recorded owner of tpl's pool, on or off; InvalidOid when there is none. */
Oid
mint_pool_config_owner_any(const char *tpl)
{
	return pool_config_owner(tpl, true);
}

/*
 * Run one statement on pg_mint's bookkeeping as the registry owner.  When
 * out is given, the first row's first nout columns are returned as strings
 * (NULL for SQL NULL) in the caller's memory context.  Returns the number of
 * rows processed.
 */
uint64
mint_registry_exec(const char *sql, int nargs, Oid *types, Datum *values,
				   const char *nulls, char **out, int nout)
{
	MintGuard	guard;
	MemoryContext cxt = CurrentMemoryContext;
	uint64		processed = 0;
	volatile bool ok = false;

	/*
	 * Name uniqueness must be checked at the end of the statement: a
	 * deferred check cannot be queued in the restricted context below, and
	 * the caller may have run SET CONSTRAINTS ALL DEFERRED.  (Workers set
	 * every constraint immediate when their transactions start.)
	 */
	if (!mint_in_worker)
	{
		ConstraintsSetStmt *immediate = makeNode(ConstraintsSetStmt);

		immediate->constraints = list_make1(makeRangeVar("mint", "registry_datname_key", -1));
		immediate->deferred = false;
		(void) mint_objects();
		AfterTriggerSetState(immediate);
	}

	memset(&guard, 0, sizeof(guard));
	mint_guard_enter(&guard, mint_objects()->extowner);
	PG_TRY();
	{
		int			ret;
		int			i;

		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		/* the guard verified pg_mint's objects and pinned search_path */
		ret = spi_run_pinned(sql, nargs, types, values, nulls, false, 0);
		if (ret < 0)
			elog(ERROR, "pg_mint bookkeeping statement failed: %s", SPI_result_code_string(ret));
		processed = SPI_processed;
		for (i = 0; out != NULL && i < nout; i++)
			out[i] = (processed > 0 && SPI_tuptable != NULL) ?
				dup_value(cxt, SPI_tuptable->vals[0], SPI_tuptable->tupdesc, i + 1) : NULL;
		SPI_finish();
		ok = true;
	}
	PG_FINALLY();
	{
		mint_guard_exit(&guard, ok);
	}
	PG_END_TRY();
	return processed;
}

static void
registry_write(const char *sql, int nargs, Oid *types, Datum *values,
			   const char *nulls)
{
	(void) mint_registry_exec(sql, nargs, types, values, nulls, NULL, 0);
}

void
mint_registry_insert(Oid datid, const char *datname, const char *kind,
					 const char *state, const char *template_name,
					 Oid template_datid, const char *fingerprint,
					 const char *version_of, const char *run)
{
	Oid			types[11] = {OIDOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, OIDOID,
	TEXTOID, INT4OID, OIDOID, TEXTOID, TEXTOID};
	Datum		values[11];
	char		nulls[11];
	const char *svn = GetConfigOption("server_version_num", false, false);

	memset(nulls, ' ', sizeof(nulls));
	values[0] = ObjectIdGetDatum(datid);
	values[1] = CStringGetTextDatum(datname);
	values[2] = CStringGetTextDatum(kind);
	values[3] = CStringGetTextDatum(state);
	if (template_name)
		values[4] = CStringGetTextDatum(template_name);
	else
		nulls[4] = 'n';
	values[5] = ObjectIdGetDatum(template_datid);
	if (!OidIsValid(template_datid))
		nulls[5] = 'n';
	if (fingerprint)
		values[6] = CStringGetTextDatum(fingerprint);
	else
		nulls[6] = 'n';
	values[7] = Int32GetDatum(svn ? atoi(svn) : PG_VERSION_NUM);
	values[8] = ObjectIdGetDatum(GetUserId());
	if (version_of)
		values[9] = CStringGetTextDatum(version_of);
	else
		nulls[9] = 'n';
	if (run && run[0])
		values[10] = CStringGetTextDatum(run);
	else
		nulls[10] = 'n';

	/*
	 * This transaction just created database (datid, datname): a row that
	 * still names that OID or that name describes an older database dropped
	 * or renamed by hand, garbage mint.gc() would forget.  Forget it now
	 * instead of failing on uniqueness (or adopting it).
	 */
	registry_write("DELETE FROM mint.registry r WHERE r.datid" EQ "$1 OR r.datname" EQ "$2",
				   2, types, values, nulls);
	if (mint_objects()->has_versions)
		registry_write("INSERT INTO mint.registry (datid, datname, kind, state, template,"
					   " template_datid, fingerprint, server_version, owner, version_of, run)"
					   " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
					   11, types, values, nulls);
	else
		registry_write("INSERT INTO mint.registry (datid, datname, kind, state, template,"
					   " template_datid, fingerprint, server_version, owner)"
					   " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
					   9, types, values, nulls);
}

/* Record the run a clone belongs to (a pool hit hands out a spare made for none). */
void
mint_registry_set_run(Oid datid, const char *run)
{
	Oid			types[2] = {OIDOID, TEXTOID};
	Datum		values[2];

	if (run == NULL || run[0] == '\0' || !mint_objects()->has_versions)
		return;
	values[0] = ObjectIdGetDatum(datid);
	values[1] = CStringGetTextDatum(run);
	registry_write("UPDATE mint.registry SET run = $2 WHERE datid" EQ "$1", 2, types, values, NULL);
}

/*
 * Every version of template tpl: the template rows (not being dropped) that
 * belong to it and name their database by OID and name as pg_database
 * does, read with the latest snapshot.  Before 1.2 a template is a version
 * of its own name only.  Returns how many, the versions in *out (palloc'd).
 */
int
mint_registry_versions(const char *tpl, MintVersion **out)
{
	Relation	rel;
	SysScanDesc scan;
	HeapTuple	tup;
	Snapshot	snap = RegisterSnapshot(GetLatestSnapshot());
	int			n = 0;
	int			cap = 4;
	MintVersion *v = palloc0(sizeof(MintVersion) * cap);

	rel = table_open(mint_objects()->registry, AccessShareLock);
	scan = systable_beginscan(rel, InvalidOid, false, snap, 0, NULL);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		bool		isnull;
		char	   *kind = column_text(rel, tup, "kind", CurrentMemoryContext);
		char	   *state = column_text(rel, tup, "state", CurrentMemoryContext);
		char	   *datname = column_text(rel, tup, "datname", CurrentMemoryContext);
		char	   *of = column_text(rel, tup, "version_of", CurrentMemoryContext);
		Oid			datid;
		Datum		d;

		if (kind == NULL || strcmp(kind, "template") != 0 || state == NULL ||
			strcmp(state, "dropping") == 0 || datname == NULL)
			continue;
		if (strcmp(of ? of : datname, tpl) != 0)
			continue;
		datid = DatumGetObjectId(column(rel, tup, "datid", &isnull));
		if (!mint_db_named(datid, datname))
			continue;
		if (n == cap)
		{
			cap *= 2;
			v = repalloc(v, sizeof(MintVersion) * cap);
		}
		memset(&v[n], 0, sizeof(MintVersion));
		v[n].datid = datid;
		strlcpy(v[n].datname, datname, NAMEDATALEN);
		strlcpy(v[n].state, state, sizeof(v[n].state));
		v[n].fingerprint = column_text(rel, tup, "fingerprint", CurrentMemoryContext);
		if (v[n].fingerprint == NULL)
			v[n].fingerprint = pstrdup("");
		d = column(rel, tup, "server_version", &isnull);
		v[n].server_version = isnull ? 0 : DatumGetInt32(d);
		n++;
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	UnregisterSnapshot(snap);
	*out = v;
	return n;
}

/*
 * Forget the rows that still name `datname` but another database than
 * keep and keep2 (InvalidOid: none): the caller just gave that name to a
 * database by rename, so they describe one dropped or renamed by hand,
 * garbage mint.gc() would forget.  Waits (cancellable) for a transaction
 * that holds such a row.
 */
void
mint_registry_forget_name(const char *datname, Oid keep, Oid keep2)
{
	Oid			types[3] = {TEXTOID, OIDOID, OIDOID};
	Datum		values[3];

	values[0] = CStringGetTextDatum(datname);
	values[1] = ObjectIdGetDatum(keep);
	values[2] = ObjectIdGetDatum(keep2);
	registry_write("DELETE FROM mint.registry WHERE datname" EQ "$1"
				   "   AND datid" NE "$2 AND datid" NE "$3",
				   3, types, values, NULL);
}

/* Record a new name and/or state for a registered database. */
void
mint_registry_set(Oid datid, const char *datname, const char *state)
{
	Oid			types[3] = {OIDOID, TEXTOID, TEXTOID};
	Datum		values[3];

	values[0] = ObjectIdGetDatum(datid);
	values[1] = CStringGetTextDatum(datname);
	values[2] = CStringGetTextDatum(state);
	registry_write("UPDATE mint.registry SET datname = $2, state = $3,"
				   " finished_at = CASE WHEN $3" EQ "'ready' AND state" NE "'ready'"
				   "   THEN pg_catalog.clock_timestamp() ELSE finished_at END"
				   " WHERE datid" EQ "$1",
				   3, types, values, NULL);
}

void
mint_registry_delete(Oid datid)
{
	Oid			types[1] = {OIDOID};
	Datum		values[1];

	values[0] = ObjectIdGetDatum(datid);
	registry_write("DELETE FROM mint.registry WHERE datid" EQ "$1", 1, types, values, NULL);
}

/* ---- pools: who owns one, forgetting one -------------------------------- */

/*
 * A pool belongs to its template's owner: set_pool records that role, and a
 * pool whose recorded owner no longer owns the template (rebuilt or handed
 * over by another role) is dormant.  Its spares are that role's databases,
 * so only that role gets them: a caller never receives a database owned by
 * another role, a superuser included (it gets a copy of its own instead).
 */

/* The owner of tpl's pool if the pool is on and its owner owns tpl (tpl_oid). */
Oid
mint_pool_active_owner(Oid owner, Oid tpl_oid)
{
	if (!OidIsValid(owner) || !OidIsValid(tpl_oid) || mint_db_owner(tpl_oid) != owner)
		return InvalidOid;
	return owner;
}

/* owner (of tpl_oid's pool), if the current role may take its spares; else InvalidOid */
Oid
mint_pool_owner_for_caller(Oid owner, Oid tpl_oid)
{
	if (owner != GetUserId())
		return InvalidOid;
	return mint_pool_active_owner(owner, tpl_oid);
}

/* The same for the template named tpl, looked up. */
Oid
mint_pool_owner(const char *tpl)
{
	return mint_pool_owner_for_caller(mint_pool_config_owner(tpl), get_database_oid(tpl, true));
}

/*
 * The template tpl is gone for good (mint.drop): forget its pool, so a new
 * template of that name, perhaps another role's, starts without one.  A row
 * another transaction holds is left for mint.gc() (see forget_orphan_pools in ops.c).
 */
void
mint_pool_forget(const char *tpl)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1];

	values[0] = CStringGetTextDatum(tpl);
	/* never wait for a transaction that holds the row (set_pool left open) */
	(void) mint_registry_exec("WITH l AS (SELECT p.template FROM mint.pool_config p"
							  "            WHERE p.template" EQ "$1 FOR UPDATE SKIP LOCKED)"
							  " DELETE FROM mint.pool_config p USING l WHERE p.template" EQ "l.template",
							  1, types, values, NULL, NULL, 0);
	(void) mint_registry_exec("DELETE FROM mint.pool_events WHERE template" EQ "$1",
							  1, types, values, NULL, NULL, 0);
}
