/*
 * ops.c -- the operations pg_mint's background worker runs, one top-level
 * transaction per CREATE/DROP/RENAME/ALTER DATABASE.
 *
 * Rules every operation follows:
 *  - a database is pg_mint's only if mint.registry names it by OID and name;
 *    anything else is never dropped, renamed, altered or emptied of sessions;
 *  - every statement runs with the caller's privileges (the worker runs as
 *    the caller), so pg_mint can do nothing the caller could not do by hand;
 *  - a new database and its registry row commit together; a database is
 *    marked 'dropping' before it is dropped, and its row goes afterwards;
 *  - a replaced clone is swapped in by two renames in one transaction, so
 *    the target name always points at a complete database.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_database.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "storage/procarray.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "pg_mint.h"

/* how long mint.gc() waits for a lock another transaction holds */
#define MINT_GC_LOCK_TIMEOUT "2s"

/* a database this worker created and must drop if the operation fails */
static char cleanup_name[NAMEDATALEN];
static Oid	cleanup_oid = InvalidOid;

static Oid
db_oid(const char *name)
{
	return get_database_oid(name, true);
}

/*
 * The STRATEGY clause of a copy of database `from` (whose OID is from_oid).
 * clone, and auto where cloning works, use FILE_COPY with file_copy_method
 * = clone for the current transaction only; clone fails where it cannot
 * share blocks, auto then falls back to the server's default.
 */
static const char *
strategy_clause(int strategy, const char *from, Oid from_oid)
{
	if (strategy == MINT_STRATEGY_CLONE || strategy == MINT_STRATEGY_AUTO)
	{
		char	   *why = NULL;
		Oid			spcoid = mint_db_tablespace(from_oid);

		if (OidIsValid(spcoid) && mint_can_clone_files(spcoid, &why))
		{
#if PG_VERSION_NUM >= 180000
			(void) set_config_option("file_copy_method", "clone", PGC_USERSET, PGC_S_SESSION,
									 GUC_ACTION_LOCAL, true, ERROR, false);
			mint_trace("reflink probe: clone");
			return " STRATEGY file_copy";
#endif
		}
		mint_trace("reflink probe: no clone");
		if (strategy == MINT_STRATEGY_CLONE)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("cannot clone the files of database \"%s\"", from),
					 errdetail("%s.", why ? why : "the database has no tablespace"),
					 errhint("Strategy clone needs PostgreSQL 18 and a file system with reflinks (XFS made with reflink=1, btrfs); "
							 "strategy auto clones where it can and copies elsewhere.")));
		return "";
	}
#ifdef MINT_HAVE_STRATEGY
	if (strategy == MINT_STRATEGY_WAL_LOG)
		return " STRATEGY wal_log";
	if (strategy == MINT_STRATEGY_FILE_COPY)
		return " STRATEGY file_copy";
#endif
	return "";
}

static void
require_owner(const char *name, Oid oid, const char *what)
{
	if (!mint_database_ownercheck(oid, GetUserId()))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("must be owner of database \"%s\" to %s it", name, what),
				 errdetail("pg_mint acts with the privileges of role \"%s\", which could not do this by hand.",
						   GetUserNameFromId(GetUserId(), false))));
}

static void
require_pg_mint(const char *name, MintEntry *e)
{
	if (!e->found)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("database \"%s\" was not created by pg_mint", name),
				 errdetail("pg_mint only drops, replaces or alters databases it created itself."),
				 errhint("Choose another name, or use DROP DATABASE by hand if you really mean it.")));
}

/*
 * The existing database name (oid) may be replaced or rebuilt by pg_mint
 * only if pg_mint created it as a `kind`, the caller owns it, and nothing
 * that outlives its sessions (prepared transaction, slot, subscription)
 * uses it.
 */
static void
require_replaceable_entry(const char *name, Oid oid, MintEntry *e, const char *kind,
						  const char *what)
{
	if (!e->found)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_DATABASE),
				 errmsg("database \"%s\" already exists and was not created by pg_mint", name),
				 errdetail("pg_mint only replaces or rebuilds databases it created itself."),
				 errhint("Choose another name, or drop \"%s\" by hand if you really mean it.", name)));
	if (strcmp(e->kind, kind) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("database \"%s\" is a pg_mint %s, not a %s", name, e->kind, kind),
				 errhint("Choose another name.")));
	require_owner(name, oid, what);
	mint_check_blockers(name, oid);
}

static void
require_replaceable(const char *name, Oid oid, const char *kind, const char *what)
{
	MintEntry	e;

	mint_registry_lookup(name, oid, &e);
	require_replaceable_entry(name, oid, &e, kind, what);
}

/*
 * Terminate the other sessions on a database (with the caller's privileges:
 * TerminateOtherDBBackends refuses to signal what the caller could not) and
 * wait until they are gone, polling every millisecond up to the
 * pg_mint.terminate_timeout.  Meant to be called while new connections are
 * kept out (ALLOW_CONNECTIONS false, or our lock on the database object).
 */
void
mint_terminate_sessions(const char *name, Oid oid, int timeout_ms)
{
	TimestampTz start = GetCurrentTimestamp();

	if (CountDBBackends(oid) == 0)
		return;
	TerminateOtherDBBackends(oid);
	while (CountDBBackends(oid) > 0)
	{
		int			rc;

		if (TimestampDifferenceExceeds(start, GetCurrentTimestamp(), timeout_ms))
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_IN_USE),
					 errmsg("sessions on database \"%s\" did not exit within %d ms after being terminated",
							name, timeout_ms),
					 errhint("Raise pg_mint.terminate_timeout, or find what keeps them alive in pg_stat_activity.")));
		rc = WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 1,
					   PG_WAIT_EXTENSION);
		if (rc & WL_LATCH_SET)
			ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

/*
 * Create database `name` from `from` (NULL: the server default template),
 * registering it in the same transaction.
 */
Oid
mint_create_registered(const char *name, const char *from, bool allow_conn,
				  const char *kind, const char *state, const char *template_name,
				  Oid template_datid, const char *fingerprint, int strategy)
{
	StringInfoData sql;
	Oid			oid;

	mint_xact_begin();
	/* in the transaction: the strategy may set file_copy_method for it */
	initStringInfo(&sql);
	appendStringInfo(&sql, "CREATE DATABASE %s", quote_identifier(name));
	if (from)
		appendStringInfo(&sql, " TEMPLATE %s%s", quote_identifier(from),
						 strategy_clause(strategy, from, db_oid(from)));
	if (!allow_conn)
		appendStringInfoString(&sql, " ALLOW_CONNECTIONS false");
	mint_exec(sql.data);
	/* from here on nothing may interrupt us before the row commits */
	HOLD_INTERRUPTS();
	oid = db_oid(name);
	if (!OidIsValid(oid))
		elog(ERROR, "database \"%s\" vanished right after CREATE DATABASE", name);
	mint_registry_insert(oid, name, kind, state, template_name, template_datid, fingerprint);
	mint_xact_commit();
	RESUME_INTERRUPTS();
	return oid;
}

/*
 * DROP DATABASE ... WITH (FORCE) in its own transaction.  When it fails
 * (a session the caller may not terminate, a lock held too long, a cancel)
 * the database is put back as it was before the drop began: state
 * restore_state (NULL: leave 'dropping'), IS_TEMPLATE if it was one,
 * connections allowed again if allow_again, so an error never leaves a
 * database that mint.gc() would later drop, sessions and all.
 */
static void
drop_or_restore(const char *name, Oid oid, const char *restore_state, bool was_template,
				bool allow_again)
{
	MemoryContext cxt = CurrentMemoryContext;

	PG_TRY();
	{
		mint_xact_begin();
		if (db_oid(name) == oid)
			mint_exec(psprintf("DROP DATABASE %s WITH (FORCE)", quote_identifier(name)));
		mint_xact_commit();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		while (ActiveSnapshotSet())
			PopActiveSnapshot();
		if (restore_state != NULL)
		{
			mint_xact_begin();
			if (db_oid(name) == oid)
			{
				mint_registry_set(oid, name, restore_state);
				if (was_template)
					mint_exec(psprintf("ALTER DATABASE %s IS_TEMPLATE true", quote_identifier(name)));
				if (allow_again)
					mint_allow_connections(name, true, false);
			}
			mint_xact_commit();
		}
		ReThrowError(edata);
	}
	PG_END_TRY();
}

/*
 * Drop a database pg_mint created: mark it 'dropping', un-flag a template,
 * DROP DATABASE ... WITH (FORCE), then forget it.  Each step commits, so a
 * crash in between leaves a row mint.gc() finishes; a drop that fails puts
 * the database back as it was (drop_or_restore).  restore_state is the state
 * to put back (NULL: the state it has now), allow_again whether connections
 * were allowed before the caller sealed it.
 */
void
mint_drop_registered_ext(const char *name, Oid oid, const char *restore_state, bool allow_again)
{
	MintEntry	e;
	bool		was_template;
	char	   *prev = NULL;

	mint_xact_begin();
	mint_registry_lookup(name, oid, &e);
	if (restore_state != NULL)
		prev = pstrdup(restore_state);
	else if (e.found && strcmp(e.state, "dropping") != 0)
		prev = pstrdup(e.state);
	was_template = mint_db_is_template(oid);
	mint_registry_set(oid, name, "dropping");
	if (was_template)
		mint_exec(psprintf("ALTER DATABASE %s IS_TEMPLATE false", quote_identifier(name)));
	mint_xact_commit();

	drop_or_restore(name, oid, prev, was_template, allow_again);

	mint_xact_begin();
	mint_registry_delete(oid);
	mint_xact_commit();
}

void
mint_drop_registered(const char *name, Oid oid)
{
	mint_drop_registered_ext(name, oid, NULL, false);
}

/*
 * name (oid) must be a database pg_mint created, that the caller could drop
 * by hand, and that nothing outliving its sessions holds.
 */
static void
require_droppable(const char *name, Oid oid, MintEntry *e)
{
	mint_registry_lookup(name, oid, e);
	require_pg_mint(name, e);
	require_owner(name, oid, "drop");
	mint_check_blockers(name, oid);
}

/*
 * Drop database name if it exists, after require_droppable(); returns its
 * OID (InvalidOid when there was none) and its registry entry in *e.
 */
static Oid
drop_checked(const char *name, MintEntry *e)
{
	Oid			oid;

	mint_xact_begin();
	oid = db_oid(name);
	if (OidIsValid(oid))
		require_droppable(name, oid, e);
	mint_xact_commit();
	if (OidIsValid(oid))
		mint_drop_registered(name, oid);
	return oid;
}

/* ---- template_begin: drop any stale version, create an empty one ------- */
static void
op_begin(MintParams *p)
{
	const char *tpl = p->template_name;
	Oid			oid;

	mint_xact_begin();
	/* refuse before anything is dropped */
	if (!mint_have_createdb_privilege())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to create template database \"%s\"", tpl),
				 errdetail("Role \"%s\" does not have the CREATEDB attribute.",
						   GetUserNameFromId(GetUserId(), false)),
				 errhint("A superuser can grant it: ALTER ROLE %s CREATEDB;",
						 quote_identifier(GetUserNameFromId(GetUserId(), false)))));
	oid = db_oid(tpl);
	if (OidIsValid(oid))
		require_replaceable(tpl, oid, "template", "rebuild");
	mint_xact_commit();

	if (OidIsValid(oid))
		mint_drop_registered(tpl, oid);	/* stale or unfinished */

	(void) mint_create_registered(tpl, NULL, true, "template", "building", NULL, InvalidOid,
							 p->fingerprint, MINT_STRATEGY_DEFAULT);
	mint_send_result("build");
	mint_send_done();
}

/* ---- template_finish: seal the template ---------------------------------- */
static void
op_finish(MintParams *p)
{
	const char *tpl = p->template_name;
	Oid			oid;
	MintEntry	e;

	mint_xact_begin();
	oid = db_oid(tpl);
	if (!OidIsValid(oid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_DATABASE),
				 errmsg("template database \"%s\" does not exist", tpl),
				 errhint("It was dropped while being built; call mint.template_abort('%s') and start again.", tpl)));
	mint_registry_lookup(tpl, oid, &e);
	require_pg_mint(tpl, &e);
	if (strcmp(e.kind, "template") != 0 || strcmp(e.state, "building") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("template \"%s\" is not being built", tpl)));
	mint_check_blockers(tpl, oid);
	/* keep new sessions out, then end the ones still there */
	mint_exec(psprintf("ALTER DATABASE %s ALLOW_CONNECTIONS false", quote_identifier(tpl)));
	mint_xact_commit();

	mint_xact_begin();
	mint_terminate_sessions(tpl, oid, p->terminate_timeout_ms);
	mint_xact_commit();

	mint_xact_begin();
	mint_exec(psprintf("ALTER DATABASE %s IS_TEMPLATE true", quote_identifier(tpl)));
	mint_registry_set(oid, tpl, "ready");
	mint_xact_commit();

	mint_send_done();

	/* a pool waiting for this template can fill now */
	mint_xact_begin();
	{
		Oid			owner = mint_pool_active_owner(mint_pool_config_owner(tpl), oid);

		if (OidIsValid(owner))
			mint_pool_kick(tpl, owner, InvalidTransactionId);
	}
	mint_xact_commit();
}

/* ---- template_abort: drop the half-built template ------------------------- */
static void
op_abort(MintParams *p)
{
	MintEntry	e;

	(void) drop_checked(p->template_name, &e);
	mint_send_done();
}

/* ---- clone --------------------------------------------------------------- */

/* Error unless tpl (tpl_oid), the database a clone is made from, exists. */
void
mint_template_exists(const char *tpl, Oid tpl_oid)
{
	if (!OidIsValid(tpl_oid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_DATABASE),
				 errmsg("template database \"%s\" does not exist", tpl),
				 errhint("Build it first: SELECT mint.template_begin('%s', fingerprint), create the schema, then SELECT mint.template_finish('%s').",
						 tpl, tpl)));
}

/*
 * May clones be made from tpl, whose registry row (if any) is *entry?
 * Errors when it is a pg_mint template not finished.  Returns true when it
 * is a finished pg_mint template.
 */
bool
mint_template_check(const char *tpl, MintEntry *entry)
{
	if (entry->found && strcmp(entry->kind, "template") == 0 && strcmp(entry->state, "ready") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("template \"%s\" is not finished", tpl),
				 errdetail("Its build was started with mint.template_begin but not finished: the builder is this session, or it aborted or died."),
				 errhint("Call mint.template_finish('%s') from the building session, or mint.template_begin('%s', fingerprint) to rebuild it.",
						 tpl, tpl)));
	return entry->found && strcmp(entry->kind, "template") == 0;
}

/* May the existing database target (oid), whose row is *entry, be replaced by a clone? */
void
mint_check_clone_target(const char *target, Oid oid, MintEntry *entry)
{
	require_replaceable_entry(target, oid, entry, "clone", "replace");
}

/*
 * In the current transaction: put database new_name (a finished copy with
 * connections disallowed) in place of target.  An existing target (old_oid)
 * is locked so nobody can enter it, emptied of sessions, and renamed to
 * old_name, a private name (to be dropped later).  At commit, target names
 * the new database; before, the old one.  The registry is the caller's job.
 */
void
mint_swap_databases(const char *target, Oid old_oid, const char *old_name,
					const char *new_name, int terminate_timeout_ms, bool nested)
{
	if (OidIsValid(old_oid))
	{
		MintLock	old_lock;

		/*
		 * A worker keeps the old copy's name locked until it has dropped it,
		 * so mint.gc() leaves it alone; in the caller's own transaction
		 * (nested) the pool worker drops it later under the same lock.
		 */
		mint_lock_init(&old_lock, old_name, ExclusiveLock);
		if (!nested)
			(void) mint_lock_try(&old_lock);
		LockSharedObject(DatabaseRelationId, old_oid, 0, AccessExclusiveLock);
		/* the lock made us read the latest catalog changes */
		if (!mint_db_named(old_oid, target))
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("database \"%s\" was changed by someone else while pg_mint replaced it", target)));
		/* blockers were checked before copying; a new one makes this fail with 55006 */
		mint_terminate_sessions(target, old_oid, terminate_timeout_ms);
		mint_rename_database(target, old_name, nested);
	}
	mint_rename_database(new_name, target, nested);
	mint_allow_connections(target, true, nested);
}

/*
 * mint_swap_databases, then the bookkeeping in one statement: the old copy
 * is 'dropping' under its private name (returned in old_name, empty when
 * there was none), the new one is the ready clone (datname's uniqueness is
 * checked at commit).
 */
void
mint_swap_into_target(const char *target, Oid old_oid, const char *new_name, Oid new_oid,
					  char *old_name, int terminate_timeout_ms, bool nested)
{
	Oid			types[4] = {OIDOID, TEXTOID, TEXTOID, OIDOID};
	Datum		values[4];

	old_name[0] = '\0';
	if (OidIsValid(old_oid))
		strlcpy(old_name, mint_private_name("old"), NAMEDATALEN);
	mint_swap_databases(target, old_oid, old_name, new_name, terminate_timeout_ms, nested);

	values[0] = ObjectIdGetDatum(new_oid);
	values[1] = CStringGetTextDatum(target);
	values[2] = CStringGetTextDatum(old_name);
	values[3] = ObjectIdGetDatum(old_oid);
	(void) mint_registry_exec("UPDATE mint.registry SET"
							  "   kind = CASE WHEN datid" EQ "$1 THEN 'clone' ELSE kind END,"
							  "   state = CASE WHEN datid" EQ "$1 THEN 'ready' ELSE 'dropping' END,"
							  "   datname = CASE WHEN datid" EQ "$1 THEN $2 ELSE $3 END,"
							  "   created_at = CASE WHEN datid" EQ "$1 THEN pg_catalog.clock_timestamp() ELSE created_at END,"
							  "   finished_at = CASE WHEN datid" EQ "$1 THEN pg_catalog.clock_timestamp() ELSE finished_at END"
							  " WHERE datid" EQ "$1 OR (datid" EQ "$4 AND $4" NE "0::pg_catalog.oid)",
							  4, types, values, NULL, NULL, 0);
}

static void
op_clone(MintParams *p)
{
	const char *tpl = p->template_name;
	const char *target = p->target;
	const char *fingerprint = p->fingerprint_len >= 0 ? p->fingerprint : NULL;
	Oid			tpl_oid = p->tpl_oid;	/* checked by the caller (pg_mint.c) */
	Oid			old_oid = p->old_oid;
	Oid			new_oid;
	char	   *new_name;
	char		old_name[NAMEDATALEN];
	MintLock	new_lock;

	/* a warm spare: only inside a transaction block (else the caller took it) */
	if (!(p->flags & MINT_FLAG_NO_POOL))
	{
		bool		taken;
		Oid			pool_owner;

		mint_xact_begin();
		pool_owner = mint_pool_owner_for_caller(mint_pool_config_owner(tpl), tpl_oid);
		taken = OidIsValid(pool_owner) &&
			mint_pool_take(tpl, tpl_oid, pool_owner, target, old_oid, false, old_name,
						   p->terminate_timeout_ms);
		mint_xact_commit();
		if (taken)
			mint_worker_finishing();
		if (OidIsValid(pool_owner))
		{
			/* top the pool up again (or fill it after a miss) */
			mint_xact_begin();
			mint_pool_kick(tpl, pool_owner, InvalidTransactionId);
			mint_xact_commit();
		}
		if (taken)
		{
			mint_send_result(target);
			mint_send_done();
			if (old_name[0])
				mint_drop_registered(old_name, old_oid);
			return;
		}
	}

	if (!OidIsValid(old_oid))
	{
		/* fresh target: create it under its own name */
		(void) mint_create_registered(target, tpl, true, "clone", "ready", tpl, tpl_oid,
									  fingerprint, p->strategy);
		mint_trace("CREATE DATABASE");
		mint_send_result(target);
		mint_send_done();
		return;
	}

	/* replace: build the copy under a private name, then swap by rename */
	new_name = mint_private_name("new");
	mint_lock_init(&new_lock, new_name, ExclusiveLock);
	(void) mint_lock_try(&new_lock);
	new_oid = mint_create_registered(new_name, tpl, false, "clone", "building", tpl, tpl_oid,
									 fingerprint, p->strategy);
	strlcpy(cleanup_name, new_name, NAMEDATALEN);
	cleanup_oid = new_oid;
	mint_trace("CREATE DATABASE");

	mint_xact_begin();
	mint_swap_into_target(target, old_oid, new_name, new_oid, old_name,
						  p->terminate_timeout_ms, false);
	HOLD_INTERRUPTS();
	mint_xact_commit();
	mint_worker_finishing();
	RESUME_INTERRUPTS();
	cleanup_oid = InvalidOid;

	mint_trace("swap");
	mint_send_result(target);
	mint_send_done();

	/* off the caller's path: DROP DATABASE forces a checkpoint */
	mint_drop_registered(old_name, old_oid);
	mint_trace("drop of the replaced copy (after answering)");
}

/* ---- drop ---------------------------------------------------------------- */
static void
op_drop(MintParams *p)
{
	const char *target = p->target;
	MintEntry	e;
	Oid			oid = drop_checked(target, &e);

	mint_send_result(OidIsValid(oid) ? "t" : "f");
	mint_send_done();

	if (OidIsValid(oid) && strcmp(e.kind, "template") == 0)
	{
		/*
		 * The pool goes with its template; its spares are stale now: let the
		 * pool owner's refiller drop them.
		 */
		mint_xact_begin();
		{
			Oid			owner = mint_pool_config_owner_any(target);

			mint_pool_forget(target);
			if (OidIsValid(owner))
				mint_pool_kick(target, owner, InvalidTransactionId);
		}
		mint_xact_commit();
	}
}

/* ---- gc -------------------------------------------------------------------- */
typedef struct GcRow
{
	Oid			datid;
	char		datname[NAMEDATALEN];
	char		kind[16];
	char		state[16];
	bool		old_enough;
	bool		gone;
	int			server_version;
	bool		stale_spare;	/* spare of an old build, or its pool is off */
	char		created_at[40];
} GcRow;

/* false (with a NOTICE) when something that outlives sessions uses r */
static bool
find_blocker_ok(GcRow *r)
{
	char	   *what,
			   *ident;
	bool		blocked;

	mint_xact_begin();
	blocked = mint_find_blocker(r->datid, &what, &ident);
	if (blocked)
		ereport(NOTICE,
				(errmsg("mint.gc() skipped database \"%s\": it is used by %s \"%s\"",
						r->datname, what, ident)));
	mint_xact_commit();
	return !blocked;
}

static bool
gc_drop_if_idle(GcRow *r)
{
	bool		idle;

	mint_xact_begin();
	LockSharedObject(DatabaseRelationId, r->datid, 0, AccessExclusiveLock);
	idle = (db_oid(r->datname) == r->datid && CountDBBackends(r->datid) == 0);
	if (idle)
	{
		char	   *what,
				   *ident;

		/* a prepared transaction keeps it: leave it as it is, connectable */
		if (mint_find_blocker(r->datid, &what, &ident))
		{
			ereport(NOTICE,
					(errmsg("mint.gc() skipped database \"%s\": it is used by %s \"%s\"",
							r->datname, what, ident)));
			idle = false;
		}
	}
	if (idle)
	{
		/* nobody is on it and nobody can enter until we commit: seal it */
		mint_exec(psprintf("ALTER DATABASE %s ALLOW_CONNECTIONS false", quote_identifier(r->datname)));
		mint_registry_set(r->datid, r->datname, "dropping");
	}
	mint_xact_commit();
	if (idle)
		mint_drop_registered_ext(r->datname, r->datid, "ready", true);
	return idle;
}

static bool
skipped_by_caller(MintParams *p, Oid datid)
{
	int			i;

	for (i = 0; i < p->nskip; i++)
		if (p->skip[i] == datid)
			return true;
	return false;
}

/*
 * Under r's name lock: is r still the row gc read (same OID, name, not gone)?
 * A concurrent gc or drop may have finished with it meanwhile.
 */
static bool
gc_row_still_there(GcRow *r)
{
	MintEntry	e;
	bool		there;

	mint_xact_begin();
	there = mint_db_named(r->datid, r->datname);
	if (there)
	{
		mint_registry_lookup(r->datname, r->datid, &e);
		there = e.found;
	}
	mint_xact_commit();
	return there;
}

static void
op_gc(MintParams *p)
{
	Oid			types[1] = {TIMESTAMPTZOID};
	Datum		values[1];
	GcRow	   *rows = NULL;
	int			nrows = 0;
	int			i;
	int			major = PG_VERSION_NUM / 10000;
	const char *svn = GetConfigOption("server_version_num", false, false);
	TimestampTz cutoff;

	if (svn)
		major = atoi(svn) / 10000;

	/* the caller checked that now - older_than is a valid timestamp */
	cutoff = GetCurrentTimestamp() - p->older_than_us;

	/*
	 * Never wait long for what another transaction holds (a database, a
	 * bookkeeping row): skip it and go on, so nobody's open transaction can
	 * stall everyone's gc.
	 */
	SetConfigOption("lock_timeout", MINT_GC_LOCK_TIMEOUT, PGC_USERSET, PGC_S_SESSION);

	mint_xact_begin();
	values[0] = TimestampTzGetDatum(cutoff);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (mint_spi_run(
					 "SELECT r.datid, r.datname, r.kind, r.state,"
					 "       r.created_at" LT "$1,"
					 "       d.oid IS NULL OR d.datname::pg_catalog.text" NE "r.datname,"
					 "       r.server_version,"
					 "       r.kind" EQ "'spare' AND ("
					 "         NOT COALESCE(r.template_datid" EQ "(SELECT t.oid FROM pg_catalog.pg_database t"
					 "                                          WHERE t.datname::pg_catalog.text" EQ "r.template), false)"
					 "         OR NOT EXISTS (SELECT 1 FROM mint.pool_config p"
					 "                         WHERE p.template" EQ "r.template AND p.spares" GT "0"
					 "                           AND p.owner" EQ "r.owner)),"
					 "       pg_catalog.to_char(r.created_at, 'YYYY-MM-DD HH24:MI:SS')"
					 "  FROM mint.registry r LEFT JOIN pg_catalog.pg_database d ON d.oid" EQ "r.datid"
					 " ORDER BY r.created_at",
					 1, types, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "reading mint.registry failed");
	nrows = (int) SPI_processed;
	rows = (GcRow *) MemoryContextAllocZero(TopMemoryContext, sizeof(GcRow) * Max(nrows, 1));
	for (i = 0; i < nrows; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		TupleDesc	d = SPI_tuptable->tupdesc;
		bool		isnull;

		rows[i].datid = DatumGetObjectId(SPI_getbinval(t, d, 1, &isnull));
		strlcpy(rows[i].datname, SPI_getvalue(t, d, 2), NAMEDATALEN);
		strlcpy(rows[i].kind, SPI_getvalue(t, d, 3), sizeof(rows[i].kind));
		strlcpy(rows[i].state, SPI_getvalue(t, d, 4), sizeof(rows[i].state));
		rows[i].old_enough = DatumGetBool(SPI_getbinval(t, d, 5, &isnull));
		rows[i].gone = DatumGetBool(SPI_getbinval(t, d, 6, &isnull));
		rows[i].server_version = DatumGetInt32(SPI_getbinval(t, d, 7, &isnull));
		rows[i].stale_spare = DatumGetBool(SPI_getbinval(t, d, 8, &isnull));
		strlcpy(rows[i].created_at, SPI_getvalue(t, d, 9), sizeof(rows[i].created_at));
	}
	SPI_finish();
	mint_xact_commit();

	for (i = 0; i < nrows; i++)
	{
		GcRow	   *r = &rows[i];
		MintLock	lock;
		volatile bool dropped = false;
		bool		mine;

		CHECK_FOR_INTERRUPTS();
		/* what the calling transaction itself holds (a pool hit): not ours to wait for */
		if (skipped_by_caller(p, r->datid))
			continue;
		if (r->gone && (p->flags & MINT_FLAG_DRY_RUN))
			continue;
		if (r->gone && !(p->flags & MINT_FLAG_DRY_RUN))
		{
			/* the database went away (or was renamed) by hand: forget it */
			mint_xact_begin();
			mint_registry_delete(r->datid);
			mint_xact_commit();
			continue;
		}

		/* somebody working on it (a builder, a clone, a drop, another gc) holds this */
		mint_lock_init(&lock, r->datname, ExclusiveLock);
		if (!mint_lock_try(&lock))
			continue;

		PG_TRY();
		{
			const char *reason = NULL;

			if (!gc_row_still_there(r))
			{
				ereport(NOTICE,
						(errmsg("mint.gc() skipped database \"%s\": it was dropped or renamed meanwhile",
								r->datname)));
				mine = false;
			}
			else
			{
				mint_xact_begin();
				mine = mint_database_ownercheck(r->datid, GetUserId());
				mint_xact_commit();
			}

			if (!mine)
				;				/* gone, or not ours to drop: the caller could not by hand */
			else if (strcmp(r->state, "ready") != 0)
				reason = "unfinished: its builder or worker is gone";
			else if (strcmp(r->kind, "template") == 0 && r->server_version / 10000 != major)
				reason = psprintf("template built by PostgreSQL %d", r->server_version / 10000);
			else if (strcmp(r->kind, "clone") == 0 && r->old_enough &&
					 CountDBBackends(r->datid) == 0)
				reason = psprintf("idle clone created %s", r->created_at);
			else if (strcmp(r->kind, "spare") == 0 && r->stale_spare)
				reason = "spare of an old template build or of a pool that is off";

			if (reason == NULL || !find_blocker_ok(r))
				;				/* nothing to do, or skipped with a NOTICE */
			else if (p->flags & MINT_FLAG_DRY_RUN)
				mint_send_result(psprintf("%s\t%s", r->datname, reason));
			else if (strcmp(r->kind, "clone") == 0 && strcmp(r->state, "ready") == 0)
				dropped = gc_drop_if_idle(r);	/* re-checked under lock */
			else
			{
				mint_drop_registered(r->datname, r->datid);
				dropped = true;
			}
		}
		PG_CATCH();
		{
			/* one database that cannot go must not stop the collection */
			ErrorData  *edata;

			MemoryContextSwitchTo(TopMemoryContext);
			edata = CopyErrorData();
			FlushErrorState();
			AbortCurrentTransaction();
			while (ActiveSnapshotSet())
				PopActiveSnapshot();
			if (edata->sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE)
				ereport(NOTICE,
						(errmsg("mint.gc() skipped database \"%s\": another transaction holds it", r->datname),
						 errdetail("%s", edata->message)));
			else
				ereport(WARNING,
						(errcode(edata->sqlerrcode),
						 errmsg("mint.gc() could not drop database \"%s\": %s", r->datname, edata->message)));
			FreeErrorData(edata);
			dropped = false;
		}
		PG_END_TRY();
		mint_lock_release(&lock);

		if (dropped)
			mint_send_result(r->datname);
	}
	/* pools of templates that are gone (dropped by hand, say) go too */
	if (!(p->flags & MINT_FLAG_DRY_RUN))
		mint_pool_forget_orphans();
	mint_send_done();
}

void
mint_op_run(MintParams *p)
{
	switch (p->op)
	{
		case MINT_OP_BEGIN:
			op_begin(p);
			break;
		case MINT_OP_FINISH:
			op_finish(p);
			break;
		case MINT_OP_ABORT:
			op_abort(p);
			break;
		case MINT_OP_CLONE:
			op_clone(p);
			break;
		case MINT_OP_DROP:
			op_drop(p);
			break;
		case MINT_OP_GC:
			op_gc(p);
			break;
	}
}

/* After a failed operation: drop what it had created and not handed over. */
void
mint_op_cleanup(MintParams *p)
{
	if (OidIsValid(cleanup_oid))
	{
		Oid			oid = cleanup_oid;

		cleanup_oid = InvalidOid;
		mint_drop_registered(cleanup_name, oid);
	}
}
