/*
 * leases.c -- leases on clones (mint.renew, pg_mint.lease) and the metric
 * samples behind mint.stats.
 *
 * A lease is a time to live recorded with a clone (mint.registry
 * lease_expires, lease_ttl): mint.gc() drops a clone whose lease expired
 * whatever its age (never one with sessions, unless told to terminate
 * them), and leaves a clone whose lease runs alone whatever its age.  The
 * clone's job renews it with mint.renew(target): one UPDATE of that
 * clone's own row.
 *
 * Metrics are appended, never updated (mint.stat_events): every call
 * writes its own row, so no two calls ever wait for one row's lock;
 * mint.stats aggregates them.
 *
 * Layer: bookkeeping (beside registry.c).  Called by steps.c, ops.c,
 * pool.c, quota.c and the SQL function mint.renew; calls registry.c,
 * locks.c, objects.c and names.c.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "pg_mint.h"

int64		mint_job_lease_us = 0;
int			mint_job_lock_timeout_ms = 0;
Oid			mint_job_replacing = InvalidOid;

/* append one sample (in the current transaction); nothing before 1.3 */
void
mint_stat_event(const char *event, const char *tpl, double ms, Oid role)
{
	Oid			types[4] = {TEXTOID, TEXTOID, FLOAT8OID, OIDOID};
	Datum		values[4];
	char		nulls[4] = {' ', ' ', ' ', ' '};

	if (!mint_objects()->has_shared)
		return;
	values[0] = tpl ? CStringGetTextDatum(tpl) : (Datum) 0;
	if (tpl == NULL)
		nulls[0] = 'n';
	values[1] = CStringGetTextDatum(event);
	values[2] = Float8GetDatum(ms);
	values[3] = ObjectIdGetDatum(role);
	(void) mint_registry_exec("INSERT INTO mint.stat_events (template, event, ms, role) VALUES ($1, $2, $3, $4)",
							  4, types, values, nulls, NULL, 0);
}

/* a template build finished (in op_finish's transaction): how long it took */
void
mint_stat_build(Oid datid)
{
	Oid			types[1] = {OIDOID};
	Datum		values[1];

	if (!mint_objects()->has_shared)
		return;
	values[0] = ObjectIdGetDatum(datid);
	(void) mint_registry_exec("INSERT INTO mint.stat_events (template, event, ms, role)"
							  " SELECT COALESCE(r.version_of, r.datname), 'build',"
							  "        pg_catalog.date_part('epoch', pg_catalog.clock_timestamp() OPERATOR(pg_catalog.-) r.created_at)"
							  "          OPERATOR(pg_catalog.*) 1000, r.owner"
							  "   FROM mint.registry r WHERE r.datid" EQ "$1",
							  1, types, values, NULL, NULL, 0);
}

static Interval *
usecs_interval(int64 us)
{
	Interval   *iv = (Interval *) palloc0(sizeof(Interval));

	iv->time = us;
	return iv;
}

/* give clone datid a lease of lease_us from now (0: leave it without) */
void
mint_lease_set(Oid datid, int64 lease_us)
{
	Oid			types[2] = {OIDOID, INTERVALOID};
	Datum		values[2];

	if (lease_us <= 0 || !mint_objects()->has_shared)
		return;
	values[0] = ObjectIdGetDatum(datid);
	values[1] = IntervalPGetDatum(usecs_interval(lease_us));
	(void) mint_registry_exec("UPDATE mint.registry SET lease_ttl = $2,"
							  "   lease_expires = pg_catalog.clock_timestamp() OPERATOR(pg_catalog.+) $2"
							  " WHERE datid" EQ "$1",
							  2, types, values, NULL, NULL, 0);
}

/* ---- mint.renew(target text, ttl interval DEFAULT NULL) RETURNS timestamptz -- */
PG_FUNCTION_INFO_V1(mint_renew);
Datum
mint_renew(PG_FUNCTION_ARGS)
{
	char	   *target = mint_arg_name(fcinfo, 0, "target");
	Oid			types[3] = {OIDOID, INTERVALOID, TEXTOID};
	Datum		values[3];
	char		nulls[3] = {' ', ' ', ' '};
	char	   *row[1];
	MintLock	lock;
	MintEntry	e;
	Oid			oid;
	Datum		result;

	if (!PG_ARGISNULL(1))
	{
		Interval   *iv = PG_GETARG_INTERVAL_P(1);

		if (iv->month < 0 || iv->day < 0 || iv->time < 0 ||
			(iv->month == 0 && iv->day == 0 && iv->time == 0))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("ttl must be positive"),
					 errhint("Give a time to live such as '30 minutes'.")));
		values[1] = IntervalPGetDatum(iv);
	}
	else
	{
		/* an explicit ttl first, then the clone's own, then pg_mint.lease */
		values[1] = (Datum) 0;
		nulls[1] = 'n';
	}

	mint_lock_init(&lock, target, ShareLock);
	mint_lock_acquire(&lock, psprintf("waiting for other pg_mint work on database \"%s\" to finish", target));
	PG_TRY();
	{
		AcceptInvalidationMessages();
		oid = get_database_oid(target, true);
		if (!OidIsValid(oid))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_DATABASE),
					 errmsg("database \"%s\" does not exist", target)));
		memset(&e, 0, sizeof(e));
		mint_registry_lookup(target, oid, &e);
		if (!e.found || strcmp(e.kind, "clone") != 0 || strcmp(e.state, "ready") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_WRONG_OBJECT_TYPE),
					 errmsg("database \"%s\" is not a clone pg_mint made", target),
					 errhint("Only clones made with mint.clone() have leases.")));
		if (!mint_database_ownercheck(oid, GetUserId()))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("must be owner of database \"%s\" to renew its lease", target),
					 errdetail("It belongs to role \"%s\".", GetUserNameFromId(mint_db_owner(oid), true))));
		if (!mint_objects()->has_shared)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("leases need pg_mint 1.3"),
					 errhint("ALTER EXTENSION pg_mint UPDATE")));
		values[0] = ObjectIdGetDatum(oid);
		values[2] = CStringGetTextDatum(target);
		if (mint_registry_exec("UPDATE mint.registry SET"
							   "   lease_ttl = COALESCE($2, lease_ttl),"
							   "   lease_expires = pg_catalog.clock_timestamp() OPERATOR(pg_catalog.+) COALESCE($2, lease_ttl)"
							   " WHERE datid" EQ "$1 AND datname" EQ "$3 AND state" EQ "'ready'"
							   "   AND COALESCE($2, lease_ttl) IS NOT NULL"
							   " RETURNING lease_expires::pg_catalog.text",
							   3, types, values, nulls, row, 1) == 0)
		{
			if (mint_lease_s > 0 && PG_ARGISNULL(1))
			{
				/* no lease of its own: pg_mint.lease */
				values[1] = IntervalPGetDatum(usecs_interval((int64) mint_lease_s * USECS_PER_SEC));
				nulls[1] = ' ';
				(void) mint_registry_exec("UPDATE mint.registry SET lease_ttl = $2,"
										  "   lease_expires = pg_catalog.clock_timestamp() OPERATOR(pg_catalog.+) $2"
										  " WHERE datid" EQ "$1 AND datname" EQ "$3 AND state" EQ "'ready'"
										  " RETURNING lease_expires::pg_catalog.text",
										  3, types, values, nulls, row, 1);
			}
			else
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("database \"%s\" has no lease to renew", target),
						 errhint("Pass a time to live, for example mint.renew('%s', '1 hour'), or set pg_mint.lease.", target)));
		}
	}
	PG_FINALLY();
	{
		mint_lock_release(&lock);
	}
	PG_END_TRY();
	result = DirectFunctionCall3(timestamptz_in, CStringGetDatum(row[0]),
								 ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
	PG_RETURN_DATUM(result);
}
