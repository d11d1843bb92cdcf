/*
 * args.c -- option parser in the style of PostgreSQL's programs.
 *
 * Short options ("-h host", "-hhost", "-wq"), long options ("--host host",
 * "--host=host"), positional words anywhere, and "--" ending the options
 * (everything after it is COMMAND [ARG...]).  Long options must be spelled
 * out in full: abbreviations would make users' scripts fragile.
 */
#include "pg_mint.h"

#include <string.h>

void
argp_init(ArgParser *p, int argc, char **argv, int start,
		  const OptSpec *specs, const char *command)
{
	memset(p, 0, sizeof(*p));
	p->argc = argc;
	p->argv = argv;
	p->pos = start;
	p->specs = specs;
	p->command = command;
	p->rest = argc;
}

static const OptSpec *
find_long(const ArgParser *p, const char *name, size_t len)
{
	const OptSpec *s;

	for (s = p->specs; s->longname || s->shortname; s++)
		if (s->longname && strlen(s->longname) == len &&
			strncmp(s->longname, name, len) == 0)
			return s;
	return NULL;
}

static const OptSpec *
find_short(const ArgParser *p, char c)
{
	const OptSpec *s;

	for (s = p->specs; s->longname || s->shortname; s++)
		if (s->shortname == c)
			return s;
	return NULL;
}

static const char *
optname(const OptSpec *s, char *buf, size_t buflen, bool was_long)
{
	if (was_long || !s->shortname)
		snprintf(buf, buflen, "--%s", s->longname);
	else
		snprintf(buf, buflen, "-%c", s->shortname);
	return buf;
}

int
argp_next(ArgParser *p, const char **value)
{
	const char *arg;
	const OptSpec *s;
	char		namebuf[128];

	*value = NULL;

	if (p->shortcluster && *p->shortcluster)
	{
		char		c = *p->shortcluster++;

		s = find_short(p, c);
		if (!s)
			usage_error(p->command, "invalid option -- '%c'", c);
		if (s->kind != ARG_NONE)
		{
			/* the rest of the cluster, or the next word, is the value */
			if (*p->shortcluster)
			{
				*value = p->shortcluster;
				p->shortcluster = NULL;
			}
			else if (p->pos < p->argc)
				*value = p->argv[p->pos++];
			else
				usage_error(p->command, "option -%c requires a value", c);
		}
		return s->id;
	}
	p->shortcluster = NULL;

	if (p->pos >= p->argc)
		return ARGP_END;

	arg = p->argv[p->pos++];

	if (strcmp(arg, "--") == 0)
	{
		p->saw_dashdash = true;
		p->rest = p->pos;
		p->pos = p->argc;
		return ARGP_DASHDASH;
	}

	if (arg[0] == '-' && arg[1] == '-')
	{
		const char *name = arg + 2;
		const char *eq = strchr(name, '=');
		size_t		len = eq ? (size_t) (eq - name) : strlen(name);

		s = find_long(p, name, len);
		if (!s)
			usage_error(p->command, "unrecognized option \"--%s\"", dsn_redact(xstrndup(name, len)));
		if (s->kind == ARG_NONE)
		{
			if (eq)
				usage_error(p->command, "option %s does not take a value",
							optname(s, namebuf, sizeof(namebuf), true));
		}
		else if (eq)
			*value = eq + 1;
		else if (p->pos < p->argc && strcmp(p->argv[p->pos], "--") != 0)
			*value = p->argv[p->pos++];
		else
			usage_error(p->command, "option %s requires a value",
						optname(s, namebuf, sizeof(namebuf), true));
		return s->id;
	}

	if (arg[0] == '-' && arg[1] != '\0')
	{
		p->shortcluster = arg + 1;
		return argp_next(p, value);
	}

	*value = arg;
	return ARGP_POSITIONAL;
}

const char *
argp_next_list_value(ArgParser *p)
{
	const char *arg;

	if (p->pos >= p->argc)
		return NULL;
	arg = p->argv[p->pos];
	if (arg[0] == '-' && arg[1] != '\0')
		return NULL;			/* an option, or "--" */
	p->pos++;
	return arg;
}
