/*
 * pool.c -- warm pools: finished copies of a template kept ready under
 * private names, handed out by mint.clone() with a rename.
 *
 * mint.set_pool(template, spares) records the wish in mint.pool_config.
 * A refill worker (a dynamic background worker, started on demand, exiting
 * when idle; no shared_preload_libraries) connects as the pool's owner and
 * loops: drop replaced clones waiting to be dropped, drop spares of an old
 * template build, then create spares until there are `spares` of them.
 * One refiller per template (lock space 0x6D75); it yields its slot when
 * callers are waiting for one (they hold lock space 0x6D76 while waiting).
 *
 * clone() takes a spare with SELECT ... FOR UPDATE SKIP LOCKED, so
 * concurrent callers get distinct spares; a spare records the OID of the
 * template build it was copied from and is handed out only while that is
 * still the template's current build.  In autocommit the take runs in the
 * caller's own transaction (renames need no background worker: well under a
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

/*
 * What a detached pool worker needs, passed in bgw_extra (no shared memory
 * outlives the caller).  The refiller acts as the pool owner; the after-hit
 * worker acts as the caller (user/current_user) to drop the replaced target.
 */
typedef struct PoolArgs
{
	Oid			dboid;
	Oid			owner;			/* pool owner */
	Oid			session_userid; /* after-hit: the caller */
	Oid			current_userid;
	int			sec_context;
	TransactionId wait_xid;
	Oid			old_oid;		/* after-hit: replaced target to drop */
	char		template_name[NAMEDATALEN];
} PoolArgs;

StaticAssertDecl(sizeof(PoolArgs) <= BGW_EXTRALEN, "PoolArgs must fit in bgw_extra");

/* an idle refiller stays this long, polling this often, before it exits */
#define MINT_POOL_LINGER_MS 2000
#define MINT_POOL_POLL_MS	50

/* ---- callers waiting for worker slots ----------------------------------- */
static MintLock slot_wait_lock;

void
mint_slot_wait_begin(void)
{
	mint_lock_init_space(&slot_wait_lock, "slots", ShareLock, MINT_LOCK_SPACE_SLOTS);
	(void) mint_lock_try(&slot_wait_lock);
}

void
mint_slot_wait_end(void)
{
	mint_lock_release(&slot_wait_lock);
}

static bool
callers_waiting_for_slots(void)
{
	MintLock	l;

	mint_lock_init_space(&l, "slots", ExclusiveLock, MINT_LOCK_SPACE_SLOTS);
	if (!mint_lock_try(&l))
		return true;
	mint_lock_release(&l);
	return false;
}

/* ---- configuration -------------------------------------------------------- */

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
 * another transaction holds is left for mint.gc() (see mint_pool_forget_orphans).
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

/*
 * mint.gc(): forget the pools of templates that no longer exist (dropped by
 * hand, or forgotten by a drop while a transaction held the row), except
 * while someone builds a template of that name (its name lock is held).
 */
void
mint_pool_forget_orphans(void)
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
 * Take a ready spare of the current build of tpl and put it in place of
 * target, inside the current transaction.  Returns false (and counts a
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
			   bool nested, char *old_name, int terminate_timeout_ms)
{
	Oid			types[6] = {TEXTOID, OIDOID, OIDOID, TEXTOID, TEXTOID, OIDOID};
	Datum		values[6];
	char	   *row[3];

	old_name[0] = '\0';
	if (!OidIsValid(owner))
		return false;
	/* one more hit could not be remembered (see hold_database): copy instead */
	if (nested && nheld > MINT_MAX_HELD - 2)
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
	mint_swap_databases(target, old_oid, old_name, row[1], terminate_timeout_ms, nested);
	if (nested)
	{
		/* this transaction now holds both databases' locks until it ends */
		hold_database(atooid(row[0]));
		if (OidIsValid(old_oid))
			hold_database(old_oid);
	}
	return true;
}

/* ---- starting the refiller -------------------------------------------------- */

/*
 * Workers to start once the current transaction commits (in
 * TopMemoryContext).  A worker that must wait for the caller's transaction
 * anyway is registered from the commit callback: the postmaster then forks
 * it while the caller is already sending its answer, so a pool hit does not
 * share the CPU with the new process's start-up.  On abort nothing starts.
 */
static List *pending_workers = NIL;
static bool xact_callback_registered = false;

static void pool_xact_callback(XactEvent event, void *arg);

static void
register_xact_callback(void)
{
	if (!xact_callback_registered)
	{
		RegisterXactCallback(pool_xact_callback, NULL);
		xact_callback_registered = true;
	}
}

static void
start_worker(BackgroundWorker *worker)
{
	/* no handle: nothing here may fail once the transaction has committed */
	if (!RegisterDynamicBackgroundWorker(worker, NULL))
		ereport(DEBUG1,
				(errmsg_internal("pg_mint: no free worker slot for \"%s\"", worker->bgw_name)));
}

static void
pool_xact_callback(XactEvent event, void *arg)
{
	ListCell   *lc;

	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_PREPARE ||
		event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
		nheld = 0;
	if (pending_workers == NIL)
		return;
	/* a prepared transaction ends later: its workers wait for it */
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_PREPARE)
	{
		foreach(lc, pending_workers)
			start_worker((BackgroundWorker *) lfirst(lc));
	}
	else if (event != XACT_EVENT_ABORT && event != XACT_EVENT_PARALLEL_ABORT)
		return;
	list_free_deep(pending_workers);
	pending_workers = NIL;
}

/*
 * Start a pool worker running function with args.  With a valid wait_xid
 * (the caller's own transaction, which holds changes it must see) it starts
 * when that transaction commits, and first waits for it to end.  Best
 * effort: with no free slot the next clone() starts one.
 */
static void
launch_detached(const char *function, const char *name, PoolArgs *args)
{
	BackgroundWorker worker;

	mint_worker_init(&worker, function, "pg_mint pool");
	snprintf(worker.bgw_name, sizeof(worker.bgw_name), "%s", name);
	memcpy(worker.bgw_extra, args, sizeof(*args));

	if (TransactionIdIsValid(args->wait_xid) && args->wait_xid == GetTopTransactionIdIfAny())
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
		BackgroundWorker *copy = palloc(sizeof(worker));

		memcpy(copy, &worker, sizeof(worker));
		pending_workers = lappend(pending_workers, copy);
		MemoryContextSwitchTo(old);
		register_xact_callback();
		return;
	}
	start_worker(&worker);
}

void
mint_pool_kick(const char *tpl, Oid owner, TransactionId wait_xid)
{
	PoolArgs	args;

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
	launch_detached("mint_pool_main", "pg_mint pool refill", &args);
}

/*
 * After a pool hit in the caller's own transaction: once it commits, drop
 * the replaced target (as the caller, who could drop it by hand) and start
 * the refiller.  One worker start on the hit path instead of two.
 */
void
mint_pool_after_hit(const char *tpl, Oid owner, Oid old_oid)
{
	PoolArgs	args;

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
	launch_detached("mint_after_hit_main", "pg_mint drop after pool hit", &args);
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
			PoolArgs   *a = palloc0(sizeof(PoolArgs));

			strlcpy(a->template_name, SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1), NAMEDATALEN);
			a->owner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull));
			todo = lappend(todo, a);
			MemoryContextSwitchTo(spi);
		}
	}
	SPI_finish();
	foreach(lc, todo)
	{
		PoolArgs   *a = (PoolArgs *) lfirst(lc);

		mint_pool_kick(a->template_name, a->owner, InvalidTransactionId);
	}
}

/* ---- the refiller ----------------------------------------------------------- */

typedef enum PoolWork
{
	POOL_IDLE,
	POOL_DROP,
	POOL_CREATE
} PoolWork;

/*
 * Find the next thing to do for the pool of tpl: a replaced clone or stale
 * spare of ours to drop (name and oid returned), or a spare to create.
 */
static PoolWork
pool_next(const char *tpl, char *name, Oid *oid, Oid *tpl_oid, char **fingerprint)
{
	Oid			types[2] = {TEXTOID, OIDOID};
	Datum		values[2];
	char	   *row[2];
	char	   *cfg[1];
	int			want = 0;
	MintEntry	te;
	int			have;

	values[0] = CStringGetTextDatum(tpl);
	values[1] = ObjectIdGetDatum(GetUserId());

	/* fold committed hit/miss events into the counters (we are their only writer) */
	(void) mint_registry_exec("WITH e AS (DELETE FROM mint.pool_events WHERE template" EQ "$1 RETURNING hit)"
							  " UPDATE mint.pool_config SET"
							  "   hits = hits" PLUS "(SELECT pg_catalog.count(*) FROM e WHERE hit),"
							  "   misses = misses" PLUS "(SELECT pg_catalog.count(*) FROM e WHERE NOT hit)"
							  " WHERE template" EQ "$1 AND EXISTS (SELECT 1 FROM e)",
							  1, types, values, NULL, NULL, 0);

	/* replaced clones of ours waiting to be dropped, and spares of old builds */
	*tpl_oid = get_database_oid(tpl, true);
	if (OidIsValid(*tpl_oid))
		mint_registry_lookup(tpl, *tpl_oid, &te);
	else
		memset(&te, 0, sizeof(te));
	if (!(te.found && strcmp(te.kind, "template") == 0 && strcmp(te.state, "ready") == 0))
		*tpl_oid = InvalidOid;

	{
		Oid			t4[4] = {TEXTOID, OIDOID, OIDOID, INT4OID};
		Datum		v4[4];
		int			k;

		v4[0] = values[0];
		v4[1] = values[1];
		v4[2] = ObjectIdGetDatum(*tpl_oid);
		/* skip candidates someone else is working on (their name lock is held) */
		for (k = 0; k < 16; k++)
		{
			v4[3] = Int32GetDatum(k);
			if (mint_registry_exec("SELECT datid, datname FROM mint.registry"
								   " WHERE owner" EQ "$2 AND ("
								   "   (kind" EQ "'clone' AND state" EQ "'dropping')"
								   "   OR (kind" EQ "'spare' AND template" EQ "$1"
								   "       AND (template_datid IS NULL OR NOT template_datid" EQ "$3"
								   "            OR state" NE "'ready')))"
								   " ORDER BY created_at OFFSET $4 LIMIT 1",
								   4, t4, v4, NULL, row, 2) == 0)
				break;
			if (mint_lock_is_free(row[1]))
			{
				*oid = atooid(row[0]);
				strlcpy(name, row[1], NAMEDATALEN);
				return POOL_DROP;
			}
		}
	}

	if (mint_registry_exec("SELECT spares FROM mint.pool_config WHERE template" EQ "$1 AND owner" EQ "$2",
						   2, types, values, NULL, cfg, 1) > 0 && cfg[0])
		want = atoi(cfg[0]);
	/* spares only of a template the refiller's role (the pool's owner) owns */
	if (!OidIsValid(*tpl_oid) || mint_db_owner(*tpl_oid) != GetUserId())
		want = 0;

	{
		Oid			t3[3] = {TEXTOID, OIDOID, OIDOID};
		Datum		v3[3];
		char	   *cnt[1];

		v3[0] = values[0];
		v3[1] = values[1];
		v3[2] = ObjectIdGetDatum(*tpl_oid);
		/* spares a hit may take: named by OID and name as in pg_database */
		(void) mint_registry_exec("SELECT pg_catalog.count(*) FROM mint.registry r"
								  "  JOIN pg_catalog.pg_database d ON d.oid" EQ "r.datid AND d.datname" EQ "r.datname"
								  " WHERE r.kind" EQ "'spare' AND r.template" EQ "$1 AND r.owner" EQ "$2"
								  "   AND r.template_datid" EQ "$3 AND r.state" EQ "'ready'",
								  3, t3, v3, NULL, cnt, 1);
		have = cnt[0] ? atoi(cnt[0]) : 0;
		if (have > want)
		{
			/* the pool shrank: drop the newest surplus spare */
			if (mint_registry_exec("SELECT datid, datname FROM mint.registry"
								   " WHERE kind" EQ "'spare' AND template" EQ "$1 AND owner" EQ "$2"
								   "   AND template_datid" EQ "$3"
								   " ORDER BY created_at DESC LIMIT 1",
								   3, t3, v3, NULL, row, 2) > 0)
			{
				*oid = atooid(row[0]);
				strlcpy(name, row[1], NAMEDATALEN);
				return POOL_DROP;
			}
		}
	}
	if (have < want)
	{
		*fingerprint = te.fingerprint;
		return POOL_CREATE;
	}
	return POOL_IDLE;
}

/* One step of work; false when there was nothing (left) to do. */
static bool
pool_step(const char *tpl, bool dry_run)
{
	char		name[NAMEDATALEN];
	Oid			oid = InvalidOid;
	Oid			tpl_oid;
	char	   *fingerprint = NULL;
	PoolWork	work;

	mint_xact_begin();
	work = pool_next(tpl, name, &oid, &tpl_oid, &fingerprint);
	if (fingerprint)
		fingerprint = MemoryContextStrdup(TopMemoryContext, fingerprint);
	mint_xact_commit();

	if (work == POOL_IDLE || dry_run)
		return work != POOL_IDLE;

	if (work == POOL_DROP)
	{
		MintLock	l;

		mint_lock_init(&l, name, ExclusiveLock);
		if (!mint_lock_try(&l))
			return false;		/* someone else is on it */
		PG_TRY();
		{
			mint_drop_registered(name, oid);
		}
		PG_FINALLY();
		{
			mint_lock_release(&l);
		}
		PG_END_TRY();
		return true;
	}

	/* POOL_CREATE: give up the slot when callers are waiting for one */
	if (callers_waiting_for_slots())
		return false;
	{
		char	   *spare = mint_private_name("spare");
		MintLock	l;

		mint_lock_init(&l, spare, ExclusiveLock);
		(void) mint_lock_try(&l);
		PG_TRY();
		{
			(void) mint_create_registered(spare, tpl, false, "spare", "ready", tpl, tpl_oid,
										  fingerprint, mint_pool_strategy);
		}
		PG_FINALLY();
		{
			mint_lock_release(&l);
		}
		PG_END_TRY();
	}
	return true;
}

void
mint_after_hit_main(Datum main_arg)
{
	PoolArgs	args;
	char	   *row[2];
	Oid			types[1] = {OIDOID};
	Datum		values[1];

	memcpy(&args, MyBgworkerEntry->bgw_extra, sizeof(args));
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(args.dboid, args.session_userid, MINT_BGW_CONN_FLAGS);
	mint_worker_become(args.current_userid, args.sec_context);

	mint_xact_begin();
	XactLockTableWait(args.wait_xid, NULL, NULL, XLTW_None);
	mint_xact_commit();

	/* the hit committed (or not): drop the replaced target if it is ours to drop */
	mint_xact_begin();
	values[0] = ObjectIdGetDatum(args.old_oid);
	if (mint_registry_exec("SELECT datname, state FROM mint.registry WHERE datid" EQ "$1",
						   1, types, values, NULL, row, 2) == 0 ||
		row[1] == NULL || strcmp(row[1], "dropping") != 0)
		row[0] = NULL;
	mint_xact_commit();
	if (row[0] != NULL)
	{
		MintLock	l;

		mint_lock_init(&l, row[0], ExclusiveLock);
		if (mint_lock_try(&l))
			mint_drop_registered(row[0], args.old_oid);
	}

	mint_xact_begin();
	mint_pool_kick(args.template_name, args.owner, InvalidTransactionId);
	mint_xact_commit();
	proc_exit(0);
}

/*
 * Wait until every transaction that is taking one of our spares of tpl has
 * ended, but never longer than the linger time and never while callers
 * wait for a worker slot: a transaction left open after a hit (a DO block
 * that sleeps, a forgotten BEGIN) must not keep this worker's slot.  If it
 * is still open then, its hit's work (the replaced clone's drop, the
 * refill) waits for the next kick or mint.gc().
 */
static void
wait_for_takers(const char *tpl)
{
	Oid			types[2] = {TEXTOID, OIDOID};
	Datum		values[2];
	TimestampTz start = GetCurrentTimestamp();

	values[0] = CStringGetTextDatum(tpl);
	values[1] = ObjectIdGetDatum(GetUserId());
	for (;;)
	{
		char	   *busy[1];
		int			rc;

		mint_xact_begin();
		(void) mint_registry_exec("SELECT (SELECT pg_catalog.count(*) FROM mint.registry"
								  "         WHERE kind" EQ "'spare' AND template" EQ "$1 AND owner" EQ "$2)"
								  "       OPERATOR(pg_catalog.-)"
								  "       (SELECT pg_catalog.count(*) FROM"
								  "          (SELECT 1 FROM mint.registry"
								  "            WHERE kind" EQ "'spare' AND template" EQ "$1 AND owner" EQ "$2"
								  "              FOR SHARE SKIP LOCKED) s)",
								  2, types, values, NULL, busy, 1);
		mint_xact_commit();
		if (busy[0] == NULL || strcmp(busy[0], "0") == 0)
			return;
		if (TimestampDifferenceExceeds(start, GetCurrentTimestamp(), MINT_POOL_LINGER_MS) ||
			callers_waiting_for_slots())
			return;
		rc = WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					   MINT_POOL_POLL_MS, PG_WAIT_EXTENSION);
		if (rc & WL_LATCH_SET)
			ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
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

void
mint_pool_main(Datum main_arg)
{
	PoolArgs	args;
	MintLock	pool_lock;

	memcpy(&args, MyBgworkerEntry->bgw_extra, sizeof(args));
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(args.dboid, args.owner, MINT_BGW_CONN_FLAGS);
	mint_worker_become(args.owner, 0);

	if (TransactionIdIsValid(args.wait_xid))
	{
		/* see what the kicking transaction committed (or not) */
		mint_xact_begin();
		XactLockTableWait(args.wait_xid, NULL, NULL, XLTW_None);
		mint_xact_commit();
	}

	mint_lock_init_space(&pool_lock, args.template_name, ExclusiveLock, MINT_LOCK_SPACE_POOL);
	if (!mint_lock_try(&pool_lock))
		proc_exit(0);			/* a refiller is running; it will see our work */

	for (;;)
	{
		TimestampTz idle_since = GetCurrentTimestamp();

		/*
		 * Work, then linger: a session cloning test after test keeps hitting
		 * the pool, and a refiller that is still there saves each hit the
		 * start of a new worker.  Poll, yield to callers waiting for a slot,
		 * give up after MINT_POOL_LINGER_MS without work.
		 */
		for (;;)
		{
			int			rc;

			CHECK_FOR_INTERRUPTS();
			if (pool_step(args.template_name, false))
			{
				idle_since = GetCurrentTimestamp();
				continue;
			}
			if (callers_waiting_for_slots() ||
				TimestampDifferenceExceeds(idle_since, GetCurrentTimestamp(), MINT_POOL_LINGER_MS))
				break;
			rc = WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						   MINT_POOL_POLL_MS, PG_WAIT_EXTENSION);
			if (rc & WL_LATCH_SET)
				ResetLatch(MyLatch);
		}

		/*
		 * Let go, then look once more so no work is lost: a hit that saw us
		 * alive (and so started no worker) holds a row lock on the spare it
		 * took until it commits; waiting for those rows waits for it.
		 */
		mint_lock_release(&pool_lock);
		if (callers_waiting_for_slots())
			proc_exit(0);		/* yield; the callers restart us when done */
		wait_for_takers(args.template_name);
		if (!pool_step(args.template_name, true))
			break;
		if (!mint_lock_try(&pool_lock))
			proc_exit(0);
	}

	/* done: pools that yielded their slots earlier may fill now */
	mint_xact_begin();
	mint_pool_kick_all();
	mint_xact_commit();
	proc_exit(0);
}
