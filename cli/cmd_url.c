/*
 * cmd_url.c -- `pg_mint url` (offline URL rewriting) and
 * `pg_mint fingerprint` (the --fingerprint-files hash).  No server needed.
 */
#include "pg_mint.h"
#include "worker_name.h"

#include <stdlib.h>
#include <string.h>

#define OPT_WORKER		1
#define OPT_BASE		2
#define OPT_DATABASE	3

/*
 * The database name for (base, worker) by the shared naming rule of
 * mint.worker_name; usage error when base is empty.
 */
static char *
worker_db_name(const char *command, const char *base, const char *worker)
{
	char		out[MINT_NAME_MAX + 1];

	if (mint_worker_name(base, worker, out) < 0)
		usage_error(command, "the base name must not be empty");
	return xstrdup(out);
}

int
cmd_url(int argc, char **argv, int start)
{
	static const OptSpec specs[] = {
		{"worker", 0, ARG_REQUIRED, OPT_WORKER},
		{"base", 0, ARG_REQUIRED, OPT_BASE},
		{"database", 0, ARG_REQUIRED, OPT_DATABASE},
		{"quiet", 'q', ARG_NONE, OPT_QUIET},
		{"help", '?', ARG_NONE, OPT_HELP},
		{NULL, 0, ARG_NONE, 0}
	};
	ArgParser	p;
	const char *v;
	const char *url = NULL,
			   *worker = NULL,
			   *base = NULL,
			   *database = NULL;
	const char *err;
	char	   *name,
			   *out;
	int			id;

	argp_init(&p, argc, argv, start, specs, "url");
	while ((id = argp_next(&p, &v)) != ARGP_END)
	{
		switch (id)
		{
			case ARGP_POSITIONAL:
				if (url)
					usage_error("url", "too many arguments (first extra: \"%s\")", dsn_redact(v));
				url = v;
				break;
			case ARGP_DASHDASH:
				usage_error("url", "unexpected \"--\"");
				break;
			case OPT_HELP:
				help_command("url", stdout);
				exit(EXIT_OK);
			case OPT_WORKER:
				worker = v;
				break;
			case OPT_BASE:
				base = v;
				break;
			case OPT_DATABASE:
				database = v;
				break;
			default:
				handle_common_option(id, v);
		}
	}
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

	if (database)
		name = xstrdup(database);
	else
	{
		if (!base)
		{
			char	   *db = database_of(url, &err);

			if (err)
			{
				char	   *red = url_looks_like_url(url) ? url_redact(url) : xstrdup("(connection string)");

				usage_error("url", "invalid URL \"%s\": %s", red, err);
			}
			if (!db)
				usage_error("url", "the URL names no database: give --base BASE");
			base = db;
		}
		name = worker_db_name("url", base, worker);
	}

	out = rewrite_database(url, name, &err);
	if (!out)
	{
		char	   *red = url_looks_like_url(url) ? url_redact(url) : xstrdup("(connection string)");

		usage_error("url", "invalid URL \"%s\": %s", red, err);
	}
	printf("%s\n", out);
	free(out);
	free(name);
	return EXIT_OK;
}

int
cmd_fingerprint(int argc, char **argv, int start)
{
	static const OptSpec specs[] = {
		{"help", '?', ARG_NONE, OPT_HELP},
		{NULL, 0, ARG_NONE, 0}
	};
	ArgParser	p;
	const char *v;
	const char **paths = xmalloc(sizeof(char *) * (size_t) (argc + 1));
	int			n = 0;
	int			id;
	char		hex[65];

	argp_init(&p, argc, argv, start, specs, "fingerprint");
	while ((id = argp_next(&p, &v)) != ARGP_END)
	{
		if (id == ARGP_POSITIONAL)
			paths[n++] = v;
		else if (id == ARGP_DASHDASH)
		{
			while (p.rest < argc)
				paths[n++] = argv[p.rest++];
		}
		else if (id == OPT_HELP)
		{
			help_command("fingerprint", stdout);
			exit(EXIT_OK);
		}
	}
	if (n == 0)
		usage_error("fingerprint", "no files or directories given");
	if (!fingerprint_files(n, paths, hex))
		return EXIT_USAGE;
	printf("%s\n", hex);
	return EXIT_OK;
}
