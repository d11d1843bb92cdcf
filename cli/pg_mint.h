/*
 * pg_mint.h -- declarations shared by the pg_mint command-line program.
 *
 * The program is split by concern, in layers that call only downwards:
 *
 *   main.c        command dispatch                               (top)
 *   cmd_*.c       the commands, each a few steps that read like its
 *                 help text; no command file calls another
 *   cmdutil.c     checks and steps shared by the commands: the URL
 *                 to rewrite for COMMAND, COMMAND after "--", its
 *                 environment
 *   help.c        --help texts and --version
 *   args.c        command lines: options bound to variables, one
 *                 table per command
 *   conn.c        connecting, checking for the extension
 *   query.c       server errors, interruptible queries
 *   redact.c      passwords out of messages (URLs, connection strings,
 *                 libpq errors)
 *   url.c         PostgreSQL / SQLAlchemy URL parsing and rewriting
 *   fingerprint.c SHA-256 over files and directories
 *   durations.c   "30s", "500ms", "2m", "1h", "1d", plain seconds
 *   proc.c        signals, running COMMAND, exit statuses
 *   util.c        messages, memory, string buffers, quoting    (bottom)
 *
 * Each file's first comment names the files it calls.
 */
#ifndef PG_MINT_CLI_H
#define PG_MINT_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <libpq-fe.h>

#ifndef MINT_VERSION
#define MINT_VERSION "unknown"
#endif

/* exit statuses */
#define EXIT_OK			0
#define EXIT_RUNTIME	1
#define EXIT_USAGE		2

extern const char *progname;

/* ---- util.c ------------------------------------------------------------ */

/* "pg_mint: error: ..." on stderr */
void		log_error(const char *fmt,...) __attribute__((format(printf, 1, 2)));
void		log_warning(const char *fmt,...) __attribute__((format(printf, 1, 2)));
void		log_detail(const char *fmt,...) __attribute__((format(printf, 1, 2)));
void		log_hint(const char *fmt,...) __attribute__((format(printf, 1, 2)));
/* plain "pg_mint: ..." progress line on stderr (suppressed by --quiet) */
void		log_info(const char *fmt,...) __attribute__((format(printf, 1, 2)));
extern bool quiet;

/* usage error: message + the "Try --help" hint, exit 2 */
void		usage_error(const char *command, const char *fmt,...)
			__attribute__((format(printf, 2, 3), noreturn));

void	   *xmalloc(size_t n);
void	   *xrealloc(void *p, size_t n);
char	   *xstrdup(const char *s);
char	   *xstrndup(const char *s, size_t n);
char	   *xasprintf(const char *fmt,...) __attribute__((format(printf, 1, 2)));

typedef struct StrBuf
{
	char	   *data;
	size_t		len;
	size_t		cap;
} StrBuf;

void		sb_init(StrBuf *sb);
void		sb_putn(StrBuf *sb, const char *s, size_t n);
void		sb_puts(StrBuf *sb, const char *s);
void		sb_putc(StrBuf *sb, char c);
void		sb_printf(StrBuf *sb, const char *fmt,...) __attribute__((format(printf, 2, 3)));
void		sb_free(StrBuf *sb);

/* single-quoted for POSIX sh, safe for eval */
char	   *shell_quote(const char *s);
/* control characters of s escaped (\n, \t, \x1b ...) for plain-text output */
char	   *text_escape(const char *s);
/* JSON string literal (with the quotes) appended to sb; NULL -> null */
void		sb_json_string(StrBuf *sb, const char *s);

/* the environment variable name is set and not empty */
bool		env_set(const char *name);

/* monotonic clock in seconds */
double		now_seconds(void);

/* ---- args.c ------------------------------------------------------------ */

/* words collected by an OPT_LIST option or by a command's positional words */
typedef struct WordList
{
	const char **items;
	int			n;
} WordList;

void		wordlist_add(WordList *l, const char *word);

typedef enum
{
	OPT_FLAG,					/* no value: *(bool *) var = true */
	OPT_SET,					/* no value: *(int *) var = setval */
	OPT_STRING,					/* one value: *(const char **) var = value */
	OPT_LIST,					/* one or more values, up to the next option:
								 * added to *(WordList *) var */
	OPT_ACTION					/* no value: action(command), which exits */
} OptType;

/*
 * One option, bound to the variable it sets (as pg_repack's pgut_option
 * does): a command's options are one table of these, and parsing stores
 * every value where the table says.  The last occurrence of an option wins.
 */
typedef struct OptSpec
{
	const char *longname;		/* without "--" */
	char		shortname;		/* 0 if none */
	OptType		type;
	void	   *var;
	int			setval;			/* OPT_SET */
	void		(*action) (const char *command);	/* OPT_ACTION */
} OptSpec;

/* a long option without a short form: --NAME VALUE, or the flag --NAME */
#define OPT_STR(name, var)	{name, 0, OPT_STRING, var, 0, NULL}
#define OPT_BOOL(name, var)	{name, 0, OPT_FLAG, var, 0, NULL}
#define OPT_TABLE_END		{NULL, 0, OPT_FLAG, NULL, 0, NULL}

typedef struct ArgParser
{
	int			argc;
	char	  **argv;
	int			pos;			/* next argv index */
	const OptSpec *specs;		/* terminated by OPT_TABLE_END */
	const char *command;		/* for messages */
	const char *shortcluster;	/* pending "-abc" remainder */
	int			rest;			/* index of the first word after "--" */
} ArgParser;

#define ARGP_POSITIONAL	(-1)
#define ARGP_END		(-2)
#define ARGP_DASHDASH	(-3)

void		argp_init(ArgParser *p, int argc, char **argv, int start,
					  const OptSpec *specs, const char *command);
/*
 * Store the options up to the next positional word or "--".  Returns
 * ARGP_POSITIONAL with *value = the word, ARGP_DASHDASH when "--" was seen
 * (p->rest is the first word after it), or ARGP_END.  Unknown options and
 * missing values are usage errors (exit 2).
 */
int			argp_next(ArgParser *p, const char **value);

/* what a command does with a positional word beyond its words[] */
typedef enum
{
	EXTRA_UNEXPECTED,			/* unexpected argument "W" */
	EXTRA_TOO_MANY,				/* too many arguments (first extra: "W") */
	EXTRA_BEFORE_COMMAND,		/* unexpected argument "W" (COMMAND goes after
								 * "--") */
	EXTRA_TO_LIST				/* added to *more_words */
} ExtraWords;

/* what a command does with "--" */
typedef enum
{
	DASHDASH_UNEXPECTED,		/* unexpected "--" */
	DASHDASH_NOT_CLONE,			/* unexpected "--" (did you mean "pg_mint
								 * run"?) */
	DASHDASH_COMMAND,			/* the rest is COMMAND [ARG]... */
	DASHDASH_TO_LIST			/* the rest is added to *more_words */
} DashDash;

/* a command's whole command line: options, positional words, "--" */
typedef struct CommandLine
{
	const char *command;
	const OptSpec *options;
	const char **words[3];		/* positional words, in order, NULL-ended */
	ExtraWords	extra;
	WordList   *more_words;		/* EXTRA_TO_LIST, DASHDASH_TO_LIST */
	DashDash	dashdash;
	char	 ***command_argv;	/* DASHDASH_COMMAND: COMMAND [ARG]... */
} CommandLine;

/* parse argv[start..] as cl says; usage errors exit 2 */
void		parse_command_line(const CommandLine *cl, int argc, char **argv, int start);

/* ---- help.c -------------------------------------------------------------- */

void		help_main(FILE *f);
bool		help_command(const char *command, FILE *f);
void		print_version(void);
/* OPT_ACTION of -?/--help: help of command (NULL: pg_mint's), exit 0 */
void		help_and_exit(const char *command) __attribute__((noreturn));
/* OPT_ACTION of -V/--version */
void		version_and_exit(const char *command) __attribute__((noreturn));

#define OPT_HELP_ENTRY	{"help", '?', OPT_ACTION, NULL, 0, help_and_exit}
#define OPT_QUIET_ENTRY	{"quiet", 'q', OPT_FLAG, &quiet, 0, NULL}

/* ---- connection options (conn.c) ---------------------------------------- */

typedef struct ConnOpts
{
	const char *host;
	const char *port;
	const char *user;
	const char *dbname;			/* maintenance database */
	const char *dsn;			/* --dsn or PG_MINT_DSN */
	int			prompt;			/* 0 default, 1 -W always, -1 -w never */
} ConnOpts;

extern ConnOpts conn_opts;

/* the options of every command that connects, bound to conn_opts */
#define CONN_OPTIONS \
	{"host", 'h', OPT_STRING, &conn_opts.host, 0, NULL}, \
	{"port", 'p', OPT_STRING, &conn_opts.port, 0, NULL}, \
	{"username", 'U', OPT_STRING, &conn_opts.user, 0, NULL}, \
	{"dbname", 'd', OPT_STRING, &conn_opts.dbname, 0, NULL}, \
	OPT_STR("maintenance-db", &conn_opts.dbname), \
	OPT_STR("dsn", &conn_opts.dsn), \
	{"no-password", 'w', OPT_SET, &conn_opts.prompt, -1, NULL}, \
	{"password", 'W', OPT_SET, &conn_opts.prompt, 1, NULL}, \
	OPT_QUIET_ENTRY, \
	OPT_HELP_ENTRY

/* ---- url.c --------------------------------------------------------------- */

typedef struct UrlParam
{
	char	   *key;			/* decoded */
	char	   *value;			/* decoded */
} UrlParam;

typedef struct PgUrl
{
	char	   *scheme;			/* "postgresql", "postgres" (without driver) */
	char	   *driver;			/* "asyncpg" for postgresql+asyncpg, or NULL */
	bool		has_userinfo;
	char	   *user;			/* decoded, NULL if absent */
	char	   *password;		/* decoded, NULL if absent */
	char	   *hosts;			/* decoded, comma separated, IPv6 without [] */
	char	   *ports;			/* comma separated, "" entries for default */
	bool		has_dbname;
	char	   *dbname;			/* decoded, NULL if absent */
	int			nparams;
	UrlParam   *params;
	/* offsets into the original text, for rewriting */
	size_t		path_start;		/* where "/dbname" starts (or where it would go) */
	size_t		path_end;		/* end of "/dbname" (start of "?query" or end) */
	size_t		pw_start;		/* password text in userinfo, pw_end == 0 if none */
	size_t		pw_end;
} PgUrl;

/* true if s looks like scheme://..., any scheme */
bool		url_looks_like_url(const char *s);
/* parse; on failure returns false and sets *err (static text) */
bool		url_parse(const char *s, PgUrl *u, const char **err);
void		url_free(PgUrl *u);
/* s with its database replaced by dbname (path and any dbname= parameter) */
char	   *url_with_database(const char *s, const PgUrl *u, const char *dbname);
/*
 * URL or libpq conninfo string s pointed at database dbname; NULL with *err
 * set when s cannot be parsed.
 */
char	   *rewrite_database(const char *s, const char *dbname, const char **err);
/* the database s names (URL path / dbname= / conninfo dbname), NULL if none */
char	   *database_of(const char *s, const char **err);
/* percent-decode s[0..n), keeping bad escapes as they are */
char	   *url_decode_lenient(const char *s, size_t n);
/* percent-encode for a URL path segment */
char	   *url_encode(const char *s);

/* ---- redact.c ------------------------------------------------------------ */

/*
 * s with the password replaced by "xxxxx", for messages: the user
 * information's password (from its first ':' to the last '@' when s does
 * not parse or libpq's grammar would cut the password short) and the value
 * of every password= query parameter, in any spelling
 */
char	   *url_redact(const char *s);
/* key (s[0..n), percent-decoded, any case) is "password" or "sslpassword" */
bool		secret_key(const char *key, size_t n);
/* libpq connection string s with its password values replaced by "xxxxx" */
char	   *conninfo_redact(const char *s);
/* a URL, connection string or any word the user gave, fit for a message */
char	   *dsn_redact(const char *s);
/* PQconninfoParse's complaint errmsg about s, without passwords */
char	   *conninfo_error_redacted(const char *s, const char *errmsg);
/* libpq's connection error msg without password parts url's grammar misplaced */
char	   *url_scrub_message(const char *url, const char *msg);

/* ---- conn.c -------------------------------------------------------------- */

/* connect to the maintenance database or exit(1) with a clear message */
PGconn	   *mint_connect(void);
/* like mint_connect but returns NULL (message already printed) on failure */
PGconn	   *mint_try_connect(char **errmsg_out);
/*
 * true when mint_try_connect failed after connecting: the session's
 * search_path could not be cleared (every connection pg_mint makes runs
 * with an empty search_path, so that nothing in a schema another role can
 * write to is resolved)
 */
bool		connect_setup_failed(void);
/* fail with the CREATE EXTENSION hint unless pg_mint is installed */
void		require_extension(PGconn *conn);
/* ---- query.c ------------------------------------------------------------- */

/*
 * Print a server error as "pg_mint: error: CONTEXT: message (SQLSTATE x)"
 * plus detail and hint lines; res may be NULL (connection-level error).
 */
void		report_error(PGconn *conn, const PGresult *res, const char *context);
/* SQLSTATE of an error result, "" if none */
const char *result_sqlstate(const PGresult *res);

typedef enum
{
	Q_OK,						/* *res holds a successful result */
	Q_ERROR,					/* *res holds the error result (or NULL on lost conn) */
	Q_INTERRUPTED,				/* a signal arrived; the server call was cancelled */
	Q_TIMEOUT					/* deadline passed; the server call was cancelled */
} QueryStatus;

/*
 * Run a one-statement query with text parameters, cancelling it (PQcancel)
 * when SIGINT/SIGTERM/SIGHUP arrives or timeout_ms (> 0) passes.
 */
QueryStatus query_interruptible(PGconn *conn, const char *sql, int nparams,
								const char *const *params, long timeout_ms,
								PGresult **res);
/* simple synchronous query; exits(1) with the server error on failure */
PGresult   *query_or_die(PGconn *conn, const char *sql, int nparams,
						 const char *const *params, const char *context);

/* ---- durations.c --------------------------------------------------------- */

/* parse "30s", "500ms", "2m", "1h", "1d", "1.5" (seconds); false if invalid */
bool		parse_duration_ms(const char *s, int64_t *ms);
/* parse or usage error (exit 2) naming the option */
int64_t		duration_or_usage(const char *command, const char *option, const char *s);

/* ---- fingerprint.c ------------------------------------------------------- */

/*
 * SHA-256 (64 hex digits into out[65]) over the files under paths; false
 * with a message printed on error.
 */
bool		fingerprint_files(int npaths, const char *const *paths, char *out);

/* ---- proc.c -------------------------------------------------------------- */

/* install SIGINT/SIGTERM/SIGHUP/SIGQUIT handlers that record the signal */
void		signals_init(void);
/* last signal number received since start, or 0; and how many arrived */
int			signal_received(void);
int			signal_count(void);
/* read end of the self-pipe written by the signal handler */
int			signal_pipe_fd(void);
/*
 * Run argv as a child, forwarding signals sent to pg_mint by another
 * process (a terminal's Ctrl-C already reaches the whole process group).
 * Returns the exit status to report: the child's status, 128+N when it was
 * killed by signal N (*termsig = N, else 0), 127/126 when it could not
 * be executed.
 */
int			run_command(char **argv, int *termsig);

/* ---- cmdutil.c ----------------------------------------------------------- */

/* URL to rewrite: --url if given, else $DATABASE_URL, else NULL */
const char *effective_url(const char *url_opt);
/*
 * effective_url, checked: a usage error naming --url or DATABASE_URL when
 * it cannot be rewritten to another database
 */
const char *url_to_rewrite(const char *command, const char *url_opt);
/* usage error unless cmd (after "--") holds a COMMAND; synopsis for the hint */
void		require_command(const char *command, char **cmd, const char *synopsis);
/* environment a child COMMAND gets to reach database dbname */
void		set_child_env(PGconn *conn, const char *dbname, const char *url);
/*
 * The fingerprint from --fingerprint STR and --fingerprint-files (STR:HASH
 * when both, the hash alone, or STR); NULL when neither is given.  Exits
 * with EXIT_USAGE on unreadable files.
 */
char	   *compose_fingerprint(const char *str, const WordList *files);
/*
 * The run identity: --run if given, else $PG_MINT_RUN, else the first of
 * the CI variables in RUN_ENV_VARS that is set; NULL when none (or "").
 */
#define RUN_ENV_VARS "PG_MINT_RUN", "GITHUB_RUN_ID", "CI_PIPELINE_ID", "BUILDKITE_BUILD_ID", \
	"CIRCLE_WORKFLOW_ID", "BUILD_TAG"
const char *run_identity(const char *command, const char *run_opt);

/* ---- commands ------------------------------------------------------------ */

int			cmd_template(int argc, char **argv, int start);
int			cmd_clone(int argc, char **argv, int start);
int			cmd_run(int argc, char **argv, int start);
int			cmd_drop(int argc, char **argv, int start);
int			cmd_renew(int argc, char **argv, int start);
int			cmd_list(int argc, char **argv, int start);
int			cmd_gc(int argc, char **argv, int start);
int			cmd_url(int argc, char **argv, int start);
int			cmd_doctor(int argc, char **argv, int start);
int			cmd_fingerprint(int argc, char **argv, int start);

#endif
