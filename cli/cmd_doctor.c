/*
 * cmd_doctor.c -- `pg_mint doctor`: is everything pg_mint needs in place?
 *
 * Checks, each printed as "ok", "WARN" or "FAIL" with a fix line for every
 * problem:
 *   1. the connection to the maintenance database;
 *   2. the extension is installed there, and its version is this program's;
 *   3. the role has CREATEDB (or is superuser);
 *   4. free background worker slots: every pg_mint session runs its CREATE/DROP
 *      DATABASE in a background worker, which takes one of
 *      max_worker_processes.  Used slots are counted as the rows of
 *      pg_stat_activity that are background workers (see
 *      BGWORKERS_IN_USE_SQL); no free slot is a FAIL (calls would wait
 *      for one), a single free slot a WARN;
 *   5. every template in mint.databases: ready, still being built (or left
 *      by a crashed build), sessions connected to it (clones would fail
 *      with 55006 after 5 s), and old idle clones that gc would remove.
 * Exit status 1 when a FAIL blocks using pg_mint, else 0.
 *
 * Layer: command, called by main.c; calls args.c, help.c, conn.c and
 * util.c.
 */
#include "pg_mint.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static int	n_fail = 0;
static int	n_warn = 0;

static void
report(const char *level, const char *fix, const char *fmt,...)
	__attribute__((format(printf, 3, 4)));

static void
report(const char *level, const char *fix, const char *fmt,...)
{
	va_list		ap;

	if (strcmp(level, "FAIL") == 0)
		n_fail++;
	else if (strcmp(level, "WARN") == 0)
		n_warn++;
	printf("%-6s", level);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (fix)
		printf("      fix: %s\n", fix);
}

/* a query whose failure is itself a FAIL line; NULL then */
static PGresult *
doctor_query(PGconn *conn, const char *sql, const char *what)
{
	PGresult   *res = PQexec(conn, sql);

	if (!res || PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		const char *m = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;

		report("FAIL", NULL, "could not check %s: %s", what,
			   m ? m : PQerrorMessage(conn));
		PQclear(res);
		return NULL;
	}
	return res;
}

/*
 * The rows of pg_stat_activity that hold a max_worker_processes slot: the
 * background workers (logical replication launcher and workers, parallel
 * workers, extensions' workers, pg_mint's own).  Which core process types
 * a server has changes with its version (io worker, walsummarizer, slotsync
 * worker, stats collector ...), so they are not listed: the server records
 * a role only for client backends, WAL senders and background workers
 * (pgstat_bestart), so a row with a role that is neither of the first two
 * is a background worker, whatever its backend_type.  pg_mint's own
 * workers are recognised by name as well, so that one still starting up,
 * its role not yet recorded, counts too.  A row whose backend_type the
 * role may not see is not counted.  A session's pg_mint executor that is
 * idle gives its slot up as soon as a caller waits for one: not counted
 * (where the role may see its state).
 */
#define BGWORKERS_IN_USE_SQL \
	"SELECT pg_catalog.count(*) FROM pg_catalog.pg_stat_activity" \
	" WHERE (backend_type OPERATOR(pg_catalog.=) ANY (ARRAY['pg_mint worker', 'pg_mint pool']::pg_catalog.text[])" \
	"        OR (usesysid IS NOT NULL" \
	"            AND NOT backend_type OPERATOR(pg_catalog.=) ANY (ARRAY['client backend', 'walsender']::pg_catalog.text[])))" \
	"   AND NOT (backend_type OPERATOR(pg_catalog.=) 'pg_mint worker' AND state IS NOT DISTINCT FROM 'idle')"

/* 1. the connection; NULL after its FAIL line */
static PGconn *
check_connection(void)
{
	char	   *err = NULL;
	char	   *q;
	PGconn	   *conn = mint_try_connect(&err);

	if (conn)
	{
		report("ok", NULL, "connected to database \"%s\" as \"%s\" on %s port %s (PostgreSQL %s)",
			   PQdb(conn), PQuser(conn), PQhost(conn), PQport(conn),
			   PQparameterStatus(conn, "server_version"));
		return conn;
	}

	/* libpq's multi-line message on one line */
	for (q = err; *q; q++)
		if (*q == '\n' || *q == '\t')
			*q = ' ';
	while ((q = strstr(err, "  ")) != NULL)
		memmove(q, q + 1, strlen(q));
	report("FAIL", connect_setup_failed()
		   ? "see the server log: pg_mint runs \"SELECT pg_catalog.set_config('search_path', '', false)\" on every connection"
		   : "start the server, or say where it is: -h/-p/-U/-d, --dsn or PG_MINT_DSN, PGHOST/PGPORT/PGUSER, or DATABASE_URL",
		   "connection to the maintenance database: %s", err);
	return NULL;
}

/*
 * 2. the extension, installed, of this program's version; true when it is
 * installed (of any version), so that its views can be read
 */
static bool
check_extension(PGconn *conn)
{
	PGresult   *res = doctor_query(conn,
								   "SELECT (SELECT extversion FROM pg_catalog.pg_extension"
								   "          WHERE extname OPERATOR(pg_catalog.=) 'pg_mint'),"
								   " (SELECT default_version FROM pg_catalog.pg_available_extensions"
								   "   WHERE name OPERATOR(pg_catalog.=) 'pg_mint')",
								   "the pg_mint extension");
	const char *installed,
			   *available;
	char	   *fix;
	bool		ext_ok;

	if (!res)
		return false;
	installed = PQgetisnull(res, 0, 0) ? NULL : PQgetvalue(res, 0, 0);
	available = PQgetisnull(res, 0, 1) ? NULL : PQgetvalue(res, 0, 1);

	if (!installed && !available)
	{
		fix = xasprintf("run \"make install\" for pg_mint on the database server, then: psql -d %s -c 'CREATE EXTENSION pg_mint'",
						PQdb(conn));
		report("FAIL", fix, "extension pg_mint is not installed and the server does not have its files");
	}
	else if (!installed)
	{
		fix = xasprintf("psql -d %s -c 'CREATE EXTENSION pg_mint'  (as a role allowed to create extensions)",
						PQdb(conn));
		report("FAIL", fix, "extension pg_mint is not installed in database \"%s\"", PQdb(conn));
	}
	else if (strcmp(installed, MINT_VERSION) != 0)
	{
		if (available && strcmp(available, MINT_VERSION) == 0)
			fix = xasprintf("psql -d %s -c \"ALTER EXTENSION pg_mint UPDATE TO '%s'\"", PQdb(conn), MINT_VERSION);
		else
			fix = xasprintf("install the pg_mint program of version %s, or pg_mint %s on the server", installed, MINT_VERSION);
		report("FAIL", fix, "extension pg_mint %s is installed, this program is version %s", installed, MINT_VERSION);
	}
	else
		report("ok", NULL, "extension pg_mint %s is installed in database \"%s\"", installed, PQdb(conn));
	ext_ok = installed != NULL;
	PQclear(res);
	return ext_ok;
}

/* 3. CREATEDB, or superuser */
static void
check_createdb(PGconn *conn)
{
	PGresult   *res = doctor_query(conn,
								   "SELECT rolcreatedb, rolsuper FROM pg_catalog.pg_roles"
								   " WHERE rolname OPERATOR(pg_catalog.=) CURRENT_USER",
								   "the CREATEDB privilege");

	if (res && PQntuples(res) == 1)
	{
		bool		createdb = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
		bool		super = strcmp(PQgetvalue(res, 0, 1), "t") == 0;

		if (super)
			report("ok", NULL, "role \"%s\" is a superuser", PQuser(conn));
		else if (createdb)
			report("ok", NULL, "role \"%s\" has CREATEDB", PQuser(conn));
		else
		{
			char	   *q = PQescapeIdentifier(conn, PQuser(conn), strlen(PQuser(conn)));
			char	   *fix = xasprintf("as a superuser: ALTER ROLE %s CREATEDB;", q);

			report("FAIL", fix, "role \"%s\" may not create databases (no CREATEDB)", PQuser(conn));
		}
	}
	PQclear(res);
}

/* 4. free background worker slots */
static void
check_worker_slots(PGconn *conn)
{
	PGresult   *res = doctor_query(conn,
								   "SELECT pg_catalog.current_setting('max_worker_processes')::int,"
								   " (" BGWORKERS_IN_USE_SQL ")::int",
								   "background worker slots");
	int			max,
				used,
				freeslots;
	char	   *fix;

	if (!res)
		return;
	max = atoi(PQgetvalue(res, 0, 0));
	used = atoi(PQgetvalue(res, 0, 1));
	freeslots = max - used;
	fix = xasprintf("as a superuser: ALTER SYSTEM SET max_worker_processes = %d; then restart the server",
					max + 8);
	if (freeslots <= 0)
		report("FAIL", fix, "no free background worker slot (max_worker_processes = %d, %d in use): every pg_mint call would wait",
			   max, used);
	else if (freeslots == 1)
		report("WARN", fix, "only 1 free background worker slot (max_worker_processes = %d, %d in use): parallel pg_mint calls will queue",
			   max, used);
	else
		report("ok", NULL, "%d of %d background worker slots free (one per session calling pg_mint)",
			   freeslots, max);
	PQclear(res);
}

/* 5a. one template of mint.databases (row i of res) */
static void
check_template(PGconn *conn, const PGresult *res, int i)
{
	const char *rawname = PQgetvalue(res, i, 0);
	const char *state = PQgetvalue(res, i, 1);
	int			conns = atoi(PQgetvalue(res, i, 2));

	/* another role's template name may hold newlines or escapes */
	char	   *name = text_escape(rawname);
	char	   *fix;

	if (strcmp(state, "ready") == 0 && conns == 0)
		report("ok", NULL, "template %s is ready (%s, built %s)", name,
			   PQgetvalue(res, i, 4), PQgetvalue(res, i, 3));
	else if (strcmp(state, "ready") == 0)
	{
		char	   *rawlit = PQescapeLiteral(conn, rawname, strlen(rawname));
		char	   *lit = text_escape(rawlit);

		PQfreemem(rawlit);
		fix = xasprintf("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s;", lit);
		report("WARN", fix, "template %s is ready but %d session%s connected to it: clones wait 5 s, then fail (55006)",
			   name, conns, conns == 1 ? " is" : "s are");
	}
	else if (strcmp(state, "building") == 0)
	{
		fix = xasprintf("none needed if a build is running; otherwise the next \"pg_mint template %s ...\" rebuilds it and \"pg_mint gc\" removes it",
						name);
		report("WARN", fix, "template %s is being built (since %s), or a build crashed", name,
			   PQgetvalue(res, i, 3));
	}
	else
	{
		char	   *shown_state = text_escape(state);

		report("WARN", "pg_mint gc", "template %s is %s", name, shown_state);
		free(shown_state);
	}
	free(name);
}

/* 5. every template in mint.databases, then the leftover clones */
static void
check_templates(PGconn *conn)
{
	PGresult   *res = doctor_query(conn,
								   "SELECT datname, state, connections,"
								   " pg_catalog.to_char(created_at, 'YYYY-MM-DD HH24:MI:SS'),"
								   " coalesce(pg_catalog.pg_size_pretty(size_bytes), '?')"
								   " FROM mint.databases WHERE kind OPERATOR(pg_catalog.=) 'template'"
								   " ORDER BY datname COLLATE pg_catalog.\"C\"",
								   "templates");
	int			i;

	if (!res)
		return;
	if (PQntuples(res) == 0)
		report("ok", NULL, "no templates yet (\"pg_mint template NAME -- COMMAND\" builds one)");
	for (i = 0; i < PQntuples(res); i++)
		check_template(conn, res, i);
	PQclear(res);
}

/* 5b. old idle clones that gc would remove */
static void
check_leftover_clones(PGconn *conn)
{
	PGresult   *res = doctor_query(conn,
								   "SELECT pg_catalog.count(*) FROM mint.databases"
								   " WHERE kind OPERATOR(pg_catalog.=) 'clone'"
								   "   AND connections OPERATOR(pg_catalog.=) 0"
								   "   AND created_at OPERATOR(pg_catalog.<)"
								   "       (pg_catalog.clock_timestamp() OPERATOR(pg_catalog.-) interval '1 hour')",
								   "leftover clones");
	int			n;

	if (!res)
		return;
	n = atoi(PQgetvalue(res, 0, 0));
	if (n > 0)
		report("WARN", "pg_mint gc", "%d idle clone%s older than 1 hour (left by finished or crashed runs)",
			   n, n == 1 ? "" : "s");
	PQclear(res);
}

/* the last line, and the exit status */
static int
summary(void)
{
	printf("\n");
	if (n_fail > 0)
		printf("%d problem%s block%s pg_mint\n", n_fail, n_fail == 1 ? "" : "s", n_fail == 1 ? "s" : "");
	else if (n_warn > 0)
		printf("pg_mint can be used (%d warning%s)\n", n_warn, n_warn == 1 ? "" : "s");
	else
		printf("pg_mint can be used\n");
	return n_fail > 0 ? EXIT_RUNTIME : EXIT_OK;
}

int
cmd_doctor(int argc, char **argv, int start)
{
	const OptSpec options[] = {CONN_OPTIONS, OPT_TABLE_END};
	const CommandLine cl = {"doctor", options, {NULL}, EXTRA_UNEXPECTED, NULL, DASHDASH_UNEXPECTED};
	PGconn	   *conn;
	bool		ext_ok;

	parse_command_line(&cl, argc, argv, start);

	conn = check_connection();
	if (!conn)
		return summary();
	ext_ok = check_extension(conn);
	check_createdb(conn);
	check_worker_slots(conn);
	if (ext_ok)
	{
		check_templates(conn);
		check_leftover_clones(conn);
	}
	PQfinish(conn);
	return summary();
}
