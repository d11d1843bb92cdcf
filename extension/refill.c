/*
 * refill.c -- the warm pool's background jobs: the refiller, which keeps
 * `spares` finished copies of a template ready, and the after-hit job,
 * which drops the clone a pool hit replaced.
 *
 * Layer: operations (beside ops.c).  Run by worker.c's entry points after
 * the common start-up; calls steps.c, pool.c (to restart refillers),
 * registry.c, exec.c and locks.c.
 *
 * The refiller connects as the pool's owner and loops: drop replaced clones
 * waiting to be dropped, drop spares of an old template build, then create
 * spares until there are `spares` of them.  One refiller per template (lock
 * space MINT_LOCK_SPACE_POOL); it yields its slot when callers are waiting
 * for one (mint_slot_waiters), and lingers a little when idle so that a
 * session cloning test after test does not start a new worker per hit.
 * Its job memory is reset after every step.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "pg_mint.h"

/* an idle refiller stays this long, polling this often, before it exits */
#define MINT_POOL_LINGER_MS 2000

#define MINT_POOL_POLL_MS	50

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

	/* what the last step allocated is garbage now; the fingerprint lives in job memory */
	mint_job_memory_reset();
	mint_xact_begin();
	work = pool_next(tpl, name, &oid, &tpl_oid, &fingerprint);
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
	if (mint_slot_waiters())
		return false;
	{
		char	   *spare = mint_private_name("spare");
		MintLock	l;

		/* the owner's quota is full: the pool stays short (spares count for it) */
		if (!mint_quota_reserve(GetUserId(), "spare", spare, tpl, tpl, false))
		{
			ereport(LOG,
					(errmsg("pg_mint pool of template \"%s\" stops refilling: its owner's pg_mint quota is full",
							tpl)));
			return false;
		}

		mint_lock_init(&l, spare, ExclusiveLock);
		(void) mint_lock_try(&l);
		PG_TRY();
		{
			(void) mint_create_registered(spare, tpl, false, "spare", "ready", tpl, tpl_oid,
										  fingerprint, mint_pool_strategy, NULL, NULL);
		}
		PG_FINALLY();
		{
			mint_lock_release(&l);
		}
		PG_END_TRY();
	}
	return true;
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
			mint_slot_waiters())
			return;
		rc = WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					   MINT_POOL_POLL_MS, PG_WAIT_EXTENSION);
		if (rc & WL_LATCH_SET)
			ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

/*
 * The lock on the name of a replaced clone to drop.  An executor's drop
 * (patient) is watched by the executor that handed it over, which looks
 * at the lock for a moment: try again for a short while.  After a pool
 * hit, someone else holding it (mint.gc()) means it is taken care of.
 */
#define MINT_DROP_LOCK_PATIENCE_MS 1000

static bool
take_drop_lock(MintLock *l, bool patient)
{
	TimestampTz start = GetCurrentTimestamp();

	while (!mint_lock_try(l))
	{
		if (!patient ||
			TimestampDifferenceExceeds(start, GetCurrentTimestamp(), MINT_DROP_LOCK_PATIENCE_MS))
			return false;
		(void) WaitLatch(MyLatch, WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 1, PG_WAIT_EXTENSION);
		CHECK_FOR_INTERRUPTS();
	}
	return true;
}

/*
 * The after-hit job, as the caller: once the hit's transaction has ended,
 * drop the clone it replaced (if the hit committed), then kick the refiller.
 */
void
mint_after_hit_run(const MintPoolArgs *args)
{
	char	   *row[2];
	Oid			types[1] = {OIDOID};
	Datum		values[1];

	if (TransactionIdIsValid(args->wait_xid))
	{
		mint_xact_begin();
		XactLockTableWait(args->wait_xid, NULL, NULL, XLTW_None);
		mint_xact_commit();
	}

	/* the hit committed (or not): drop the replaced target if it is ours to drop */
	mint_xact_begin();
	values[0] = ObjectIdGetDatum(args->old_oid);
	if (mint_registry_exec("SELECT datname, state FROM mint.registry WHERE datid" EQ "$1",
						   1, types, values, NULL, row, 2) == 0 ||
		row[1] == NULL || strcmp(row[1], "dropping") != 0)
		row[0] = NULL;
	mint_xact_commit();
	if (row[0] != NULL)
	{
		MintLock	l;

		mint_lock_init(&l, row[0], ExclusiveLock);
		if (take_drop_lock(&l, !TransactionIdIsValid(args->wait_xid)))
			mint_drop_registered(row[0], args->old_oid);
	}

	/* an executor's drop of a replaced clone has no pool to kick */
	if (OidIsValid(args->owner))
	{
		mint_xact_begin();
		mint_pool_kick(args->template_name, args->owner, InvalidTransactionId);
		mint_xact_commit();
	}
}

/*
 * The refiller, as the pool's owner.  Returns when there is nothing left to
 * do, or to give its slot to callers waiting for one.
 */
void
mint_refill_run(const MintPoolArgs *args)
{
	MintLock	pool_lock;

	if (TransactionIdIsValid(args->wait_xid))
	{
		/* see what the kicking transaction committed (or not) */
		mint_xact_begin();
		XactLockTableWait(args->wait_xid, NULL, NULL, XLTW_None);
		mint_xact_commit();
	}

	mint_lock_init_space(&pool_lock, args->template_name, ExclusiveLock, MINT_LOCK_SPACE_POOL);
	if (!mint_lock_try(&pool_lock))
		return;					/* a refiller is running; it will see our work */

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
			if (pool_step(args->template_name, false))
			{
				idle_since = GetCurrentTimestamp();
				continue;
			}
			if (mint_slot_waiters() ||
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
		if (mint_slot_waiters())
			return;				/* yield; the callers restart us when done */
		wait_for_takers(args->template_name);
		if (!pool_step(args->template_name, true))
			break;
		if (!mint_lock_try(&pool_lock))
			return;
	}

	/* done: pools that yielded their slots earlier may fill now */
	mint_xact_begin();
	mint_pool_kick_all();
	mint_xact_commit();
}
