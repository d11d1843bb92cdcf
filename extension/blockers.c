/*
 * blockers.c -- what keeps a database in use beyond its sessions.
 *
 * Terminating sessions is not enough to rename or drop a database that a
 * prepared transaction, an active replication slot or a subscription uses:
 * DROP DATABASE fails on them (and RENAME would leave a copy nobody can
 * drop).  pg_mint checks for them before it touches a database and refuses
 * with an error that names the culprit.
 *
 * The checks read shared memory and one catalog index directly instead of
 * querying pg_prepared_xacts, pg_replication_slots and pg_subscription: they
 * run on every clone that replaces a database, including the warm pool's
 * sub-millisecond hit path.
 *
 * Layer: primitives.  Called by checks.c (errors) and ops.c (gc notices);
 * calls nothing of pg_mint's.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/twophase.h"
#include "catalog/indexing.h"
#include "catalog/pg_subscription.h"
#include "executor/executor.h"
#include "fmgr.h"
#include "funcapi.h"
#include "nodes/execnodes.h"
#include "replication/slot.h"
#include "storage/lwlock.h"
#include "storage/spin.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/rel.h"

#include "compat.h"
#include "pg_mint.h"

/*
 * A prepared transaction of database oid: walk the set-returning function
 * behind pg_prepared_xacts (it copies the shared state under its lock).
 */
static bool
prepared_xact_in(Oid oid, char **gid)
{
	FmgrInfo	flinfo;
	ReturnSetInfo rsinfo;
	ExprContext *econtext;
	bool		found = false;

	LOCAL_FCINFO(fcinfo, 0);

	if (max_prepared_xacts == 0)
		return false;

	fmgr_info(F_PG_PREPARED_XACT, &flinfo);
	econtext = CreateStandaloneExprContext();
	memset(&rsinfo, 0, sizeof(rsinfo));
	rsinfo.type = T_ReturnSetInfo;
	rsinfo.econtext = econtext;
	rsinfo.allowedModes = SFRM_ValuePerCall;
	rsinfo.returnMode = SFRM_ValuePerCall;
	InitFunctionCallInfoData(*fcinfo, &flinfo, 0, InvalidOid, NULL, (Node *) &rsinfo);

	for (;;)
	{
		Datum		d;

		rsinfo.isDone = ExprSingleResult;
		fcinfo->isnull = false;
		d = FunctionCallInvoke(fcinfo);
		if (rsinfo.isDone == ExprEndResult)
			break;
		if (!fcinfo->isnull)
		{
			HeapTupleHeader t = mint_DatumGetHeapTupleHeader(d);
			bool		isnull;
			Datum		dbid = GetAttributeByNum(t, 5, &isnull);

			if (!isnull && DatumGetObjectId(dbid) == oid)
			{
				Datum		g = GetAttributeByNum(t, 2, &isnull);

				*gid = isnull ? pstrdup("") : TextDatumGetCString(g);
				found = true;
				break;
			}
		}
	}
	/* runs the function's shutdown callback when we stopped early */
	FreeExprContext(econtext, true);
	return found;
}

/* An active replication slot of database oid (pg_replication_slots.active). */
static bool
active_slot_in(Oid oid, char **slot_name)
{
	int			i;
	bool		found = false;

	if (max_replication_slots == 0 || ReplicationSlotCtl == NULL)
		return false;

	LWLockAcquire(ReplicationSlotControlLock, LW_SHARED);
	for (i = 0; i < max_replication_slots && !found; i++)
	{
		ReplicationSlot *s = &ReplicationSlotCtl->replication_slots[i];
		NameData	name;
		Oid			database;
		bool		active;

		if (!s->in_use)
			continue;
		SpinLockAcquire(&s->mutex);
		database = s->data.database;
		active = s->active_pid != 0;
		name = s->data.name;
		SpinLockRelease(&s->mutex);
		if (database == oid && active)
		{
			*slot_name = pstrdup(NameStr(name));
			found = true;
		}
	}
	LWLockRelease(ReplicationSlotControlLock);
	return found;
}

/* A subscription that lives in database oid (index on (subdbid, subname)). */
static bool
subscription_in(Oid oid, char **subname)
{
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	bool		found = false;

	rel = table_open(SubscriptionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_subscription_subdbid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(oid));
	scan = systable_beginscan(rel, SubscriptionNameIndexId, true, NULL, 1, &key);
	if (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		*subname = pstrdup(NameStr(((Form_pg_subscription) GETSTRUCT(tup))->subname));
		found = true;
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return found;
}

/*
 * Something that outlives session termination and uses database oid?
 * Returns its kind and sets *ident to its name.
 */
MintBlocker
mint_find_blocker(Oid oid, char **ident)
{
	if (prepared_xact_in(oid, ident))
		return MINT_BLOCKER_PREPARED_XACT;
	if (active_slot_in(oid, ident))
		return MINT_BLOCKER_SLOT;
	if (subscription_in(oid, ident))
		return MINT_BLOCKER_SUBSCRIPTION;
	return MINT_BLOCKER_NONE;
}

/* Refuse, naming the culprit, when something like that uses the database. */
void
mint_check_blockers(const char *name, Oid oid)
{
	char	   *ident;

	switch (mint_find_blocker(oid, &ident))
	{
		case MINT_BLOCKER_NONE:
			break;
		case MINT_BLOCKER_PREPARED_XACT:
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_IN_USE),
					 errmsg("database \"%s\" is used by prepared transaction \"%s\"", name, ident),
					 errdetail("pg_mint left database \"%s\" as it was.", name),
					 errhint("Finish it with COMMIT PREPARED or ROLLBACK PREPARED, then retry.")));
			break;
		case MINT_BLOCKER_SLOT:
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_IN_USE),
					 errmsg("database \"%s\" is used by active replication slot \"%s\"", name, ident),
					 errdetail("pg_mint left database \"%s\" as it was.", name),
					 errhint("Stop the slot's consumer or drop the slot with pg_drop_replication_slot(), then retry.")));
			break;
		case MINT_BLOCKER_SUBSCRIPTION:
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_IN_USE),
					 errmsg("database \"%s\" is used by subscription \"%s\"", name, ident),
					 errdetail("pg_mint left database \"%s\" as it was.", name),
					 errhint("Drop the subscription with DROP SUBSCRIPTION, then retry.")));
			break;
	}
}

/* mint.gc() leaves database name alone: say why, in a NOTICE.  False when nothing blocks it. */
bool
mint_gc_skip_blocked(const char *name, Oid oid)
{
	char	   *ident;

	switch (mint_find_blocker(oid, &ident))
	{
		case MINT_BLOCKER_NONE:
			return false;
		case MINT_BLOCKER_PREPARED_XACT:
			ereport(NOTICE,
					(errmsg("mint.gc() skipped database \"%s\": it is used by prepared transaction \"%s\"",
							name, ident)));
			break;
		case MINT_BLOCKER_SLOT:
			ereport(NOTICE,
					(errmsg("mint.gc() skipped database \"%s\": it is used by active replication slot \"%s\"",
							name, ident)));
			break;
		case MINT_BLOCKER_SUBSCRIPTION:
			ereport(NOTICE,
					(errmsg("mint.gc() skipped database \"%s\": it is used by subscription \"%s\"",
							name, ident)));
			break;
	}
	return true;
}
