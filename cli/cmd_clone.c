/*
 * cmd_clone.c -- `pg_mint clone` and `pg_mint run`.
 *
 * Both name the copy on the server (mint.worker_name) and make it with
 * mint.clone, which replaces an existing pg_mint copy atomically.  A signal
 * while mint.clone runs cancels the server call (PQcancel).
 */
#include "pg_mint.h"

#include <stdlib.h>
#include <string.h>

#define OPT_BASE	1
#define OPT_WORKER	2
#define OPT_PRINT	3
#define OPT_URL		4
#define OPT_KEEP	5

typedef struct Target
{
	const char *tmpl;
	const char *target;			/* positional TARGET */
	const char *base;			/* --base */
	const char *worker;			/* --worker, or $PYTEST_XDIST_WORKER */
} Target;

static void
check_target(const char *command, Target *t, bool worker_given)
{
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
	if (worker_given && !t->base)
		usage_error(command, "--worker needs --base");
	if (t->base && !worker_given)
	{
		const char *w = getenv("PYTEST_XDIST_WORKER");

		t->worker = (w && w[0]) ? w : NULL;
	}
}

static void
check_url(const char *command, const char *url, const char *url_opt)
{
	const char *err;
	char	   *test;

	if (!url)
		return;
	test = rewrite_database(url, "x", &err);
	if (!test)
		usage_error(command, "cannot rewrite %s: %s", url_opt ? "--url" : "DATABASE_URL", err);
	free(test);
}

/* clone; returns the new database's name or exits */
static char *
do_clone(PGconn *conn, const Target *t)
{
	PGresult   *res;
	QueryStatus st;
	double		t0 = now_seconds();
	char	   *name;

	if (t->target)
	{
		const char *params[2] = {t->tmpl, t->target};

		st = query_interruptible(conn, "SELECT mint.clone($1, $2)", 2, params, 0, &res);
	}
	else
	{
		const char *params[3] = {t->tmpl, t->base, t->worker};

		st = query_interruptible(conn, "SELECT mint.clone($1, mint.worker_name($2, $3))",
								 3, params, 0, &res);
	}
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

int
cmd_clone(int argc, char **argv, int start)
{
	static const OptSpec specs[] = {
		{"base", 0, ARG_REQUIRED, OPT_BASE},
		{"worker", 0, ARG_REQUIRED, OPT_WORKER},
		{"print", 0, ARG_REQUIRED, OPT_PRINT},
		{"url", 0, ARG_REQUIRED, OPT_URL},
		CONN_OPT_SPECS,
		{NULL, 0, ARG_NONE, 0}
	};
	ArgParser	p;
	const char *v;
	Target		t = {0};
	bool		worker_given = false;
	const char *print = "name",
			   *url_opt = NULL,
			   *url;
	PGconn	   *conn;
	char	   *name;
	int			id;

	argp_init(&p, argc, argv, start, specs, "clone");
	while ((id = argp_next(&p, &v)) != ARGP_END)
	{
		switch (id)
		{
			case ARGP_POSITIONAL:
				if (!t.tmpl)
					t.tmpl = v;
				else if (!t.target)
					t.target = v;
				else
					usage_error("clone", "too many arguments (first extra: \"%s\")", dsn_redact(v));
				break;
			case ARGP_DASHDASH:
				usage_error("clone", "unexpected \"--\" (did you mean \"pg_mint run\"?)");
				break;
			case OPT_HELP:
				help_command("clone", stdout);
				exit(EXIT_OK);
			case OPT_BASE:
				t.base = v;
				break;
			case OPT_WORKER:
				t.worker = v;
				worker_given = true;
				break;
			case OPT_PRINT:
				print = v;
				break;
			case OPT_URL:
				url_opt = v;
				break;
			default:
				handle_common_option(id, v);
		}
	}
	check_target("clone", &t, worker_given);
	if (strcmp(print, "name") != 0 && strcmp(print, "url") != 0 && strcmp(print, "env") != 0)
		usage_error("clone", "invalid value \"%s\" for --print (name, url or env)", dsn_redact(print));
	url = effective_url(url_opt);
	if (strcmp(print, "url") == 0 && !url)
		usage_error("clone", "--print url needs --url URL or DATABASE_URL");
	check_url("clone", url, url_opt);

	conn = mint_connect();
	require_extension(conn);
	name = do_clone(conn, &t);
	PQfinish(conn);

	if (strcmp(print, "name") == 0)
		printf("%s\n", name);
	else
	{
		const char *err;
		char	   *nu = url ? rewrite_database(url, name, &err) : NULL;

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
	free(name);
	return EXIT_OK;
}

int
cmd_run(int argc, char **argv, int start)
{
	static const OptSpec specs[] = {
		{"base", 0, ARG_REQUIRED, OPT_BASE},
		{"worker", 0, ARG_REQUIRED, OPT_WORKER},
		{"keep", 0, ARG_NONE, OPT_KEEP},
		{"url", 0, ARG_REQUIRED, OPT_URL},
		CONN_OPT_SPECS,
		{NULL, 0, ARG_NONE, 0}
	};
	ArgParser	p;
	const char *v;
	Target		t = {0};
	bool		worker_given = false,
				keep = false;
	const char *url_opt = NULL,
			   *url;
	char	  **cmd = NULL;
	PGconn	   *conn;
	char	   *name;
	int			id,
				status,
				termsig,
				sigs_before;

	argp_init(&p, argc, argv, start, specs, "run");
	while ((id = argp_next(&p, &v)) != ARGP_END)
	{
		switch (id)
		{
			case ARGP_POSITIONAL:
				if (!t.tmpl)
					t.tmpl = v;
				else if (!t.target)
					t.target = v;
				else
					usage_error("run", "unexpected argument \"%s\" (COMMAND goes after \"--\")", dsn_redact(v));
				break;
			case ARGP_DASHDASH:
				cmd = argv + p.rest;
				break;
			case OPT_HELP:
				help_command("run", stdout);
				exit(EXIT_OK);
			case OPT_BASE:
				t.base = v;
				break;
			case OPT_WORKER:
				t.worker = v;
				worker_given = true;
				break;
			case OPT_KEEP:
				keep = true;
				break;
			case OPT_URL:
				url_opt = v;
				break;
			default:
				handle_common_option(id, v);
		}
	}
	check_target("run", &t, worker_given);
	if (!cmd)
		usage_error("run", "missing \"--\" before COMMAND (pg_mint run TEMPLATE --base BASE -- COMMAND [ARG]...)");
	if (!cmd[0])
		usage_error("run", "no COMMAND after \"--\"");
	url = effective_url(url_opt);
	check_url("run", url, url_opt);

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
	PQfinish(conn);
	if (status == 0 && signal_count() != sigs_before)
		status = 128 + signal_received();
	return status;
}
