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
 */
#include "pg_mint.h"

#include <stdlib.h>
#include <string.h>

#define OPT_FINGERPRINT		1
#define OPT_FP_FILES		2
#define OPT_TIMEOUT			3
#define OPT_URL				4

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

int
cmd_template(int argc, char **argv, int start)
{
	static const OptSpec specs[] = {
		{"fingerprint", 0, ARG_REQUIRED, OPT_FINGERPRINT},
		{"fingerprint-files", 0, ARG_LIST, OPT_FP_FILES},
		{"timeout", 0, ARG_REQUIRED, OPT_TIMEOUT},
		{"url", 0, ARG_REQUIRED, OPT_URL},
		CONN_OPT_SPECS,
		{NULL, 0, ARG_NONE, 0}
	};
	ArgParser	p;
	const char *v;
	const char *name = NULL,
			   *fp_str = NULL,
			   *timeout_str = NULL,
			   *url_opt = NULL,
			   *url;
	const char **files = xmalloc(sizeof(char *) * (size_t) (argc + 1));
	int			nfiles = 0;
	char	  **cmd = NULL;
	int64_t		timeout_ms = 0;
	char	   *fingerprint;
	char		hex[65];
	PGconn	   *conn;
	PGresult   *res;
	QueryStatus st;
	const char *params[2];
	double		t0;
	int			id,
				status,
				termsig,
				sigs_before;
	const char *answer;

	argp_init(&p, argc, argv, start, specs, "template");
	while ((id = argp_next(&p, &v)) != ARGP_END)
	{
		switch (id)
		{
			case ARGP_POSITIONAL:
				if (name)
					usage_error("template", "unexpected argument \"%s\" (COMMAND goes after \"--\")", dsn_redact(v));
				name = v;
				break;
			case ARGP_DASHDASH:
				cmd = argv + p.rest;
				break;
			case OPT_HELP:
				help_command("template", stdout);
				exit(EXIT_OK);
			case OPT_FINGERPRINT:
				fp_str = v;
				break;
			case OPT_FP_FILES:
				files[nfiles++] = v;
				while ((v = argp_next_list_value(&p)) != NULL)
					files[nfiles++] = v;
				break;
			case OPT_TIMEOUT:
				timeout_str = v;
				break;
			case OPT_URL:
				url_opt = v;
				break;
			default:
				handle_common_option(id, v);
		}
	}
	if (!name)
		usage_error("template", "no template NAME given");
	if (name[0] == '\0')
		usage_error("template", "the template name must not be empty");
	if (!cmd)
		usage_error("template", "missing \"--\" before COMMAND (pg_mint template NAME [OPTION]... -- COMMAND [ARG]...)");
	if (!cmd[0])
		usage_error("template", "no COMMAND after \"--\"");
	if (timeout_str)
		timeout_ms = duration_or_usage("template", "--timeout", timeout_str);

	url = effective_url(url_opt);
	if (url)
	{
		const char *err;
		char	   *test = rewrite_database(url, name, &err);

		if (!test)
			usage_error("template", "cannot rewrite %s: %s", url_opt ? "--url" : "DATABASE_URL", err);
		free(test);
	}

	if (nfiles > 0)
	{
		if (!fingerprint_files(nfiles, files, hex))
			exit(EXIT_USAGE);
		fingerprint = fp_str ? xasprintf("%s:%s", fp_str, hex) : xstrdup(hex);
	}
	else
		fingerprint = xstrdup(fp_str ? fp_str : "");

	conn = mint_connect();
	require_extension(conn);

	t0 = now_seconds();
	params[0] = name;
	params[1] = fingerprint;
	st = query_interruptible(conn, "SELECT mint.template_begin($1, $2)", 2, params,
							 (long) timeout_ms, &res);
	answer = (res && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		? PQgetvalue(res, 0, 0) : NULL;

	if (st == Q_TIMEOUT || st == Q_INTERRUPTED)
	{
		/* the answer may have raced the cancel: never keep a build lock */
		if (answer && strcmp(answer, "build") == 0)
			abort_build(conn, name);
		if (st == Q_TIMEOUT)
		{
			log_error("timed out after %s waiting for template \"%s\"", timeout_str, name);
			log_hint("Another session may be building it: see \"pg_mint list\", or raise --timeout.");
			PQfinish(conn);
			return EXIT_RUNTIME;
		}
		log_error("interrupted by signal %d before template \"%s\" was built", signal_received(), name);
		PQfinish(conn);
		return 128 + signal_received();
	}
	if (st == Q_ERROR)
	{
		char	   *ctx = xasprintf("could not begin template \"%s\"", name);

		report_error(conn, res, ctx);
		PQfinish(conn);
		return EXIT_RUNTIME;
	}

	if (strcmp(answer, "ready") == 0)
	{
		double		waited = now_seconds() - t0;

		if (waited >= 0.5)
			log_info("%s is ready (waited %.2f s for another build)", name, waited);
		else
			log_info("%s is ready", name);
		PQclear(res);
		PQfinish(conn);
		return EXIT_OK;
	}
	if (strcmp(answer, "build") != 0)
	{
		log_error("mint.template_begin returned an unexpected answer \"%s\"", answer);
		PQfinish(conn);
		return EXIT_RUNTIME;
	}
	PQclear(res);

	log_info("building %s: running %s", name, cmd[0]);
	sigs_before = signal_count();
	set_child_env(conn, name, url);
	status = run_command(cmd, &termsig);

	if (status == 0 && signal_count() == sigs_before)
	{
		params[0] = name;
		st = query_interruptible(conn, "SELECT mint.template_finish($1)", 1, params, 0, &res);
		if (st == Q_OK)
		{
			log_info("built %s in %.2f s", name, now_seconds() - t0);
			PQclear(res);
			PQfinish(conn);
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
		PQfinish(conn);
		return st == Q_INTERRUPTED ? 128 + signal_received() : EXIT_RUNTIME;
	}

	/* COMMAND failed or we were interrupted: abort the build */
	abort_build(conn, name);
	if (signal_count() != sigs_before)
		log_error("build of %s interrupted by signal %d; template aborted", name, signal_received());
	else if (termsig)
		log_error("build of %s failed: %s was killed by signal %d; template aborted",
				  name, cmd[0], termsig);
	else
		log_error("build of %s failed: %s exited with status %d; template aborted",
				  name, cmd[0], status);
	PQfinish(conn);
	if (status == 0)
		status = 128 + signal_received();
	return status;
}
