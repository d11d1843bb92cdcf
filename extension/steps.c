/*
 * steps.c -- the registered steps every operation is made of: create a
 * database with its registry row, drop one pg_mint made, swap a finished
 * copy in place of a target, terminate the sessions on a database.
 *
 * Layer: steps, below the operations.  Called by ops.c (the operations a
 * worker runs), refill.c (the pool's refiller) and pool.c (a pool hit's
 * swap); calls registry.c, exec.c, locks.c, names.c and reflink.c.
 *
 * Rules every step keeps:
 *  - every statement runs with the caller's privileges (the worker, or the
 *    caller's own backend for a pool hit, runs as the caller);
 *  - a new database and its registry row commit together; a database is
 *    marked 'dropping' before it is dropped, and its row goes afterwards;
 *  - a replaced clone is swapped out by two renames in one transaction, so
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
#include "storage/proc.h"
#include "storage/procarray.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "pg_mint.h"

/*
 * The STRATEGY clause of a copy of database `from` (whose OID is from_oid).
 * clone, and auto where cloning works, use FILE_COPY with file_copy_method
 * = clone for the current transaction only; clone fails where it cannot
 * share blocks, auto then picks WAL_LOG or FILE_COPY (autostrategy.c; on
 * 13 and 14, which have no STRATEGY, the server's one way).
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
#ifdef MINT_HAVE_STRATEGY
		/* auto: the copy this server does fastest now (autostrategy.c) */
		strategy = mint_auto_strategy(from_oid, spcoid);
		mint_trace(strategy == MINT_STRATEGY_FILE_COPY ? "auto: file_copy" : "auto: wal_log");
#else
		return "";
#endif
	}
#ifdef MINT_HAVE_STRATEGY
	if (strategy == MINT_STRATEGY_WAL_LOG)
		return " STRATEGY wal_log";
	if (strategy == MINT_STRATEGY_FILE_COPY)
		return " STRATEGY file_copy";
#endif
	return "";
}

/*
 * An autovacuum worker visiting the database (or a backend still starting)
 * makes TerminateOtherDBBackends(), and so DROP DATABASE ... WITH (FORCE),
 * fail with 42501 for a role that is not a superuser: it runs as no role the
 * caller may signal.  Fresh clones attract autovacuum: under load a CI job's
 * mint.drop failed so.  Before terminating, wait (at most 5 s) until no
 * backend without a role is on the database: when nothing else is there,
 * CountOtherDBBackends() tells the autovacuum workers to exit and waits for
 * them, as a plain DROP DATABASE does; otherwise poll, since autovacuum
 * leaves a small database by itself soon.  Reads pg_stat_activity afresh
 * each time (its snapshot lasts a transaction otherwise).
 */
#define MINT_ROLELESS_WAIT_MS 5000

static int
roleless_backends(Oid oid, bool *others)
{
	Oid			types[1] = {OIDOID};
	Datum		values[1];
	int			n = 0;

	values[0] = ObjectIdGetDatum(oid);
	*others = false;
	pgstat_clear_snapshot();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (mint_spi_run("SELECT pg_catalog.count(*) FILTER (WHERE a.usesysid IS NULL),"
					 "       pg_catalog.count(*) FILTER (WHERE a.usesysid IS NOT NULL)"
					 "  FROM pg_catalog.pg_stat_activity a"
					 " WHERE a.datid" EQ "$1 AND a.pid" NE "pg_catalog.pg_backend_pid()",
					 1, types, values, NULL, true, 1) == SPI_OK_SELECT && SPI_processed == 1)
	{
		bool		isnull;

		n = (int) DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		*others = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull)) > 0;
	}
	SPI_finish();
	return n;
}

static void
roleless_away(Oid oid)
{
	TimestampTz start = GetCurrentTimestamp();
	bool		others;

	while (roleless_backends(oid, &others) > 0 &&
		   !TimestampDifferenceExceeds(start, GetCurrentTimestamp(), MINT_ROLELESS_WAIT_MS))
	{
		if (!others)
		{
			int			nbackends;
			int			nprepared;

			(void) CountOtherDBBackends(oid, &nbackends, &nprepared);
		}
		else
		{
			int			rc = WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 10,
									   PG_WAIT_EXTENSION);

			if (rc & WL_LATCH_SET)
				ResetLatch(MyLatch);
			CHECK_FOR_INTERRUPTS();
		}
	}
}

/* a session on the database of a role the caller may not signal */
static bool
foreign_sessions(Oid oid)
{
	Oid			types[1] = {OIDOID};
	Datum		values[1];
	bool		found;

	values[0] = ObjectIdGetDatum(oid);
	pgstat_clear_snapshot();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	found = mint_spi_run("SELECT 1 FROM pg_catalog.pg_stat_activity a"
						 " WHERE a.datid" EQ "$1 AND a.usesysid IS NOT NULL"
						 "   AND NOT pg_catalog.pg_has_role(a.usesysid, 'USAGE')",
						 1, types, values, NULL, true, 1) == SPI_OK_SELECT && SPI_processed > 0;
	SPI_finish();
	return found;
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
	roleless_away(oid);
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

const char *mint_job_display_target = NULL;

/*
 * Take, in the current transaction, the lock CREATE DATABASE takes on its
 * template (ShareLock on the database object), waiting at most the caller's
 * lock_timeout, then make sure nobody is connected to it.  Done before the
 * copy slot: a session that holds a conflicting lock on the template (ALTER,
 * COMMENT ON or DROP DATABASE in an open transaction of its own) or sits
 * connected to it then keeps only its own copies waiting or failing, never
 * a slot other roles' copies queue for.  (What else CREATE DATABASE could
 * wait for is its new name, which is always a private one: see
 * mint_create_registered.)  A template dropped or renamed while we waited is
 * looked up again; one that is gone is left to CREATE DATABASE's own error.
 */
static void
lock_template(const char *from, const char *target)
{
	int			timeout_ms = mint_job_lock_timeout_ms;
	Oid			oid = get_database_oid(from, true);

	while (OidIsValid(oid))
	{
		LOCKTAG		tag;
		Oid			now;
		HeapTuple	tup;

		/*
		 * Only a template the caller may copy by hand (IS_TEMPLATE, or one
		 * it owns), as CREATE DATABASE decides: our lock and the wait for
		 * sessions below would otherwise let anyone keep new sessions out
		 * of another role's database.
		 */
		tup = SearchSysCache1(DATABASEOID, ObjectIdGetDatum(oid));
		if (HeapTupleIsValid(tup))
		{
			Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);
			bool		may = db->datistemplate || has_privs_of_role(GetUserId(), db->datdba);

			ReleaseSysCache(tup);
			if (!may)
				ereport(ERROR,
						(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
						 errmsg("permission denied to copy database \"%s\"", from),
						 errdetail("Only a database marked IS_TEMPLATE, or one the role owns, may be copied."),
						 errhint("Clone a pg_mint template (mint.template_begin ... mint.template_finish), or ask its owner.")));
		}

		SET_LOCKTAG_OBJECT(tag, InvalidOid, DatabaseRelationId, oid, 0);
		if (!mint_lock_tag_within(&tag, ShareLock, false, timeout_ms, NULL))
			ereport(ERROR,
					(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
					 errmsg("could not lock template database \"%s\" to copy it to \"%s\" within lock_timeout (%d ms)",
							from, target, timeout_ms),
					 errdetail("Another session holds a lock on database \"%s\" that conflicts with copying it (ALTER, COMMENT ON or DROP DATABASE in an open transaction).",
							   from),
					 errhint("End that transaction (pg_locks shows it: locktype object, classid pg_database), or raise lock_timeout.")));
		/* as LockSharedObject does: see what committed while we waited */
		AcceptInvalidationMessages();
		now = get_database_oid(from, true);
		if (now == oid)
		{
			int			nsessions;
			int			nprepared;

			/*
			 * No new session can connect while we hold the lock: wait for
			 * the ones still there (up to 5 s, ending autovacuum's, as
			 * CREATE DATABASE does) here, before the copy slot, not in it.
			 */
			if (CountOtherDBBackends(oid, &nsessions, &nprepared))
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_IN_USE),
						 errmsg("template database \"%s\" is being accessed by other users", from),
						 errdetail("%d other sessions and %d prepared transactions are using it; a database is copied only when nobody is connected to it.",
								   nsessions, nprepared),
						 errhint("End those sessions (pg_stat_activity shows them), or keep connections to the template off: ALTER DATABASE %s ALLOW_CONNECTIONS false.",
								 quote_identifier(from))));
			return;
		}
		UnlockSharedObject(DatabaseRelationId, oid, 0, ShareLock);
		oid = now;
	}
}

/*
 * Create database `name` from `from` (NULL: the server default template),
 * registering it in the same transaction.  `name` is always a private name
 * (mint_private_name): nobody else can hold it (an uncommitted rename to it,
 * a bookkeeping row of that name) and so make the copy wait while it holds
 * a copy slot, or wait after CREATE DATABASE, where nothing may interrupt
 * it; the callers rename the copy to its final name afterwards.  First the role's quota
 * (quota.c: refused at once, before copying) and a copy slot (admission.c:
 * queued in arrival order); a clone gets the job's lease, and every copy
 * appends its time to mint.stat_events.
 */
Oid
mint_create_registered(const char *name, const char *from, bool allow_conn,
				  const char *kind, const char *state, const char *template_name,
				  Oid template_datid, const char *fingerprint, int strategy,
				  const char *version_of, const char *run)
{
	StringInfoData sql;
	Oid			oid;
	TimestampTz start = GetCurrentTimestamp();
	bool		is_template = strcmp(kind, "template") == 0;
	const char *tpl = template_name ? template_name : (version_of ? version_of : name);
	const char *shown = mint_job_display_target ? mint_job_display_target : name;

	Assert(strncmp(name, "_mint_", 6) == 0);

	(void) mint_quota_reserve(GetUserId(), kind, shown, tpl, from, true);
	PG_TRY();
	{
		/*
		 * One transaction from the template's lock to the commit: the lock
		 * CREATE DATABASE takes on its template is ours before a copy slot
		 * is, so a copy that holds a slot never waits for its template.
		 */
		mint_xact_begin();
		mint_activity_begin(is_template ? "build" : kind, tpl, shown);
		/* without TEMPLATE, CREATE DATABASE copies template1 */
		lock_template(from ? from : "template1", shown);
		mint_copy_slot_acquire();
		/* in the transaction: the strategy may set file_copy_method for it */
		initStringInfo(&sql);
		appendStringInfo(&sql, "CREATE DATABASE %s", quote_identifier(name));
		if (from)
			appendStringInfo(&sql, " TEMPLATE %s%s", quote_identifier(from),
							 strategy_clause(strategy, from, get_database_oid(from, true)));
		if (!allow_conn)
			appendStringInfoString(&sql, " ALLOW_CONNECTIONS false");
		mint_activity_copying(sql.data);
		mint_exec(sql.data);
		/* from here on nothing may interrupt us before the row commits */
		HOLD_INTERRUPTS();
		oid = get_database_oid(name, true);
		if (!OidIsValid(oid))
			elog(ERROR, "database \"%s\" vanished right after CREATE DATABASE", name);
		mint_registry_insert(oid, name, kind, state, template_name, template_datid, fingerprint,
							 version_of, run);
		if (strcmp(kind, "clone") == 0)
			mint_lease_set(oid, mint_job_lease_us);
		if (!is_template)
			mint_stat_event(kind, tpl,
							(double) (GetCurrentTimestamp() - start) / 1000.0, GetUserId());
		mint_xact_commit();
		RESUME_INTERRUPTS();
	}
	PG_FINALLY();
	{
		mint_copy_slot_release();
		mint_quota_release();
	}
	PG_END_TRY();
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
	int			attempt;

	for (attempt = 0;; attempt++)
	{
		volatile bool again = false;

		PG_TRY();
		{
			mint_xact_begin();
			if (get_database_oid(name, true) == oid)
			{
				roleless_away(oid);
				mint_exec(psprintf("DROP DATABASE %s WITH (FORCE)", quote_identifier(name)));
			}
			mint_xact_commit();
		}
		PG_CATCH();
		{
			ErrorData  *edata = mint_catch_error(cxt);

			/*
			 * 42501 with no session of a role the caller may not signal: a
			 * backend without a role (autovacuum, or one still starting)
			 * came in after roleless_away() looked.  Try again, a few times.
			 */
			if (edata->sqlerrcode == ERRCODE_INSUFFICIENT_PRIVILEGE && attempt < 3)
			{
				mint_xact_begin();
				again = !foreign_sessions(oid);
				mint_xact_commit();
			}
			if (!again)
			{
				if (restore_state != NULL)
				{
					mint_xact_begin();
					if (get_database_oid(name, true) == oid)
					{
						mint_registry_set(oid, name, restore_state);
						if (was_template)
							mint_exec(psprintf("ALTER DATABASE %s IS_TEMPLATE true", quote_identifier(name)));
						if (allow_again)
							mint_allow_connections(name, true, MINT_XACT_OWN);
					}
					mint_xact_commit();
				}
				ReThrowError(edata);
			}
			FreeErrorData(edata);
		}
		PG_END_TRY();
		if (!again)
			break;
	}
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
 * In the current transaction: put database new_name (a finished copy with
 * connections disallowed) in place of target.  An existing target (old_oid)
 * is locked so nobody can enter it, emptied of sessions, and renamed to
 * old_name, a private name (to be dropped later).  At commit, target names
 * the new database; before, the old one.  The registry is the caller's job.
 */
void
mint_swap_databases(const char *target, Oid old_oid, const char *old_name,
					const char *new_name, int terminate_timeout_ms, MintXact xact)
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
		if (xact == MINT_XACT_OWN)
			(void) mint_lock_try(&old_lock);
		LockSharedObject(DatabaseRelationId, old_oid, 0, AccessExclusiveLock);
		/* the lock made us read the latest catalog changes */
		if (!mint_db_named(old_oid, target))
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("database \"%s\" was changed by someone else while pg_mint replaced it", target)));
		/* blockers were checked before copying; a new one makes this fail with 55006 */
		mint_terminate_sessions(target, old_oid, terminate_timeout_ms);
		mint_rename_database(target, old_name, xact);
	}
	mint_rename_database(new_name, target, xact);
	mint_allow_connections(target, true, xact);
}

/*
 * mint_swap_databases, then the bookkeeping in one statement: the old copy
 * is 'dropping' under its private name (returned in old_name, empty when
 * there was none), the new one is the ready clone (datname's uniqueness is
 * checked at commit).
 */
void
mint_swap_into_target(const char *target, Oid old_oid, const char *new_name, Oid new_oid,
					  char *old_name, int terminate_timeout_ms, MintXact xact)
{
	Oid			types[4] = {OIDOID, TEXTOID, TEXTOID, OIDOID};
	Datum		values[4];

	old_name[0] = '\0';
	if (OidIsValid(old_oid))
		strlcpy(old_name, mint_private_name("old"), NAMEDATALEN);
	mint_swap_databases(target, old_oid, old_name, new_name, terminate_timeout_ms, xact);

	values[0] = ObjectIdGetDatum(new_oid);
	values[1] = CStringGetTextDatum(target);
	values[2] = CStringGetTextDatum(old_name);
	values[3] = ObjectIdGetDatum(old_oid);
	/* the new row takes the name: older rows of that name are garbage */
	mint_registry_forget_name(target, new_oid, old_oid);
	(void) mint_registry_exec("UPDATE mint.registry SET"
							  "   kind = CASE WHEN datid" EQ "$1 THEN 'clone' ELSE kind END,"
							  "   state = CASE WHEN datid" EQ "$1 THEN 'ready' ELSE 'dropping' END,"
							  "   datname = CASE WHEN datid" EQ "$1 THEN $2 ELSE $3 END,"
							  "   created_at = CASE WHEN datid" EQ "$1 THEN pg_catalog.clock_timestamp() ELSE created_at END,"
							  "   finished_at = CASE WHEN datid" EQ "$1 THEN pg_catalog.clock_timestamp() ELSE finished_at END"
							  " WHERE datid" EQ "$1 OR (datid" EQ "$4 AND $4" NE "0::pg_catalog.oid)",
							  4, types, values, NULL, NULL, 0);
}
