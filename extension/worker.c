/*
 * worker.c -- every pg_mint background worker starts here.
 *
 * Layer: executor, worker side (the top of a worker's call stack; nothing
 * calls into this file, the postmaster starts its entry points by name).
 * Calls ops.c (an operation a caller waits for) and refill.c (the warm
 * pool's jobs), and exec.c for the process set-up.
 *
 * Three entry points, one start-up (worker_start): stamp check of the
 * arguments (a caller and a worker that loaded different pg_mint builds
 * refuse to talk), signal handling, connection as the session user, the
 * switch to the acting role in a restricted security context with
 * search_path pinned and no timeouts (exec.c: mint_worker_become).
 *
 *  mint_worker_main    one operation for a waiting caller: arguments in a
 *                      DSM segment, protocol output redirected to the
 *                      caller's queue; an error reaches the caller only
 *                      after the operation's cleanup has run, so the caller
 *                      never sees a failure while half-made state exists.
 *  mint_pool_main      the refiller of one template's pool, as its owner.
 *  mint_after_hit_main drop the clone a pool hit replaced, as the caller.
 */
#include "postgres.h"

#include "access/xact.h"
#include "libpq/pqmq.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/dsm.h"
#include "storage/ipc.h"
#include "storage/proc.h"
#include "storage/shm_mq.h"
#include "tcop/tcopprot.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "pg_mint.h"

/* Who a worker connects as, and as whom it then acts. */
typedef struct WorkerIdentity
{
	Oid			dboid;
	Oid			session_userid;
	Oid			current_userid;
	int			sec_context;
} WorkerIdentity;

static void
refuse_other_build(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("pg_mint worker and its caller run different pg_mint builds"),
			 errhint("Reconnect: a session keeps the pg_mint library it loaded first.")));
}

/* Signals first: nothing below may run before SIGTERM does what we want. */
static void
worker_signals(pqsigfunc on_sigterm)
{
	pqsignal(SIGTERM, on_sigterm);
	BackgroundWorkerUnblockSignals();
}

/* Connect, then act as the given role (restricted, path pinned, no timeouts). */
static void
worker_start(const WorkerIdentity *who)
{
	BackgroundWorkerInitializeConnectionByOid(who->dboid, who->session_userid,
											  MINT_BGW_CONN_FLAGS);
	/* every worker copies or scans the buffer pool: map it in one call */
	mint_prefault_buffer_pool();
	mint_worker_become(who->current_userid, who->sec_context);
}

/*
 * The start of a pool job: its arguments come in bgw_extra (no shared memory
 * outlives its caller).  A refiller acts as the pool's owner, the after-hit
 * job as the caller that made the hit.  SIGTERM ends either at once (die):
 * a half-made spare goes with its transaction.
 */
static MintPoolArgs
pool_job_start(bool as_caller)
{
	MintPoolArgs args;
	WorkerIdentity who;

	worker_signals(die);
	memcpy(&args, MyBgworkerEntry->bgw_extra, sizeof(args));
	if (args.magic != MINT_POOL_ARGS_MAGIC)
		refuse_other_build();
	who.dboid = args.dboid;
	who.session_userid = as_caller ? args.session_userid : args.owner;
	who.current_userid = as_caller ? args.current_userid : args.owner;
	who.sec_context = as_caller ? args.sec_context : 0;
	worker_start(&who);
	return args;
}

/*
 * After mint_op_run() failed: undo what it made (mint_op_cleanup), the
 * original error already copied out.  A cleanup that fails itself is logged
 * and left to mint.gc().  A function of its own so that its PG_TRY does not
 * nest inside the caller's (their hidden locals would shadow each other).
 *
 * No HOLD_INTERRUPTS here: DROP DATABASE waits for every backend (this one
 * too) to absorb a ProcSignalBarrier, which happens only where interrupts
 * are serviced.
 */
/* how long the cleanup after an error waits for a lock */
#define MINT_CLEANUP_LOCK_TIMEOUT_MS 1000

static void
cleanup_after_error(MintParams *params)
{
	int			save = LockTimeout;

	/*
	 * The caller waits for this: a lock someone holds on the half-made copy
	 * (ALTER ROLE ... IN DATABASE in an open transaction) must not keep it
	 * waiting past its statement_timeout.  What is not dropped in time is
	 * left, registered, to mint.gc().
	 */
	LockTimeout = MINT_CLEANUP_LOCK_TIMEOUT_MS;
	PG_TRY();
	{
		mint_op_cleanup(params);
		LockTimeout = save;
	}
	PG_CATCH();
	{
		ErrorData  *cdata;

		LockTimeout = save;
		cdata = mint_catch_error(TopMemoryContext);

		ereport(LOG,
				(errmsg("pg_mint could not clean up after an error: %s", cdata->message),
				 errhint("mint.gc() will remove the leftover.")));
	}
	PG_END_TRY();
}

/*
 * An executor between jobs: wait for the next one.  Returns its parameters
 * (in the job's memory), or exits the process when the caller has gone,
 * the worker was told to stop, or it stayed idle longer than its idle
 * timeout or while callers wait for a worker slot.  Leaving when idle goes
 * through the shared state (IDLE -> EXITING), so that a caller never sends
 * a job to a worker that has decided to leave.
 */
#define MINT_EXEC_POLL_MS 100
#define MINT_EXEC_FIRST_JOB_MS 60000

static MintParams *
next_job(MintExecShared *shared, shm_mq_handle *jobs, bool first)
{
	TimestampTz idle_since = GetCurrentTimestamp();

	for (;;)
	{
		Size		nbytes;
		void	   *data;
		shm_mq_result res;
		int			rc;
		bool		leave = false;

		res = shm_mq_receive(jobs, &nbytes, &data, true);
		if (res == SHM_MQ_SUCCESS)
		{
			MintParams *p;

			if (nbytes < offsetof(MintParams, fingerprint) + 1 ||
				((MintParams *) data)->magic != MINT_PARAMS_MAGIC)
				refuse_other_build();
			p = palloc(nbytes);
			memcpy(p, data, nbytes);
			return p;
		}
		if (res == SHM_MQ_DETACHED || mint_worker_stop_requested())
			proc_exit(0);		/* the caller has gone, or we were told to stop */

		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		/*
		 * The first job is on its way (the caller started us for it), unless
		 * the caller failed before it could attach its end of the queue.
		 */
		if (first)
		{
			if (TimestampDifferenceExceeds(idle_since, GetCurrentTimestamp(), MINT_EXEC_FIRST_JOB_MS))
				proc_exit(0);
		}
		else
		{
			if (shared->idle_timeout_ms <= 0 ||
				TimestampDifferenceExceeds(idle_since, GetCurrentTimestamp(), shared->idle_timeout_ms))
				leave = true;
			else if (mint_slot_waiters())
				leave = true;	/* give the slot to a caller that needs one */
		}
		if (leave)
		{
			uint32		expected = MINT_EXEC_IDLE;

			if (pg_atomic_compare_exchange_u32(&shared->state, &expected, MINT_EXEC_EXITING))
				proc_exit(0);
			/* the caller claimed us first: its job is coming */
		}

		rc = WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					   MINT_EXEC_POLL_MS, PG_WAIT_EXTENSION);
		if (rc & WL_LATCH_SET)
			ResetLatch(MyLatch);

		/*
		 * Serve interrupts while idle: another session's DROP DATABASE waits
		 * until every backend, idle executors too, has absorbed its
		 * ProcSignalBarrier.  (A SIGTERM was handled above.)
		 */
		if (mint_worker_stop_requested())
			proc_exit(0);
		CHECK_FOR_INTERRUPTS();
	}
}

/*
 * The executor of one caller session: runs the session's operations one
 * after another, each as the role the caller has at that moment, until the
 * caller goes away or the executor has been idle too long.  Connecting once
 * per session instead of once per call is what makes a call cost about what
 * the statement it runs costs (a new process pays for its start and for its
 * first touch of shared memory and caches).
 *
 * An operation that fails is cleaned up, then reported, and the executor
 * exits: the caller's next call starts a new one.
 */
void
mint_worker_main(Datum main_arg)
{
	dsm_segment *seg;
	MintExecShared *shared;
	shm_mq	   *job_mq;
	shm_mq	   *answer_mq;
	shm_mq_handle *jobs;
	shm_mq_handle *answers;
	WorkerIdentity who;
	bool		first = true;

	/* a cancel, not die(): the operation's cleanup must run (exec.c) */
	worker_signals(mint_worker_sigterm);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);

	CurrentResourceOwner = ResourceOwnerCreate(NULL, "pg_mint worker");
	seg = dsm_attach(DatumGetUInt32(main_arg));
	if (seg == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pg_mint worker could not map its dynamic shared memory segment")));
	shared = (MintExecShared *) dsm_segment_address(seg);
	if (shared->magic != MINT_EXEC_MAGIC)
		refuse_other_build();
	job_mq = (shm_mq *) ((char *) shared + MAXALIGN(sizeof(MintExecShared)));
	answer_mq = (shm_mq *) ((char *) job_mq + MINT_QUEUE_SIZE);
	shm_mq_set_receiver(job_mq, MyProc);
	jobs = shm_mq_attach(job_mq, seg, NULL);
	shm_mq_set_sender(answer_mq, MyProc);
	answers = shm_mq_attach(answer_mq, seg, NULL);
	pq_redirect_to_shm_mq(seg, answers);

	who.dboid = shared->dboid;
	who.session_userid = shared->session_userid;
	who.current_userid = shared->session_userid;
	who.sec_context = 0;
	worker_start(&who);
	/* pg_stat_activity says whose executor this is */
	SetConfigOption("application_name", MyBgworkerEntry->bgw_name, PGC_USERSET, PGC_S_SESSION);

	for (;;)
	{
		MintParams *params;

		mint_job_memory_reset();
		pgstat_report_activity(STATE_IDLE, NULL);
		params = next_job(shared, jobs, first);
		/* the caller's connection and this one must be the same */
		if (params->dboid != MyDatabaseId || params->session_userid != GetSessionUserId())
			refuse_other_build();

		mint_worker_job_reset();
		mint_send_accepted();
		/* act as the caller acts now (SET ROLE may have changed it) */
		SetUserIdAndSecContext(params->current_userid,
							   params->sec_context | SECURITY_RESTRICTED_OPERATION);
		mint_trace_start(params->launched_at);
		mint_trace(first ? "start and connect" : "hand-over to the executor");
		mint_job_lease_us = params->lease_us;
		mint_job_lock_timeout_ms = params->lock_timeout_ms;
		mint_job_replacing = InvalidOid;
		first = false;

		PG_TRY();
		{
			mint_op_run(params);
		}
		PG_CATCH();
		{
			/* tell the caller after cleaning up, so it never sees half-made state */
			ErrorData  *edata;

			/* as PostgresMain does after an error: we are at top level again */
			InterruptHoldoffCount = 0;
			QueryCancelHoldoffCount = 0;
			edata = mint_catch_error(TopMemoryContext);

			cleanup_after_error(params);

			/* report the original error with its SQLSTATE, detail and hint */
			edata->elevel = ERROR;
			ThrowErrorData(edata);
			/* not reached: ERROR in a background worker without handler exits */
		}
		PG_END_TRY();

		/* the caller has its answer; what is left must not make it wait */
		mint_op_tail(shared->idle_timeout_ms > 0);
		pg_atomic_write_u32(&shared->state, MINT_EXEC_IDLE);
	}
}

void
mint_pool_main(Datum main_arg)
{
	MintPoolArgs args = pool_job_start(false);

	mint_refill_run(&args);
	proc_exit(0);
}

void
mint_after_hit_main(Datum main_arg)
{
	MintPoolArgs args = pool_job_start(true);

	mint_after_hit_run(&args);
	proc_exit(0);
}

/*
 * mint.janitor(): one mint.gc() as the caller that started it, detached;
 * what it drops goes to the server log.
 */
void
mint_janitor_main(Datum main_arg)
{
	MintPoolArgs args = pool_job_start(true);
	MintParams *p = (MintParams *) palloc0(MAXALIGN(offsetof(MintParams, fingerprint) + 1));

	p->magic = MINT_PARAMS_MAGIC;
	p->op = MINT_OP_GC;
	p->dboid = args.dboid;
	p->session_userid = args.session_userid;
	p->current_userid = args.current_userid;
	p->sec_context = args.sec_context;
	p->caller_pid = MyProcPid;
	p->terminate_timeout_ms = mint_terminate_timeout_ms;
	p->versions_kept = mint_template_versions_kept;
	p->older_than_us = args.older_than_us;
	p->flags = args.flags;
	p->fingerprint_len = -1;
	mint_results_to_log = true;
	mint_op_run(p);
	proc_exit(0);
}
