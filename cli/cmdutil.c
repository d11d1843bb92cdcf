/*
 * cmdutil.c -- checks and steps shared by the commands: the URL a command
 * rewrites for COMMAND, COMMAND after "--", the environment COMMAND runs
 * with, the fingerprint from --fingerprint/--fingerprint-files, and the
 * run identity (--run, PG_MINT_RUN, CI variables).
 *
 * Layer: shared helper, called by the cmd_*.c files; calls url.c,
 * fingerprint.c and util.c (and libpq for the connection's parameters).
 */
#include "pg_mint.h"

#include <stdlib.h>
#include <string.h>

const char *
effective_url(const char *url_opt)
{
	if (url_opt)
		return url_opt;
	if (env_set("DATABASE_URL"))
		return getenv("DATABASE_URL");
	return NULL;
}

const char *
url_to_rewrite(const char *command, const char *url_opt)
{
	const char *url = effective_url(url_opt);
	const char *err;
	char	   *test;

	if (!url)
		return NULL;
	test = rewrite_database(url, "x", &err);
	if (!test)
		usage_error(command, "cannot rewrite %s: %s", url_opt ? "--url" : "DATABASE_URL", err);
	free(test);
	return url;
}

void
require_command(const char *command, char **cmd, const char *synopsis)
{
	if (!cmd)
		usage_error(command, "missing \"--\" before COMMAND (%s)", synopsis);
	if (!cmd[0])
		usage_error(command, "no COMMAND after \"--\"");
}

void
set_child_env(PGconn *conn, const char *dbname, const char *url)
{
	PQconninfoOption *opts = PQconninfo(conn);
	PQconninfoOption *o;

	if (opts)
	{
		for (o = opts; o->keyword; o++)
		{
			if (!o->envvar || !o->val || !o->val[0])
				continue;
			if (strcmp(o->keyword, "dbname") == 0 || strcmp(o->keyword, "host") == 0 ||
				strcmp(o->keyword, "port") == 0 || strcmp(o->keyword, "user") == 0 ||
				strcmp(o->keyword, "password") == 0 || strcmp(o->keyword, "hostaddr") == 0 ||
				strcmp(o->keyword, "service") == 0)
				continue;
			if (o->compiled && strcmp(o->compiled, o->val) == 0)
				continue;
			setenv(o->envvar, o->val, 1);
		}
		PQconninfoFree(opts);
	}
	/* the host actually connected to (one of a list, or a socket directory) */
	if (PQhost(conn) && PQhost(conn)[0])
		setenv("PGHOST", PQhost(conn), 1);
	unsetenv("PGHOSTADDR");
	unsetenv("PGSERVICE");
	if (PQport(conn) && PQport(conn)[0])
		setenv("PGPORT", PQport(conn), 1);
	if (PQuser(conn) && PQuser(conn)[0])
		setenv("PGUSER", PQuser(conn), 1);
	if (PQconnectionUsedPassword(conn) && PQpass(conn) && PQpass(conn)[0])
		setenv("PGPASSWORD", PQpass(conn), 1);
	setenv("PGDATABASE", dbname, 1);

	if (url)
	{
		const char *err;
		char	   *nu = rewrite_database(url, dbname, &err);

		if (!nu)
		{
			log_error("cannot rewrite DATABASE_URL: %s", err);
			exit(EXIT_USAGE);
		}
		setenv("DATABASE_URL", nu, 1);
		free(nu);
	}
}

char *
compose_fingerprint(const char *str, const WordList *files)
{
	char		hex[65];

	if (files->n == 0)
		return str ? xstrdup(str) : NULL;
	if (!fingerprint_files(files->n, files->items, hex))
		exit(EXIT_USAGE);
	return str ? xasprintf("%s:%s", str, hex) : xstrdup(hex);
}

const char *
run_identity(const char *command, const char *run_opt)
{
	static const char *const vars[] = {RUN_ENV_VARS};
	const char *run = run_opt;
	size_t		i;

	for (i = 0; run == NULL && i < sizeof(vars) / sizeof(vars[0]); i++)
		if (env_set(vars[i]))
			run = getenv(vars[i]);
	if (run == NULL || run[0] == '\0')
		return NULL;
	if (strlen(run) > 63)
		usage_error(command, "the run identity \"%s\" is longer than 63 bytes", run);
	return run;
}
