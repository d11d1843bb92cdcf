/*
 * conn.c -- connecting to the maintenance database, reporting server
 * errors, and queries that a signal or a deadline can cancel.
 *
 * Where the connection parameters come from, lowest to highest priority:
 *   1. libpq's defaults: PGHOST, PGPORT, PGUSER, PGPASSWORD, PGSERVICE,
 *      service files, .pgpass ...
 *   2. DATABASE_URL, only when nothing else says where to connect: no
 *      --dsn / PG_MINT_DSN, no -h/-p/-U, no PGHOST/PGHOSTADDR/PGPORT/PGUSER/
 *      PGSERVICE.  Its host, port, user, password and libpq parameters are
 *      used; its database is not (pg_mint talks to the maintenance database).
 *   3. -h/--host, -p/--port, -U/--username.
 *   4. --dsn CONNINFO_OR_URL, or PG_MINT_DSN: overrides all of the above.
 * The database is -d/--dbname, else the one named in --dsn, else "postgres".
 * PGDATABASE is ignored for the maintenance database (as createdb does):
 * it usually names the application's database.
 */
#include "pg_mint.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

ConnOpts	conn_opts;

bool
handle_common_option(int id, const char *value)
{
	switch (id)
	{
		case OPT_HOST:
			conn_opts.host = value;
			return true;
		case OPT_PORT:
			conn_opts.port = value;
			return true;
		case OPT_USER:
			conn_opts.user = value;
			return true;
		case OPT_DBNAME:
			conn_opts.dbname = value;
			return true;
		case OPT_DSN:
			conn_opts.dsn = value;
			return true;
		case OPT_NO_PASSWORD:
			conn_opts.prompt = -1;
			return true;
		case OPT_PASSWORD:
			conn_opts.prompt = 1;
			return true;
		case OPT_QUIET:
			quiet = true;
			return true;
		default:
			return false;
	}
}

/* ---- parameter list ------------------------------------------------------ */

#define MAX_KW 64

typedef struct ConnParams
{
	const char *kw[MAX_KW + 1];
	const char *val[MAX_KW + 1];
	int			n;
} ConnParams;

/* set (or replace) a keyword */
static void
cp_set(ConnParams *cp, const char *kw, const char *val)
{
	int			i;

	for (i = 0; i < cp->n; i++)
		if (strcmp(cp->kw[i], kw) == 0)
		{
			cp->val[i] = val;
			return;
		}
	if (cp->n < MAX_KW)
	{
		cp->kw[cp->n] = kw;
		cp->val[cp->n] = val;
		cp->n++;
		cp->kw[cp->n] = NULL;
		cp->val[cp->n] = NULL;
	}
}

static bool
libpq_knows(const char *kw)
{
	static PQconninfoOption *defs = NULL;
	PQconninfoOption *o;

	if (!defs)
		defs = PQconndefaults();
	if (!defs)
		return false;
	for (o = defs; o->keyword; o++)
		if (strcmp(o->keyword, kw) == 0)
			return true;
	return false;
}

void
url_param_to_libpq(const char *key, const char *value,
				   const char **lkey, const char **lvalue)
{
	*lkey = NULL;
	*lvalue = NULL;
	/* libpq itself maps ssl=true to sslmode=require; asyncpg uses ssl=MODE */
	if (strcmp(key, "ssl") == 0)
	{
		if (strcmp(value, "true") == 0)
			*lkey = "sslmode", *lvalue = "require";
		else if (strcmp(value, "disable") == 0 || strcmp(value, "allow") == 0 ||
				 strcmp(value, "prefer") == 0 || strcmp(value, "require") == 0 ||
				 strcmp(value, "verify-ca") == 0 || strcmp(value, "verify-full") == 0)
			*lkey = "sslmode", *lvalue = value;
		return;
	}
	if (strcmp(key, "dbname") == 0)
		return;					/* handled by the caller */
	if (libpq_knows(key))
		*lkey = key, *lvalue = value;
}

/*
 * the URLs the parameters came from, to keep parts of their passwords out
 * of libpq's connection errors (url_scrub_message)
 */
static const char *param_urls[2];
static int	n_param_urls;

/* add what a URL or conninfo string says; returns its dbname or NULL */
static const char *
add_dsn(ConnParams *cp, const char *dsn, const char *what)
{
	if (url_looks_like_url(dsn))
	{
		PgUrl	   *u = xmalloc(sizeof(PgUrl));
		const char *err;
		int			i;
		static bool warned = false;

		if (!url_parse(dsn, u, &err))
		{
			char	   *red = url_redact(dsn);

			log_error("invalid %s \"%s\": %s", what, red, err);
			exit(EXIT_USAGE);
		}
		if (n_param_urls < 2)
			param_urls[n_param_urls++] = dsn;
		if (strcmp(u->scheme, "postgresql") != 0 && strcmp(u->scheme, "postgres") != 0)
		{
			log_error("invalid %s: unsupported URL scheme \"%s\" (expected postgresql:// or postgresql+DRIVER://)",
					  what, u->scheme);
			exit(EXIT_USAGE);
		}
		if (u->hosts[0] && strspn(u->hosts, ",") != strlen(u->hosts))
			cp_set(cp, "host", u->hosts);
		if (u->ports[0])
			cp_set(cp, "port", u->ports);
		if (u->user)
			cp_set(cp, "user", u->user);
		if (u->password)
			cp_set(cp, "password", u->password);
		for (i = 0; i < u->nparams; i++)
		{
			const char *k,
					   *v;

			url_param_to_libpq(u->params[i].key, u->params[i].value, &k, &v);
			if (k)
				cp_set(cp, k, v);
			else if (strcmp(u->params[i].key, "dbname") != 0 && !warned)
			{
				log_warning("ignoring URL parameter \"%s\" of %s (not a libpq parameter)",
							u->params[i].key, what);
				warned = true;
			}
		}
		return u->has_dbname ? u->dbname : NULL;
	}
	else
	{
		char	   *errmsg = NULL;
		PQconninfoOption *opts = PQconninfoParse(dsn, &errmsg);
		PQconninfoOption *o;
		const char *db = NULL;

		if (!opts)
		{
			/* libpq quotes the word it stumbled on: it may be a password */
			log_error("invalid %s: %s", what, conninfo_error_redacted(dsn, errmsg));
			exit(EXIT_USAGE);
		}
		for (o = opts; o->keyword; o++)
		{
			if (!o->val)
				continue;
			if (strcmp(o->keyword, "dbname") == 0)
				db = o->val;
			else
				cp_set(cp, o->keyword, o->val);
		}
		return db;
	}
}

static bool
env_set(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && v[0] != '\0';
}

static void
build_params(ConnParams *cp)
{
	const char *dsn = conn_opts.dsn;
	const char *dbname = NULL;

	memset(cp, 0, sizeof(*cp));
	cp_set(cp, "fallback_application_name", "pg_mint");

	if (!dsn && env_set("PG_MINT_DSN"))
		dsn = getenv("PG_MINT_DSN");

	if (!dsn && !conn_opts.host && !conn_opts.port && !conn_opts.user &&
		!env_set("PGHOST") && !env_set("PGHOSTADDR") && !env_set("PGPORT") &&
		!env_set("PGUSER") && !env_set("PGSERVICE") && env_set("DATABASE_URL"))
		(void) add_dsn(cp, getenv("DATABASE_URL"), "DATABASE_URL");

	if (conn_opts.host)
		cp_set(cp, "host", conn_opts.host);
	if (conn_opts.port)
		cp_set(cp, "port", conn_opts.port);
	if (conn_opts.user)
		cp_set(cp, "user", conn_opts.user);

	if (dsn)
		dbname = add_dsn(cp, dsn, conn_opts.dsn ? "--dsn" : "PG_MINT_DSN");

	if (conn_opts.dbname)
		dbname = conn_opts.dbname;
	cp_set(cp, "dbname", dbname ? dbname : "postgres");
}

/* ---- password prompt ----------------------------------------------------- */

static char *
prompt_password(void)
{
	int			fd = open("/dev/tty", O_RDWR);
	struct termios old,
				noecho;
	char		buf[1024];
	ssize_t		n;
	size_t		len = 0;

	if (fd < 0)
		return NULL;
	if (write(fd, "Password: ", 10) < 0)
	{
		close(fd);
		return NULL;
	}
	tcgetattr(fd, &old);
	noecho = old;
	noecho.c_lflag &= ~(tcflag_t) ECHO;
	tcsetattr(fd, TCSAFLUSH, &noecho);
	while (len < sizeof(buf) - 1 && (n = read(fd, buf + len, 1)) == 1 && buf[len] != '\n')
		len++;
	buf[len] = '\0';
	tcsetattr(fd, TCSAFLUSH, &old);
	(void) !write(fd, "\n", 1);
	close(fd);
	return xstrdup(buf);
}

/* ---- connecting ---------------------------------------------------------- */

/* run right after connecting, as src/include/fe_utils/connect_utils.h does */
#define ALWAYS_SECURE_SEARCH_PATH_SQL \
	"SELECT pg_catalog.set_config('search_path', '', false)"

/* connected, but the session could not be made safe (not a "where" problem) */
static bool setup_failed = false;

bool
connect_setup_failed(void)
{
	return setup_failed;
}

PGconn *
mint_try_connect(char **errmsg_out)
{
	ConnParams	cp;
	PGconn	   *conn;
	char	   *pw = NULL;

	build_params(&cp);
	if (conn_opts.prompt == 1)
	{
		pw = prompt_password();
		if (pw)
			cp_set(&cp, "password", pw);
	}

	for (;;)
	{
		conn = PQconnectdbParams(cp.kw, cp.val, 0);
		if (!conn)
		{
			*errmsg_out = xstrdup("out of memory");
			return NULL;
		}
		if (PQstatus(conn) == CONNECTION_OK)
			break;
		if (PQconnectionNeedsPassword(conn) && !pw && conn_opts.prompt != -1 &&
			isatty(STDIN_FILENO) && (pw = prompt_password()) != NULL)
		{
			PQfinish(conn);
			cp_set(&cp, "password", pw);
			continue;
		}
		{
			char	   *m = xstrdup(PQerrorMessage(conn));
			size_t		l;
			int			i;

			for (i = 0; i < n_param_urls; i++)
			{
				char	   *scrubbed = url_scrub_message(param_urls[i], m);

				free(m);
				m = scrubbed;
			}
			l = strlen(m);
			while (l > 0 && (m[l - 1] == '\n' || m[l - 1] == ' '))
				m[--l] = '\0';
			*errmsg_out = m;
		}
		PQfinish(conn);
		return NULL;
	}

	/*
	 * Nothing the server resolves for us may come from a schema another
	 * role can write to: with an empty search_path only pg_catalog (and
	 * pg_temp, never for functions and operators) is searched, as in
	 * PostgreSQL's own client programs (ALWAYS_SECURE_SEARCH_PATH_SQL).  A
	 * search_path from PGOPTIONS or the role's settings would otherwise let
	 * an operator or function someone created in, say, public run as us.
	 * This changes the session only: a COMMAND pg_mint runs connects on its
	 * own with the user's settings (set_child_env).
	 */
	{
		PGresult   *res = PQexec(conn, ALWAYS_SECURE_SEARCH_PATH_SQL);

		if (!res || PQresultStatus(res) != PGRES_TUPLES_OK)
		{
			const char *m = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
			char	   *msg = xstrdup(m ? m : PQerrorMessage(conn));
			size_t		l = strlen(msg);

			while (l > 0 && (msg[l - 1] == '\n' || msg[l - 1] == ' '))
				msg[--l] = '\0';
			*errmsg_out = xasprintf("could not clear search_path: %s", msg[0] ? msg : "unknown error");
			free(msg);
			setup_failed = true;
			PQclear(res);
			PQfinish(conn);
			return NULL;
		}
		PQclear(res);
	}
	/* stable, locale-independent output from the server */
	PQclear(PQexec(conn, "SET client_min_messages = warning"));
	return conn;
}

PGconn *
mint_connect(void)
{
	char	   *err = NULL;
	PGconn	   *conn = mint_try_connect(&err);

	if (!conn)
	{
		log_error("could not connect to the maintenance database: %s", err);
		if (!setup_failed)
			log_hint("Say where the server is with -h/-p/-U/-d, --dsn or PG_MINT_DSN, PGHOST/PGPORT/PGUSER, or DATABASE_URL.");
		exit(EXIT_RUNTIME);
	}
	return conn;
}

void
require_extension(PGconn *conn)
{
	PGresult   *res = query_or_die(conn,
								   "SELECT extversion FROM pg_catalog.pg_extension"
								   " WHERE extname OPERATOR(pg_catalog.=) 'pg_mint'",
								   0, NULL, "could not check for the pg_mint extension");

	if (PQntuples(res) == 0)
	{
		PGresult   *av = query_or_die(conn,
									  "SELECT 1 FROM pg_catalog.pg_available_extensions"
									  " WHERE name OPERATOR(pg_catalog.=) 'pg_mint'",
									  0, NULL, "could not check for the pg_mint extension");
		bool		available = PQntuples(av) > 0;

		log_error("extension \"pg_mint\" is not installed in database \"%s\"", PQdb(conn));
		if (available)
			log_hint("Install it there once, as a role allowed to create extensions: psql -d %s -c 'CREATE EXTENSION pg_mint'",
					 PQdb(conn));
		else
			log_hint("The server does not have pg_mint's files: run \"make install\" on the database server, then: psql -d %s -c 'CREATE EXTENSION pg_mint'",
					 PQdb(conn));
		PQclear(av);
		PQclear(res);
		PQfinish(conn);
		exit(EXIT_RUNTIME);
	}
	if (strcmp(PQgetvalue(res, 0, 0), MINT_VERSION) != 0)
		log_warning("extension pg_mint %s is installed in database \"%s\", this program is version %s",
					PQgetvalue(res, 0, 0), PQdb(conn), MINT_VERSION);
	PQclear(res);
}

/* ---- errors -------------------------------------------------------------- */

const char *
result_sqlstate(const PGresult *res)
{
	const char *s = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	return s ? s : "";
}

static char *
trimmed(const char *s)
{
	char	   *m = xstrdup(s ? s : "");
	size_t		l = strlen(m);

	while (l > 0 && (m[l - 1] == '\n' || m[l - 1] == ' '))
		m[--l] = '\0';
	return m;
}

void
report_error(PGconn *conn, const PGresult *res, const char *context)
{
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
	const char *hint = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_HINT) : NULL;
	const char *state = result_sqlstate(res);
	char	   *msg;

	if (primary)
		msg = trimmed(primary);
	else if (res && PQresultErrorMessage(res)[0])
		msg = trimmed(PQresultErrorMessage(res));
	else if (conn && PQerrorMessage(conn)[0])
		msg = trimmed(PQerrorMessage(conn));
	else
		msg = xstrdup("unknown error");

	if (state[0])
		log_error("%s%s%s (SQLSTATE %s)", context ? context : "", context ? ": " : "", msg, state);
	else
		log_error("%s%s%s", context ? context : "", context ? ": " : "", msg);
	if (detail)
		log_detail("%s", detail);
	if (hint)
		log_hint("%s", hint);
	free(msg);
}

/* ---- queries ------------------------------------------------------------- */

static void
send_cancel(PGconn *conn)
{
	PGcancel   *c = PQgetCancel(conn);
	char		errbuf[256];

	if (c)
	{
		if (!PQcancel(c, errbuf, sizeof(errbuf)))
			log_warning("could not send cancel request: %s", errbuf);
		PQfreeCancel(c);
	}
}

static void
drain_signal_pipe(void)
{
	char		buf[64];

	while (read(signal_pipe_fd(), buf, sizeof(buf)) > 0)
		;
}

QueryStatus
query_interruptible(PGconn *conn, const char *sql, int nparams,
					const char *const *params, long timeout_ms,
					PGresult **res)
{
	QueryStatus status = Q_OK;
	bool		cancelled = false;
	int			signals_at_start = 0;	/* any signal since pg_mint started */
	int			signals_at_cancel = 0;
	double		deadline = timeout_ms > 0 ? now_seconds() + timeout_ms / 1000.0 : 0;
	PGresult   *r,
			   *keep = NULL;

	*res = NULL;
	/* a signal that arrived earlier (say, while connecting) counts too */
	if (signal_count() != signals_at_start)
		return Q_INTERRUPTED;
	if (!PQsendQueryParams(conn, sql, nparams, NULL, params, NULL, NULL, 0))
		return Q_ERROR;

	for (;;)
	{
		struct pollfd pfd[2];
		int			wait_ms = -1;
		int			rc;

		if (!PQisBusy(conn))
			break;

		if (!cancelled && signal_count() != signals_at_start)
		{
			send_cancel(conn);
			cancelled = true;
			signals_at_cancel = signal_count();
			status = Q_INTERRUPTED;
		}
		else if (cancelled && status == Q_INTERRUPTED && signal_count() != signals_at_cancel)
		{
			/* a second Ctrl-C: stop waiting for the server */
			log_error("interrupted again, giving up on the server");
			PQfinish(conn);
			exit(128 + signal_received());
		}
		if (!cancelled && deadline > 0)
		{
			double		left = deadline - now_seconds();

			if (left <= 0)
			{
				send_cancel(conn);
				cancelled = true;
				signals_at_cancel = signal_count();
				status = Q_TIMEOUT;
				continue;
			}
			wait_ms = (int) (left * 1000) + 1;
		}

		pfd[0].fd = PQsocket(conn);
		pfd[0].events = POLLIN;
		pfd[0].revents = 0;
		pfd[1].fd = signal_pipe_fd();
		pfd[1].events = POLLIN;
		pfd[1].revents = 0;
		rc = poll(pfd, 2, wait_ms);
		if (rc < 0)
		{
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[1].revents)
			drain_signal_pipe();
		if (pfd[0].revents)
		{
			if (!PQconsumeInput(conn))
				break;
		}
	}

	while ((r = PQgetResult(conn)) != NULL)
	{
		if (keep && PQresultStatus(keep) == PGRES_FATAL_ERROR)
		{
			PQclear(r);
			continue;
		}
		if (keep)
			PQclear(keep);
		keep = r;
	}
	*res = keep;
	if (status != Q_OK)
		return status;
	if (!keep || (PQresultStatus(keep) != PGRES_TUPLES_OK &&
				  PQresultStatus(keep) != PGRES_COMMAND_OK))
		return Q_ERROR;
	return Q_OK;
}

PGresult *
query_or_die(PGconn *conn, const char *sql, int nparams,
			 const char *const *params, const char *context)
{
	PGresult   *res;
	QueryStatus st = query_interruptible(conn, sql, nparams, params, 0, &res);

	switch (st)
	{
		case Q_OK:
			return res;
		case Q_INTERRUPTED:
			log_error("%s: canceled by signal %d", context, signal_received());
			PQfinish(conn);
			exit(128 + signal_received());
		case Q_TIMEOUT:
		case Q_ERROR:
			break;
	}
	report_error(conn, res, context);
	PQfinish(conn);
	exit(EXIT_RUNTIME);
}

/* ---- environment for COMMAND --------------------------------------------- */

const char *
effective_url(const char *url_opt)
{
	if (url_opt)
		return url_opt;
	if (env_set("DATABASE_URL"))
		return getenv("DATABASE_URL");
	return NULL;
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
