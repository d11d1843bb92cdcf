/*
 * pg_mint.c -- module entry: GUCs and the SQL-callable functions.
 *
 * Each function checks its arguments, takes pg_mint's cluster-wide locks
 * (locks.c) and hands the CREATE/DROP/ALTER DATABASE work to a background
 * worker (launcher.c), because those statements cannot run inside a
 * function or a transaction block.
 *
 * Layer: SQL interface (top).  Called by the server (fmgr, _PG_init);
 * calls launcher.c, checks.c, versions.c, pool.c, registry.c, locks.c,
 * names.c and exec.c (trace).
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "common/int.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "compat.h"
#include "pg_mint.h"

PG_MODULE_MAGIC;

/* ---- GUCs ---------------------------------------------------------------- */
int			mint_strategy = MINT_STRATEGY_AUTO;
int			mint_pool_strategy = MINT_STRATEGY_AUTO;
int			mint_worker_wait_timeout_ms = 60000;
int			mint_terminate_timeout_ms = 10000;
int			mint_executor_idle_timeout_ms = 10000;
int			mint_template_versions_kept = 3;
char	   *mint_run = NULL;
int			mint_lease_s = 0;
int			mint_max_concurrent_copies = 4;

/* the run the next background worker carries (launcher.c copies it) */
const char *mint_params_run = NULL;

/* a run identity names databases: at most 63 bytes */
static bool
check_run(char **newval, void **extra, GucSource source)
{
	if (*newval != NULL && strlen(*newval) >= NAMEDATALEN)
	{
		GUC_check_errdetail("A run identity holds at most %d bytes.", NAMEDATALEN - 1);
		return false;
	}
	return true;
}

static const struct config_enum_entry strategy_options[] = {
	{"default", MINT_STRATEGY_DEFAULT, false},
	{"wal_log", MINT_STRATEGY_WAL_LOG, false},
	{"file_copy", MINT_STRATEGY_FILE_COPY, false},
	{"clone", MINT_STRATEGY_CLONE, false},
	{"auto", MINT_STRATEGY_AUTO, false},
	{NULL, 0, false}
};

void		_PG_init(void);

void
_PG_init(void)
{
	DefineCustomEnumVariable("pg_mint.strategy",
							 "CREATE DATABASE strategy pg_mint uses for clones.",
							 "auto (the default) is clone where it works, else per call wal_log or "
							 "file_copy, whichever this server copies the template faster with now "
							 "(fsync, template size, copies running at once); default uses the "
							 "server's default (WAL_LOG on PostgreSQL 15 and later); wal_log and "
							 "file_copy need PostgreSQL 15 or later and are ignored before; clone is "
							 "FILE_COPY with file_copy_method = clone (PostgreSQL 18, a file system "
							 "with reflinks) and fails elsewhere.",
							 &mint_strategy, MINT_STRATEGY_AUTO, strategy_options,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomEnumVariable("pg_mint.pool_strategy",
							 "CREATE DATABASE strategy the warm pool's refiller uses for spares.",
							 "Values as for pg_mint.strategy; auto (the default) picks per spare. "
							 "Read by the refiller: set it in postgresql.conf, ALTER SYSTEM, or ALTER "
							 "ROLE for the pool's owner.",
							 &mint_pool_strategy, MINT_STRATEGY_AUTO, strategy_options,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("pg_mint.worker_wait_timeout",
							"How long a pg_mint call waits for a free background worker slot.",
							"0 waits without limit (statement_timeout still applies).",
							&mint_worker_wait_timeout_ms, 60000, 0, INT_MAX,
							PGC_USERSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("pg_mint.executor_idle_timeout",
							"How long a session's pg_mint worker waits for the session's next call.",
							"A session's calls run one after another in one background worker, "
							"which exits when the session ends or after this long without a call. "
							"0 starts a new worker for every call.",
							&mint_executor_idle_timeout_ms, 10000, 0, INT_MAX,
							PGC_USERSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("pg_mint.terminate_timeout",
							"How long pg_mint waits for terminated sessions to exit.",
							NULL,
							&mint_terminate_timeout_ms, 10000, 1, INT_MAX,
							PGC_USERSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomStringVariable("pg_mint.run",
							   "Run identity recorded with every clone this session makes.",
							   "Concurrent runs of one test suite against one server (CI pipelines, "
							   "worktrees) set distinct runs: mint.worker_name(base, worker, run) keeps "
							   "their databases apart and mint.gc(older_than, run) collects one run's "
							   "clones only.  The CLI sets it from --run, PG_MINT_RUN or CI variables.",
							   &mint_run, "", PGC_USERSET, 0, check_run, NULL, NULL);
	DefineCustomIntVariable("pg_mint.template_versions_kept",
							"How many versions (fingerprints) of one template mint.gc() keeps.",
							"mint.gc(older_than) drops older versions of a template beyond this many, "
							"newest use first, once nothing cloned them for older_than.",
							&mint_template_versions_kept, 3, 1, 1000,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("pg_mint.lease",
							"Lease (time to live) of every clone this session makes.",
							"mint.gc() drops a clone whose lease expired, whatever its age; "
							"mint.renew(target) extends it. 0 (the default) gives no lease. "
							"Set it per role with ALTER ROLE ... SET pg_mint.lease = '2h'.",
							&mint_lease_s, 0, 0, INT_MAX,
							PGC_USERSET, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("pg_mint.max_concurrent_copies",
							"How many CREATE DATABASE copies pg_mint runs at once in the whole cluster.",
							"Copies beyond it queue in arrival order (mint.activity), bounded by the "
							"caller's lock_timeout and statement_timeout. 0 turns admission control off.",
							&mint_max_concurrent_copies, 4, 0, 1000,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
#if PG_VERSION_NUM >= 150000
	MarkGUCPrefixReserved("pg_mint");
#else
	EmitWarningsOnPlaceholders("pg_mint");
#endif
}

/* ---- builds this session holds ------------------------------------------- */
typedef struct MintBuild
{
	char		name[NAMEDATALEN];
	MintLock	lock;
} MintBuild;

static List *builds = NIL;		/* in TopMemoryContext */

static MintBuild *
find_build(const char *name)
{
	ListCell   *lc;

	foreach(lc, builds)
	{
		MintBuild  *b = (MintBuild *) lfirst(lc);

		if (strcmp(b->name, name) == 0)
			return b;
	}
	return NULL;
}

static void
forget_build(MintBuild *b)
{
	mint_lock_release(&b->lock);
	builds = list_delete_ptr(builds, b);
	pfree(b);
}

static MintBuild *
require_build(const char *tpl, const char *fn)
{
	MintBuild  *b = find_build(tpl);

	if (b == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("this session is not building template \"%s\"", tpl),
				 errhint("Only the session whose mint.template_begin('%s', ...) returned 'build' can call %s.",
						 tpl, fn)));
	return b;
}

/* Refuse to work on the database this session is connected to. */
static void
refuse_current_db(const char *name, const char *what)
{
	/* by name: the current database cannot be renamed while we are on it */
	const char *current = get_database_name(MyDatabaseId);

	if (current != NULL && strcmp(current, name) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_IN_USE),
				 errmsg("cannot %s database \"%s\" from a session connected to it", what, name),
				 errhint("Call pg_mint's functions from the maintenance database where the extension is installed, such as postgres.")));
}

static void
require_createdb(const char *target)
{
	if (!mint_have_createdb_privilege())
	{
		const char *role = GetUserNameFromId(GetUserId(), false);

		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to create database \"%s\"", target),
				 errdetail("Role \"%s\" does not have the CREATEDB attribute.", role),
				 errhint("A superuser can grant it: ALTER ROLE %s CREATEDB;", quote_identifier(role))));
	}
}

/* After waiting on a lock, make sure catalog lookups see what others committed. */
static void
refresh_catalog_view(void)
{
	AcceptInvalidationMessages();
}

static void
collect_result(const char *result, void *arg)
{
	List	  **list = (List **) arg;

	*list = lappend(*list, pstrdup(result));
}

/*
 * Under the template's name lock, before its worker makes room for a new
 * version: take the version locks of what the worker will rename or drop,
 * waiting (here, where lock_timeout and the deadlock detector apply) for
 * clones of them still copying.  Those are the version this build replaces
 * (a stale or unfinished copy of fingerprint fp) and the finished version of
 * another fingerprint now under the template's name, which moves aside.
 */
static void
begin_build(const char *tpl, const char *fp)
{
	MintLock	own;
	MintLock	moving;
	Oid			oid = get_database_oid(tpl, true);
	MintEntry	e;
	bool		move;

	memset(&e, 0, sizeof(e));
	if (OidIsValid(oid))
		mint_registry_lookup(tpl, oid, &e);
	mint_version_lock_init(&own, tpl, fp, ExclusiveLock);
	moving.held = false;
	move = e.found && strcmp(e.kind, "template") == 0 && e.version_of != NULL &&
		strcmp(e.version_of, tpl) == 0 && strcmp(e.fingerprint ? e.fingerprint : "", fp) != 0;
	if (move)
		mint_version_lock_init(&moving, tpl, e.fingerprint ? e.fingerprint : "", ExclusiveLock);
	PG_TRY();
	{
		mint_lock_acquire(&own, psprintf("waiting for clones of an earlier build of template \"%s\" to finish", tpl));
		if (move)
			mint_lock_acquire(&moving, psprintf("waiting for clones of template \"%s\" to finish before its version moves aside", tpl));
		refresh_catalog_view();
		mint_run_in_worker(MINT_OP_BEGIN, tpl, NULL, fp, 0, 0, NULL, NULL);
	}
	PG_FINALLY();
	{
		mint_lock_release(&moving);
		mint_lock_release(&own);
	}
	PG_END_TRY();
}

/* ---- mint.template_begin(template text, fingerprint text) ---------------- */
PG_FUNCTION_INFO_V1(mint_template_begin);
Datum
mint_template_begin(PG_FUNCTION_ARGS)
{
	char	   *tpl = mint_arg_name(fcinfo, 0, "template");
	char	   *fp;
	MintLock	lock;
	MintBuild  *b;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("fingerprint must not be NULL"),
				 errhint("Pass '' when the template has no fingerprint.")));
	fp = text_to_cstring(PG_GETARG_TEXT_PP(1));

	if (find_build(tpl) != NULL)
		PG_RETURN_TEXT_P(cstring_to_text("build"));	/* already ours */
	refuse_current_db(tpl, "build template");

	/* a finished version of this fingerprint: no lock, no wait for other builds */
	refresh_catalog_view();
	if (mint_version_ready(tpl, fp))
	{
		mint_version_choose(tpl, fp);
		PG_RETURN_TEXT_P(cstring_to_text("ready"));
	}

	/* builds happen under the template's own name, one at a time */
	mint_lock_init(&lock, tpl, ExclusiveLock);
	mint_lock_acquire(&lock, psprintf("waiting for another session to finish building template \"%s\"", tpl));
	PG_TRY();
	{
		refresh_catalog_view();
		if (mint_version_ready(tpl, fp))
		{
			mint_lock_release(&lock);
		}
		else
		{
			begin_build(tpl, fp);
			b = (MintBuild *) MemoryContextAllocZero(TopMemoryContext, sizeof(MintBuild));
			strlcpy(b->name, tpl, NAMEDATALEN);
			b->lock = lock;
			{
				MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

				builds = lappend(builds, b);
				MemoryContextSwitchTo(old);
			}
		}
	}
	PG_CATCH();
	{
		mint_lock_release(&lock);
		PG_RE_THROW();
	}
	PG_END_TRY();

	mint_version_choose(tpl, fp);
	PG_RETURN_TEXT_P(cstring_to_text(lock.held ? "build" : "ready"));
}

/*
 * End this session's build of a template: run op in a worker, and only once
 * it has committed release the build lock, so a waiter that wakes up sees
 * the finished (or dropped) template.
 */
static void
end_build(FunctionCallInfo fcinfo, MintOp op, const char *fn, const char *what)
{
	char	   *tpl = mint_arg_name(fcinfo, 0, "template");
	MintBuild  *b = require_build(tpl, fn);

	refuse_current_db(tpl, what);
	mint_run_in_worker(op, tpl, NULL, NULL, 0, 0, NULL, NULL);
	forget_build(b);
}

/* ---- mint.template_finish(template text) --------------------------------- */
PG_FUNCTION_INFO_V1(mint_template_finish);
Datum
mint_template_finish(PG_FUNCTION_ARGS)
{
	end_build(fcinfo, MINT_OP_FINISH, "mint.template_finish", "finish template");
	PG_RETURN_VOID();
}

/* ---- mint.template_abort(template text) ---------------------------------- */
PG_FUNCTION_INFO_V1(mint_template_abort);
Datum
mint_template_abort(PG_FUNCTION_ARGS)
{
	end_build(fcinfo, MINT_OP_ABORT, "mint.template_abort", "abort template");
	PG_RETURN_VOID();
}

/*
 * clone's checks run here, in the caller, whose catalog caches and prepared
 * plans are warm (a fresh worker pays several milliseconds for the same
 * lookups); the worker trusts them, and re-checks the target under its lock.
 *
 * The warm-pool fast path also runs here: outside a transaction block a
 * spare is renamed into place in the caller's own (about to commit)
 * transaction, with no background worker.  Inside a transaction block
 * clone() must commit on its own, so the worker takes the spare instead.
 */
/*
 * A background worker would wait forever for a database this transaction
 * took or replaced from a warm pool (it holds their locks until it ends).
 */
static void
refuse_held(const char *name, Oid oid, const char *hint)
{
	if (OidIsValid(oid) && mint_database_held(oid))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_IN_USE),
				 errmsg("database \"%s\" was replaced from a warm pool earlier in this transaction", name),
				 errdetail("This transaction holds its locks until it ends, and pg_mint's background worker would have to wait for them."),
				 errhint("%s", hint)));
}

/*
 * returns true when a spare was renamed into place in the caller's
 * transaction.  tpl is the database to copy (the version), pool_tpl the
 * template name its pool is kept under.
 */
static bool
clone_checked(const char *tpl, const char *pool_tpl, const char *target, List **results)
{
	Oid			tpl_oid;
	Oid			old_oid;
	Oid			owner;
	MintEntry	te;
	MintEntry	ge;
	char		old_name[NAMEDATALEN];
	int			flags = 0;

	mint_trace("clone: locks");
	mint_registry_lookup_clone(tpl, pool_tpl, &tpl_oid, &te, target, &old_oid, &ge, &owner);
	mint_template_exists(tpl, tpl_oid);
	if (mint_template_check(tpl, &te))
		owner = mint_pool_owner_for_caller(owner, tpl_oid);
	else
		owner = InvalidOid;
	if (OidIsValid(old_oid))
		mint_check_clone_target(target, old_oid, &ge);
	mint_trace("clone: checks");

	if (!OidIsValid(owner))
		flags |= MINT_FLAG_NO_POOL;
	else if (!IsTransactionBlock())
	{
		if (mint_pool_take(pool_tpl, tpl_oid, owner, target, old_oid, MINT_XACT_CALLER, old_name,
						   mint_terminate_timeout_ms, mint_run))
		{
			mint_trace("clone: take a spare");
			/*
			 * Once this transaction commits, the replaced clone must be
			 * dropped and the pool refilled.  A refiller that is alive does
			 * both (it drops replaced clones of its owner, and waits for our
			 * lock on the spare's row before it gives up); otherwise a
			 * short-lived worker does, as the caller.
			 */
			if (owner != GetUserId() || !mint_pool_refiller_alive(pool_tpl))
				mint_pool_after_hit(pool_tpl, owner, old_oid);
			mint_trace("clone: after-hit worker registered for commit");
			*results = lappend(*results, pstrdup(target));
			return true;
		}
		mint_pool_kick(pool_tpl, owner, GetTopTransactionId());
		flags |= MINT_FLAG_NO_POOL;
	}
	refuse_held(target, old_oid,
				"Commit the transaction first: call mint.clone() for the same target in separate transactions.");
	mint_run_clone_in_worker(tpl, tpl_oid, target, old_oid,
							 te.found ? te.fingerprint : NULL, flags,
							 collect_result, results);
	return false;
}

static void
no_version(const char *tpl, const char *fp)
{
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_DATABASE),
			 errmsg("template \"%s\" has no version with fingerprint \"%s\"", tpl, fp),
			 errhint("Build it first: SELECT mint.template_begin('%s', fingerprint), create the schema, then SELECT mint.template_finish('%s').",
					 tpl, tpl)));
}

/*
 * Which database does a clone of template tpl copy?  The version of
 * fingerprint fp (the caller's, or the one this session last passed to
 * template_begin); without one, the only version there is.  Locks what it
 * returns against moves and drops: the version's lock shared (*vlock), or
 * for a database pg_mint did not build, its name lock shared (*tlock).
 * Waits while the version is being built.
 */
static char *
clone_source(const char *tpl, const char *fp, MintLock *vlock, MintLock *tlock)
{
	int			attempt;

	for (attempt = 0;; attempt++)
	{
		const char *use_fp = fp;
		MintVersion v;

		refresh_catalog_view();
		if (use_fp == NULL)
		{
			MintVersion *all;
			int			n = mint_version_list(tpl, &all);

			if (n == 0)
			{
				/* not a pg_mint template (or none at all): the database of that name */
				mint_lock_init(tlock, tpl, ShareLock);
				mint_lock_acquire(tlock, psprintf("waiting for template \"%s\" to be built", tpl));
				refresh_catalog_view();
				return pstrdup(tpl);
			}
			if (n > 1)
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("template \"%s\" has %d versions and this session did not choose one", tpl, n),
						 errdetail("Its versions were built for different fingerprints (by two branches, for example); an arbitrary one could have the wrong schema."),
						 errhint("Call mint.template_begin('%s', fingerprint) in this session first, or name the version: mint.clone('%s', target, fingerprint).",
								 tpl, tpl)));
			use_fp = pstrdup(all[0].fingerprint);
		}
		if (!mint_version_find(tpl, use_fp, &v))
		{
			if (fp == NULL && attempt < 3)
				continue;		/* it went away meanwhile: look again */
			no_version(tpl, use_fp);
		}
		if (strcmp(v.state, "building") == 0 && attempt < 3)
		{
			/* its builder holds the lock on the database's name: wait for it */
			MintLock	w;

			mint_lock_init(&w, v.datname, ShareLock);
			mint_lock_acquire(&w, psprintf("waiting for template \"%s\" to be built", tpl));
			mint_lock_release(&w);
			continue;
		}
		mint_version_lock_init(vlock, tpl, use_fp, ShareLock);
		mint_lock_acquire(vlock, psprintf("waiting for template \"%s\" to be moved or dropped", tpl));
		refresh_catalog_view();
		if (mint_version_find(tpl, use_fp, &v))
			return pstrdup(v.datname);
		mint_lock_release(vlock);
		if (fp != NULL || attempt >= 3)
			no_version(tpl, use_fp);
	}
}

/*
 * mint.clone(template text, target text) RETURNS name
 * mint.clone(template text, target text, fingerprint text) RETURNS name
 */
static int64 interval_to_usecs(Interval *iv);

/* the lease of a clone made now: ttl argument ttl_arg (-1: none), else pg_mint.lease */
static int64
clone_lease(FunctionCallInfo fcinfo, int ttl_arg)
{
	if (ttl_arg >= 0 && !PG_ARGISNULL(ttl_arg))
	{
		Interval   *iv = PG_GETARG_INTERVAL_P(ttl_arg);
		int64		us = interval_to_usecs(iv);

		if (us <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("ttl must be positive"),
					 errhint("Give a time to live such as '30 minutes', or NULL for pg_mint.lease.")));
		return us;
	}
	return (int64) mint_lease_s * USECS_PER_SEC;
}

static Datum
clone_common(FunctionCallInfo fcinfo, const char *fp, int ttl_arg)
{
	char	   *tpl = mint_arg_name(fcinfo, 0, "template");
	char	   *target = mint_arg_name(fcinfo, 1, "target");
	char	   *source;
	MintLock	vlock,
				tlock,
				glock;
	List	   *results = NIL;
	Name		result;

	mint_trace_start(0);
	mint_job_lease_us = clone_lease(fcinfo, ttl_arg);
	if (strcmp(tpl, target) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("template and target are the same database \"%s\"", tpl),
				 errhint("Give the clone a name of its own, for example mint.worker_name('%s', 'gw0').", tpl)));
	refuse_current_db(tpl, "clone from");
	refuse_current_db(target, "replace");
	require_createdb(target);
	if (fp == NULL)
		fp = mint_version_chosen(tpl);

	vlock.held = false;
	tlock.held = false;
	mint_lock_init(&glock, target, ExclusiveLock);
	PG_TRY();
	{
		source = clone_source(tpl, fp, &vlock, &tlock);
		if (strcmp(source, target) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("template and target are the same database \"%s\"", target)));
		refuse_current_db(source, "clone from");
		mint_lock_acquire(&glock, psprintf("waiting for another pg_mint call on database \"%s\" to finish", target));
		refresh_catalog_view();
		mint_params_run = mint_run;
		if (clone_checked(source, tpl, target, &results))
		{
			/*
			 * The renames commit with the caller's transaction: keep the
			 * target's name locked until then (a transaction-level hold of
			 * the same lock), so a concurrent clone of the same target waits
			 * for the commit instead of finding a database mid-swap.
			 */
			(void) LockAcquire(&glock.tag, glock.mode, false, false);
		}
	}
	PG_FINALLY();
	{
		mint_params_run = NULL;
		mint_job_lease_us = 0;
		mint_lock_release(&glock);
		mint_lock_release(&vlock);
		mint_lock_release(&tlock);
	}
	PG_END_TRY();

	result = (Name) palloc0(NAMEDATALEN);
	strlcpy(NameStr(*result), results ? (char *) linitial(results) : target, NAMEDATALEN);
	PG_RETURN_NAME(result);
}

PG_FUNCTION_INFO_V1(mint_clone);
Datum
mint_clone(PG_FUNCTION_ARGS)
{
	return clone_common(fcinfo, NULL, -1);
}

/* mint.clone(template text, target text, ttl interval) */
PG_FUNCTION_INFO_V1(mint_clone_lease);
Datum
mint_clone_lease(PG_FUNCTION_ARGS)
{
	return clone_common(fcinfo, NULL, 2);
}

/* mint.clone(template text, target text, fingerprint text, ttl interval): NULL fingerprint = the session's */
PG_FUNCTION_INFO_V1(mint_clone_version_lease);
Datum
mint_clone_version_lease(PG_FUNCTION_ARGS)
{
	return clone_common(fcinfo, PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2)), 3);
}

PG_FUNCTION_INFO_V1(mint_clone_version);
Datum
mint_clone_version(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("fingerprint must not be NULL"),
				 errhint("Pass '' for the version built without a fingerprint, or call mint.clone(template, target).")));
	return clone_common(fcinfo, text_to_cstring(PG_GETARG_TEXT_PP(2)), -1);
}

/* ---- mint.drop(target text) RETURNS boolean ------------------------------- */
PG_FUNCTION_INFO_V1(mint_drop);
Datum
mint_drop(PG_FUNCTION_ARGS)
{
	char	   *target = mint_arg_name(fcinfo, 0, "target");
	MintLock	lock;
	MintLock	vlock;
	List	   *results = NIL;

	refuse_current_db(target, "drop");
	mint_lock_init(&lock, target, ExclusiveLock);
	vlock.held = false;
	PG_TRY();
	{
		Oid			oid;
		MintEntry	e;

		mint_lock_acquire(&lock, psprintf("waiting for other pg_mint work on database \"%s\" to finish", target));
		refresh_catalog_view();
		/* a template version: wait for its clones still copying */
		oid = get_database_oid(target, true);
		memset(&e, 0, sizeof(e));
		if (OidIsValid(oid))
			mint_registry_lookup(target, oid, &e);
		if (e.found && strcmp(e.kind, "template") == 0 && e.version_of != NULL)
		{
			mint_version_lock_init(&vlock, e.version_of, e.fingerprint ? e.fingerprint : "", ExclusiveLock);
			mint_lock_acquire(&vlock, psprintf("waiting for clones of template \"%s\" to finish", target));
			refresh_catalog_view();
		}
		refuse_held(target, get_database_oid(target, true),
					"Commit the transaction first: call mint.clone() and mint.drop() in separate transactions.");
		mint_run_in_worker(MINT_OP_DROP, NULL, target, NULL, 0, 0, collect_result, &results);
	}
	PG_FINALLY();
	{
		mint_lock_release(&vlock);
		mint_lock_release(&lock);
	}
	PG_END_TRY();

	PG_RETURN_BOOL(results != NIL && strcmp((char *) linitial(results), "t") == 0);
}

/*
 * older_than in microseconds (a month counts 30 days, as in interval
 * arithmetic); 22023 when it overflows or reaches back before the earliest
 * timestamp PostgreSQL can represent (never wrap around to a small age).
 */
static int64
interval_to_usecs(Interval *iv)
{
	int64		months_us;
	int64		days_us;
	int64		us;
	TimestampTz cutoff;

	if (pg_mul_s64_overflow((int64) iv->month, (int64) DAYS_PER_MONTH * USECS_PER_DAY, &months_us) ||
		pg_mul_s64_overflow((int64) iv->day, USECS_PER_DAY, &days_us) ||
		pg_add_s64_overflow(months_us, days_us, &us) ||
		pg_add_s64_overflow(us, iv->time, &us) ||
		(us > 0 && pg_sub_s64_overflow(GetCurrentTimestamp(), us, &cutoff)) ||
		(us > 0 && !IS_VALID_TIMESTAMP(cutoff)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("older_than \"%s\" is out of range",
						DatumGetCString(DirectFunctionCall1(interval_out, IntervalPGetDatum(iv)))),
				 errhint("Give an age that reaches back no further than the earliest timestamp, such as '100 years'.")));
	return us;
}

/* ---- mint.gc(older_than interval) RETURNS SETOF name ---------------------- */
/* ---- mint.gc_preview(older_than interval) RETURNS TABLE (datname, reason) -- */
static Datum
gc_common(FunctionCallInfo fcinfo, bool dry_run)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Interval   *iv;
	int64		us;
	List	   *results = NIL;
	ListCell   *lc;
	TupleDesc	tupdesc;
	Tuplestorestate *tupstore;
	MemoryContext oldcxt;
	char	   *run = NULL;
	int			flags = dry_run ? MINT_FLAG_DRY_RUN : 0;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) ||
		(rsinfo->allowedModes & SFRM_Materialize) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("set-valued function called in context that cannot accept a set")));
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("older_than must not be NULL")));
	iv = PG_GETARG_INTERVAL_P(0);
	us = interval_to_usecs(iv);
	if (us < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("older_than must not be negative")));
	if (PG_NARGS() > 1 && get_fn_expr_argtype(fcinfo->flinfo, 1) == BOOLOID)
	{
		/* mint.gc(older_than, terminate) */
		if (PG_ARGISNULL(1))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("terminate must not be NULL")));
		if (PG_GETARG_BOOL(1))
			flags |= MINT_FLAG_TERMINATE;
	}
	else if (PG_NARGS() > 1)
	{
		/* mint.gc(older_than, run): this run's clones only */
		if (PG_ARGISNULL(1))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("run must not be NULL"),
					 errhint("Call mint.gc(older_than) to collect the clones of every run.")));
		run = text_to_cstring(PG_GETARG_TEXT_PP(1));
		if (run[0] == '\0')
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_NAME),
					 errmsg("run must not be an empty string"),
					 errhint("Call mint.gc(older_than) to collect the clones of every run.")));
		if (strlen(run) >= NAMEDATALEN)
			ereport(ERROR,
					(errcode(ERRCODE_NAME_TOO_LONG),
					 errmsg("run \"%s\" is too long", run),
					 errdetail("A run identity holds at most %d bytes.", NAMEDATALEN - 1)));
	}

	PG_TRY();
	{
		const Oid  *held;
		int			nheld = mint_held_databases(&held);

		mint_params_run = run;
		mint_run_gc_in_worker(us, flags, nheld, held,
							  collect_result, &results);
	}
	PG_FINALLY();
	{
		mint_params_run = NULL;
	}
	PG_END_TRY();

	oldcxt = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	tupdesc = CreateTemplateTupleDesc(dry_run ? 2 : 1);
	TupleDescInitEntry(tupdesc, (AttrNumber) 1, dry_run ? "datname" : "gc", NAMEOID, -1, 0);
	if (dry_run)
		TupleDescInitEntry(tupdesc, (AttrNumber) 2, "reason", TEXTOID, -1, 0);
	tupstore = tuplestore_begin_heap(true, false, work_mem);
	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult = tupstore;
	rsinfo->setDesc = tupdesc;
	MemoryContextSwitchTo(oldcxt);

	foreach(lc, results)
	{
		char	   *line = (char *) lfirst(lc);
		char	   *tab = strchr(line, '\t');
		Datum		values[2];
		bool		nulls[2] = {false, false};

		if (tab)
			*tab = '\0';
		values[0] = DirectFunctionCall1(namein, CStringGetDatum(line));
		values[1] = CStringGetTextDatum(tab ? tab + 1 : "");
		tuplestore_putvalues(tupstore, tupdesc, values, nulls);
	}
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(mint_gc);
Datum
mint_gc(PG_FUNCTION_ARGS)
{
	return gc_common(fcinfo, false);
}

/*
 * mint.janitor(older_than interval DEFAULT '1 hour', terminate boolean
 * DEFAULT false) RETURNS boolean: mint.gc() started in a background worker
 * (as the caller), without waiting for it.
 */
PG_FUNCTION_INFO_V1(mint_janitor);
Datum
mint_janitor(PG_FUNCTION_ARGS)
{
	int64		us;
	int			flags = 0;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("older_than and terminate must not be NULL")));
	us = interval_to_usecs(PG_GETARG_INTERVAL_P(0));
	if (us < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("older_than must not be negative")));
	if (PG_GETARG_BOOL(1))
		flags |= MINT_FLAG_TERMINATE;
	(void) mint_objects();
	PG_RETURN_BOOL(mint_start_janitor(us, flags));
}

PG_FUNCTION_INFO_V1(mint_gc_preview);
Datum
mint_gc_preview(PG_FUNCTION_ARGS)
{
	return gc_common(fcinfo, true);
}

/*
 * The pool's refiller logs in as the template's owner and creates databases:
 * refuse a pool that could never fill (a group role without LOGIN before
 * PostgreSQL 17, a role without CREATEDB) instead of leaving it empty.
 */
static void
require_refiller_role(const char *tpl, Oid owner)
{
	HeapTuple	tup = SearchSysCache1(AUTHOID, ObjectIdGetDatum(owner));
	bool		can_login = false;
	bool		can_create = false;

	if (HeapTupleIsValid(tup))
	{
		Form_pg_authid a = (Form_pg_authid) GETSTRUCT(tup);

#if PG_VERSION_NUM >= 170000
		can_login = true;		/* pg_mint's workers bypass the LOGIN check */
#else
		can_login = a->rolcanlogin;
#endif
		can_create = a->rolsuper || a->rolcreatedb;
		ReleaseSysCache(tup);
	}
	if (!can_login || !can_create)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("role \"%s\", which owns template \"%s\", cannot keep a pool",
						GetUserNameFromId(owner, true), tpl),
				 errdetail("Spares are made by a background worker that logs in as the template's owner; that role needs LOGIN and CREATEDB."),
				 errhint("Give the template to a role with LOGIN and CREATEDB, or grant them to this role.")));
}

/* ---- mint.set_pool(template text, spares integer) ------------------------- */
/*
 * A pool belongs to its template's owner: only that role (or a role with its
 * privileges, such as a superuser) may configure it, and the spares are made
 * as, owned by and handed only to that role.  The template must exist as a
 * pg_mint template: nobody can claim a pool for a name before its owner
 * builds it.
 */
PG_FUNCTION_INFO_V1(mint_set_pool);
Datum
mint_set_pool(PG_FUNCTION_ARGS)
{
	char	   *tpl = mint_arg_name(fcinfo, 0, "template");
	int32		spares;
	Oid			types[3] = {TEXTOID, INT4OID, OIDOID};
	Datum		values[3];
	Oid			tpl_oid;
	Oid			owner;
	MintEntry	e;
	MintLock	lock;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("spares must not be NULL"),
				 errhint("Pass 0 to turn the pool off.")));
	spares = PG_GETARG_INT32(1);
	if (spares < 0 || spares > 100)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("spares must be between 0 and 100, not %d", spares)));
	require_createdb(tpl);

	/* a concurrent rebuild or drop of the template finishes first */
	mint_lock_init(&lock, tpl, ShareLock);
	PG_TRY();
	{
		mint_lock_acquire(&lock, psprintf("waiting for template \"%s\" to be built", tpl));
		refresh_catalog_view();
		tpl_oid = get_database_oid(tpl, true);
		if (!OidIsValid(tpl_oid))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_DATABASE),
					 errmsg("template database \"%s\" does not exist", tpl),
					 errhint("Build it first with mint.template_begin('%s', fingerprint) and mint.template_finish('%s'), then set its pool.",
							 tpl, tpl)));
		mint_registry_lookup(tpl, tpl_oid, &e);
		if (!e.found || strcmp(e.kind, "template") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_WRONG_OBJECT_TYPE),
					 errmsg("database \"%s\" is not a pg_mint template", tpl),
					 errhint("Pools are kept only for templates built with mint.template_begin and mint.template_finish.")));
		owner = mint_db_owner(tpl_oid);
		if (!mint_database_ownercheck(tpl_oid, GetUserId()))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("must be owner of template database \"%s\" to configure its pool", tpl),
					 errdetail("The template belongs to role \"%s\"; its pool, and every spare in it, would too.",
							   GetUserNameFromId(owner, true)),
					 errhint("Only the template's owner or a superuser can change its pool.")));

		if (spares > 0)
			require_refiller_role(tpl, owner);

		values[0] = CStringGetTextDatum(tpl);
		values[1] = Int32GetDatum(spares);
		values[2] = ObjectIdGetDatum(owner);
		/* the template's owner takes over a pool recorded for another role */
		(void) mint_registry_exec("INSERT INTO mint.pool_config (template, spares, owner) VALUES ($1, $2, $3)"
								  " ON CONFLICT (template) DO UPDATE SET spares = EXCLUDED.spares,"
								  "   owner = EXCLUDED.owner",
								  3, types, values, NULL, NULL, 0);
	}
	PG_FINALLY();
	{
		mint_lock_release(&lock);
	}
	PG_END_TRY();

	/* fill (or shrink) once this transaction commits */
	mint_pool_kick(tpl, owner, GetTopTransactionId());
	PG_RETURN_VOID();
}

/* ---- mint._database_size(oid): NULL when not visible or gone -------------- */
PG_FUNCTION_INFO_V1(mint_database_size);
Datum
mint_database_size(PG_FUNCTION_ARGS)
{
	Oid			dboid = PG_GETARG_OID(0);
	LOCAL_FCINFO(inner, 1);
	Datum		result;

	if (!SearchSysCacheExists1(DATABASEOID, ObjectIdGetDatum(dboid)))
		PG_RETURN_NULL();
	if (mint_database_aclcheck(dboid, GetUserId(), ACL_CONNECT) != ACLCHECK_OK &&
		!has_privs_of_role(GetUserId(), MINT_ROLE_READ_ALL_STATS))
		PG_RETURN_NULL();

	InitFunctionCallInfoData(*inner, NULL, 1, InvalidOid, NULL, NULL);
	inner->args[0].value = ObjectIdGetDatum(dboid);
	inner->args[0].isnull = false;
	result = pg_database_size_oid(inner);
	if (inner->isnull)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(result);
}
