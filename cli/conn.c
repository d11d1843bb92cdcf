/*
 * conn.c -- connecting to the maintenance database, and checking that the
 * extension is installed there.
 *
 * Layer: shared helper, called by the cmd_*.c files; calls url.c,
 * redact.c, query.c (require_extension) and util.c.
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

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

ConnOpts	conn_opts;

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

/* a URL query parameter as a libpq keyword/value; NULL key to skip it */
static void
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
