/*
 * exec.c -- running statements inside a pg_mint background worker.
 *
 * Layer: primitives (bottom).  Called by the worker's operations (ops.c,
 * refill.c), the registered steps (steps.c), the warm pool's take (pool.c,
 * whose renames may run nested in the caller's transaction) and the worker
 * start-up (worker.c); calls only guard.c.
 *
 * Every statement a worker runs is its own top-level transaction
 * (StartTransactionCommand ... CommitTransactionCommand), which is what
 * CREATE and DROP DATABASE require, with search_path pinned in its own GUC
 * nest level.  Also here: the worker process's state (is this a pg_mint
 * worker, has its operation passed the point of no return), its answers to
 * the caller, and the phase timing trace.
 */
#include "postgres.h"

#include "access/xact.h"
#include "commands/trigger.h"
#include "libpq/libpq.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/parsenodes.h"
#include "nodes/plannodes.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "tcop/dest.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
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
				(errmsg_internal("pg_mint: %s took %.3f ms", phase,
								 (double) (now - trace_last) / 1000.0)));
	trace_last = now;
}

/* Start timing phases at t (0: now). */
void
mint_trace_start(TimestampTz t)
{
	trace_last = t != 0 ? t : GetCurrentTimestamp();
}

bool		mint_results_to_log = false;

/* Answers to the caller, beside the redirected errors and notices. */
void
mint_send_result(const char *result)
{
	if (mint_results_to_log)
	{
		ereport(LOG, (errmsg("pg_mint janitor dropped database \"%s\"", result)));
		return;
	}
	(void) pq_putmessage(MINT_MSG_RESULT, result, strlen(result) + 1);
}

/* An executor took a job: what it sends from now on answers this job. */
void
mint_send_accepted(void)
{
	if (mint_results_to_log)
		return;
	(void) pq_putmessage(MINT_MSG_ACCEPTED, "", 1);
}

void
mint_send_done(void)
{
	if (mint_results_to_log)
		return;
	(void) pq_putmessage(MINT_MSG_DONE, "", 1);
}

/*
 * The worker's job memory: what one transaction looks up (names,
 * fingerprints) is used in the next, so it must outlive the transaction's
 * memory.  An operation worker lives for one job; a refiller resets it
 * after each step of its loop (mint_job_memory_reset).
 */
static MemoryContext job_cxt = NULL;

static MemoryContext
op_context(void)
{
	if (job_cxt == NULL)
		job_cxt = AllocSetContextCreate(TopMemoryContext, "pg_mint job",
										ALLOCSET_DEFAULT_SIZES);
	return job_cxt;
}

/* Free everything the last job allocated; only between transactions. */
void
mint_job_memory_reset(void)
{
	Assert(!IsTransactionState());
	MemoryContextSwitchTo(TopMemoryContext);
	if (job_cxt != NULL)
		MemoryContextReset(job_cxt);
	MemoryContextSwitchTo(op_context());
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

	if (!mint_activity_pinned)
		pgstat_report_activity(STATE_RUNNING, sql);
	mint_ProcessUtility(ps, sql, PROCESS_UTILITY_TOPLEVEL, None_Receiver);
	CommandCounterIncrement();
}

/*
 * Run a ready-made utility statement node as mint_exec() would run its text
 * sql, without parsing it: at the top level of a worker's transaction, or
 * (MINT_XACT_CALLER) inside the caller's own transaction.  The warm pool's hit path
 * runs three of these.  Utility hooks see the same statement and text as
 * for the parsed form.
 */
static void
exec_node(Node *stmt, const char *sql, MintXact xact)
{
	PlannedStmt *ps = makeNode(PlannedStmt);

	ps->commandType = CMD_UTILITY;
	ps->canSetTag = false;
	ps->utilityStmt = stmt;
	ps->stmt_location = -1;
	ps->stmt_len = 0;
	if (xact == MINT_XACT_OWN && !mint_activity_pinned)
		pgstat_report_activity(STATE_RUNNING, sql);
	mint_ProcessUtility(ps, sql, xact == MINT_XACT_CALLER ? PROCESS_UTILITY_QUERY : PROCESS_UTILITY_TOPLEVEL,
						None_Receiver);
	CommandCounterIncrement();
}

/* ALTER DATABASE from RENAME TO to */
void
mint_rename_database(const char *from, const char *to, MintXact xact)
{
	RenameStmt *n = makeNode(RenameStmt);

	n->renameType = OBJECT_DATABASE;
	n->subname = pstrdup(from);
	n->newname = pstrdup(to);
	n->missing_ok = false;
	exec_node((Node *) n,
			  psprintf("ALTER DATABASE %s RENAME TO %s", quote_identifier(from), quote_identifier(to)), xact);
}

/* ALTER DATABASE name ALLOW_CONNECTIONS true|false */
void
mint_allow_connections(const char *name, bool allow, MintXact xact)
{
	AlterDatabaseStmt *n = makeNode(AlterDatabaseStmt);
	const char *value = allow ? "true" : "false";

	n->dbname = pstrdup(name);
	n->options = list_make1(makeDefElem("allow_connections", (Node *) makeString(pstrdup(value)), -1));
	exec_node((Node *) n,
			  psprintf("ALTER DATABASE %s ALLOW_CONNECTIONS %s", quote_identifier(name), value), xact);
}

/*
 * SIGTERM (the caller cancelled, or the server shuts down) becomes a query
 * cancel: the operation fails with an ERROR, so its cleanup runs (a
 * half-made copy is dropped) before the worker exits.  With die() the
 * worker would exit with FATAL at once and leave the copy to mint.gc().
 */
static volatile sig_atomic_t finishing = false;
static volatile sig_atomic_t stop_requested = false;

void
mint_worker_sigterm(SIGNAL_ARGS)
{
	int			save_errno = errno;

	stop_requested = true;
	if (!finishing)
	{
		QueryCancelPending = true;
		InterruptPending = true;
	}
	SetLatch(MyLatch);
	errno = save_errno;
}

/* Was the worker asked to stop (SIGTERM)?  Checked between jobs. */
bool
mint_worker_stop_requested(void)
{
	return stop_requested;
}

/*
 * Before each job of an executor: the last job's point of no return and
 * its phase timing do not carry over.  (A SIGTERM that came between jobs
 * ended the worker before it took this one.)
 */
void
mint_worker_job_reset(void)
{
	finishing = false;
	trace_last = 0;
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
 * In a PG_CATCH of a worker transaction: copy the error into cxt, clear it,
 * abort the transaction and drop its snapshots, so the worker is at top
 * level again and may start another transaction.  Returns the error;
 * leaves cxt the current memory context.
 */
ErrorData *
mint_catch_error(MemoryContext cxt)
{
	ErrorData  *edata;

	MemoryContextSwitchTo(cxt);
	edata = CopyErrorData();
	FlushErrorState();
	AbortCurrentTransaction();
	while (ActiveSnapshotSet())
		PopActiveSnapshot();
	return edata;
}
