/*
 * quota.c -- the most databases and bytes pg_mint may hold for a role
 * (mint.set_quota, mint.quota_config).
 *
 * Checked by the worker right before each CREATE DATABASE (steps.c), so a
 * copy beyond a quota fails before anything is copied, whether it is a
 * clone, a template build or a pool's spare.  A database counts for the role
 * that owns it (pg_database.datdba): the one pg_mint created it as.  It
 * counts by OID while pg_mint's row for it is there, whatever its name now,
 * so renaming a clone away and back never makes room for one more.
 *
 * Race safety without serialising a role's copies: the check runs under an
 * exclusive per-role lock (MINT_LOCK_SPACE_QUOTA), and a copy that passes
 * takes one of the role's 64 "in flight" locks (MINT_LOCK_SPACE_INFLIGHT)
 * before letting go of it, keeping it until its CREATE DATABASE and registry
 * row have committed.  The next check counts the committed databases plus
 * the in-flight locks held (each costing the size of the copy being
 * checked), so two concurrent copies can never both pass a quota of one.
 * A worker that dies frees its locks with its process.
 *
 * Layer: steps (beside steps.c).  Called by steps.c and refill.c, and by
 * the SQL function mint.set_quota; calls registry.c, locks.c, objects.c.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "storage/proc.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "pg_mint.h"

#define MINT_INFLIGHT_SLOTS 64

static MintLock inflight = {.held = false};

static void
role_tag(MintLock *lock, uint16 space, Oid role, uint32 n)
{
	SET_LOCKTAG_ADVISORY(lock->tag, InvalidOid, (uint32) role, n, space);
	lock->mode = ExclusiveLock;
	lock->held = false;
}

static char *
pretty(int64 bytes)
{
	return text_to_cstring(DatumGetTextPP(DirectFunctionCall1(pg_size_pretty, Int64GetDatum(bytes))));
}

/* the role's quota: false when none applies */
static bool
quota_of(Oid role, int64 *max_db, int64 *max_bytes)
{
	Oid			types[2] = {OIDOID, BOOLOID};
	Datum		values[2];
	char	   *row[2];

	values[0] = ObjectIdGetDatum(role);
	values[1] = BoolGetDatum(superuser_arg(role));
	if (mint_registry_exec("SELECT q.max_databases, q.max_bytes FROM mint.quota_config q"
						   " WHERE q.role" EQ "$1 OR (q.role" EQ "0::pg_catalog.oid AND NOT $2)"
						   " ORDER BY q.role" EQ "0::pg_catalog.oid LIMIT 1",
						   2, types, values, NULL, row, 2) == 0)
		return false;
	*max_db = row[0] ? atoll(row[0]) : -1;
	*max_bytes = row[1] ? atoll(row[1]) : -1;
	return *max_db >= 0 || *max_bytes >= 0;
}

/*
 * Before creating database target (kind "clone", "spare" or "template") as
 * role from template database from (NULL: the server's default): may the
 * role hold one more?  Runs its own transactions (call it outside one).
 * When it may, keeps an in-flight lock until mint_quota_release() and
 * returns true; when it may not, raises 53400 (raise) or returns false.
 */
bool
mint_quota_reserve(Oid role, const char *kind, const char *target,
				   const char *template_name, const char *from, bool raise)
{
	int64		max_db;
	int64		max_bytes;
	bool		applies;
	MintLock	role_lock;
	int			n_inflight = 0;
	int			k;
	int64		held_db = 0;
	int64		held_bytes = 0;
	int64		need = 0;
	char	   *names = NULL;
	bool		over_db;
	bool		over_bytes;
	int			save = LockTimeout;

	if (inflight.held)
		return true;			/* reserved already (a refiller's pre-check) */

	mint_xact_begin();
	applies = mint_objects()->has_shared && quota_of(role, &max_db, &max_bytes);
	mint_xact_commit();
	if (!applies)
		return true;

	role_tag(&role_lock, MINT_LOCK_SPACE_QUOTA, role, 0);
	PG_TRY();
	{
		Oid			types[3] = {OIDOID, OIDOID, BOOLOID};
		Datum		values[3];
		char	   *row[3];
		Oid			from_oid;

		LockTimeout = mint_job_lock_timeout_ms;
		mint_lock_acquire(&role_lock, "waiting to check a pg_mint quota");
		LockTimeout = save;

		for (k = 0; k < MINT_INFLIGHT_SLOTS; k++)
		{
			MintLock	l;

			role_tag(&l, MINT_LOCK_SPACE_INFLIGHT, role, (uint32) k);
			if (!mint_lock_try(&l))
				n_inflight++;
			else if (!inflight.held)
				inflight = l;
			else
				mint_lock_release(&l);
		}

		mint_xact_begin();
		values[0] = ObjectIdGetDatum(role);
		values[1] = ObjectIdGetDatum(mint_job_replacing);
		values[2] = BoolGetDatum(max_bytes >= 0);
		(void) mint_registry_exec("SELECT pg_catalog.count(*),"
								  "       COALESCE(pg_catalog.sum(CASE WHEN $3 THEN pg_catalog.pg_database_size(d.oid) END), 0),"
								  "       COALESCE(pg_catalog.array_to_string((pg_catalog.array_agg("
								  "           pg_catalog.quote_ident(d.datname) ORDER BY r.created_at))[1:5], ', '), '')"
								  "  FROM mint.registry r JOIN pg_catalog.pg_database d"
								  "    ON d.oid" EQ "r.datid"
								  " WHERE d.datdba" EQ "$1 AND r.state" NE "'dropping'"
								  "   AND r.datid" NE "$2",
								  3, types, values, NULL, row, 3);
		held_db = atoll(row[0]);
		held_bytes = atoll(row[1]);
		names = row[2];
		if (max_bytes >= 0)
		{
			from_oid = get_database_oid(from ? from : "template1", true);
			if (OidIsValid(from_oid))
			{
				values[0] = ObjectIdGetDatum(from_oid);
				(void) mint_registry_exec("SELECT COALESCE(pg_catalog.pg_database_size($1), 0)",
										  1, types, values, NULL, row, 1);
				need = atoll(row[0]);
			}
		}
		mint_xact_commit();
	}
	PG_CATCH();
	{
		LockTimeout = save;
		PG_RE_THROW();
	}
	PG_END_TRY();

	over_db = max_db >= 0 && (!inflight.held || held_db + n_inflight + 1 > max_db);
	over_bytes = max_bytes >= 0 && held_bytes + (n_inflight + 1) * need > max_bytes;
	mint_lock_release(&role_lock);
	if (!over_db && !over_bytes)
		return true;

	mint_lock_release(&inflight);
	if (!raise)
		return false;

	/* the refusal is counted in a transaction of its own: the error undoes the caller's */
	{
		const char *rolename;

		mint_xact_begin();
		rolename = pstrdup(GetUserNameFromId(role, false));
		mint_stat_event("quota_refused", template_name, 0, role);
		mint_xact_commit();

		if (over_db)
			ereport(ERROR,
					(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
					 errmsg("database quota of role \"%s\" exceeded: it may hold at most " INT64_FORMAT " databases through pg_mint",
							rolename, max_db),
					 errdetail("Creating database \"%s\" would make one more; role \"%s\" holds " INT64_FORMAT " and %d more are being copied. Held now (oldest first): %s.",
							   target, rolename, held_db, n_inflight, names[0] ? names : "none"),
					 errhint("Drop some with mint.drop() or mint.gc(), or ask a superuser to raise the quota with mint.set_quota().")));
		else
			ereport(ERROR,
					(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
					 errmsg("size quota of role \"%s\" exceeded: it may hold at most %s (" INT64_FORMAT " bytes) through pg_mint",
							rolename, pretty(max_bytes), max_bytes),
					 errdetail("Creating database \"%s\" needs %s more; role \"%s\" holds %s in " INT64_FORMAT " databases and %d more are being copied. Held now (oldest first): %s.",
							   target, pretty(need), rolename, pretty(held_bytes), held_db, n_inflight,
							   names[0] ? names : "none"),
					 errhint("Drop some with mint.drop() or mint.gc(), or ask a superuser to raise the quota with mint.set_quota().")));
	}
	return false;				/* not reached */
}

void
mint_quota_release(void)
{
	mint_lock_release(&inflight);
}

/* ---- mint.set_quota(role regrole, max_databases integer, max_bytes bigint) -- */
PG_FUNCTION_INFO_V1(mint_set_quota);
Datum
mint_set_quota(PG_FUNCTION_ARGS)
{
	Oid			role = PG_ARGISNULL(0) ? InvalidOid : PG_GETARG_OID(0);
	Oid			types[3] = {OIDOID, INT4OID, INT8OID};
	Datum		values[3];
	char		nulls[3] = {' ', ' ', ' '};

	/* EXECUTE is revoked from PUBLIC too; a superuser may grant it, this may not be bypassed */
	if (!superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to set pg_mint quotas"),
				 errdetail("Quotas limit what pg_mint creates for every role; only superusers may set them.")));
	if (!PG_ARGISNULL(1) && PG_GETARG_INT32(1) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_databases must not be negative"),
				 errhint("Pass NULL for no limit.")));
	if (!PG_ARGISNULL(2) && PG_GETARG_INT64(2) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_bytes must not be negative"),
				 errhint("Pass NULL for no limit.")));
	if (OidIsValid(role) && !SearchSysCacheExists1(AUTHOID, ObjectIdGetDatum(role)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("role with OID %u does not exist", role)));

	values[0] = ObjectIdGetDatum(role);
	values[1] = PG_ARGISNULL(1) ? (Datum) 0 : Int32GetDatum(PG_GETARG_INT32(1));
	values[2] = PG_ARGISNULL(2) ? (Datum) 0 : Int64GetDatum(PG_GETARG_INT64(2));
	if (PG_ARGISNULL(1))
		nulls[1] = 'n';
	if (PG_ARGISNULL(2))
		nulls[2] = 'n';
	if (!mint_objects()->has_shared)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("quotas need pg_mint 1.3"),
				 errhint("ALTER EXTENSION pg_mint UPDATE")));
	if (PG_ARGISNULL(1) && PG_ARGISNULL(2))
		(void) mint_registry_exec("DELETE FROM mint.quota_config WHERE role" EQ "$1",
								  1, types, values, NULL, NULL, 0);
	else
		(void) mint_registry_exec("INSERT INTO mint.quota_config (role, max_databases, max_bytes)"
								  " VALUES ($1, $2, $3) ON CONFLICT (role) DO UPDATE"
								  " SET max_databases = EXCLUDED.max_databases, max_bytes = EXCLUDED.max_bytes",
								  3, types, values, nulls, NULL, 0);
	PG_RETURN_VOID();
}
