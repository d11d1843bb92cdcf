/*
 * main.c -- pg_mint: the options before the command word, and dispatch.
 *
 * Layer: top; calls the cmd_*.c files, args.c, help.c, redact.c (for the
 * unknown command's message), proc.c (signals) and util.c; its option
 * table binds conn.c's conn_opts.
 */
#include "pg_mint.h"

#include <stdlib.h>
#include <string.h>

typedef struct Command
{
	const char *name;
	int			(*fn) (int argc, char **argv, int start);
} Command;

static const Command commands[] = {
	{"template", cmd_template},
	{"clone", cmd_clone},
	{"run", cmd_run},
	{"drop", cmd_drop},
	{"renew", cmd_renew},
	{"list", cmd_list},
	{"gc", cmd_gc},
	{"url", cmd_url},
	{"doctor", cmd_doctor},
	{"fingerprint", cmd_fingerprint},
	{NULL, NULL}
};

int
main(int argc, char **argv)
{
	const OptSpec options[] = {
		CONN_OPTIONS,
		{"version", 'V', OPT_ACTION, NULL, 0, version_and_exit},
		OPT_TABLE_END
	};
	ArgParser	p;
	const char *command = NULL;
	const Command *c;

	signals_init();

	/* the options before the command word; it ends them */
	argp_init(&p, argc, argv, 1, options, NULL);
	switch (argp_next(&p, &command))
	{
		case ARGP_POSITIONAL:
			break;
		case ARGP_DASHDASH:
			usage_error(NULL, "no command given before \"--\"");
		default:
			usage_error(NULL, "no command given");
	}

	if (strcmp(command, "help") == 0)
	{
		if (p.pos < argc)
		{
			if (!help_command(argv[p.pos], stdout))
				usage_error(NULL, "unknown command \"%s\"", dsn_redact(argv[p.pos]));
		}
		else
			help_main(stdout);
		return EXIT_OK;
	}

	for (c = commands; c->name; c++)
		if (strcmp(c->name, command) == 0)
			return c->fn(argc, argv, p.pos);

	usage_error(NULL, "unknown command \"%s\"", dsn_redact(command));
}
