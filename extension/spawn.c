/*
 * spawn.c -- registering pg_mint's dynamic background workers.
 *
 * Layer: primitives.  Called by launcher.c (a worker the caller waits for)
 * and pool.c (detached pool jobs); calls nothing of pg_mint's.
 *
 * A detached worker that must see what the caller's own transaction does is
 * registered from the commit callback: the postmaster then forks it while
 * the caller is already sending its answer, so a pool hit does not share the
 * CPU with the new process's start-up.  On abort nothing starts.
 */
#include "postgres.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "postmaster/bgworker.h"
#include "utils/memutils.h"

#include "pg_mint.h"

/* workers to start once the current transaction commits (in TopMemoryContext) */
static List *pending_workers = NIL;
static bool xact_callback_registered = false;

/*
 * A dynamic background worker of pg_mint that runs function (exported by
 * this library), connects to a database, and is never restarted; its
 * bgw_name is type until the caller says more.
 */
void
mint_worker_init(BackgroundWorker *worker, const char *function, const char *type)
{
	memset(worker, 0, sizeof(*worker));
	worker->bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker->bgw_start_time = BgWorkerStart_ConsistentState;
	worker->bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker->bgw_library_name, sizeof(worker->bgw_library_name), "pg_mint");
	snprintf(worker->bgw_function_name, sizeof(worker->bgw_function_name), "%s", function);
	snprintf(worker->bgw_name, sizeof(worker->bgw_name), "%s", type);
	snprintf(worker->bgw_type, sizeof(worker->bgw_type), "%s", type);
}

static bool
start_worker(BackgroundWorker *worker)
{
	/* no handle: nothing here may fail once the transaction has committed */
	if (RegisterDynamicBackgroundWorker(worker, NULL))
		return true;
	ereport(DEBUG1,
			(errmsg_internal("pg_mint: no free worker slot for \"%s\"", worker->bgw_name)));
	return false;
}

static void
spawn_xact_callback(XactEvent event, void *arg)
{
	ListCell   *lc;

	if (pending_workers == NIL)
		return;
	/* a prepared transaction ends later: its workers wait for it */
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_PREPARE)
	{
		foreach(lc, pending_workers)
			(void) start_worker((BackgroundWorker *) lfirst(lc));
	}
	else if (event != XACT_EVENT_ABORT && event != XACT_EVENT_PARALLEL_ABORT)
		return;
	list_free_deep(pending_workers);
	pending_workers = NIL;
}

/*
 * Start a detached worker running function, with extra (at most
 * BGW_EXTRALEN bytes) in bgw_extra.  With wait_xid the current top-level
 * transaction, it starts when that transaction commits.  Best effort: with
 * no free slot it does not start (the next call tries again); returns false
 * when it knows the worker did not start.
 */
bool
mint_spawn_detached(const char *function, const char *type, const char *name,
					const void *extra, Size extra_size, TransactionId wait_xid)
{
	BackgroundWorker worker;

	Assert(extra_size <= BGW_EXTRALEN);
	mint_worker_init(&worker, function, type);
	snprintf(worker.bgw_name, sizeof(worker.bgw_name), "%s", name);
	memcpy(worker.bgw_extra, extra, extra_size);

	if (TransactionIdIsValid(wait_xid) && wait_xid == GetTopTransactionIdIfAny())
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
		BackgroundWorker *copy = palloc(sizeof(worker));

		memcpy(copy, &worker, sizeof(worker));
		pending_workers = lappend(pending_workers, copy);
		MemoryContextSwitchTo(old);
		if (!xact_callback_registered)
		{
			RegisterXactCallback(spawn_xact_callback, NULL);
			xact_callback_registered = true;
		}
		return true;
	}
	return start_worker(&worker);
}

/*
 * Start a detached worker now and return its handle (in the current memory
 * context), or NULL when no slot is free.  For a caller that watches the
 * worker start its work.
 */
BackgroundWorkerHandle *
mint_spawn_watched(const char *function, const char *type, const char *name,
				   const void *extra, Size extra_size)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;

	Assert(extra_size <= BGW_EXTRALEN);
	mint_worker_init(&worker, function, type);
	snprintf(worker.bgw_name, sizeof(worker.bgw_name), "%s", name);
	memcpy(worker.bgw_extra, extra, extra_size);
	worker.bgw_notify_pid = MyProcPid;
	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
		return NULL;
	return handle;
}
