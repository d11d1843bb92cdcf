/*
 * cmd_template.c -- `pg_mint template NAME ... -- COMMAND [ARG...]`
 *
 *   mint.template_begin(NAME, FINGERPRINT)
 *     'ready' -> done, COMMAND is not run
 *     'build' -> this session holds the build lock: run COMMAND against NAME,
 *                then mint.template_finish (status 0) or mint.template_abort.
 *
 * A signal (Ctrl-C, SIGTERM) while template_begin waits cancels the call;
 * while COMMAND runs, it ends COMMAND (see proc.c) and the build is aborted,
 * so the lock is released and no half-built template stays behind.
 *
 * Layer: command, called by main.c; calls args.c, help.c, cmdutil.c,
 * conn.c, query.c, fingerprint.c, durations.c, proc.c and util.c.
 */
#include "pg_mint.h"

#include <stdlib.h>
#include <string.h>

/* template_abort that a further signal cannot cancel; true on success */
static bool
abort_build(PGconn *conn, const char *name)
{
	const char *params[1] = {name};
	PGresult   *res = PQexecParams(conn, "SELECT mint.template_abort($1)",
								   1, NULL, params, NULL, NULL, 0);
	bool		ok = res && PQresultStatus(res) == PGRES_TUPLES_OK;

	if (!ok)
	{
		report_error(conn, res, "could not abort the build");
		log_hint("The build lock is released when this session ends; the next \"pg_mint template %s\" rebuilds it.",
				 name);
	}
	PQclear(res);
	return ok;
}

/* the command line of `pg_mint template` */
typedef struct TemplateArgs
{
	const char *name;
	const char *fingerprint;	/* --fingerprint */
	WordList	files;			/* --fingerprint-files */
	const char *timeout;		/* --timeout, as given */
	int64_t		timeout_ms;		/* 0: wait forever */
	const char *url;			/* to rewrite for COMMAND, or NULL */
	char	  **cmd;			/* COMMAND [ARG]... */
} TemplateArgs;

static void
parse_template_args(TemplateArgs *a, int argc, char **argv, int start)
{
	const char *url_opt = NULL;
	const OptSpec options[] = {
		OPT_STR("fingerprint", &a->fingerprint),
		{"fingerprint-files", 0, OPT_LIST, &a->files, 0, NULL},
		OPT_STR("timeout", &a->timeout),
		OPT_STR("url", &url_opt),
		CONN_OPTIONS, OPT_TABLE_END
	};
	const CommandLine cl = {"template", options, {&a->name}, EXTRA_BEFORE_COMMAND,
		NULL, DASHDASH_COMMAND, &a->cmd};

	memset(a, 0, sizeof(*a));
	parse_command_line(&cl, argc, argv, start);
	if (!a->name)
		usage_error("template", "no template NAME given");
	if (a->name[0] == '\0')
		usage_error("template", "the template name must not be empty");
	require_command("template", a->cmd,
					"pg_mint template NAME [OPTION]... -- COMMAND [ARG]...");
	if (a->timeout)
		a->timeout_ms = duration_or_usage("template", "--timeout", a->timeout);
	a->url = url_to_rewrite("template", url_opt);
}

/* --fingerprint, with the hash of --fingerprint-files; exit 2 on bad files */
static char *
template_fingerprint(const TemplateArgs *a)
{
	char	   *fp = compose_fingerprint(a->fingerprint, &a->files);

	return fp ? fp : xstrdup("");
}

/*
 * mint.template_begin: "build" (this session holds the build lock) or
 * "ready"; NULL after reporting a timeout, a signal or an error, with the
 * exit status in *status
 */
static char *
begin_template(PGconn *conn, const TemplateArgs *a, const char *fingerprint,
			   int *status)
{
	const char *params[2] = {a->name, fingerprint};
	PGresult   *res;
	QueryStatus st = query_interruptible(conn, "SELECT mint.template_begin($1, $2)",
										 2, params, (long) a->timeout_ms, &res);
	const char *answer = (res && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		? PQgetvalue(res, 0, 0) : NULL;
	char	   *answer_copy;

	if (st == Q_TIMEOUT || st == Q_INTERRUPTED)
	{
		/* the answer may have raced the cancel: never keep a build lock */
		if (answer && strcmp(answer, "build") == 0)
			abort_build(conn, a->name);
		if (st == Q_TIMEOUT)
		{
			log_error("timed out after %s waiting for template \"%s\"", a->timeout, a->name);
			log_hint("Another session may be building it: see \"pg_mint list\", or raise --timeout.");
			*status = EXIT_RUNTIME;
		}
		else
		{
			log_error("interrupted by signal %d before template \"%s\" was built",
					  signal_received(), a->name);
			*status = 128 + signal_received();
		}
		return NULL;
	}
	if (st == Q_ERROR)
	{
		char	   *ctx = xasprintf("could not begin template \"%s\"", a->name);

		report_error(conn, res, ctx);
		*status = EXIT_RUNTIME;
		return NULL;
	}
	answer_copy = xstrdup(answer);
	PQclear(res);
	return answer_copy;
}

/* mint.template_finish after COMMAND succeeded; the exit status */
static int
finish_build(PGconn *conn, const char *name, double t0)
{
	const char *params[1] = {name};
	PGresult   *res;
	QueryStatus st = query_interruptible(conn, "SELECT mint.template_finish($1)",
										 1, params, 0, &res);

	if (st == Q_OK)
	{
		log_info("built %s in %.2f s", name, now_seconds() - t0);
		PQclear(res);
		return EXIT_OK;
	}
	if (st == Q_INTERRUPTED)
		log_error("interrupted by signal %d while finishing template \"%s\"", signal_received(), name);
	else
	{
		char	   *ctx = xasprintf("could not finish template \"%s\"", name);

		report_error(conn, res, ctx);
	}
	PQclear(res);
	if (PQstatus(conn) == CONNECTION_OK)
		abort_build(conn, name);
	log_error("template \"%s\" aborted", name);
	return st == Q_INTERRUPTED ? 128 + signal_received() : EXIT_RUNTIME;
}

/* run COMMAND against the template, then finish or abort the build */
static int
build_template(PGconn *conn, const TemplateArgs *a, double t0)
{
	char	  **cmd = a->cmd;
	int			status,
				termsig,
				sigs_before;

	log_info("building %s: running %s", a->name, cmd[0]);
	sigs_before = signal_count();
	set_child_env(conn, a->name, a->url);
	status = run_command(cmd, &termsig);

	if (status == 0 && signal_count() == sigs_before)
		return finish_build(conn, a->name, t0);

	/* COMMAND failed or we were interrupted: abort the build */
	abort_build(conn, a->name);
	if (signal_count() != sigs_before)
		log_error("build of %s interrupted by signal %d; template aborted", a->name, signal_received());
	else if (termsig)
		log_error("build of %s failed: %s was killed by signal %d; template aborted",
				  a->name, cmd[0], termsig);
	else
		log_error("build of %s failed: %s exited with status %d; template aborted",
				  a->name, cmd[0], status);
	if (status == 0)
		status = 128 + signal_received();
	return status;
}

int
cmd_template(int argc, char **argv, int start)
{
	TemplateArgs a;
	char	   *fingerprint;
	char	   *answer;
	PGconn	   *conn;
	double		t0;
	int			status = EXIT_OK;

	parse_template_args(&a, argc, argv, start);
	fingerprint = template_fingerprint(&a);

	conn = mint_connect();
	require_extension(conn);

	t0 = now_seconds();
	answer = begin_template(conn, &a, fingerprint, &status);
	if (!answer)
		;						/* reported */
	else if (strcmp(answer, "ready") == 0)
	{
		double		waited = now_seconds() - t0;

		if (waited >= 0.5)
			log_info("%s is ready (waited %.2f s for another build)", a.name, waited);
		else
			log_info("%s is ready", a.name);
	}
	else if (strcmp(answer, "build") == 0)
		status = build_template(conn, &a, t0);
	else
	{
		log_error("mint.template_begin returned an unexpected answer \"%s\"", answer);
		status = EXIT_RUNTIME;
	}
	PQfinish(conn);
	return status;
}
