/*
 * locks.c -- pg_mint's cluster-wide locks.
 *
 * pg_advisory_lock() keys carry MyDatabaseId, so they only coordinate
 * sessions of one database.  pg_mint builds its own advisory lock tags with
 * database = InvalidOid (0), a 64-bit hash of the database name in the two
 * middle fields and 0x6D74 ("mt") in the last one.  SQL advisory locks use
 * field4 = 1 or 2, so these never collide with an application's own
 * pg_advisory_lock keys, yet they show up in pg_locks (locktype 'advisory',
 * database 0, objsubid 0x6D74 = 28020) like any other lock.  Two more
 * key spaces (field4 0x6D75, 0x6D76) serve the warm pool (pool.c).
 *
 * One key per database name: a template builder holds it exclusively for
 * the whole build (session lock, so it survives the caller's transactions
 * and vanishes with the caller's backend), clone() holds it shared on the
 * template and exclusively on the target, drop() exclusively.
 *
 * Layer: primitives (bottom).  Called by every layer above; calls nothing
 * of pg_mint's.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/lmgr.h"
#include "storage/proc.h"
#include "utils/elog.h"
#include "utils/memutils.h"

#include "compat.h"
#include "pg_mint.h"

#define MINT_LOCK_SEED	UINT64CONST(0x706D696E74)

void
mint_lock_init_space(MintLock *lock, const char *key, LOCKMODE mode, uint16 space)
{
	uint64		h = hash_bytes_extended((const unsigned char *) key,
										(int) strlen(key), MINT_LOCK_SEED);

	SET_LOCKTAG_ADVISORY(lock->tag, InvalidOid, (uint32) (h >> 32), (uint32) h, space);
	lock->mode = mode;
	lock->held = false;
}

void
mint_lock_init(MintLock *lock, const char *datname, LOCKMODE mode)
{
	mint_lock_init_space(lock, datname, mode, MINT_LOCK_SPACE_DB);
}

static void
lock_wait_context(void *arg)
{
	const char *msg = (const char *) arg;

	if (msg)
		errcontext("%s", msg);
}

/*
 * Wait for the lock.  The wait honours lock_timeout, statement_timeout,
 * cancel and the deadlock detector; waitmsg becomes the error context when
 * one of them ends it, so the user learns what was being waited for.
 */
void
mint_lock_acquire(MintLock *lock, const char *waitmsg)
{
	ErrorContextCallback cb;

	cb.callback = lock_wait_context;
	cb.arg = (void *) waitmsg;
	cb.previous = error_context_stack;
	error_context_stack = &cb;

	(void) LockAcquire(&lock->tag, lock->mode, true, false);
	lock->held = true;

	error_context_stack = cb.previous;
}

/*
 * Wait for a lock (a session lock, or one of the current transaction) at
 * most timeout_ms (0: no limit, as lock_timeout = 0); false when that ran
 * out, any other end of the wait (cancel, deadlock) is an ERROR as usual.
 */
bool
mint_lock_tag_within(const LOCKTAG *tag, LOCKMODE mode, bool session, int timeout_ms,
					 const char *waitmsg)
{
	int			save = LockTimeout;
	MemoryContext cxt = CurrentMemoryContext;
	volatile bool timed_out = false;
	ErrorContextCallback cb;

	cb.callback = lock_wait_context;
	cb.arg = (void *) waitmsg;
	cb.previous = error_context_stack;
	error_context_stack = &cb;
	PG_TRY();
	{
		LockTimeout = timeout_ms;
		(void) LockAcquire(tag, mode, session, false);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		LockTimeout = save;
		error_context_stack = cb.previous;
		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		if (edata->sqlerrcode != ERRCODE_LOCK_NOT_AVAILABLE)
			PG_RE_THROW();
		FlushErrorState();
		timed_out = true;
	}
	PG_END_TRY();
	LockTimeout = save;
	error_context_stack = cb.previous;
	return !timed_out;
}

bool
mint_lock_try(MintLock *lock)
{
	if (LockAcquire(&lock->tag, lock->mode, true, true) == LOCKACQUIRE_NOT_AVAIL)
		return false;
	lock->held = true;
	return true;
}

void
mint_lock_release(MintLock *lock)
{
	if (lock->held)
	{
		LockRelease(&lock->tag, lock->mode, true);
		lock->held = false;
	}
}

/*
 * Let go of every session lock this process holds (pg_mint's locks are
 * session-level advisory locks): an executor does this after each job, so
 * nothing one job locked outlives it, as if its worker had exited.
 */
void
mint_lock_release_all(void)
{
	LockReleaseSession(USER_LOCKMETHOD);
}

/* Is anyone (other than us) holding pg_mint's lock on this name? */
bool
mint_lock_is_free(const char *datname)
{
	MintLock	l;

	mint_lock_init(&l, datname, ExclusiveLock);
	if (!mint_lock_try(&l))
		return false;
	mint_lock_release(&l);
	return true;
}

/*
 * Callers waiting for a background-worker slot hold a share lock in space
 * MINT_LOCK_SPACE_SLOTS while they wait; pool refillers look for it and
 * give their slots back.
 */
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

bool
mint_slot_waiters(void)
{
	MintLock	l;

	mint_lock_init_space(&l, "slots", ExclusiveLock, MINT_LOCK_SPACE_SLOTS);
	if (!mint_lock_try(&l))
		return true;
	mint_lock_release(&l);
	return false;
}
