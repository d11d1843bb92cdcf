/*
 * pool.c -- warm pools, the part callers and workers share: taking a ready
 * spare in place of a target, the databases a transaction holds from pool
 * hits, and starting the pool's background jobs (refill.c runs them).
 *
 * Layer: pool primitives, below the operations.  Called by pg_mint.c
 * (set_pool, a pool hit in the caller's own transaction), launcher.c (give
 * refillers their slots back), ops.c and refill.c; calls steps.c (the
 * swap), registry.c, spawn.c, locks.c and names.c.
 *
 * mint.set_pool(template, spares) records the wish in mint.pool_config; a
 * pool belongs to its template's owner (registry.c).  clone() takes a spare
 * with SELECT ... FOR UPDATE SKIP LOCKED, so concurrent callers get
 * distinct spares; a spare records the OID of the template build it was
 * copied from and is handed out only while that is still the template's
 * current build.  In autocommit the take runs in the caller's own
 * transaction (renames need no background worker: well under a
 * millisecond); inside a transaction block it runs in clone's worker, so
 * the clone still commits on its own.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/lmgr.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "storage/ipc.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "storage/latch.h"

#include "compat.h"
#include "pg_mint.h"

StaticAssertDecl(sizeof(MintPoolArgs) <= BGW_EXTRALEN, "MintPoolArgs must fit in bgw_extra");

/* ---- handing out a spare -------------------------------------------------- */

/*
 * Databases the current transaction took or replaced by a pool hit in its
 * own transaction: it holds their locks (and registry row locks) until it
 * ends, so a background worker started meanwhile must not wait for them;
 * nothing could wake it (the deadlock detector cannot see a backend waiting
 * on its worker's message queue).  Reset when the transaction ends.
 */
static Oid	held[MINT_MAX_HELD];
static int	nheld = 0;
static void register_xact_callback(void);

static void
hold_database(Oid oid)
{
	if (nheld < MINT_MAX_HELD)
		held[nheld++] = oid;
	register_xact_callback();
}

/* The databases this transaction holds from pool hits; returns how many. */
int
mint_held_databases(const Oid **oids)
{
	*oids = held;
	return nheld;
}

bool
mint_database_held(Oid oid)
{
	int			i;

	for (i = 0; i < nheld; i++)
		if (held[i] == oid)
			return true;
	return false;
}

/*
 * Take a ready spare of build tpl_oid of template tpl and put it in place
 * of target, inside the current transaction (a spare is a copy of the
 * version under the template's own name: clones of a version that moved
 * aside never find one).  Returns false (and counts a
 * miss) when there is none.
 */
/* the part of mint_pool_take's statements after the choice of spare s */
#define SWAP_BOOKKEEPING \
	"     e AS (INSERT INTO mint.pool_events (template, hit) SELECT $1, true FROM s)," \
	"     u AS (UPDATE mint.registry g SET" \
	"             kind = CASE WHEN g.datid" EQ "s.datid THEN 'clone' ELSE g.kind END," \
	"             state = CASE WHEN g.datid" EQ "s.datid THEN 'ready' ELSE 'dropping' END," \
	"             datname = CASE WHEN g.datid" EQ "s.datid THEN $4 ELSE $5 END," \
	"             created_at = CASE WHEN g.datid" EQ "s.datid" \
	"                          THEN pg_catalog.clock_timestamp() ELSE g.created_at END," \
	"             finished_at = CASE WHEN g.datid" EQ "s.datid" \
	"                          THEN pg_catalog.clock_timestamp() ELSE g.finished_at END" \
	"           FROM s WHERE g.datid" EQ "s.datid OR (g.datid" EQ "$6 AND $6" NE "0::pg_catalog.oid))"

bool
mint_pool_take(const char *tpl, Oid tpl_oid, Oid owner, const char *target, Oid old_oid,
			   MintXact xact, char *old_name, int terminate_timeout_ms, const char *run)
{
	Oid			types[6] = {TEXTOID, OIDOID, OIDOID, TEXTOID, TEXTOID, OIDOID};
	Datum		values[6];
	char	   *row[3];

	old_name[0] = '\0';
	if (!OidIsValid(owner))
		return false;
	/* one more hit could not be remembered (see hold_database): copy instead */
	if (xact == MINT_XACT_CALLER && nheld > MINT_MAX_HELD - 2)
		return false;
	if (OidIsValid(old_oid))
		strlcpy(old_name, mint_private_name("old"), NAMEDATALEN);

	values[0] = CStringGetTextDatum(tpl);
	values[1] = ObjectIdGetDatum(tpl_oid);
	values[2] = ObjectIdGetDatum(owner);
	values[3] = CStringGetTextDatum(target);
	values[4] = CStringGetTextDatum(old_name);
	values[5] = ObjectIdGetDatum(old_oid);

	/*
	 * One statement takes the oldest ready spare nobody else is taking,
	 * counts the hit, and records the swap the renames below make: the spare
	 * becomes the ready clone `target`, the replaced clone is 'dropping'
	 * under its private name.  Any error later in this transaction undoes
	 * all of it.  The spare's row must name it as pg_database does (OID and
	 * name); when the oldest one does not (renamed or dropped by hand), the
	 * second form checks every candidate instead.
	 */
	if (mint_registry_exec("WITH c AS (SELECT r.datid, r.datname FROM mint.registry r"
						   "            WHERE r.kind" EQ "'spare' AND r.state" EQ "'ready' AND r.template" EQ "$1"
						   "              AND r.template_datid" EQ "$2 AND r.owner" EQ "$3"
						   "            ORDER BY r.created_at LIMIT 1 FOR UPDATE SKIP LOCKED),"
						   "     s AS (SELECT c.datid, c.datname FROM c"
						   "            WHERE (SELECT d.datname FROM pg_catalog.pg_database d"
						   "                    WHERE d.oid" EQ "c.datid AND d.datdba" EQ "$3)" EQ "c.datname),"
						   SWAP_BOOKKEEPING
						   " SELECT c.datid, c.datname, EXISTS (SELECT 1 FROM s) FROM c",
						   6, types, values, NULL, row, 3) > 0 &&
		strcmp(row[2], "t") != 0)
	{
		if (mint_registry_exec("WITH s AS (SELECT r.datid, r.datname FROM mint.registry r"
							   "            WHERE r.kind" EQ "'spare' AND r.state" EQ "'ready' AND r.template" EQ "$1"
							   "              AND r.template_datid" EQ "$2 AND r.owner" EQ "$3"
							   "              AND (SELECT d.datname FROM pg_catalog.pg_database d"
							   "                    WHERE d.oid" EQ "r.datid AND d.datdba" EQ "$3)" EQ "r.datname"
							   "            ORDER BY r.created_at LIMIT 1 FOR UPDATE OF r SKIP LOCKED),"
							   SWAP_BOOKKEEPING
							   " SELECT datid, datname, true FROM s",
							   6, types, values, NULL, row, 3) == 0)
			row[0] = NULL;
	}
	if (row[0] == NULL)
	{
		/* no spare: count a miss */
		(void) mint_registry_exec("INSERT INTO mint.pool_events (template, hit) VALUES ($1, false)",
								  1, types, values, NULL, NULL, 0);
		old_name[0] = '\0';
		return false;
	}
	/* the spare was made for no run: it is this run's clone now */
	mint_registry_set_run(atooid(row[0]), run);
	/* and gets the lease of the clone() that took it */
	mint_lease_set(atooid(row[0]), mint_job_lease_us);
	mint_swap_databases(target, old_oid, old_name, row[1], terminate_timeout_ms, xact);
	if (xact == MINT_XACT_CALLER)
	{
		/* this transaction now holds both databases' locks until it ends */
		hold_database(atooid(row[0]));
		if (OidIsValid(old_oid))
			hold_database(old_oid);
	}
	return true;
}

/* ---- starting the refiller -------------------------------------------------- */

/* The held databases are the transaction's: forget them when it ends. */
static bool xact_callback_registered = false;

static void
pool_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_PREPARE ||
		event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
		nheld = 0;
}

static void
register_xact_callback(void)
{
	if (!xact_callback_registered)
	{
		RegisterXactCallback(pool_xact_callback, NULL);
		xact_callback_registered = true;
	}
}

/* ---- starting pool jobs ------------------------------------------------------ */

/*
 * Start a pool job running function with args.  With a valid wait_xid (the
 * caller's own transaction, which holds changes it must see) it starts when
 * that transaction commits, and first waits for it to end.  Best effort:
 * with no free slot the next clone() starts one.
 */
static bool
launch_detached_as(const char *function, const char *type, const char *name, MintPoolArgs *args)
{
	args->magic = MINT_POOL_ARGS_MAGIC;
	return mint_spawn_detached(function, type, name, args, sizeof(*args), args->wait_xid);
}

static bool
launch_detached(const char *function, const char *name, MintPoolArgs *args)
{
	return launch_detached_as(function, "pg_mint pool", name, args);
}

void
mint_pool_kick(const char *tpl, Oid owner, TransactionId wait_xid)
{
	MintPoolArgs	args;

	if (!TransactionIdIsValid(wait_xid))
	{
		MintLock	l;

		/* a running refiller re-checks for work after it lets go of this */
		mint_lock_init_space(&l, tpl, ExclusiveLock, MINT_LOCK_SPACE_POOL);
		if (!mint_lock_try(&l))
			return;
		mint_lock_release(&l);
	}

	memset(&args, 0, sizeof(args));
	args.dboid = MyDatabaseId;
	args.owner = owner;
	args.wait_xid = wait_xid;
	strlcpy(args.template_name, tpl, NAMEDATALEN);
	(void) launch_detached("mint_pool_main", "pg_mint pool refill", &args);
}

/*
 * After a pool hit in the caller's own transaction: once it commits, drop
 * the replaced target (as the caller, who could drop it by hand) and start
 * the refiller.  One worker start on the hit path instead of two.
 */
void
mint_pool_after_hit(const char *tpl, Oid owner, Oid old_oid)
{
	MintPoolArgs	args;

	if (!OidIsValid(old_oid))
	{
		mint_pool_kick(tpl, owner, GetTopTransactionId());
		return;
	}
	memset(&args, 0, sizeof(args));
	args.dboid = MyDatabaseId;
	args.owner = owner;
	args.session_userid = GetSessionUserId();
	GetUserIdAndSecContext(&args.current_userid, &args.sec_context);
	args.wait_xid = GetTopTransactionId();
	args.old_oid = old_oid;
	strlcpy(args.template_name, tpl, NAMEDATALEN);
	(void) launch_detached("mint_after_hit_main", "pg_mint drop after pool hit", &args);
}

/*
 * mint.janitor(): mint.gc() in a background worker of its own, as the
 * caller, started now; the caller does not wait for it (a scheduler's job,
 * such as pg_cron's, must not wait for DROP DATABASE: see
 * docs/shared-server.md).  false when no worker slot is free.
 */
bool
mint_start_janitor(int64 older_than_us, int flags)
{
	MintPoolArgs args;

	memset(&args, 0, sizeof(args));
	args.dboid = MyDatabaseId;
	args.owner = GetUserId();
	args.session_userid = GetSessionUserId();
	GetUserIdAndSecContext(&args.current_userid, &args.sec_context);
	args.wait_xid = InvalidTransactionId;
	args.older_than_us = older_than_us;
	args.flags = flags;
	return launch_detached_as("mint_janitor_main", "pg_mint janitor", "pg_mint janitor", &args);
}

/*
 * From an executor, after its job answered: drop the clone the job replaced
 * (registered as 'dropping' under a private name) in a worker of its own,
 * as this job's caller, so that DROP DATABASE's checkpoint does not delay
 * the session's next job.  The same job as after a pool hit, with no
 * transaction to wait for and no pool to kick.  Returns once that worker
 * holds the name's lock (or has finished), so that from outside some
 * pg_mint process is seen at work on it all along; false when no worker
 * slot was free: then the executor drops it itself.
 */
#define MINT_HANDOVER_WAIT_MS 5000

bool
mint_drop_detached(const char *name, Oid oid)
{
	MintPoolArgs	args;
	BackgroundWorkerHandle *handle;
	TimestampTz start = GetCurrentTimestamp();

	memset(&args, 0, sizeof(args));
	args.magic = MINT_POOL_ARGS_MAGIC;
	args.dboid = MyDatabaseId;
	args.owner = InvalidOid;
	args.session_userid = GetSessionUserId();
	GetUserIdAndSecContext(&args.current_userid, &args.sec_context);
	args.wait_xid = InvalidTransactionId;
	args.old_oid = oid;
	/* the tail of a call: a worker as the call's was, not a pool job */
	handle = mint_spawn_watched("mint_after_hit_main", "pg_mint worker",
								"pg_mint drop of a replaced clone", &args, sizeof(args));
	if (handle == NULL)
		return false;
	for (;;)
	{
		pid_t		pid;

		if (GetBackgroundWorkerPid(handle, &pid) == BGWH_STOPPED ||
			!mint_lock_is_free(name) ||
			TimestampDifferenceExceeds(start, GetCurrentTimestamp(), MINT_HANDOVER_WAIT_MS))
			break;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 1, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		/* the drop waits for every backend, us too, to absorb a barrier */
		CHECK_FOR_INTERRUPTS();
	}
	pfree(handle);
	return true;
}

/*
 * Callers that had to wait for a worker slot may have made refillers yield:
 * start the refillers of pools below their size again (best effort).
 */
void
mint_pool_kick_all(void)
{
	int			ret;
	uint64		i;
	List	   *todo = NIL;
	ListCell   *lc;
	MemoryContext outer = CurrentMemoryContext;

	if (SPI_connect() != SPI_OK_CONNECT)
		return;
	/* only pools whose template is finished: the others cannot fill */
	ret = mint_spi_run("SELECT p.template, p.owner FROM mint.pool_config p"
					   "  JOIN mint.registry t ON t.datname" EQ "p.template"
					   "   AND t.kind" EQ "'template' AND t.state" EQ "'ready'"
					   "  JOIN pg_catalog.pg_database d ON d.oid" EQ "t.datid"
					   "   AND d.datname" EQ "t.datname AND d.datdba" EQ "p.owner"
					   " WHERE p.spares" GT "(SELECT pg_catalog.count(*) FROM mint.registry r"
					   "                      WHERE r.kind" EQ "'spare' AND r.state" EQ "'ready'"
					   "                        AND r.template" EQ "p.template"
					   "                        AND r.template_datid" EQ "t.datid)",
					   0, NULL, NULL, NULL, true, 0);
	if (ret == SPI_OK_SELECT)
	{
		for (i = 0; i < SPI_processed; i++)
		{
			bool		isnull;
			MemoryContext spi = MemoryContextSwitchTo(outer);
			MintPoolArgs   *a = palloc0(sizeof(MintPoolArgs));

			strlcpy(a->template_name, SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1), NAMEDATALEN);
			a->owner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull));
			todo = lappend(todo, a);
			MemoryContextSwitchTo(spi);
		}
	}
	SPI_finish();
	foreach(lc, todo)
	{
		MintPoolArgs   *a = (MintPoolArgs *) lfirst(lc);

		mint_pool_kick(a->template_name, a->owner, InvalidTransactionId);
	}
}

/* Is a refiller working on (or lingering for) the pool of tpl? */
bool
mint_pool_refiller_alive(const char *tpl)
{
	MintLock	l;

	mint_lock_init_space(&l, tpl, ExclusiveLock, MINT_LOCK_SPACE_POOL);
	if (!mint_lock_try(&l))
		return true;
	mint_lock_release(&l);
	return false;
}
