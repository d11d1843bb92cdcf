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
#include "storage/dsm.h"
#include "storage/ipc.h"
#include "storage/proc.h"
#include "storage/shm_mq.h"
#include "tcop/tcopprot.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"

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
static void
cleanup_after_error(MintParams *params)
{
	PG_TRY();
	{
		mint_op_cleanup(params);
	}
	PG_CATCH();
	{
		ErrorData  *cdata = mint_catch_error(TopMemoryContext);

		ereport(LOG,
				(errmsg("pg_mint could not clean up after an error: %s", cdata->message),
				 errhint("mint.gc() will remove the leftover.")));
	}
	PG_END_TRY();
}

void
mint_worker_main(Datum main_arg)
{
	dsm_segment *seg;
	MintParams *params;
	shm_mq	   *mq;
	shm_mq_handle *mqh;
	Size		params_size;
	WorkerIdentity who;

	/* a cancel, not die(): the operation's cleanup must run (exec.c) */
	worker_signals(mint_worker_sigterm);

	CurrentResourceOwner = ResourceOwnerCreate(NULL, "pg_mint worker");
	seg = dsm_attach(DatumGetUInt32(main_arg));
	if (seg == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pg_mint worker could not map its dynamic shared memory segment")));
	params = (MintParams *) dsm_segment_address(seg);
	if (params->magic != MINT_PARAMS_MAGIC)
		refuse_other_build();
	params_size = params->params_size;
	mq = (shm_mq *) ((char *) params + params_size);
	shm_mq_set_sender(mq, MyProc);
	mqh = shm_mq_attach(mq, seg, NULL);
	pq_redirect_to_shm_mq(seg, mqh);

	who.dboid = params->dboid;
	who.session_userid = params->session_userid;
	who.current_userid = params->current_userid;
	who.sec_context = params->sec_context;
	worker_start(&who);
	mint_trace_start(params->launched_at);
	mint_trace("start and connect");

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

	pgstat_report_activity(STATE_IDLE, NULL);
	proc_exit(0);
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
