/*
 * cmd_url.c -- `pg_mint url` (offline URL rewriting) and
 * `pg_mint fingerprint` (the --fingerprint-files hash).  No server needed.
 *
 * Layer: command, called by main.c; calls args.c, help.c, url.c, redact.c,
 * fingerprint.c, extension/worker_name.c (the naming rule shared with the
 * server) and util.c.
 */
#include "pg_mint.h"
#include "worker_name.h"

#include <stdlib.h>
#include <string.h>

/*
 * The database name for (base, worker) by the shared naming rule of
 * mint.worker_name; usage error when base is empty.
 */
static char *
worker_db_name(const char *command, const char *base, const char *worker, const char *run)
{
	char		out[MINT_NAME_MAX + 1];

	if (mint_worker_name_run(base, worker, run, out) < 0)
		usage_error(command, "the base name must not be empty");
	return xstrdup(out);
}

/* usage error: url does not parse (err), shown without its password */
static void
invalid_url(const char *url, const char *err) __attribute__((noreturn));

static void
invalid_url(const char *url, const char *err)
{
	char	   *red = url_looks_like_url(url) ? url_redact(url) : xstrdup("(connection string)");

	usage_error("url", "invalid URL \"%s\": %s", red, err);
}

/* the database to point url at: NAME, or BASE (default: url's) and W */
static char *
url_target_name(const char *url, const char *database, const char *base,
				const char *worker, const char *run)
{
	const char *err;

	if (database)
		return xstrdup(database);
	if (!base)
	{
		char	   *db = database_of(url, &err);

		if (err)
			invalid_url(url, err);
		if (!db)
			usage_error("url", "the URL names no database: give --base BASE");
		base = db;
	}
	return worker_db_name("url", base, worker, run);
}

int
cmd_url(int argc, char **argv, int start)
{
	const char *url = NULL,
			   *worker = NULL,
			   *base = NULL,
			   *database = NULL,
			   *run = NULL;
	const OptSpec options[] = {
		OPT_STR("worker", &worker), OPT_STR("base", &base), OPT_STR("database", &database),
		OPT_STR("run", &run),
		OPT_QUIET_ENTRY, OPT_HELP_ENTRY, OPT_TABLE_END
	};
	const CommandLine cl = {"url", options, {&url}, EXTRA_TOO_MANY, NULL, DASHDASH_UNEXPECTED};
	const char *err;
	char	   *name,
			   *out;

	parse_command_line(&cl, argc, argv, start);
	if (!url)
		usage_error("url", "no URL given");
	if (worker && database)
		usage_error("url", "--worker and --database cannot be used together");
	if (base && !worker)
		usage_error("url", "--base needs --worker");
	if (!worker && !database)
		usage_error("url", "say which database: --worker W [--base BASE] or --database NAME");
	if (database && database[0] == '\0')
		usage_error("url", "--database must not be empty");

	/* the name `pg_mint clone --base` gives in the same run */
	if (!database)
		run = run_identity("url", run);
	name = url_target_name(url, database, base, worker, run);
	out = rewrite_database(url, name, &err);
	if (!out)
		invalid_url(url, err);
	printf("%s\n", out);
	free(out);
	free(name);
	return EXIT_OK;
}

int
cmd_fingerprint(int argc, char **argv, int start)
{
	WordList	paths = {0};
	const OptSpec options[] = {OPT_HELP_ENTRY, OPT_TABLE_END};
	const CommandLine cl = {"fingerprint", options, {NULL}, EXTRA_TO_LIST, &paths, DASHDASH_TO_LIST};
	char		hex[65];

	parse_command_line(&cl, argc, argv, start);
	if (paths.n == 0)
		usage_error("fingerprint", "no files or directories given");
	if (!fingerprint_files(paths.n, paths.items, hex))
		return EXIT_USAGE;
	printf("%s\n", hex);
	return EXIT_OK;
}
