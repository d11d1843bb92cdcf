/*
 * worker.c -- the background worker's half: connect as the caller, run one
 * operation (ops.c), report back through the redirected protocol.
 *
 * Every statement runs as its own top-level transaction (StartTransaction-
 * Command ... CommitTransactionCommand), which is what CREATE and DROP
 * DATABASE require.  An error is reported to the caller only after the
 * operation's cleanup has run, so the caller never sees a failure while
 * half-made state still exists.
 */
#include "postgres.h"

#include "access/xact.h"
#include "commands/trigger.h"
#include "libpq/libpq.h"
#include "libpq/pqmq.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/parsenodes.h"
#include "nodes/plannodes.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/dsm.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/shm_mq.h"
#include "tcop/dest.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "pg_mint.h"

/*
 * Timing of an operation's phases, at DEBUG1 (SET log_min_messages =
 * debug1 in postgresql.conf to see where a call spends its time).
 */
static TimestampTz trace_last = 0;

void
mint_trace(const char *phase)
{
	TimestampTz now = GetCurrentTimestamp();

	if (trace_last != 0)
		ereport(DEBUG1,
				(errmsg_internal("pg_mint worker: %s took %.3f ms", phase,
								 (double) (now - trace_last) / 1000.0)));
	trace_last = now;
}

void
mint_trace_start(void)
{
	trace_last = GetCurrentTimestamp();
}

void
mint_send_result(const char *result)
{
	(void) pq_putmessage('R', result, strlen(result) + 1);
}

void
mint_send_done(void)
{
	(void) pq_putmessage('Z', "", 1);
}

/*
 * The worker's own memory: what one transaction looks up (names,
 * fingerprints) is used in the next, so it must outlive the transaction's
 * memory.  A worker lives for one operation, so nothing is freed early.
 */
static MemoryContext
op_context(void)
{
	static MemoryContext cxt = NULL;

	if (cxt == NULL)
		cxt = AllocSetContextCreate(TopMemoryContext, "pg_mint operation",
									ALLOCSET_DEFAULT_SIZES);
	return cxt;
}

/*
 * Every transaction of a pg_mint worker runs with search_path pinned in its
 * own GUC nest level (guard.c), on top of the worker's session setting.
 */
static int	xact_guc_level = 0;

void
mint_xact_begin(void)
{
	ConstraintsSetStmt *immediate = makeNode(ConstraintsSetStmt);

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	/*
	 * A worker runs in a restricted security context, where deferred
	 * triggers may not fire at commit: check mint.registry's deferrable
	 * name uniqueness at the end of each statement instead (a swap renames
	 * both rows in one statement).
	 */
	immediate->constraints = NIL;
	immediate->deferred = false;
	AfterTriggerSetState(immediate);
	xact_guc_level = mint_pin_search_path();
	MemoryContextSwitchTo(op_context());
	PushActiveSnapshot(GetTransactionSnapshot());
}

void
mint_xact_commit(void)
{
	PopActiveSnapshot();
	if (xact_guc_level > 0)
		mint_unpin_search_path(xact_guc_level);
	xact_guc_level = 0;
	CommitTransactionCommand();
	MemoryContextSwitchTo(op_context());
}

/*
 * The start of every pg_mint background worker, after it has connected as
 * its session user: act as role in a restricted security context (nothing
 * it runs may change the session), with search_path pinned and no timeouts
 * of the role's or database's settings (the caller bounds its own wait).
 */
bool		mint_in_worker = false;

void
mint_worker_become(Oid role, int sec_context)
{
	mint_in_worker = true;
	SetUserIdAndSecContext(role, sec_context | SECURITY_RESTRICTED_OPERATION);
	mint_pin_search_path_for_session();
	SetConfigOption("statement_timeout", "0", PGC_USERSET, PGC_S_SESSION);
	SetConfigOption("lock_timeout", "0", PGC_USERSET, PGC_S_SESSION);
	SetConfigOption("idle_in_transaction_session_timeout", "0", PGC_USERSET, PGC_S_SESSION);
}

/*
 * Run one utility statement (CREATE/DROP/ALTER DATABASE) at top level inside
 * the current transaction.  The SQL is built by ops.c with quote_identifier
 * on every name.
 */
void
mint_exec(const char *sql)
{
	List	   *raw = mint_raw_parser(sql);
	RawStmt    *rs;
	PlannedStmt *ps;

	if (list_length(raw) != 1)
		elog(ERROR, "pg_mint: expected one statement in \"%s\"", sql);
	rs = linitial_node(RawStmt, raw);

	ps = makeNode(PlannedStmt);
	ps->commandType = CMD_UTILITY;
	ps->canSetTag = false;
	ps->utilityStmt = rs->stmt;
	ps->stmt_location = rs->stmt_location;
	ps->stmt_len = rs->stmt_len;

	pgstat_report_activity(STATE_RUNNING, sql);
	mint_ProcessUtility(ps, sql, PROCESS_UTILITY_TOPLEVEL, None_Receiver);
	CommandCounterIncrement();
}

/*
 * Run a ready-made utility statement node as mint_exec() would run its text
 * sql, without parsing it: at the top level of a worker's transaction, or
 * (nested) inside the caller's own transaction.  The warm pool's hit path
 * runs three of these.  Utility hooks see the same statement and text as
 * for the parsed form.
 */
static void
exec_node(Node *stmt, const char *sql, bool nested)
{
	PlannedStmt *ps = makeNode(PlannedStmt);

	ps->commandType = CMD_UTILITY;
	ps->canSetTag = false;
	ps->utilityStmt = stmt;
	ps->stmt_location = -1;
	ps->stmt_len = 0;
	if (!nested)
		pgstat_report_activity(STATE_RUNNING, sql);
	mint_ProcessUtility(ps, sql, nested ? PROCESS_UTILITY_QUERY : PROCESS_UTILITY_TOPLEVEL,
						None_Receiver);
	CommandCounterIncrement();
}

/* ALTER DATABASE from RENAME TO to */
void
mint_rename_database(const char *from, const char *to, bool nested)
{
	RenameStmt *n = makeNode(RenameStmt);

	n->renameType = OBJECT_DATABASE;
	n->subname = pstrdup(from);
	n->newname = pstrdup(to);
	n->missing_ok = false;
	exec_node((Node *) n,
			  psprintf("ALTER DATABASE %s RENAME TO %s", quote_identifier(from), quote_identifier(to)),
			  nested);
}

/* ALTER DATABASE name ALLOW_CONNECTIONS true|false */
void
mint_allow_connections(const char *name, bool allow, bool nested)
{
	AlterDatabaseStmt *n = makeNode(AlterDatabaseStmt);
	const char *value = allow ? "true" : "false";

	n->dbname = pstrdup(name);
	n->options = list_make1(makeDefElem("allow_connections", (Node *) makeString(pstrdup(value)), -1));
	exec_node((Node *) n,
			  psprintf("ALTER DATABASE %s ALLOW_CONNECTIONS %s", quote_identifier(name), value),
			  nested);
}

/*
 * SIGTERM (the caller cancelled, or the server shuts down) becomes a query
 * cancel: the operation fails with an ERROR, so its cleanup runs (a
 * half-made copy is dropped) before the worker exits.  With die() the
 * worker would exit with FATAL at once and leave the copy to mint.gc().
 */
static volatile sig_atomic_t finishing = false;

static void
mint_worker_sigterm(SIGNAL_ARGS)
{
	int			save_errno = errno;

	if (!finishing)
	{
		QueryCancelPending = true;
		InterruptPending = true;
	}
	SetLatch(MyLatch);
	errno = save_errno;
}

/*
 * The operation has committed what the caller asked for; what is left (the
 * drop of a replaced clone) must run to its end even if the caller is
 * cancelled now, or it would leave a half-dropped leftover.
 */
void
mint_worker_finishing(void)
{
	finishing = true;
	QueryCancelPending = false; /* a termination that came too late */
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
		ErrorData  *cdata;

		MemoryContextSwitchTo(TopMemoryContext);
		cdata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
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

	pqsignal(SIGTERM, mint_worker_sigterm);
	BackgroundWorkerUnblockSignals();

	CurrentResourceOwner = ResourceOwnerCreate(NULL, "pg_mint worker");
	seg = dsm_attach(DatumGetUInt32(main_arg));
	if (seg == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pg_mint worker could not map its dynamic shared memory segment")));
	params = (MintParams *) dsm_segment_address(seg);
	if (params->magic != MINT_PARAMS_MAGIC)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pg_mint worker and its caller run different pg_mint builds"),
				 errhint("Reconnect: a session keeps the pg_mint library it loaded first.")));
	params_size = params->params_size;
	mq = (shm_mq *) ((char *) params + params_size);
	shm_mq_set_sender(mq, MyProc);
	mqh = shm_mq_attach(mq, seg, NULL);
	pq_redirect_to_shm_mq(seg, mqh);

	BackgroundWorkerInitializeConnectionByOid(params->dboid, params->session_userid,
											  MINT_BGW_CONN_FLAGS);
	mint_worker_become(params->current_userid, params->sec_context);
	trace_last = params->launched_at;
	mint_trace("start and connect");

	PG_TRY();
	{
		mint_op_run(params);
	}
	PG_CATCH();
	{
		/* tell the caller after cleaning up, so it never sees half-made state */
		MemoryContext oldcxt = MemoryContextSwitchTo(TopMemoryContext);
		ErrorData  *edata = CopyErrorData();

		MemoryContextSwitchTo(oldcxt);
		FlushErrorState();
		/* as PostgresMain does after an error: we are at top level again */
		InterruptHoldoffCount = 0;
		QueryCancelHoldoffCount = 0;
		AbortCurrentTransaction();
		while (ActiveSnapshotSet())
			PopActiveSnapshot();

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
