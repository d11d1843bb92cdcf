/*
 * pg_mint.h -- declarations shared by the pg_mint extension's source files.
 *
 * The files form layers; each calls only files below it (never a file that
 * calls it back).  From the top:
 *
 *   pg_mint.c    SQL functions and settings: check arguments, take locks,
 *                hand one operation to a worker (or take a pool spare)
 *   launcher.c   executor, caller side: start a worker, wait, relay errors
 *   worker.c     executor, worker side: the entry points and their start-up
 *   ops.c        the operations a worker runs (begin, finish, abort, clone,
 *                drop, gc)                  refill.c  the warm pool's jobs
 *   checks.c     may pg_mint touch this database? (caller and worker)
 *   versions.c   which database holds a template version, the session's
 *                choice of fingerprint, version locks   (beside checks.c)
 *   pool.c       taking a spare, held databases, starting pool jobs
 *   steps.c      registered steps: create, drop, swap, terminate sessions
 *   registry.c   the bookkeeping (mint.registry, pool_config, pool_events)
 *   primitives   exec.c (statements in a worker), spawn.c (registering
 *                workers), blockers.c, reflink.c, locks.c, names.c,
 *                objects.c, guard.c; worker_name.c and sha256.c (pure C,
 *                shared with the CLI)
 *
 * A clone: pg_mint.c mint_clone -> checks.c -> launcher.c -> (worker.c ->
 * ops.c op_clone -> steps.c -> registry.c, exec.c).  A pool hit: pg_mint.c
 * mint_clone -> pool.c mint_pool_take -> steps.c mint_swap_databases ->
 * exec.c, then pool.c starts the after-hit job (worker.c -> refill.c).
 */
#ifndef PG_MINT_H
#define PG_MINT_H

#include "postgres.h"

#include "fmgr.h"
#include "nodes/pg_list.h"
#include "postmaster/bgworker.h"
#include "port/atomics.h"
#include "storage/lock.h"
#include "datatype/timestamp.h"

#ifndef MINT_VERSION
#define MINT_VERSION "1.0"
#endif

/* ---- operations a background worker can run --------------------------- */
typedef enum MintOp
{
	MINT_OP_BEGIN = 1,			/* drop stale template, create empty one */
	MINT_OP_FINISH,				/* seal a built template */
	MINT_OP_ABORT,				/* drop a half-built template */
	MINT_OP_CLONE,				/* create or replace a clone */
	MINT_OP_DROP,				/* drop a pg_mint database */
	MINT_OP_GC					/* drop leftovers */
} MintOp;

/*
 * Stamped into every worker's shared memory: a caller and a worker that
 * loaded different pg_mint builds (an upgrade under a running server)
 * refuse to talk instead of misreading each other.
 */
#define MINT_PARAMS_MAGIC	(0x6D696E00 | (uint32) sizeof(MintParams))

/* databases one transaction may take from pools before a gc in it must refuse */
#define MINT_MAX_HELD 64

/* what a worker sends its caller besides errors and notices (not protocol letters) */
#define MINT_MSG_RESULT		'm'		/* one result row, a C string */
#define MINT_MSG_DONE		'z'		/* the operation finished */
#define MINT_MSG_ACCEPTED	'a'		/* the worker took the job (sent first) */

/*
 * A caller's executor: one background worker per session that runs the
 * session's operations one after another (launcher.c, worker.c).  Its
 * dynamic shared memory starts with this header, followed by two queues:
 * jobs (caller to worker, each a MintParams) and answers (worker to caller,
 * the worker's redirected protocol output).
 */
#define MINT_EXEC_IDLE		0	/* waiting for a job: the caller may send one */
#define MINT_EXEC_BUSY		1	/* a job (or its tail) runs */
#define MINT_EXEC_EXITING	2	/* idle too long: exits, takes no more jobs */

typedef struct MintExecShared
{
	uint32		magic;			/* MINT_EXEC_MAGIC: same pg_mint build */
	Oid			dboid;			/* the caller's database */
	Oid			session_userid; /* the caller's session user */
	int			idle_timeout_ms;	/* 0: one job, then exit */
	pg_atomic_uint32 state;		/* MINT_EXEC_*: caller IDLE->BUSY, worker
								 * BUSY->IDLE and IDLE->EXITING */
} MintExecShared;

#define MINT_QUEUE_SIZE		16384	/* bytes of each queue */

#define MINT_EXEC_MAGIC	(0x6D786500 | (uint32) sizeof(MintExecShared))

/* MintParams.flags */
#define MINT_FLAG_NO_POOL	0x01	/* the caller already tried the pool */
#define MINT_FLAG_DRY_RUN	0x02	/* gc: report, drop nothing */
#define MINT_FLAG_TERMINATE	0x04	/* gc: terminate sessions on expired leases */

/* values of pg_mint.strategy */
typedef enum MintStrategy
{
	MINT_STRATEGY_DEFAULT = 0,
	MINT_STRATEGY_WAL_LOG,
	MINT_STRATEGY_FILE_COPY,
	MINT_STRATEGY_CLONE,		/* FILE_COPY with file_copy_method = clone (18+) */
	MINT_STRATEGY_AUTO			/* CLONE where the file system can, else
								 * WAL_LOG or FILE_COPY by size, fsync and
								 * copies running (autostrategy.c) */
} MintStrategy;

/*
 * Parameters of one operation, copied into the worker's DSM segment.
 * Names are validated (1..63 bytes) before they get here.
 */
typedef struct MintParams
{
	uint32		magic;			/* MINT_PARAMS_MAGIC: same pg_mint build */
	uint32		params_size;	/* bytes before the message queue */
	MintOp		op;
	Oid			dboid;			/* database the caller is connected to */
	Oid			session_userid; /* role the worker logs in as */
	Oid			current_userid; /* role whose privileges it uses */
	int			sec_context;
	int			caller_pid;
	int			strategy;		/* MintStrategy */
	int			terminate_timeout_ms;
	int64		older_than_us;	/* gc */
	int			flags;			/* MINT_FLAG_* */
	TimestampTz launched_at;	/* when the caller registered the worker */
	Oid			tpl_oid;		/* clone: template, as the caller checked it */
	Oid			old_oid;		/* clone: existing target to replace, or 0 */
	int			nskip;			/* gc: databases the caller's transaction */
	Oid			skip[MINT_MAX_HELD];	/* holds locks on (pool hits): leave them */
	char		template_name[NAMEDATALEN];
	char		target[NAMEDATALEN];
	char		run[NAMEDATALEN];	/* clone: the caller's run; gc: the run it is scoped to */
	int			versions_kept;	/* gc: pg_mint.template_versions_kept */
	int64		lease_us;		/* clone: time to live (0: no lease) */
	int			lock_timeout_ms;	/* the caller's lock_timeout: bounds queueing */
	int			fingerprint_len;
	char		fingerprint[FLEXIBLE_ARRAY_MEMBER]; /* NUL-terminated */
} MintParams;

/* ---- GUCs (pg_mint.c) -------------------------------------------------- */
extern int	mint_strategy;
extern int	mint_pool_strategy;
extern int	mint_worker_wait_timeout_ms;
extern int	mint_terminate_timeout_ms;
extern int	mint_executor_idle_timeout_ms;
extern int	mint_template_versions_kept;
extern char *mint_run;			/* pg_mint.run */
extern const char *mint_params_run; /* the run the next worker carries (MintParams.run) */
extern int	mint_lease_s;		/* pg_mint.lease */
extern int	mint_max_concurrent_copies; /* pg_mint.max_concurrent_copies */

/*
 * The lease a clone made now gets (microseconds, 0: none): set by clone()
 * in the caller for its call, and from MintParams in a worker for its job.
 */
extern int64 mint_job_lease_us;
/* the caller's lock_timeout (ms) bounding a worker's wait for a copy slot or quota */
extern int	mint_job_lock_timeout_ms;
/* the clone a job replaces: not counted against the quota (it goes) */
extern Oid	mint_job_replacing;

/* ---- names.c: argument checks, private names ---------------------------- */
extern char *mint_arg_name(FunctionCallInfo fcinfo, int argno, const char *argname);
extern char *mint_private_name(const char *tag);

/* ---- locks.c: cluster-wide locks ------------------------------------------ */
typedef struct MintLock
{
	LOCKTAG		tag;
	LOCKMODE	mode;
	bool		held;
} MintLock;

extern void mint_lock_init(MintLock *lock, const char *datname, LOCKMODE mode);
extern void mint_lock_init_space(MintLock *lock, const char *key, LOCKMODE mode, uint16 space);

#define MINT_LOCK_SPACE_DB		0x6D74	/* database names */
#define MINT_LOCK_SPACE_POOL	0x6D75	/* one pool refiller per template */
#define MINT_LOCK_SPACE_SLOTS	0x6D76	/* callers waiting for a worker slot */
#define MINT_LOCK_SPACE_VERSION	0x6D77	/* one template version (name, fingerprint) */
#define MINT_LOCK_SPACE_COPY_QUEUE	0x6D78	/* the FIFO queue for copy slots */
#define MINT_LOCK_SPACE_COPY_SLOT	0x6D79	/* one copy slot (field2 = slot number) */
#define MINT_LOCK_SPACE_QUOTA	0x6D7A	/* one role's quota check */
#define MINT_LOCK_SPACE_INFLIGHT	0x6D7B	/* one copy in flight for a role (field1 = role, field2 = n) */
extern void mint_lock_acquire(MintLock *lock, const char *waitmsg);
extern bool mint_lock_try(MintLock *lock);
extern bool mint_lock_tag_within(const LOCKTAG *tag, LOCKMODE mode, bool session, int timeout_ms,
								 const char *waitmsg);
extern void mint_lock_release(MintLock *lock);
extern void mint_lock_release_all(void);
extern bool mint_lock_is_free(const char *datname);
extern void mint_slot_wait_begin(void);
extern void mint_slot_wait_end(void);
extern bool mint_slot_waiters(void);

/* ---- objects.c: pg_mint's own schema and tables, found by identity ----- */
typedef struct MintObjects
{
	bool		valid;
	Oid			extoid;			/* the extension pg_mint */
	Oid			extowner;		/* the superuser who installed it */
	Oid			nsp;			/* its schema, named mint */
	Oid			registry;
	Oid			registry_datname_idx;
	Oid			pool_config;
	Oid			pool_config_pkey;
	Oid			pool_events;
	bool		has_versions;	/* 1.2 or later: registry.version_of and .run exist */
	bool		has_shared;		/* 1.3 or later: leases, quotas, stats */
	Oid			quota_config;
	Oid			stat_events;
} MintObjects;

extern const MintObjects *mint_objects(void);

/* ---- guard.c: pinned search_path, restricted role switches ------------- */
typedef struct MintGuard
{
	bool		active;
	Oid			save_uid;
	int			save_sec;
	int			nestlevel;
} MintGuard;

extern int	mint_pin_search_path(void);
extern void mint_unpin_search_path(int level);
extern void mint_pin_search_path_for_session(void);
extern void mint_guard_enter(MintGuard *g, Oid role);
extern void mint_guard_exit(MintGuard *g, bool ok);

/*
 * Schema-qualified operators for pg_mint's SQL (see guard.c): nothing in it
 * may resolve through a search_path.
 */
#define EQ " OPERATOR(pg_catalog.=) "
#define NE " OPERATOR(pg_catalog.<>) "
#define LT " OPERATOR(pg_catalog.<) "
#define GT " OPERATOR(pg_catalog.>) "
#define PLUS " OPERATOR(pg_catalog.+) "

/* ---- blockers.c: what outlives a database's sessions -------------------- */
typedef enum MintBlocker
{
	MINT_BLOCKER_NONE = 0,
	MINT_BLOCKER_PREPARED_XACT,
	MINT_BLOCKER_SLOT,			/* an active replication slot */
	MINT_BLOCKER_SUBSCRIPTION
} MintBlocker;

extern MintBlocker mint_find_blocker(Oid oid, char **ident);
extern void mint_check_blockers(const char *name, Oid oid);
extern bool mint_gc_skip_blocked(const char *name, Oid oid);

/* ---- reflink.c: can files be cloned? ------------------------------------ */
extern bool mint_can_clone_files(Oid spcoid, char **why);

/* ---- autostrategy.c: the copy strategy auto picks --------------------------- */
extern int	mint_auto_strategy(Oid template_oid, Oid tablespace_oid);

/* ---- spawn.c: registering background workers ---------------------------- */
extern void mint_worker_init(BackgroundWorker *worker, const char *function, const char *type);
extern bool mint_spawn_detached(const char *function, const char *type, const char *name,
								const void *extra, Size extra_size, TransactionId wait_xid);
extern BackgroundWorkerHandle *mint_spawn_watched(const char *function, const char *type,
												  const char *name, const void *extra, Size extra_size);

/* ---- exec.c: statements and state of a worker process ------------------- */
/*
 * Where a statement runs: at the top level of a transaction pg_mint's worker
 * started for it, or inside the caller's own transaction (a pool hit's
 * renames, which need no worker).
 */
typedef enum MintXact
{
	MINT_XACT_OWN,
	MINT_XACT_CALLER
} MintXact;

extern bool mint_in_worker;		/* this process is one of pg_mint's workers */
extern bool mint_results_to_log;	/* no caller listens: results go to the server log */
extern void mint_worker_become(Oid role, int sec_context);

/* prefault.c */
extern void mint_prefault_buffer_pool(void);
extern void mint_worker_sigterm(SIGNAL_ARGS);
extern void mint_worker_finishing(void);
extern bool mint_worker_stop_requested(void);
extern void mint_worker_job_reset(void);
extern void mint_xact_begin(void);
extern void mint_xact_commit(void);
extern void mint_job_memory_reset(void);
extern void mint_exec(const char *sql);
extern void mint_rename_database(const char *from, const char *to, MintXact xact);
extern void mint_allow_connections(const char *name, bool allow, MintXact xact);
extern void mint_send_result(const char *result);
extern void mint_send_accepted(void);
extern void mint_send_done(void);
extern void mint_trace(const char *phase);
extern void mint_trace_start(TimestampTz t);
extern ErrorData *mint_catch_error(MemoryContext cxt);

/* ---- registry.c: the bookkeeping ------------------------------------------ */
typedef struct MintEntry
{
	bool		found;			/* a row names this database by OID and name */
	Oid			datid;
	char		kind[16];
	char		state[16];
	char	   *template_name;
	Oid			template_datid;
	char	   *fingerprint;
	int			server_version;
	Oid			owner;
	char	   *version_of;		/* templates: the template name this version belongs to */
} MintEntry;

/* one version of a template, as versions.c finds it */
typedef struct MintVersion
{
	Oid			datid;
	char		datname[NAMEDATALEN];
	char		state[16];
	char	   *fingerprint;
	int			server_version;
} MintVersion;

extern void mint_registry_lookup(const char *datname, Oid datid, MintEntry *entry);
extern bool mint_db_named(Oid oid, const char *name);
extern Oid	mint_db_owner(Oid oid);
extern bool mint_db_is_template(Oid oid);
extern Oid	mint_db_tablespace(Oid oid);
extern Oid	mint_pool_config_owner(const char *tpl);
extern Oid	mint_pool_config_owner_any(const char *tpl);
extern void mint_registry_lookup_clone(const char *tpl, const char *pool_tpl, Oid *tpl_oid, MintEntry *te,
									   const char *target, Oid *target_oid, MintEntry *ge,
									   Oid *pool_owner);
extern void mint_registry_insert(Oid datid, const char *datname, const char *kind,
								 const char *state, const char *template_name,
								 Oid template_datid, const char *fingerprint,
								 const char *version_of, const char *run);
extern int	mint_registry_versions(const char *tpl, MintVersion **out);
extern void mint_registry_set_run(Oid datid, const char *run);
extern void mint_registry_set(Oid datid, const char *datname, const char *state);
extern void mint_registry_forget_name(const char *datname, Oid keep, Oid keep2);
extern void mint_registry_delete(Oid datid);
extern int	mint_spi_run(const char *sql, int nargs, Oid *types, Datum *values,
						 const char *nulls, bool read_only, long count);
extern uint64 mint_registry_exec(const char *sql, int nargs, Oid *types, Datum *values,
								 const char *nulls, char **out, int nout);
extern Oid	mint_pool_owner(const char *template_name);
extern Oid	mint_pool_active_owner(Oid owner, Oid tpl_oid);
extern Oid	mint_pool_owner_for_caller(Oid owner, Oid tpl_oid);
extern void mint_pool_forget(const char *template_name);

/* ---- steps.c: registered steps ------------------------------------------- */
extern Oid	mint_create_registered(const char *name, const char *from, bool allow_conn,
								   const char *kind, const char *state,
								   const char *template_name, Oid template_datid,
								   const char *fingerprint, int strategy,
								   const char *version_of, const char *run);
extern void mint_drop_registered(const char *name, Oid oid);
extern void mint_drop_registered_ext(const char *name, Oid oid, const char *restore_state,
									 bool allow_again);
extern void mint_terminate_sessions(const char *name, Oid oid, int timeout_ms);
extern void mint_swap_databases(const char *target, Oid old_oid, const char *old_name,
								const char *new_name, int terminate_timeout_ms, MintXact xact);
extern void mint_swap_into_target(const char *target, Oid old_oid, const char *new_name,
								  Oid new_oid, char *old_name, int terminate_timeout_ms,
								  MintXact xact);

/* ---- pool.c: spares, held databases, pool jobs ----------------------------- */
/*
 * What a pool job (refiller, after-hit) needs, passed in bgw_extra (no shared
 * memory outlives the caller).  The refiller acts as the pool owner; the
 * after-hit job acts as the caller (user/current_user) to drop the replaced
 * target.
 */
typedef struct MintPoolArgs
{
	uint32		magic;			/* MINT_POOL_ARGS_MAGIC: same pg_mint build */
	Oid			dboid;
	Oid			owner;			/* pool owner */
	Oid			session_userid; /* after-hit: the caller */
	Oid			current_userid;
	int			sec_context;
	TransactionId wait_xid;
	Oid			old_oid;		/* after-hit: replaced target to drop */
	char		template_name[NAMEDATALEN];
	int64		older_than_us;	/* janitor: mint.gc(older_than) */
	int			flags;			/* janitor: MINT_FLAG_* of that gc */
} MintPoolArgs;

#define MINT_POOL_ARGS_MAGIC	(0x6D707000 | (uint32) sizeof(MintPoolArgs))

extern bool mint_pool_take(const char *tpl, Oid tpl_oid, Oid owner, const char *target, Oid old_oid,
						   MintXact xact, char *old_name, int terminate_timeout_ms,
						   const char *run);
extern int	mint_held_databases(const Oid **oids);
extern bool mint_database_held(Oid oid);
extern void mint_pool_kick(const char *template_name, Oid pool_owner, TransactionId wait_xid);
extern void mint_pool_after_hit(const char *template_name, Oid pool_owner, Oid old_oid);
extern bool mint_drop_detached(const char *name, Oid oid);
extern void mint_pool_kick_all(void);
extern bool mint_start_janitor(int64 older_than_us, int flags);
extern bool mint_pool_refiller_alive(const char *template_name);

/* ---- checks.c: may pg_mint touch this database? -------------------------- */
extern void mint_require_owner(const char *name, Oid oid, const char *what);
extern void mint_require_pg_mint(const char *name, MintEntry *e);
extern void mint_require_replaceable(const char *name, Oid oid, const char *kind, const char *what);
extern void mint_require_droppable(const char *name, Oid oid, MintEntry *e);
extern void mint_check_clone_target(const char *target, Oid oid, MintEntry *entry);
extern void mint_template_exists(const char *tpl, Oid tpl_oid);
extern bool mint_template_check(const char *tpl, MintEntry *entry);

/* ---- versions.c: template versions ------------------------------------------ */
extern void mint_version_lock_init(MintLock *lock, const char *tpl, const char *fp, LOCKMODE mode);
extern bool mint_version_find(const char *tpl, const char *fp, MintVersion *v);
extern bool mint_version_ready(const char *tpl, const char *fp);
extern int	mint_version_list(const char *tpl, MintVersion **out);
extern void mint_version_choose(const char *tpl, const char *fp);
extern const char *mint_version_chosen(const char *tpl);
extern int	mint_server_major(void);

/* ---- admission.c: copy slots (FIFO) and the activity workers publish ---- */
extern void mint_activity_begin(const char *op, const char *tpl, const char *target);
extern void mint_copy_slot_acquire(void);
extern void mint_copy_slot_release(void);
extern void mint_activity_clear(void);
extern void mint_activity_copying(const char *sql);
extern bool mint_activity_pinned;	/* exec.c leaves the activity text alone */

/* ---- quota.c: quotas per role -------------------------------------------- */
extern bool mint_quota_reserve(Oid role, const char *kind, const char *target,
							   const char *template_name, const char *from, bool raise);
extern void mint_quota_release(void);

/* ---- leases and metrics (leases.c) ---------------------------------------- */
extern void mint_stat_event(const char *event, const char *tpl, double ms, Oid role);
extern void mint_lease_set(Oid datid, int64 lease_us);
extern void mint_stat_build(Oid datid);
extern const char *mint_job_display_target;	/* the target a private copy is for */

/* ---- ops.c and refill.c: what a worker runs ------------------------------- */
extern void mint_op_run(MintParams *params);
extern void mint_op_cleanup(MintParams *params);
extern void mint_refill_run(const MintPoolArgs *args);
extern void mint_after_hit_run(const MintPoolArgs *args);
extern void mint_op_drop_later(const char *name, Oid oid);
extern void mint_op_tail(bool detach);

/* ---- worker.c: entry points (started by name) ------------------------------ */
/* 18 replaced the suffix pg_attribute_noreturn() by the prefix pg_noreturn */
#ifdef pg_noreturn
#define MINT_NORETURN pg_noreturn
#define MINT_NORETURN_SUFFIX
#else
#define MINT_NORETURN
#define MINT_NORETURN_SUFFIX pg_attribute_noreturn()
#endif
MINT_NORETURN extern PGDLLEXPORT void mint_worker_main(Datum main_arg) MINT_NORETURN_SUFFIX;
MINT_NORETURN extern PGDLLEXPORT void mint_pool_main(Datum main_arg) MINT_NORETURN_SUFFIX;
MINT_NORETURN extern PGDLLEXPORT void mint_after_hit_main(Datum main_arg) MINT_NORETURN_SUFFIX;
MINT_NORETURN extern PGDLLEXPORT void mint_janitor_main(Datum main_arg) MINT_NORETURN_SUFFIX;

/* ---- launcher.c: run an operation in a worker and wait -------------------- */
typedef void (*MintResultCallback) (const char *result, void *arg);
extern void mint_run_in_worker(MintOp op, const char *template_name, const char *target,
							   const char *fingerprint, int64 older_than_us, int flags,
							   MintResultCallback cb, void *cb_arg);
extern void mint_run_gc_in_worker(int64 older_than_us, int flags, int nskip, const Oid *skip,
								  MintResultCallback cb, void *cb_arg);
extern void mint_run_clone_in_worker(const char *template_name, Oid tpl_oid,
									 const char *target, Oid old_oid,
									 const char *fingerprint, int flags,
									 MintResultCallback cb, void *cb_arg);

#endif							/* PG_MINT_H */
