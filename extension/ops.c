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
 *
 * Layer: operations.  Run by worker.c (mint_op_run, mint_op_cleanup);
 * calls checks.c, versions.c, pool.c, steps.c, registry.c, blockers.c,
 * exec.c, locks.c, names.c and worker_name.c.
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
#include "worker_name.h"

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
 * Drop database name if it exists, after mint_require_droppable(); returns its
 * OID (InvalidOid when there was none) and its registry entry in *e.
 */
static Oid
drop_checked(const char *name, MintEntry *e)
{
	Oid			oid;

	mint_xact_begin();
	oid = db_oid(name);
	if (OidIsValid(oid))
		mint_require_droppable(name, oid, e);
	mint_xact_commit();
	if (OidIsValid(oid))
		mint_drop_registered(name, oid);
	return oid;
}

/*
 * template_begin: make room under the template's name and create an empty
 * database there.  A finished version of another fingerprint there moves
 * aside to its own name (clones of it go on: the caller holds its version
 * lock, so none is copying now); an unfinished one, or one of this
 * fingerprint built by another server major, is dropped, and so is any
 * other stale copy of this fingerprint.  The caller holds the template's
 * name lock and the version locks of what moves or goes.
 */
static void
move_aside(const char *tpl, Oid oid, const char *fp)
{
	char		vname[NAMEDATALEN];
	Oid			voi;
	MintLock	vlock;
	MintEntry	ve;

	mint_template_version_name(tpl, fp, vname);
	mint_lock_init(&vlock, vname, ExclusiveLock);
	if (!mint_lock_try(&vlock))
		ereport(ERROR,
				(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
				 errmsg("cannot move the finished version of template \"%s\" to \"%s\": another pg_mint call is working on that database",
						tpl, vname),
				 errhint("Try again when it is done.")));
	PG_TRY();
	{
		/* a stale copy of the same version under that name: it goes first */
		mint_xact_begin();
		voi = db_oid(vname);
		memset(&ve, 0, sizeof(ve));
		if (OidIsValid(voi))
		{
			mint_registry_lookup(vname, voi, &ve);
			if (!(ve.found && strcmp(ve.kind, "template") == 0 && ve.version_of != NULL &&
				  strcmp(ve.version_of, tpl) == 0))
				ereport(ERROR,
						(errcode(ERRCODE_DUPLICATE_DATABASE),
						 errmsg("database \"%s\" already exists and is not a version of template \"%s\"", vname, tpl),
						 errdetail("pg_mint moves the finished version of template \"%s\" with fingerprint \"%s\" to that name before it builds another fingerprint.",
								   tpl, fp),
						 errhint("Rename or drop database \"%s\" by hand.", vname)));
			mint_require_droppable(vname, voi, &ve);
		}
		mint_xact_commit();
		if (OidIsValid(voi))
			mint_drop_registered(vname, voi);

		mint_xact_begin();
		if (!mint_db_named(oid, tpl))
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("database \"%s\" was changed by someone else while pg_mint moved it", tpl)));
		mint_rename_database(tpl, vname, MINT_XACT_OWN);
		mint_registry_set(oid, vname, "ready");
		mint_xact_commit();
		mint_trace("move the finished version aside");
	}
	PG_FINALLY();
	{
		mint_lock_release(&vlock);
	}
	PG_END_TRY();
}

/*
 * Create the empty template tpl, registered as 'building': copied under a
 * private name, then renamed to tpl in a transaction of its own, so that the
 * copy (which holds a copy slot) never waits for anything someone else holds
 * on the name tpl (an uncommitted rename to it, a bookkeeping row of that
 * name); the rename waits for those with no slot held, cancellable.  A
 * failure drops the copy (mint_op_cleanup).
 */
static void
build_under_private_name(const char *tpl, const char *fingerprint)
{
	char	   *bname = mint_private_name("build");
	Oid			boid;
	MintLock	l;

	mint_lock_init(&l, bname, ExclusiveLock);
	(void) mint_lock_try(&l);
	mint_job_display_target = tpl;
	PG_TRY();
	{
		boid = mint_create_registered(bname, NULL, false, "template", "building", NULL, InvalidOid,
									  fingerprint, MINT_STRATEGY_DEFAULT, tpl, NULL);
	}
	PG_FINALLY();
	{
		mint_job_display_target = NULL;
	}
	PG_END_TRY();
	strlcpy(cleanup_name, bname, NAMEDATALEN);
	cleanup_oid = boid;

	mint_xact_begin();
	mint_rename_database(bname, tpl, MINT_XACT_OWN);
	mint_allow_connections(tpl, true, MINT_XACT_OWN);
	mint_registry_forget_name(tpl, boid, InvalidOid);
	mint_registry_set(boid, tpl, "building");
	mint_xact_commit();
	cleanup_oid = InvalidOid;
	mint_lock_release(&l);
	mint_trace("rename the new template to its name");
}

static void
op_begin(MintParams *p)
{
	const char *tpl = p->template_name;
	const char *fp = p->fingerprint_len >= 0 ? p->fingerprint : "";
	Oid			oid;
	MintEntry	e;
	bool		move = false;
	MintVersion *all;
	int			n;
	int			i;

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
	memset(&e, 0, sizeof(e));
	if (OidIsValid(oid))
	{
		mint_require_replaceable(tpl, oid, "template", "rebuild");
		mint_registry_lookup(tpl, oid, &e);
		/* before ALTER EXTENSION UPDATE to 1.2: rebuilt in place, as 1.1 did */
		move = mint_objects()->has_versions &&
			strcmp(e.state, "ready") == 0 &&
			e.version_of != NULL && strcmp(e.version_of, tpl) == 0 &&
			strcmp(e.fingerprint ? e.fingerprint : "", fp) != 0 &&
			e.server_version / 10000 == mint_server_major();
	}
	/* other copies of this version (built by another major, unfinished) go */
	n = mint_objects()->has_versions ? mint_version_list(tpl, &all) : 0;
	mint_xact_commit();

	if (move)
		move_aside(tpl, oid, e.fingerprint ? e.fingerprint : "");
	else if (OidIsValid(oid))
		mint_drop_registered(tpl, oid);	/* stale or unfinished */

	for (i = 0; i < n; i++)
	{
		MintVersion *v = &all[i];
		MintEntry	ve;
		MintLock	l;

		if (v->datid == oid || strcmp(v->fingerprint, fp) != 0)
			continue;
		mint_lock_init(&l, v->datname, ExclusiveLock);
		if (!mint_lock_try(&l))
			continue;			/* someone else is dropping it */
		PG_TRY();
		{
			mint_xact_begin();
			if (mint_db_named(v->datid, v->datname))
				mint_require_droppable(v->datname, v->datid, &ve);
			mint_xact_commit();
			mint_drop_registered(v->datname, v->datid);
		}
		PG_FINALLY();
		{
			mint_lock_release(&l);
		}
		PG_END_TRY();
	}

	build_under_private_name(tpl, p->fingerprint);
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
	mint_require_pg_mint(tpl, &e);
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
	mint_stat_build(oid);
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
	char		name[NAMEDATALEN];	/* the template tpl is a version of */
	MintLock	new_lock;
	MintEntry	te;

	/* tpl is the database of the version; clones and pools go by the template's name */
	mint_xact_begin();
	mint_registry_lookup(tpl, tpl_oid, &te);
	strlcpy(name, te.found && te.version_of ? te.version_of : tpl, NAMEDATALEN);
	mint_xact_commit();

	/* a warm spare: only inside a transaction block (else the caller took it) */
	if (!(p->flags & MINT_FLAG_NO_POOL))
	{
		bool		taken;
		Oid			pool_owner;

		mint_xact_begin();
		pool_owner = mint_pool_owner_for_caller(mint_pool_config_owner(name), tpl_oid);
		taken = OidIsValid(pool_owner) &&
			mint_pool_take(name, tpl_oid, pool_owner, target, old_oid, MINT_XACT_OWN, old_name,
						   p->terminate_timeout_ms, p->run);
		mint_xact_commit();
		if (taken)
			mint_worker_finishing();
		if (OidIsValid(pool_owner))
		{
			/* top the pool up again (or fill it after a miss) */
			mint_xact_begin();
			mint_pool_kick(name, pool_owner, InvalidTransactionId);
			mint_xact_commit();
		}
		if (taken)
		{
			mint_send_result(target);
			mint_send_done();
			if (old_name[0])
				mint_op_drop_later(old_name, old_oid);
			return;
		}
	}

	/*
	 * Build the copy under a private name, then swap it in by rename (after
	 * the old one, if any, is renamed away).  A fresh target too: the copy
	 * holds a copy slot, and nobody can make a CREATE DATABASE of a name he
	 * cannot guess wait (an uncommitted rename to the target's name would),
	 * nor hold a bookkeeping row of that name it has to replace; the rename
	 * waits for such things with no slot held, cancellable.
	 */
	new_name = mint_private_name("new");
	mint_lock_init(&new_lock, new_name, ExclusiveLock);
	(void) mint_lock_try(&new_lock);
	/* the copy replaces old_oid: the quota counts one of them, activity shows the target */
	mint_job_replacing = old_oid;
	mint_job_display_target = target;
	PG_TRY();
	{
		new_oid = mint_create_registered(new_name, tpl, false, "clone", "building", name, tpl_oid,
										 fingerprint, p->strategy, NULL, p->run);
	}
	PG_FINALLY();
	{
		mint_job_replacing = InvalidOid;
		mint_job_display_target = NULL;
	}
	PG_END_TRY();
	strlcpy(cleanup_name, new_name, NAMEDATALEN);
	cleanup_oid = new_oid;
	mint_trace("CREATE DATABASE");

	mint_xact_begin();
	mint_swap_into_target(target, old_oid, new_name, new_oid, old_name,
						  p->terminate_timeout_ms, MINT_XACT_OWN);
	HOLD_INTERRUPTS();
	mint_xact_commit();
	mint_worker_finishing();
	RESUME_INTERRUPTS();
	cleanup_oid = InvalidOid;

	mint_trace("swap");
	mint_send_result(target);
	mint_send_done();

	/* off the caller's path: DROP DATABASE forces a checkpoint */
	if (OidIsValid(old_oid))
		mint_op_drop_later(old_name, old_oid);
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
	char		run[NAMEDATALEN];	/* clones: the run that made it, or "" */
	bool		old_version;	/* a template version beyond the ones kept, unused */
	char		version_of[NAMEDATALEN];	/* templates: the template it is a version of */
	char	   *fingerprint;
	char		last_used[40];
	bool		has_lease;		/* clones: a lease governs it, not older_than */
	bool		lease_expired;
	char		lease_expires[40];
	char		template_name[NAMEDATALEN];
} GcRow;

/* false (with a NOTICE) when something that outlives sessions uses r */
static bool
find_blocker_ok(GcRow *r)
{
	bool		blocked;

	mint_xact_begin();
	blocked = mint_gc_skip_blocked(r->datname, r->datid);
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
	/* a prepared transaction keeps it: leave it as it is, connectable */
	if (idle && mint_gc_skip_blocked(r->datname, r->datid))
		idle = false;
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
 * mint.gc(): forget the pools of templates that no longer exist (dropped by
 * hand, or forgotten by a drop while a transaction held the row), except
 * while someone builds a template of that name (its name lock is held).
 */
static void
forget_orphan_pools(void)
{
	char	   *row[1];
	Oid			types[1] = {INT4OID};
	Datum		values[1];
	int			k;

	for (k = 0; k < 64; k++)
	{
		MintLock	l;

		mint_xact_begin();
		values[0] = Int32GetDatum(k);
		if (mint_registry_exec("SELECT p.template FROM mint.pool_config p"
							   " WHERE NOT EXISTS (SELECT 1 FROM mint.registry t"
							   "                    WHERE t.kind" EQ "'template' AND t.datname" EQ "p.template)"
							   " ORDER BY p.template OFFSET $1 LIMIT 1",
							   1, types, values, NULL, row, 1) == 0)
		{
			mint_xact_commit();
			break;
		}
		mint_lock_init(&l, row[0], ExclusiveLock);
		if (mint_lock_try(&l))
		{
			/* re-checked under the name lock, in the statement itself */
			Oid			t1[1] = {TEXTOID};
			Datum		v1[1];

			v1[0] = CStringGetTextDatum(row[0]);
			if (mint_registry_exec("WITH l AS (SELECT p.template FROM mint.pool_config p"
								   "            WHERE p.template" EQ "$1"
								   "              AND NOT EXISTS (SELECT 1 FROM mint.registry t"
								   "                               WHERE t.kind" EQ "'template'"
								   "                                 AND t.datname" EQ "p.template)"
								   "            FOR UPDATE OF p SKIP LOCKED)"
								   " DELETE FROM mint.pool_config p USING l WHERE p.template" EQ "l.template",
								   1, t1, v1, NULL, NULL, 0) > 0)
				k--;			/* the next one moved up to this offset */
			mint_lock_release(&l);
		}
		mint_xact_commit();
	}

	/* hit/miss events of pools that are gone */
	mint_xact_begin();
	(void) mint_registry_exec("DELETE FROM mint.pool_events e"
							  " WHERE NOT EXISTS (SELECT 1 FROM mint.pool_config p"
							  "                    WHERE p.template" EQ "e.template)",
							  0, NULL, NULL, NULL, NULL, 0);
	mint_xact_commit();
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

/* under r's name lock: has its lease still expired (nobody renewed it meanwhile)? */
static bool
gc_lease_expired(Oid datid)
{
	Oid			types[1] = {OIDOID};
	Datum		values[1];
	char	   *row[1];
	bool		expired;

	mint_xact_begin();
	values[0] = ObjectIdGetDatum(datid);
	expired = mint_registry_exec("SELECT 1 FROM mint.registry WHERE datid" EQ "$1"
								 " AND lease_expires" LT "pg_catalog.clock_timestamp()",
								 1, types, values, NULL, row, 1) > 0;
	mint_xact_commit();
	return expired;
}

static void
op_gc(MintParams *p)
{
	Oid			types[3] = {TIMESTAMPTZOID, INT4OID, INT4OID};
	Datum		values[3];
	GcRow	   *rows = NULL;
	bool		scoped = p->run[0] != '\0';
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
	values[1] = Int32GetDatum(p->versions_kept);
	values[2] = Int32GetDatum(major);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/*
	 * version_of and run through to_jsonb(): the same statement reads a
	 * registry from before 1.2 (the columns are missing until ALTER
	 * EXTENSION UPDATE; they read as NULL).  A template version's last use
	 * is its creation, its finish or the newest clone or spare made of it;
	 * the finished ones of this server major rank by it per template.
	 */
	if (mint_spi_run(
					 "WITH r AS (SELECT r.*, pg_catalog.to_jsonb(r) AS j FROM mint.registry r),"
					 "     u AS (SELECT r.datid, r.used,"
					 "                  pg_catalog.row_number() OVER (PARTITION BY r.of ORDER BY r.used DESC, r.datid DESC) AS rank"
					 "             FROM (SELECT r.datid,"
					 "                          COALESCE(r.j OPERATOR(pg_catalog.->>) 'version_of', r.datname) AS of,"
					 "                          GREATEST(r.created_at, r.finished_at,"
					 "                                   (SELECT pg_catalog.max(c.created_at) FROM mint.registry c"
					 "                                     WHERE c.template_datid" EQ "r.datid)) AS used"
					 "                     FROM r WHERE r.kind" EQ "'template' AND r.state" EQ "'ready'"
					 "                      AND r.server_version OPERATOR(pg_catalog./) 10000" EQ "$3) r)"
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
					 "       pg_catalog.to_char(r.created_at, 'YYYY-MM-DD HH24:MI:SS'),"
					 "       COALESCE(r.j OPERATOR(pg_catalog.->>) 'run', ''),"
					 "       COALESCE(u.rank" GT "$2 AND u.used" LT "$1, false),"
					 "       COALESCE(r.j OPERATOR(pg_catalog.->>) 'version_of', r.datname),"
					 "       COALESCE(r.fingerprint, ''),"
					 "       COALESCE(pg_catalog.to_char(u.used, 'YYYY-MM-DD HH24:MI:SS'), ''),"
					 "       (r.j OPERATOR(pg_catalog.->>) 'lease_expires') IS NOT NULL,"
					 "       COALESCE((r.j OPERATOR(pg_catalog.->>) 'lease_expires')::pg_catalog.timestamptz"
					 "                " LT "pg_catalog.clock_timestamp(), false),"
					 "       COALESCE(pg_catalog.to_char((r.j OPERATOR(pg_catalog.->>) 'lease_expires')::pg_catalog.timestamptz,"
					 "                                   'YYYY-MM-DD HH24:MI:SS'), ''),"
					 "       COALESCE(r.template, '')"
					 "  FROM r LEFT JOIN pg_catalog.pg_database d ON d.oid" EQ "r.datid"
					 "       LEFT JOIN u ON u.datid" EQ "r.datid"
					 " ORDER BY r.created_at",
					 3, types, values, NULL, true, 0) != SPI_OK_SELECT)
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
		strlcpy(rows[i].run, SPI_getvalue(t, d, 10), NAMEDATALEN);
		rows[i].old_version = DatumGetBool(SPI_getbinval(t, d, 11, &isnull));
		strlcpy(rows[i].version_of, SPI_getvalue(t, d, 12), NAMEDATALEN);
		rows[i].fingerprint = MemoryContextStrdup(TopMemoryContext, SPI_getvalue(t, d, 13));
		strlcpy(rows[i].last_used, SPI_getvalue(t, d, 14), sizeof(rows[i].last_used));
		rows[i].has_lease = DatumGetBool(SPI_getbinval(t, d, 15, &isnull));
		rows[i].lease_expired = DatumGetBool(SPI_getbinval(t, d, 16, &isnull));
		strlcpy(rows[i].lease_expires, SPI_getvalue(t, d, 17), sizeof(rows[i].lease_expires));
		strlcpy(rows[i].template_name, SPI_getvalue(t, d, 18), NAMEDATALEN);
	}
	SPI_finish();
	mint_xact_commit();

	for (i = 0; i < nrows; i++)
	{
		GcRow	   *r = &rows[i];
		MintLock	lock;
		MintLock	vlock;
		volatile bool dropped = false;
		bool		mine;

		CHECK_FOR_INTERRUPTS();
		/* what the calling transaction itself holds (a pool hit): not ours to wait for */
		if (skipped_by_caller(p, r->datid))
			continue;
		if (r->gone && (p->flags & MINT_FLAG_DRY_RUN))
			continue;
		/* gc of one run: its own clones, and leftovers nobody is working on */
		if (scoped && strcmp(r->state, "ready") == 0 &&
			!(strcmp(r->kind, "clone") == 0 && strcmp(r->run, p->run) == 0))
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
		/* a template version: clones of it hold its version lock while they copy */
		vlock.held = false;
		if (strcmp(r->kind, "template") == 0)
		{
			mint_version_lock_init(&vlock, r->version_of, r->fingerprint, ExclusiveLock);
			if (!mint_lock_try(&vlock))
			{
				mint_lock_release(&lock);
				continue;
			}
		}

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
			else if (strcmp(r->kind, "template") == 0 && r->old_version)
				reason = psprintf("version \"%s\" of template \"%s\" last used %s, beyond the %d newest kept",
								  r->fingerprint, r->version_of, r->last_used, p->versions_kept);
			else if (strcmp(r->kind, "clone") == 0 && r->has_lease)
			{
				/* a lease governs it, whatever its age: gone once expired */
				if (r->lease_expired && gc_lease_expired(r->datid) &&
					((p->flags & MINT_FLAG_TERMINATE) || CountDBBackends(r->datid) == 0))
					reason = psprintf("lease expired %s", r->lease_expires);
			}
			else if (strcmp(r->kind, "clone") == 0 && r->old_enough &&
					 CountDBBackends(r->datid) == 0)
				reason = psprintf("idle clone created %s", r->created_at);
			else if (strcmp(r->kind, "spare") == 0 && r->stale_spare)
				reason = "spare of an old template build or of a pool that is off";

			if (reason == NULL || !find_blocker_ok(r))
				;				/* nothing to do, or skipped with a NOTICE */
			else if (p->flags & MINT_FLAG_DRY_RUN)
				mint_send_result(psprintf("%s\t%s", r->datname, reason));
			else if (strcmp(r->kind, "clone") == 0 && r->has_lease &&
					 (p->flags & MINT_FLAG_TERMINATE))
			{
				/* asked to: its sessions are terminated, with the caller's rights */
				mint_drop_registered(r->datname, r->datid);
				dropped = true;
			}
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
			ErrorData  *edata = mint_catch_error(TopMemoryContext);

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
		mint_lock_release(&vlock);
		mint_lock_release(&lock);

		if (dropped)
		{
			if (r->has_lease)
			{
				mint_xact_begin();
				mint_stat_event("lease_expired", r->template_name[0] ? r->template_name : NULL, 0,
								GetUserId());
				mint_xact_commit();
			}
			mint_send_result(r->datname);
		}
	}
	/* pools of templates that are gone (dropped by hand, say) go too */
	if (!(p->flags & MINT_FLAG_DRY_RUN))
	{
		forget_orphan_pools();
		/* metric samples are kept 30 days */
		mint_xact_begin();
		if (mint_objects()->has_shared)
			(void) mint_registry_exec("DELETE FROM mint.stat_events"
									  " WHERE at" LT "(pg_catalog.clock_timestamp() OPERATOR(pg_catalog.-) '30 days'::pg_catalog.interval)",
									  0, NULL, NULL, NULL, NULL, 0);
		mint_xact_commit();
	}
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

/*
 * The job's tail: clones it replaced, to drop once the caller has its
 * answer (DROP DATABASE forces a checkpoint: never on the caller's path).
 */
typedef struct DropLater
{
	char		name[NAMEDATALEN];
	Oid			oid;
} DropLater;

static DropLater drop_later[2];
static int	ndrop_later = 0;

void
mint_op_drop_later(const char *name, Oid oid)
{
	if (ndrop_later >= lengthof(drop_later))
		elog(ERROR, "pg_mint: too many drops after answering");
	strlcpy(drop_later[ndrop_later].name, name, NAMEDATALEN);
	drop_later[ndrop_later].oid = oid;
	ndrop_later++;
}

/*
 * Run the tail, then let go of the job's locks.  A worker that lives for
 * one job (detach = false) drops the replaced clones itself, still holding
 * their names' locks.  An executor (detach = true) lets go of its locks and
 * hands each drop to a worker of its own, so that the session's next job
 * does not wait for it; with no free worker slot it drops it itself, under
 * the name's lock (as the after-hit job does).
 */
void
mint_op_tail(bool detach)
{
	int			i;
	int			n = ndrop_later;

	ndrop_later = 0;
	if (!detach)
	{
		for (i = 0; i < n; i++)
			mint_drop_registered(drop_later[i].name, drop_later[i].oid);
		if (n > 0)
			mint_trace("drop of the replaced copy (after answering)");
		mint_lock_release_all();
		return;
	}

	mint_lock_release_all();
	for (i = 0; i < n; i++)
	{
		MintLock	l;

		if (mint_drop_detached(drop_later[i].name, drop_later[i].oid))
			continue;
		mint_lock_init(&l, drop_later[i].name, ExclusiveLock);
		if (mint_lock_try(&l))
		{
			mint_drop_registered(drop_later[i].name, drop_later[i].oid);
			mint_lock_release(&l);
		}
	}
	if (n > 0)
		mint_trace("drop of the replaced copy handed over (after answering)");
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
