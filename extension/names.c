/*
 * names.c -- argument checking for database names, private names, and the
 * SQL face of the shared naming rule (mint.worker_name).
 *
 * Layer: primitives (bottom).  Called by pg_mint.c, steps.c, pool.c, ops.c
 * and refill.c; calls worker_name.c.
 */
#include "postgres.h"

#include "fmgr.h"
#if PG_VERSION_NUM >= 150000
#include "common/pg_prng.h"
#endif
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#include "pg_mint.h"
#include "worker_name.h"

PG_FUNCTION_INFO_V1(mint_sql_worker_name);

/*
 * Fetch a text argument that names a database and refuse what PostgreSQL
 * would mangle: NULL, empty, longer than 63 bytes (the server would silently
 * truncate it and two names could collide).
 */
char *
mint_arg_name(FunctionCallInfo fcinfo, int argno, const char *argname)
{
	char	   *s;
	size_t		len;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", argname)));
	s = text_to_cstring(PG_GETARG_TEXT_PP(argno));
	len = strlen(s);
	if (len == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_NAME),
				 errmsg("%s must not be an empty string", argname)));
	if (len >= NAMEDATALEN)
		ereport(ERROR,
				(errcode(ERRCODE_NAME_TOO_LONG),
				 errmsg("%s \"%s\" is too long", argname, s),
				 errdetail("It is %zu bytes; PostgreSQL database names hold at most %d bytes and longer ones would be silently truncated.",
						   len, NAMEDATALEN - 1),
				 errhint("Use mint.worker_name() to derive a name that fits.")));
	return s;
}

/*
 * A fresh private database name such as "_mint_new_5f0c3a9e1b2d4c68".
 * Private names never collide with user names in practice and are only
 * visible while pg_mint works on them.  The bits come from the backend's
 * PRNG, which PostgreSQL seeds from a strong random source in every new
 * process (cheaper than pg_strong_random(), which is on the pool hit
 * path); a collision would make CREATE/RENAME fail, never reuse a name.
 */
char *
mint_private_name(const char *tag)
{
	uint64		r;

#if PG_VERSION_NUM >= 150000
	r = pg_prng_uint64(&pg_global_prng_state);
#else
	r = ((uint64) random() << 33) ^ ((uint64) random() << 2) ^ (uint64) MyProcPid;
#endif
	return psprintf("_mint_%s_%016llx", tag, (unsigned long long) r);
}

/*
 * mint.worker_name(base text, worker text) RETURNS name
 * mint.worker_name(base text, worker text, run text) RETURNS name
 */
Datum
mint_sql_worker_name(PG_FUNCTION_ARGS)
{
	char	   *base;
	char	   *worker = NULL;
	char	   *run = NULL;
	char		out[MINT_NAME_MAX + 1];
	Name		result;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("base must not be NULL")));
	base = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (base[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_NAME),
				 errmsg("base must not be an empty string")));
	if (!PG_ARGISNULL(1))
		worker = text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (PG_NARGS() > 2 && !PG_ARGISNULL(2))
		run = text_to_cstring(PG_GETARG_TEXT_PP(2));

	(void) mint_worker_name_run(base, worker, run, out);

	/* the UTF-8 clip keeps UTF-8 and single-byte encodings intact */
	if (!pg_verifymbstr(out, strlen(out), true))
		ereport(ERROR,
				(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
				 errmsg("cannot shorten \"%s\" safely in server encoding \"%s\"",
						base, GetDatabaseEncodingName()),
				 errhint("Use a shorter base or worker name.")));

	result = (Name) palloc0(NAMEDATALEN);
	strlcpy(NameStr(*result), out, NAMEDATALEN);
	PG_RETURN_NAME(result);
}
