/*
 * admission.c -- admission control for copies (pg_mint.max_concurrent_copies)
 * and the activity pg_mint's workers publish (mint.activity).
 *
 * No shared memory of our own (pg_mint needs no shared_preload_libraries):
 * the lock manager's shared memory is enough.  A copy slot is one of N
 * advisory-style locks (database 0, field4 MINT_LOCK_SPACE_COPY_SLOT, field2
 * the slot's number).  Fairness comes from the lock manager's wait queue,
 * which grants one lock mode on one tag in arrival order: every copy first
 * queues for the exclusive "queue" lock; only the head of the queue looks
 * for a free slot (polling every few milliseconds, as CREATE DATABASE itself
 * polls for sessions on its template), takes it, and lets the next in line
 * become the head.  So copies start in the order they asked, whatever role
 * or template they are for, and a role that asks for ten copies gets ten
 * turns, each in its place.  Locks vanish with the process that holds them:
 * a worker that crashes or is killed frees its slot and its place at once.
 * SQL cannot take these locks (pg_advisory_lock() uses field4 1 or 2 and the
 * current database's OID), so nobody can hold a slot or the queue by hand.
 *
 * The wait is bounded by the caller's lock_timeout (55P03, here) and by its
 * statement_timeout (the caller cancels, which stops the worker).
 *
 * What each worker does is in its pg_stat_activity query text while it
 * waits or copies: the statement, then a comment "pg_mint activity <n>
 * <json of n bytes>" (publish()); mint._activity() reads them for the view
 * mint.activity.
 *
 * Layer: primitives (beside locks.c).  Called by steps.c and pg_mint.c (the
 * view's function); calls locks.c, objects.c and guard.c.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "storage/proc.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "compat.h"
#include "pg_mint.h"

/* how often the head of the queue looks for a free slot */
#define MINT_SLOT_POLL_MS 5

bool		mint_activity_pinned = false;

static MintLock slot_lock;
static bool publish_activity = false;

static void
slot_tag(MintLock *lock, uint16 space, uint32 n)
{
	SET_LOCKTAG_ADVISORY(lock->tag, InvalidOid, 0, n, space);
	lock->mode = ExclusiveLock;
	lock->held = false;
}

/* what the copy in progress is, for its activity text */
static char act_op[16];
static char act_tpl[NAMEDATALEN];
static char act_target[NAMEDATALEN];

/*
 * Publish what this worker does as its pg_stat_activity text: prefix (the
 * statement it runs, so that the text still starts with CREATE DATABASE
 * while it copies, or what it waits for), then a comment
 * "/\* pg_mint activity <n> <json of n bytes> *\/" that mint._activity()
 * reads.  Every '/' in the JSON is written \u002f, so the comment pg_mint
 * appends is the only one at the end of the text whatever the names hold.
 * A text longer than track_activity_query_size would be cut: then without
 * the names (and when even that is too long, the row is not shown).
 */
static void
publish(const char *prefix, const char *state, TimestampTz since)
{
	int			pass;

	if (!publish_activity)
		return;
	for (pass = 0; pass < 2; pass++)
	{
		StringInfoData j;
		StringInfoData text;
		int			i;

		initStringInfo(&j);
		appendStringInfoString(&j, "{\"op\":");
		escape_json(&j, act_op);
		if (pass == 0 && act_tpl[0])
		{
			appendStringInfoString(&j, ",\"template\":");
			escape_json(&j, act_tpl);
		}
		if (pass == 0 && act_target[0])
		{
			appendStringInfoString(&j, ",\"target\":");
			escape_json(&j, act_target);
		}
		appendStringInfoString(&j, ",\"state\":");
		escape_json(&j, state);
		if (since != 0)
			appendStringInfo(&j, ",\"since\":%.6f",
							 (double) since / USECS_PER_SEC +
							 (double) ((POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY));
		appendStringInfoChar(&j, '}');

		initStringInfo(&text);
		appendStringInfo(&text, "%s /* pg_mint activity ", prefix);
		{
			StringInfoData k;

			initStringInfo(&k);
			for (i = 0; i < j.len; i++)
			{
				if (j.data[i] == '/')
					appendStringInfoString(&k, "\\u002f");
				else
					appendStringInfoChar(&k, j.data[i]);
			}
			appendStringInfo(&text, "%d %s */", k.len, k.data);
		}
		if (text.len < pgstat_track_activity_query_size || pass == 1)
		{
			pgstat_report_activity(STATE_RUNNING, text.data);
			mint_activity_pinned = true;
			return;
		}
	}
}

/* right before the CREATE DATABASE sql: the activity says it copies */
void
mint_activity_copying(const char *sql)
{
	publish(sql, "copying", 0);
}

void
mint_activity_clear(void)
{
	mint_activity_pinned = false;
}

static void
queue_timeout(const char *target, int timeout_ms, int n)
{
	ereport(ERROR,
			(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
			 errmsg("could not start copying database \"%s\" within lock_timeout (%d ms)", target, timeout_ms),
			 errdetail("pg_mint.max_concurrent_copies (%d) copies were running, and others queued ahead, all along.", n),
			 errhint("Raise lock_timeout (0 waits until statement_timeout), or ask the administrator to raise pg_mint.max_concurrent_copies.")));
}

/*
 * Queue for the head position: a blocking wait, in arrival order, bounded by
 * timeout_ms (0: none); a lock timeout becomes queue_timeout's error.
 */
static void
queue_wait(MintLock *queue, const char *target, int timeout_ms, int n)
{
	if (!mint_lock_tag_within(&queue->tag, queue->mode, true, timeout_ms,
							  "waiting in pg_mint's queue for a copy slot"))
		queue_timeout(target, timeout_ms, n);
	queue->held = true;
}

static TimestampTz act_since;

/*
 * A copy begins (in a transaction: reads pg_mint's objects): op is "clone",
 * "spare" or "build"; tpl and target are shown in mint.activity, which says
 * it waits for its template's lock until mint_copy_slot_acquire().
 */
void
mint_activity_begin(const char *op, const char *tpl, const char *target)
{
	publish_activity = mint_objects()->has_shared;
	strlcpy(act_op, op, sizeof(act_op));
	strlcpy(act_tpl, tpl ? tpl : "", sizeof(act_tpl));
	strlcpy(act_target, target ? target : "", sizeof(act_target));
	act_since = GetCurrentTimestamp();
	slot_lock.held = false;
	publish("pg_mint: waiting for a lock on the template", "waiting", act_since);
}

/*
 * Take a copy slot before a CREATE DATABASE, after mint_activity_begin()
 * (and after the template's lock: a copy that holds a slot can copy).
 */
void
mint_copy_slot_acquire(void)
{
	int			n = mint_max_concurrent_copies;
	int			timeout_ms = mint_job_lock_timeout_ms;
	TimestampTz since = GetCurrentTimestamp();	/* lock_timeout is per wait */
	MintLock	queue;
	int			i;

	slot_lock.held = false;
	if (n <= 0)
		return;
	publish("pg_mint: waiting for a copy slot", "waiting", act_since);

	slot_tag(&queue, MINT_LOCK_SPACE_COPY_QUEUE, 0);
	queue_wait(&queue, act_target, timeout_ms, n);
	PG_TRY();
	{
		for (;;)
		{
			int			rc;

			for (i = 0; i < n; i++)
			{
				slot_tag(&slot_lock, MINT_LOCK_SPACE_COPY_SLOT, (uint32) i);
				if (mint_lock_try(&slot_lock))
					break;
			}
			if (slot_lock.held)
				break;
			if (timeout_ms > 0 && TimestampDifferenceExceeds(since, GetCurrentTimestamp(), timeout_ms))
				queue_timeout(act_target, timeout_ms, n);
			rc = WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						   MINT_SLOT_POLL_MS, PG_WAIT_EXTENSION);
			if (rc & WL_LATCH_SET)
				ResetLatch(MyLatch);
			CHECK_FOR_INTERRUPTS();
			/* a reload may have changed the limit */
			if (mint_max_concurrent_copies != n)
				n = mint_max_concurrent_copies <= 0 ? INT_MAX : mint_max_concurrent_copies;
			if (n == INT_MAX)
				break;			/* admission control was turned off */
		}
	}
	PG_FINALLY();
	{
		mint_lock_release(&queue);
	}
	PG_END_TRY();
}

void
mint_copy_slot_release(void)
{
	mint_lock_release(&slot_lock);
	/* the copy is over: the activity must not keep saying it copies */
	if (mint_activity_pinned)
		pgstat_report_activity(STATE_RUNNING, "pg_mint: after a copy");
	mint_activity_clear();
}

/*
 * mint._activity(): the activity of pg_mint's workers, read as the
 * extension owner (who sees every session's); a caller gets every row, with
 * template and target only of roles whose privileges it has (or all, with
 * pg_read_all_stats), as pg_stat_activity shows query texts.
 */
PG_FUNCTION_INFO_V1(mint_activity);
Datum
mint_activity(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	TupleDesc	tupdesc;
	Tuplestorestate *tupstore;
	MemoryContext oldcxt;
	MemoryContext per_query;
	Oid			caller = GetUserId();
	bool		all_stats = has_privs_of_role(caller, MINT_ROLE_READ_ALL_STATS);
	MintGuard	guard;
	volatile bool ok = false;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) ||
		(rsinfo->allowedModes & SFRM_Materialize) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("set-valued function called in context that cannot accept a set")));
	per_query = rsinfo->econtext->ecxt_per_query_memory;
	oldcxt = MemoryContextSwitchTo(per_query);
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = CreateTupleDescCopy(tupdesc);
	tupstore = tuplestore_begin_heap(true, false, work_mem);
	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult = tupstore;
	rsinfo->setDesc = tupdesc;
	MemoryContextSwitchTo(oldcxt);

	memset(&guard, 0, sizeof(guard));
	mint_guard_enter(&guard, mint_objects()->extowner);
	PG_TRY();
	{
		uint64		i;

		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		if (SPI_execute("SELECT a.pid, a.usesysid, a.usename::pg_catalog.text,"
						"       x.j OPERATOR(pg_catalog.->>) 'op',"
						"       x.j OPERATOR(pg_catalog.->>) 'template',"
						"       x.j OPERATOR(pg_catalog.->>) 'target',"
						"       x.j OPERATOR(pg_catalog.->>) 'state',"
						"       pg_catalog.to_timestamp((x.j OPERATOR(pg_catalog.->>) 'since')::pg_catalog.float8)"
						"  FROM pg_catalog.pg_stat_activity a,"
						"       LATERAL (SELECT pg_catalog.regexp_match(a.query,"
						"                  '/\\* pg_mint activity ([0-9]{1,4}) ([^/]*) \\*/$') AS m) l,"
						"       LATERAL (SELECT CASE WHEN l.m IS NOT NULL"
						"                         AND pg_catalog.octet_length(l.m[2])" EQ "l.m[1]::pg_catalog.int4"
						"                        THEN l.m[2]::pg_catalog.jsonb"
						"                   END AS j) x"
						" WHERE a.backend_type OPERATOR(pg_catalog.~~) 'pg\\_mint%' AND x.j IS NOT NULL"
						"   AND a.state" EQ "'active'"
						" ORDER BY 8 NULLS FIRST, a.pid",
						true, 0) != SPI_OK_SELECT)
			elog(ERROR, "reading pg_stat_activity failed");
		for (i = 0; i < SPI_processed; i++)
		{
			HeapTuple	t = SPI_tuptable->vals[i];
			TupleDesc	d = SPI_tuptable->tupdesc;
			Datum		values[7];
			bool		nulls[7];
			bool		isnull;
			Oid			role;
			bool		details;
			int			c;

			role = DatumGetObjectId(SPI_getbinval(t, d, 2, &isnull));
			details = all_stats || (!isnull && has_privs_of_role(caller, role));
			values[0] = SPI_getbinval(t, d, 1, &nulls[0]);
			oldcxt = MemoryContextSwitchTo(per_query);
			for (c = 1; c < 6; c++)
			{
				char	   *v = SPI_getvalue(t, d, c + 2);

				nulls[c] = (v == NULL) || (!details && (c == 3 || c == 4));
				values[c] = nulls[c] ? (Datum) 0 : CStringGetTextDatum(v);
			}
			values[6] = SPI_getbinval(t, d, 8, &nulls[6]);
			tuplestore_putvalues(tupstore, tupdesc, values, nulls);
			MemoryContextSwitchTo(oldcxt);
		}
		SPI_finish();
		ok = true;
	}
	PG_FINALLY();
	{
		mint_guard_exit(&guard, ok);
	}
	PG_END_TRY();
	return (Datum) 0;
}
