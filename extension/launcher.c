/*
 * launcher.c -- the caller's half of running an operation in a dynamic
 * background worker (design notes §1).
 *
 * CREATE/DROP DATABASE refuse to run inside a function or a transaction
 * block, so the calling backend hands the operation to a dynamic background
 * worker (no shared_preload_libraries needed) that connects to the same
 * database as the same role and runs each statement as its own top-level
 * transaction.  The caller waits on a shm_mq whose receiver it is; the
 * worker's protocol output is redirected into that queue, so its errors and
 * notices come back with SQLSTATE, message, detail, hint and context intact,
 * and are re-raised here.  Waiting happens on the caller's latch: cancel,
 * statement_timeout and pg_terminate_backend keep working, and on any error
 * or cancel the worker is terminated and waited for.
 *
 * When all max_worker_processes slots are busy the caller polls for a free
 * one until pg_mint.worker_wait_timeout (or statement_timeout) ends it.
 *
 * Layer: executor, caller side.  Called by pg_mint.c; calls spawn.c (to
 * register the worker), locks.c (slot waiters) and pool.c (to give the
 * refillers their slots back after a wait).
 */
#include "postgres.h"

#include "libpq/pqformat.h"
#include "libpq/pqmq.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/dsm.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/shm_mq.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "pg_mint.h"

static void
slot_wait_context(void *arg)
{
	errcontext("waiting for a free background worker slot (max_worker_processes = %d)",
			   max_worker_processes);
}

/* Register the worker, waiting for a free slot if necessary. */

static BackgroundWorkerHandle *
launch_worker(dsm_segment *seg, MintOp op, bool *waited)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;
	TimestampTz start = GetCurrentTimestamp();
	long		delay_ms = 1;
	ErrorContextCallback cb;

	mint_worker_init(&worker, "mint_worker_main", "pg_mint worker");
	snprintf(worker.bgw_name, sizeof(worker.bgw_name), "pg_mint worker for PID %d", MyProcPid);
	worker.bgw_main_arg = UInt32GetDatum(dsm_segment_handle(seg));
	worker.bgw_notify_pid = MyProcPid;

	*waited = false;
	if (RegisterDynamicBackgroundWorker(&worker, &handle))
		return handle;
	*waited = true;

	cb.callback = slot_wait_context;
	cb.arg = NULL;
	cb.previous = error_context_stack;
	error_context_stack = &cb;

	/* tell pool refillers that callers are waiting, so they give slots back */
	mint_slot_wait_begin();
	PG_TRY();
	{
	for (;;)
	{
		int			rc;

		if (mint_worker_wait_timeout_ms > 0 &&
			TimestampDifferenceExceeds(start, GetCurrentTimestamp(), mint_worker_wait_timeout_ms))
			ereport(ERROR,
					(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
					 errmsg("could not start a pg_mint background worker: all background worker slots stayed busy for %d ms",
							mint_worker_wait_timeout_ms),
					 errdetail("max_worker_processes = %d slots are shared with parallel query, logical replication and other extensions.",
							   max_worker_processes),
					 errhint("Raise pg_mint.worker_wait_timeout to wait longer, or raise max_worker_processes (needs a restart).")));

		rc = WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					   delay_ms, PG_WAIT_EXTENSION);
		if (rc & WL_LATCH_SET)
			ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();

		if (RegisterDynamicBackgroundWorker(&worker, &handle))
			break;
		delay_ms = Min(delay_ms * 2, 20);
	}
	}
	PG_FINALLY();
	{
		mint_slot_wait_end();
	}
	PG_END_TRY();

	error_context_stack = cb.previous;
	return handle;
}

/*
 * Stop the worker and wait until it is gone.  Interrupts stay enabled: the
 * worker's cleanup may DROP DATABASE, which waits until every backend,
 * this one included, has absorbed a ProcSignalBarrier.
 */
static void
wait_for_worker_exit(BackgroundWorkerHandle *handle)
{
	TerminateBackgroundWorker(handle);
	(void) WaitForBackgroundWorkerShutdown(handle);
}

/*
 * Run one operation in a background worker and wait for its answer.
 * Every 'R' message the worker sends is passed to cb; the call returns when
 * the worker says it is done ('Z').  An error in the worker is re-raised
 * here once the worker has cleaned up and exited.
 */
static void run_in_worker(MintOp op, const char *template_name, Oid tpl_oid,
						  const char *target, Oid old_oid, const char *fingerprint,
						  int64 older_than_us, int flags, int nskip, const Oid *skip,
						  MintResultCallback cb, void *cb_arg);

void
mint_run_in_worker(MintOp op, const char *template_name, const char *target,
				   const char *fingerprint, int64 older_than_us, int flags,
				   MintResultCallback cb, void *cb_arg)
{
	run_in_worker(op, template_name, InvalidOid, target, InvalidOid, fingerprint,
				  older_than_us, flags, 0, NULL, cb, cb_arg);
}

/* gc, leaving alone the databases this transaction holds (skip) */
void
mint_run_gc_in_worker(int64 older_than_us, int flags, int nskip, const Oid *skip,
					  MintResultCallback cb, void *cb_arg)
{
	run_in_worker(MINT_OP_GC, NULL, InvalidOid, NULL, InvalidOid, NULL,
				  older_than_us, flags, nskip, skip, cb, cb_arg);
}

/* clone, with what the caller already checked (template, old target) */
void
mint_run_clone_in_worker(const char *template_name, Oid tpl_oid,
						 const char *target, Oid old_oid,
						 const char *fingerprint, int flags,
						 MintResultCallback cb, void *cb_arg)
{
	run_in_worker(MINT_OP_CLONE, template_name, tpl_oid, target, old_oid, fingerprint,
				  0, flags, 0, NULL, cb, cb_arg);
}

/*
 * This session's executor (design: worker.c, mint_worker_main): its shared
 * memory stays mapped for the session, its handle and queue handles live
 * in TopMemoryContext.
 */
typedef struct Executor
{
	dsm_segment *seg;
	MintExecShared *shared;
	BackgroundWorkerHandle *handle;
	shm_mq_handle *jobs;		/* we send */
	shm_mq_handle *answers;		/* we receive */
	bool		reusable;		/* started with an idle timeout */
} Executor;

static Executor *executor = NULL;

/* Forget the executor; terminate it unless it is leaving by itself. */
static void
executor_discard(bool terminate)
{
	if (executor == NULL)
		return;
	if (terminate)
		TerminateBackgroundWorker(executor->handle);
	dsm_detach(executor->seg);
	pfree(executor->handle);
	pfree(executor);
	executor = NULL;
}

/* Stop the executor and wait until it has gone (after a failure or cancel). */
static void
executor_stop(void)
{
	if (executor == NULL)
		return;
	wait_for_worker_exit(executor->handle);
	executor_discard(false);
}

static bool
executor_alive(void)
{
	pid_t		pid;
	BgwHandleStatus status = GetBackgroundWorkerPid(executor->handle, &pid);

	return status == BGWH_STARTED || status == BGWH_NOT_YET_STARTED;
}

/*
 * Claim the session's executor for a job: wait for the tail of its last job
 * (a drop it hands over), then IDLE -> BUSY.  False when there is none, or
 * it has left or is leaving.
 */
static bool
executor_claim(void)
{
	if (executor == NULL)
		return false;
	if (!executor->reusable || GetSessionUserId() != executor->shared->session_userid)
	{
		executor_discard(true);
		return false;
	}
	for (;;)
	{
		uint32		expected = MINT_EXEC_IDLE;
		int			rc;

		if (pg_atomic_compare_exchange_u32(&executor->shared->state, &expected, MINT_EXEC_BUSY))
			return true;
		if (expected == MINT_EXEC_EXITING || !executor_alive())
		{
			executor_discard(false);
			return false;
		}
		/* BUSY: the last job's tail; it takes no longer than a worker start */
		rc = WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					   1, PG_WAIT_EXTENSION);
		if (rc & WL_LATCH_SET)
			ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

/* Start a new executor for this session, claimed for its first job. */
static void
executor_start(MintOp op, bool *waited)
{
	Size		size = MAXALIGN(sizeof(MintExecShared)) + 2 * (Size) MINT_QUEUE_SIZE;
	MemoryContext old;
	dsm_segment *seg;
	MintExecShared *shared;
	shm_mq	   *job_mq;
	shm_mq	   *answer_mq;
	BackgroundWorkerHandle *handle;
	Executor   *e;

	seg = dsm_create(size, 0);
	shared = (MintExecShared *) dsm_segment_address(seg);
	memset(shared, 0, sizeof(MintExecShared));
	shared->magic = MINT_EXEC_MAGIC;
	shared->dboid = MyDatabaseId;
	shared->session_userid = GetSessionUserId();
	shared->idle_timeout_ms = mint_executor_idle_timeout_ms;
	pg_atomic_init_u32(&shared->state, MINT_EXEC_BUSY);
	job_mq = shm_mq_create((char *) shared + MAXALIGN(sizeof(MintExecShared)), MINT_QUEUE_SIZE);
	shm_mq_set_sender(job_mq, MyProc);
	answer_mq = shm_mq_create((char *) job_mq + MINT_QUEUE_SIZE, MINT_QUEUE_SIZE);
	shm_mq_set_receiver(answer_mq, MyProc);

	/* the handle must outlive this transaction, like the executor */
	old = MemoryContextSwitchTo(TopMemoryContext);
	PG_TRY();
	{
		handle = launch_worker(seg, op, waited);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(old);
		dsm_detach(seg);
		PG_RE_THROW();
	}
	PG_END_TRY();

	/* from here on, nothing may fail before executor is set */
	dsm_pin_mapping(seg);
	e = palloc0(sizeof(Executor));
	e->seg = seg;
	e->shared = shared;
	e->handle = handle;
	e->jobs = shm_mq_attach(job_mq, seg, handle);
	e->answers = shm_mq_attach(answer_mq, seg, handle);
	e->reusable = shared->idle_timeout_ms > 0;
	MemoryContextSwitchTo(old);
	executor = e;
}

/*
 * Send one job and relay what comes back until the worker says it is done.
 * Returns false, having sent nothing that ran, when the executor turned
 * out to be gone before it accepted the job (the caller may retry with a
 * new one).
 */
static bool
executor_run(MintParams *p, MintResultCallback cb, void *cb_arg)
{
	bool		accepted = false;
	bool		done = false;
	bool		have_error = false;
	ErrorData	error;
	shm_mq_result res;

	p->launched_at = GetCurrentTimestamp();
	PG_TRY();
	{
		res = mint_shm_mq_send(executor->jobs, p->params_size, p);
		while (res == SHM_MQ_SUCCESS)
		{
			Size		nbytes;
			void	   *data;
			StringInfoData msg;
			char		type;

			if (shm_mq_receive(executor->answers, &nbytes, &data, false) != SHM_MQ_SUCCESS)
				break;			/* worker detached: it has exited */

			msg.data = (char *) data;
			msg.len = (int) nbytes;
			msg.maxlen = (int) nbytes;
			msg.cursor = 0;
			type = pq_getmsgbyte(&msg);

			/* what came before the job's acceptance belongs to the last job's tail */
			if (!accepted)
			{
				accepted = (type == MINT_MSG_ACCEPTED);
				continue;
			}

			switch (type)
			{
				case 'E':
				case 'N':
					{
						ErrorData	edata;

						pq_parse_errornotice(&msg, &edata);
						if (type == 'E' || edata.elevel >= ERROR)
						{
							/* keep the first error; raise it once the worker is gone */
							if (!have_error)
							{
								error = edata;
								error.elevel = ERROR;
								have_error = true;
							}
						}
						else if (edata.elevel >= NOTICE)
							ThrowErrorData(&edata);
						break;
					}
				case MINT_MSG_RESULT:
					if (cb && msg.cursor < msg.len)
						cb(msg.data + msg.cursor, cb_arg);
					break;
				case MINT_MSG_DONE:
					done = true;
					break;
				default:
					/* parameter status and the like: not ours to show */
					break;
			}
			if (done)
				break;
		}
	}
	PG_CATCH();
	{
		/* cancelled or failed here: the worker cleans up and exits */
		executor_stop();
		PG_RE_THROW();
	}
	PG_END_TRY();

	if (have_error)
	{
		/* the worker exits after an error: wait, so its cleanup is over */
		executor_stop();
		ThrowErrorData(&error);
	}
	if (!accepted)
	{
		executor_stop();
		return false;
	}
	if (!done)
	{
		executor_stop();
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("pg_mint background worker exited before finishing"),
				 errhint("The server log has the worker's messages.")));
	}
	return true;
}

static void
run_in_worker(MintOp op, const char *template_name, Oid tpl_oid,
			  const char *target, Oid old_oid, const char *fingerprint,
			  int64 older_than_us, int flags, int nskip, const Oid *skip,
			  MintResultCallback cb, void *cb_arg)
{
	Size		fplen = fingerprint ? strlen(fingerprint) : 0;
	Size		params_size = MAXALIGN(offsetof(MintParams, fingerprint) + fplen + 1);
	MintParams *p;
	bool		waited = false;
	int			attempt;

	p = (MintParams *) palloc0(params_size);
	p->magic = MINT_PARAMS_MAGIC;
	p->params_size = (uint32) params_size;
	p->op = op;
	p->dboid = MyDatabaseId;
	p->session_userid = GetSessionUserId();
	GetUserIdAndSecContext(&p->current_userid, &p->sec_context);
	p->caller_pid = MyProcPid;
	p->strategy = mint_strategy;
	p->terminate_timeout_ms = mint_terminate_timeout_ms;
	strlcpy(p->run, mint_params_run ? mint_params_run : "", NAMEDATALEN);
	p->versions_kept = mint_template_versions_kept;
	p->lease_us = mint_job_lease_us;
	p->lock_timeout_ms = LockTimeout;
	p->older_than_us = older_than_us;
	p->flags = flags;
	if (template_name)
		strlcpy(p->template_name, template_name, NAMEDATALEN);
	if (target)
		strlcpy(p->target, target, NAMEDATALEN);
	p->tpl_oid = tpl_oid;
	p->old_oid = old_oid;
	Assert(nskip >= 0 && nskip <= MINT_MAX_HELD);
	p->nskip = nskip;
	if (nskip > 0)
		memcpy(p->skip, skip, sizeof(Oid) * nskip);
	p->fingerprint_len = fingerprint ? (int) fplen : -1;	/* -1: NULL */
	if (fingerprint)
		memcpy(p->fingerprint, fingerprint, fplen + 1);

	/*
	 * The session's executor if it is still there, else a new one.  One that
	 * went away between its last job and this one (terminated, or idle too
	 * long in the instant we claimed it) never took the job: try a new one.
	 */
	for (attempt = 0;; attempt++)
	{
		bool		reused = executor_claim();

		if (!reused)
		{
			bool		w = false;

			executor_start(op, &w);
			waited |= w;
		}
		if (executor_run(p, cb, cb_arg))
			break;
		if (!reused || attempt > 0)
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("pg_mint background worker exited before finishing"),
					 errhint("The server log has the worker's messages.")));
	}
	pfree(p);

	/* a worker for one job only: it exits now */
	if (executor != NULL && !executor->reusable)
	{
		BackgroundWorkerHandle *handle = executor->handle;

		executor->handle = NULL;
		dsm_detach(executor->seg);
		pfree(executor);
		executor = NULL;
		if (waited)
			(void) WaitForBackgroundWorkerShutdown(handle);
		pfree(handle);
	}

	/*
	 * Pool refillers give their slots to waiting callers.  We waited, so
	 * there was pressure: restart them (once our one-job worker's slot is
	 * free; an executor keeps its slot while idle, for a short while).
	 */
	if (waited)
		mint_pool_kick_all();
}
