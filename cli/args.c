/*
 * args.c -- command-line parser in the style of PostgreSQL's programs.
 *
 * Layer: shared helper, called by main.c and the cmd_*.c files; calls
 * redact.c (a word in a message may be a password) and util.c, and the
 * actions an option table names (help.c's --help).
 *
 * Short options ("-h host", "-hhost", "-wq"), long options ("--host host",
 * "--host=host"), positional words anywhere, and "--" ending the options
 * (everything after it is COMMAND [ARG...]).  Long options must be spelled
 * out in full: abbreviations would make users' scripts fragile.
 *
 * Every option is bound to a variable in its command's table (OptSpec), so
 * a command says once what it accepts (CommandLine) and reads the variables
 * afterwards.  A positional word with something wrong about it, or an
 * unexpected "--", is reported at the place where it stands: options after
 * it (even --help) are not looked at.
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

void
wordlist_add(WordList *l, const char *word)
{
	l->items = xrealloc(l->items, sizeof(char *) * (size_t) (l->n + 2));
	l->items[l->n++] = word;
	l->items[l->n] = NULL;
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

static bool
takes_value(const OptSpec *s)
{
	return s->type == OPT_STRING || s->type == OPT_LIST;
}

/* more values of an OPT_LIST option: the words up to the next option */
static const char *
next_list_value(ArgParser *p)
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

/* put the value of option s where its table says */
static void
store_option(ArgParser *p, const OptSpec *s, const char *value)
{
	switch (s->type)
	{
		case OPT_FLAG:
			*(bool *) s->var = true;
			break;
		case OPT_SET:
			*(int *) s->var = s->setval;
			break;
		case OPT_STRING:
			*(const char **) s->var = value;
			break;
		case OPT_LIST:
			wordlist_add((WordList *) s->var, value);
			while ((value = next_list_value(p)) != NULL)
				wordlist_add((WordList *) s->var, value);
			break;
		case OPT_ACTION:
			s->action(p->command);
			break;
	}
}

/*
 * The next option (its value in *value, NULL for options without one),
 * or ARGP_POSITIONAL / ARGP_DASHDASH / ARGP_END.
 */
static const OptSpec *
next_option(ArgParser *p, const char **value, int *what)
{
	const char *arg;
	const OptSpec *s;
	char		namebuf[128];

	*value = NULL;
	*what = 0;

	if (p->shortcluster && *p->shortcluster)
	{
		char		c = *p->shortcluster++;

		s = find_short(p, c);
		if (!s)
			usage_error(p->command, "invalid option -- '%c'", c);
		if (takes_value(s))
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
		return s;
	}
	p->shortcluster = NULL;

	if (p->pos >= p->argc)
	{
		*what = ARGP_END;
		return NULL;
	}

	arg = p->argv[p->pos++];

	if (strcmp(arg, "--") == 0)
	{
		p->rest = p->pos;
		p->pos = p->argc;
		*what = ARGP_DASHDASH;
		return NULL;
	}

	if (arg[0] == '-' && arg[1] == '-')
	{
		const char *name = arg + 2;
		const char *eq = strchr(name, '=');
		size_t		len = eq ? (size_t) (eq - name) : strlen(name);

		s = find_long(p, name, len);
		if (!s)
			usage_error(p->command, "unrecognized option \"--%s\"", dsn_redact(xstrndup(name, len)));
		if (!takes_value(s))
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
		return s;
	}

	if (arg[0] == '-' && arg[1] != '\0')
	{
		p->shortcluster = arg + 1;
		return next_option(p, value, what);
	}

	*value = arg;
	*what = ARGP_POSITIONAL;
	return NULL;
}

int
argp_next(ArgParser *p, const char **value)
{
	const OptSpec *s;
	int			what;

	while ((s = next_option(p, value, &what)) != NULL)
		store_option(p, s, *value);
	return what;
}

/* a positional word: into the next free words[] slot, or as cl->extra says */
static void
take_word(const CommandLine *cl, const char *word)
{
	int			i;

	for (i = 0; cl->words[i]; i++)
		if (*cl->words[i] == NULL)
		{
			*cl->words[i] = word;
			return;
		}
	switch (cl->extra)
	{
		case EXTRA_UNEXPECTED:
			usage_error(cl->command, "unexpected argument \"%s\"", dsn_redact(word));
		case EXTRA_TOO_MANY:
			usage_error(cl->command, "too many arguments (first extra: \"%s\")", dsn_redact(word));
		case EXTRA_BEFORE_COMMAND:
			usage_error(cl->command, "unexpected argument \"%s\" (COMMAND goes after \"--\")",
						dsn_redact(word));
		case EXTRA_TO_LIST:
			wordlist_add(cl->more_words, word);
			break;
	}
}

/* "--": the rest of argv, from p->rest */
static void
take_dashdash(const CommandLine *cl, ArgParser *p)
{
	switch (cl->dashdash)
	{
		case DASHDASH_UNEXPECTED:
			usage_error(cl->command, "unexpected \"--\"");
		case DASHDASH_NOT_CLONE:
			usage_error(cl->command, "unexpected \"--\" (did you mean \"pg_mint run\"?)");
		case DASHDASH_COMMAND:
			*cl->command_argv = p->argv + p->rest;
			break;
		case DASHDASH_TO_LIST:
			while (p->rest < p->argc)
				wordlist_add(cl->more_words, p->argv[p->rest++]);
			break;
	}
}

void
parse_command_line(const CommandLine *cl, int argc, char **argv, int start)
{
	ArgParser	p;
	const char *word;
	int			what;

	argp_init(&p, argc, argv, start, cl->options, cl->command);
	while ((what = argp_next(&p, &word)) != ARGP_END)
	{
		if (what == ARGP_POSITIONAL)
			take_word(cl, word);
		else
			take_dashdash(cl, &p);
	}
}
