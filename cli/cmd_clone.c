/*
 * cmd_clone.c -- `pg_mint clone` and `pg_mint run`.
 *
 * Both name the copy on the server (mint.worker_name) and make it with
 * mint.clone, which replaces an existing pg_mint copy atomically.  A signal
 * while mint.clone runs cancels the server call (PQcancel).
 *
 * Layer: command, called by main.c; calls args.c, help.c, cmdutil.c,
 * conn.c, query.c, url.c, redact.c, proc.c and util.c.
 */
#include "pg_mint.h"

#include <stdlib.h>
#include <string.h>

/* what to clone into what: TEMPLATE, and TARGET or --base [--worker] */
typedef struct Target
{
	const char *tmpl;
	const char *target;			/* positional TARGET */
	const char *base;			/* --base */
	const char *worker;			/* --worker, or $PYTEST_XDIST_WORKER */
	const char *run;			/* --run, or $PG_MINT_RUN, or a CI variable */
	const char *fp_str;			/* --fingerprint */
	WordList	fp_files;		/* --fingerprint-files */
	char	   *fingerprint;	/* the version to clone, or NULL: the only one */
	const char *ttl;			/* --ttl: the clone's lease (pg_mint 1.3) */
} Target;

/* --base, --worker, --run and the version, bound to a Target */
#define TARGET_OPTIONS(t) OPT_STR("base", &(t).base), OPT_STR("worker", &(t).worker), \
	OPT_STR("run", &(t).run), OPT_STR("fingerprint", &(t).fp_str), \
	{"fingerprint-files", 0, OPT_LIST, &(t).fp_files, 0, NULL}, OPT_STR("ttl", &(t).ttl)

static void
check_target(const char *command, Target *t)
{
	bool		worker_given = t->worker != NULL;

	if (!t->tmpl)
		usage_error(command, "no TEMPLATE given");
	if (t->tmpl[0] == '\0')
		usage_error(command, "the template name must not be empty");
	if (t->target && t->base)
		usage_error(command, "give either TARGET or --base BASE, not both");
	if (!t->target && !t->base)
		usage_error(command, "say which database to make: TARGET, or --base BASE [--worker W]");
	if (t->target && t->target[0] == '\0')
		usage_error(command, "TARGET must not be empty");
	if (t->base && t->base[0] == '\0')
		usage_error(command, "--base must not be empty");
	if (t->ttl && t->ttl[0] == '\0')
		usage_error(command, "--ttl must not be empty");
	if (worker_given && !t->base)
		usage_error(command, "--worker needs --base");
	if (t->base && !worker_given)
	{
		const char *w = getenv("PYTEST_XDIST_WORKER");

		t->worker = (w && w[0]) ? w : NULL;
	}
	t->run = run_identity(command, t->run);
	t->fingerprint = compose_fingerprint(t->fp_str, &t->fp_files);
}

/* clone; returns the new database's name or exits */
static char *
do_clone(PGconn *conn, const Target *t)
{
	PGresult   *res;
	QueryStatus st;
	double		t0 = now_seconds();
	char	   *name;
	const char *params[5];
	int			n = 0;
	StrBuf		sql;

	sb_init(&sql);
	/* the clone records its run (pg_mint.run) */
	if (t->run)
		PQclear(query_or_die(conn, "SELECT pg_catalog.set_config('pg_mint.run', $1, false)",
							 1, &t->run, "could not set pg_mint.run"));
	/*
	 * --ttl: the lease of this session's clones (pg_mint.lease), given as an
	 * interval ('30 minutes', '2h'); the library is loaded first so that a
	 * bad value fails here instead of being dropped with a warning.
	 */
	if (t->ttl)
		PQclear(query_or_die(conn, "SELECT mint.worker_name('a', 'b'), pg_catalog.set_config('pg_mint.lease',"
							 " (pg_catalog.ceil(pg_catalog.date_part('epoch', $1::pg_catalog.interval)))::pg_catalog.int8::pg_catalog.text,"
							 " false)",
							 1, &t->ttl, "could not set the lease (--ttl)"));
	/* without a run or a version, the SQL of pg_mint 1.1 */
	params[n++] = t->tmpl;
	if (t->target)
	{
		params[n++] = t->target;
		sb_puts(&sql, "SELECT mint.clone($1, $2");
	}
	else
	{
		params[n++] = t->base;
		params[n++] = t->worker;
		if (t->run)
			params[n++] = t->run;
		sb_puts(&sql, t->run ? "SELECT mint.clone($1, mint.worker_name($2, $3, $4)"
				  : "SELECT mint.clone($1, mint.worker_name($2, $3)");
	}
	if (t->fingerprint)
	{
		params[n++] = t->fingerprint;
		sb_puts(&sql, n == 3 ? ", $3" : n == 4 ? ", $4" : ", $5");
	}
	sb_puts(&sql, ")");
	st = query_interruptible(conn, sql.data, n, params, 0, &res);
	sb_free(&sql);
	if (st == Q_INTERRUPTED)
	{
		log_error("interrupted by signal %d: the clone of \"%s\" was canceled",
				  signal_received(), t->tmpl);
		PQclear(res);
		PQfinish(conn);
		exit(128 + signal_received());
	}
	if (st != Q_OK)
	{
		char	   *ctx = xasprintf("could not clone template \"%s\"", t->tmpl);

		report_error(conn, res, ctx);
		PQfinish(conn);
		exit(EXIT_RUNTIME);
	}
	name = xstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	log_info("cloned %s into %s in %.2f s", t->tmpl, name, now_seconds() - t0);
	return name;
}

/* --print: the name, the URL rewritten to it, or export lines for eval */
static void
print_clone(const char *print, const char *name, const char *url)
{
	const char *err;
	char	   *nu;

	if (strcmp(print, "name") == 0)
	{
		printf("%s\n", name);
		return;
	}
	nu = url ? rewrite_database(url, name, &err) : NULL;
	if (strcmp(print, "url") == 0)
		printf("%s\n", nu);
	else
	{
		if (nu)
			printf("export DATABASE_URL=%s\n", shell_quote(nu));
		printf("export PGDATABASE=%s\n", shell_quote(name));
	}
	free(nu);
}

int
cmd_clone(int argc, char **argv, int start)
{
	Target		t = {0};
	const char *print = "name",
			   *url_opt = NULL,
			   *url;
	const OptSpec options[] = {
		TARGET_OPTIONS(t), OPT_STR("print", &print), OPT_STR("url", &url_opt),
		CONN_OPTIONS, OPT_TABLE_END
	};
	const CommandLine cl = {"clone", options, {&t.tmpl, &t.target}, EXTRA_TOO_MANY,
		NULL, DASHDASH_NOT_CLONE};
	PGconn	   *conn;
	char	   *name;

	parse_command_line(&cl, argc, argv, start);
	check_target("clone", &t);
	if (strcmp(print, "name") != 0 && strcmp(print, "url") != 0 && strcmp(print, "env") != 0)
		usage_error("clone", "invalid value \"%s\" for --print (name, url or env)", dsn_redact(print));
	if (strcmp(print, "url") == 0 && !effective_url(url_opt))
		usage_error("clone", "--print url needs --url URL or DATABASE_URL");
	url = url_to_rewrite("clone", url_opt);

	conn = mint_connect();
	require_extension(conn);
	name = do_clone(conn, &t);
	PQfinish(conn);

	print_clone(print, name, url);
	free(name);
	return EXIT_OK;
}

/* mint.drop of run's copy; a failure is reported, and the status stays */
static void
drop_copy(PGconn *conn, const char *name)
{
	const char *params[1] = {name};
	PGresult   *res = PQexecParams(conn, "SELECT mint.drop($1)", 1, NULL, params,
								   NULL, NULL, 0);

	if (res && PQresultStatus(res) == PGRES_TUPLES_OK)
		log_info("dropped %s", name);
	else
	{
		char	   *ctx = xasprintf("could not drop \"%s\"", name);

		report_error(conn, res, ctx);
		log_hint("\"pg_mint gc\" or \"pg_mint drop %s\" removes it later.", name);
	}
	PQclear(res);
}

int
cmd_run(int argc, char **argv, int start)
{
	Target		t = {0};
	bool		keep = false;
	const char *url_opt = NULL,
			   *url;
	char	  **cmd = NULL;
	const OptSpec options[] = {
		TARGET_OPTIONS(t), OPT_BOOL("keep", &keep), OPT_STR("url", &url_opt),
		CONN_OPTIONS, OPT_TABLE_END
	};
	const CommandLine cl = {"run", options, {&t.tmpl, &t.target}, EXTRA_BEFORE_COMMAND,
		NULL, DASHDASH_COMMAND, &cmd};
	PGconn	   *conn;
	char	   *name;
	int			status,
				termsig,
				sigs_before;

	parse_command_line(&cl, argc, argv, start);
	check_target("run", &t);
	require_command("run", cmd, "pg_mint run TEMPLATE --base BASE -- COMMAND [ARG]...");
	url = url_to_rewrite("run", url_opt);

	conn = mint_connect();
	require_extension(conn);
	name = do_clone(conn, &t);

	sigs_before = signal_count();
	set_child_env(conn, name, url);
	status = run_command(cmd, &termsig);
	if (termsig)
		log_info("%s was killed by signal %d", cmd[0], termsig);

	if (keep)
		log_info("kept %s", name);
	else
		drop_copy(conn, name);
	PQfinish(conn);
	if (status == 0 && signal_count() != sigs_before)
		status = 128 + signal_received();
	return status;
}
