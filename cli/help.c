/*
 * help.c -- the help texts (pg_mint --help, pg_mint COMMAND --help) and
 * --version.
 *
 * Layer: shared helper, called by main.c and, through the -?/--help entry
 * of their option tables, by the cmd_*.c files; calls only util.c.
 */
#include "pg_mint.h"

#include <stdlib.h>
#include <string.h>

static const char conn_help[] =
"\nConnection options:\n"
"  -h, --host=HOSTNAME       database server host or socket directory\n"
"  -p, --port=PORT           database server port\n"
"  -U, --username=USERNAME   user name to connect as\n"
"  -d, --dbname=DBNAME       maintenance database, where the extension is\n"
"                            installed (default: postgres)\n"
"      --maintenance-db=DBNAME  same as --dbname\n"
"      --dsn=CONNINFO|URL    connection string or URL (postgresql+DRIVER://\n"
"                            accepted); overrides the options above\n"
"                            (default: $PG_MINT_DSN)\n"
"  -w, --no-password         never prompt for password\n"
"  -W, --password            force password prompt\n";

static const char common_help[] =
"\nCommon options:\n"
"  -q, --quiet               do not report progress on stderr\n"
"  -?, --help                show this help, then exit\n";

static const char footer[] =
"\nFull reference: man pg_mint, or docs/cli-reference.md in pg_mint's source.\n";

void
print_version(void)
{
	printf("pg_mint (pg_mint) %s\n", MINT_VERSION);
}

void
help_main(FILE *f)
{
	fprintf(f,
			"%s gives every parallel test worker its own PostgreSQL database, cloned\n"
			"from a template that is built once.\n\n"
			"Usage:\n"
			"  %s [OPTION]... COMMAND [ARG]...\n\n"
			"Commands:\n"
			"  template NAME [--fingerprint STR] [--fingerprint-files PATH...]\n"
			"           [--timeout DURATION] -- COMMAND [ARG]...\n"
			"                       build template NAME by running COMMAND, unless it\n"
			"                       is ready already\n"
			"  clone TEMPLATE TARGET\n"
			"  clone TEMPLATE --base BASE [--worker W] [--run RUN]\n"
			"                       make TARGET (or BASE_W) a fresh copy of TEMPLATE\n"
			"  run TEMPLATE --base BASE [--worker W] [--keep] -- COMMAND [ARG]...\n"
			"                       run COMMAND against a fresh copy, then drop it\n"
			"  drop NAME...         drop databases that pg_mint made\n"
			"  renew NAME... [--ttl DURATION]\n"
			"                       extend the lease of clones (pg_mint 1.3)\n"
			"  list [--json]        list the databases pg_mint manages\n"
			"  gc [--older-than DURATION] [--dry-run] [--run RUN | --all-runs]\n"
			"                       drop what crashed or finished runs left behind\n"
			"  url URL (--worker W [--base BASE] | --database NAME)\n"
			"                       rewrite URL to another database (no server needed)\n"
			"  fingerprint PATH...  print the hash --fingerprint-files computes\n"
			"  doctor               check that everything pg_mint needs is in place\n"
			"  help [COMMAND]       show help\n",
			progname, progname);
	fputs(conn_help, f);
	fprintf(f,
			"\nGeneral options:\n"
			"  -q, --quiet               do not report progress on stderr\n"
			"  -V, --version             output version information, then exit\n"
			"  -?, --help                show this help, then exit\n"
			"\nWithout connection options, the libpq environment is used (PGHOST, PGPORT,\n"
			"PGUSER, PGPASSWORD, PGSERVICE, ~/.pgpass); when none of PGHOST, PGHOSTADDR,\n"
			"PGPORT, PGUSER, PGSERVICE is set either, DATABASE_URL's server and\n"
			"credentials are used, with the maintenance database.\n"
			"\nDurations: 500ms, 30s, 2m, 1h, 1d, or plain seconds.\n"
			"\nExit status: 0 success, 1 runtime error, 2 usage error; \"template\" and\n"
			"\"run\" exit with COMMAND's status (128+N if COMMAND is killed by signal N).\n"
			"\nRun \"%s COMMAND --help\" for the options of one command.\n",
			progname);
	fputs(footer, f);
}

typedef struct CommandHelp
{
	const char *name;
	const char *text;
} CommandHelp;

static const CommandHelp command_help[] = {
	{"template",
		"%s template builds template database NAME by running COMMAND, once.\n\n"
		"Usage:\n"
		"  %s template NAME [OPTION]... -- COMMAND [ARG]...\n\n"
		"Calls mint.template_begin(NAME, FINGERPRINT).  When the template must be\n"
		"built, COMMAND runs with PGDATABASE=NAME, PGHOST/PGPORT/PGUSER (and\n"
		"PGPASSWORD when one was used) pointing at the server, and DATABASE_URL, if\n"
		"set, rewritten to NAME; exit status 0 finishes the template\n"
		"(mint.template_finish), anything else aborts it (mint.template_abort).\n"
		"When another process is building NAME, waits for it.  When NAME is ready\n"
		"with the same fingerprint, COMMAND is not run.\n\n"
		"Options:\n"
		"      --fingerprint=STR     identifies the schema COMMAND builds; a ready\n"
		"                            template with another fingerprint is rebuilt\n"
		"      --fingerprint-files PATH...\n"
		"                            add the SHA-256 of these files and directories\n"
		"                            (recursive; sorted relative paths and contents)\n"
		"      --timeout=DURATION    give up (exit 1) if mint.template_begin has not\n"
		"                            answered within DURATION (default: wait forever)\n"
		"      --url=URL             URL to rewrite for COMMAND (default: $DATABASE_URL)\n"
		"\nExit status: COMMAND's status when it ran (128+N if killed by signal N),\n"
		"0 when the template was ready, 1 on errors and timeouts, 2 on usage errors.\n"
		"Ctrl-C (SIGINT) or SIGTERM during the build aborts it and releases the lock.\n"},
	{"clone",
		"%s clone makes a fresh copy of a template (replacing an older copy).\n\n"
		"Usage:\n"
		"  %s clone TEMPLATE TARGET [OPTION]...\n"
		"  %s clone TEMPLATE --base BASE [--worker W] [OPTION]...\n\n"
		"Calls mint.worker_name(BASE, W[, RUN]) and mint.clone(TEMPLATE, name).  W\n"
		"defaults to $PYTEST_XDIST_WORKER; without a worker the copy is BASE itself.\n\n"
		"Options:\n"
		"      --base=BASE           name the copy after BASE and the worker\n"
		"      --worker=W            worker id, e.g. gw3 (default: $PYTEST_XDIST_WORKER)\n"
		"      --run=RUN             run identity: names the copy BASE_RUN_W and records\n"
		"                            it (default: $PG_MINT_RUN, else $GITHUB_RUN_ID,\n"
		"                            $CI_PIPELINE_ID, $BUILDKITE_BUILD_ID,\n"
		"                            $CIRCLE_WORKFLOW_ID, $BUILD_TAG)\n"
		"      --fingerprint=STR, --fingerprint-files PATH...\n"
		"                            the version of TEMPLATE to copy, as given to\n"
		"                            \"pg_mint template\" (needed when several exist)\n"
		"      --print=WHAT          name (default): the database name;\n"
		"                            url: the URL rewritten to it;\n"
		"                            env: export lines for eval (DATABASE_URL when a\n"
		"                            URL is known, and PGDATABASE)\n"
		"      --url=URL             URL to rewrite (default: $DATABASE_URL)\n"
		"      --ttl=DURATION        give the copy a lease ('30 minutes', '2h'): mint.gc()\n"
		"                            drops it once expired (pg_mint 1.3)\n"
		"\nCtrl-C cancels the server call.\n"},
	{"run",
		"%s run runs COMMAND against a fresh copy of a template, then drops it.\n\n"
		"Usage:\n"
		"  %s run TEMPLATE --base BASE [--worker W] [--keep] [OPTION]... -- COMMAND [ARG]...\n"
		"  %s run TEMPLATE TARGET [--keep] [OPTION]... -- COMMAND [ARG]...\n\n"
		"COMMAND runs with PGDATABASE and DATABASE_URL (if set) pointing at the copy.\n\n"
		"Options:\n"
		"      --base=BASE           name the copy after BASE and the worker\n"
		"      --worker=W            worker id (default: $PYTEST_XDIST_WORKER)\n"
		"      --run=RUN             run identity: names the copy BASE_RUN_W and records\n"
		"                            it (default: $PG_MINT_RUN, else $GITHUB_RUN_ID,\n"
		"                            $CI_PIPELINE_ID, $BUILDKITE_BUILD_ID,\n"
		"                            $CIRCLE_WORKFLOW_ID, $BUILD_TAG)\n"
		"      --fingerprint=STR, --fingerprint-files PATH...\n"
		"                            the version of TEMPLATE to copy, as given to\n"
		"                            \"pg_mint template\" (needed when several exist)\n"
		"      --keep                do not drop the copy afterwards\n"
		"      --url=URL             URL to rewrite (default: $DATABASE_URL)\n"
		"\nExit status: COMMAND's status (128+N if it is killed by signal N).\n"},
	{"renew",
		"%s renew extends the lease of clones (mint.renew); prints each new expiry.\n\n"
		"Usage:\n"
		"  %s renew NAME... [--ttl DURATION] [OPTION]...\n\n"
		"Options:\n"
		"      --ttl=DURATION        the new time to live ('30 minutes'); default: the\n"
		"                            clone's own, else pg_mint.lease\n"},
	{"drop",
		"%s drop drops databases that pg_mint made (mint.drop).\n\n"
		"Usage:\n"
		"  %s drop NAME... [OPTION]...\n\n"
		"A name that does not exist is reported and skipped; exit status 1 if any\n"
		"drop failed.\n"},
	{"list",
		"%s list lists the databases pg_mint manages (the view mint.databases).\n\n"
		"Usage:\n"
		"  %s list [--json] [OPTION]...\n\n"
		"Options:\n"
		"      --json                a JSON array of objects with the keys datname,\n"
		"                            kind, template, fingerprint, state, owner,\n"
		"                            created_at (UTC, ISO 8601), size_bytes and\n"
		"                            connections, sorted by datname\n"},
	{"gc",
		"%s gc drops what crashed or finished runs left behind (mint.gc).\n\n"
		"Usage:\n"
		"  %s gc [--older-than DURATION] [--dry-run] [OPTION]...\n\n"
		"Options:\n"
		"      --older-than=DURATION only what is older than this (default: 1h)\n"
		"      --dry-run             list what gc would drop and why (mint.gc_preview),\n"
		"                            drop nothing\n"
		"      --run=RUN             only this run's clones (mint.gc(DURATION, RUN));\n"
		"                            default: $PG_MINT_RUN or a CI variable (see clone)\n"
		"      --all-runs            every run's clones, whatever the environment says\n"},
	{"url",
		"%s url rewrites a database URL to another database, without a server.\n\n"
		"Usage:\n"
		"  %s url URL --worker W [--base BASE]\n"
		"  %s url URL --database NAME\n\n"
		"The scheme (postgresql+DRIVER:// included), user, password, hosts, ports\n"
		"and query are kept; only the database changes.  With --worker the database\n"
		"is named like mint.worker_name(BASE, W); BASE defaults to the database in URL.\n\n"
		"Options:\n"
		"      --worker=W            worker id\n"
		"      --base=BASE           base name (default: URL's database)\n"
		"      --database=NAME       the database to use\n"
		"      --run=RUN             run identity, as for clone (default: $PG_MINT_RUN\n"
		"                            or a CI variable)\n"},
	{"fingerprint",
		"%s fingerprint prints the SHA-256 that --fingerprint-files would use.\n\n"
		"Usage:\n"
		"  %s fingerprint PATH...\n"},
	{"doctor",
		"%s doctor checks the connection, the extension and its version, the\n"
		"CREATEDB privilege, free background worker slots and every template, and\n"
		"prints how to fix each problem.\n\n"
		"Usage:\n"
		"  %s doctor [OPTION]...\n\n"
		"Exit status: 0 when pg_mint can be used (warnings allowed), 1 otherwise.\n"},
	{NULL, NULL}
};

bool
help_command(const char *command, FILE *f)
{
	const CommandHelp *h;

	for (h = command_help; h->name; h++)
		if (strcmp(h->name, command) == 0)
		{
			fprintf(f, h->text, progname, progname, progname);
			if (strcmp(command, "url") != 0 && strcmp(command, "fingerprint") != 0)
				fputs(conn_help, f);
			fputs(common_help, f);
			fputs(footer, f);
			return true;
		}
	return false;
}

void
help_and_exit(const char *command)
{
	if (command)
		help_command(command, stdout);
	else
		help_main(stdout);
	exit(EXIT_OK);
}

void
version_and_exit(const char *command)
{
	print_version();
	exit(EXIT_OK);
}
