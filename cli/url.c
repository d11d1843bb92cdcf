/*
 * url.c -- PostgreSQL connection URLs, including SQLAlchemy's
 * "postgresql+driver://" forms.
 *
 * The parser follows libpq's own URI grammar (fe-connect.c) so that pg_mint
 * reads a URL exactly the way libpq would:
 *
 *   scheme://[user[:password]@][host][:port][,host[:port]]...[/dbname][?k=v&...]
 *
 * hosts may be IPv6 literals in brackets or percent-encoded socket
 * directories (%2Fvar%2Frun%2Fpostgresql); the userinfo ends at the first
 * '@' before any '/'.  Rewriting replaces only the database (the path and
 * any dbname= parameter) and copies every other byte of the original text,
 * so scheme, driver, credentials (with their original encoding), hosts,
 * ports and query survive untouched.
 *
 * Layer: pure helper (no server), called by redact.c, conn.c, cmdutil.c and
 * the cmd_*.c files; calls util.c, and libpq only to parse connection
 * strings.
 */
#include "pg_mint.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static size_t
scheme_length(const char *s)
{
	const char *p = s;

	if (!isalpha((unsigned char) *p))
		return 0;
	while (isalnum((unsigned char) *p) || *p == '+' || *p == '-' || *p == '.')
		p++;
	if (strncmp(p, "://", 3) != 0)
		return 0;
	return (size_t) (p - s);
}

bool
url_looks_like_url(const char *s)
{
	return s != NULL && scheme_length(s) > 0;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* percent-decode s[0..n); NULL on a bad escape or %00 (as libpq) */
static char *
decode(const char *s, size_t n)
{
	char	   *out = xmalloc(n + 1);
	size_t		i,
				o = 0;

	for (i = 0; i < n; i++)
	{
		if (s[i] == '%')
		{
			int			hi,
						lo;

			if (i + 2 >= n)
			{
				free(out);
				return NULL;
			}
			hi = hexval(s[i + 1]);
			lo = hexval(s[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
			{
				free(out);
				return NULL;
			}
			out[o++] = (char) (hi * 16 + lo);
			i += 2;
		}
		else
			out[o++] = s[i];
	}
	out[o] = '\0';
	return out;
}

char *
url_encode(const char *s)
{
	StrBuf		sb;
	static const char hex[] = "0123456789ABCDEF";

	sb_init(&sb);
	for (; *s; s++)
	{
		unsigned char c = (unsigned char) *s;

		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~')
			sb_putc(&sb, (char) c);
		else
		{
			sb_putc(&sb, '%');
			sb_putc(&sb, hex[c >> 4]);
			sb_putc(&sb, hex[c & 15]);
		}
	}
	return sb.data;
}

void
url_free(PgUrl *u)
{
	int			i;

	free(u->scheme);
	free(u->driver);
	free(u->user);
	free(u->password);
	free(u->hosts);
	free(u->ports);
	free(u->dbname);
	for (i = 0; i < u->nparams; i++)
	{
		free(u->params[i].key);
		free(u->params[i].value);
	}
	free(u->params);
	memset(u, 0, sizeof(*u));
}

/*
 * The steps of url_parse, in the order of the grammar.  Each reads from *pp
 * (s is the whole URL, for offsets), fills its part of u, moves *pp past
 * what it read, and returns NULL, or what is wrong.
 */

/* "scheme" or "scheme+driver" (s[0..slen), slen > 0) */
static const char *
parse_scheme(const char *s, size_t slen, PgUrl *u)
{
	const char *plus = memchr(s, '+', slen);

	if (!plus)
	{
		u->scheme = xstrndup(s, slen);
		return NULL;
	}
	u->scheme = xstrndup(s, (size_t) (plus - s));
	u->driver = xstrndup(plus + 1, slen - (size_t) (plus - s) - 1);
	if (u->driver[0] == '\0')
		return "empty driver name after \"+\" in the URL scheme";
	return NULL;
}

/* "user[:password]@": up to the first '@' before any '/' (as libpq) */
static const char *
parse_userinfo(const char *s, const char **pp, PgUrl *u)
{
	const char *ui = *pp,
			   *at = ui,
			   *colon = ui;

	while (*at && *at != '@' && *at != '/')
		at++;
	if (*at != '@')
		return NULL;			/* no user information */

	u->has_userinfo = true;
	while (colon < at && *colon != ':')
		colon++;
	if (colon > ui)
	{
		u->user = decode(ui, (size_t) (colon - ui));
		if (!u->user)
			return "invalid percent-encoding in the user name";
	}
	if (colon < at)
	{
		u->password = decode(colon + 1, (size_t) (at - colon - 1));
		if (!u->password)
			return "invalid percent-encoding in the password";
		u->pw_start = (size_t) (colon + 1 - s);
		u->pw_end = (size_t) (at - s);
	}
	*pp = at + 1;
	return NULL;
}

/* one host, percent-encoded or an IPv6 literal in brackets, onto hosts */
static const char *
parse_host(const char **pp, StrBuf *hosts)
{
	const char *p = *pp,
			   *h;
	size_t		hlen;
	char	   *dh;

	if (*p == '[')
	{
		h = ++p;
		while (*p && *p != ']')
			p++;
		if (!*p)
			return "missing \"]\" after an IPv6 host address";
		if (p == h)
			return "empty IPv6 host address";
		hlen = (size_t) (p - h);
		p++;
		if (*p && *p != ':' && *p != '/' && *p != '?' && *p != ',')
			return "unexpected character after an IPv6 host address";
	}
	else
	{
		h = p;
		while (*p && *p != ':' && *p != '/' && *p != '?' && *p != ',')
			p++;
		hlen = (size_t) (p - h);
	}
	dh = decode(h, hlen);
	if (!dh)
		return "invalid percent-encoding in a host name";
	sb_puts(hosts, dh);
	free(dh);
	*pp = p;
	return NULL;
}

/* ":port" after a host, onto ports; "host:" (empty) is the default port */
static const char *
parse_port(const char **pp, StrBuf *ports)
{
	const char *p = *pp,
			   *pt;

	if (*p != ':')
		return NULL;
	pt = ++p;
	while (*p && *p != '/' && *p != '?' && *p != ',')
		p++;
	for (const char *q = pt; q < p; q++)
		if (!isdigit((unsigned char) *q))
			return "invalid port number";
	sb_putn(ports, pt, (size_t) (p - pt));
	*pp = p;
	return NULL;
}

/* "host[:port][,host[:port]]...": u->hosts and u->ports, comma separated */
static const char *
parse_hosts(const char **pp, PgUrl *u)
{
	StrBuf		hosts,
				ports;
	const char *err;

	sb_init(&hosts);
	sb_init(&ports);
	for (;;)
	{
		if ((err = parse_host(pp, &hosts)) != NULL ||
			(err = parse_port(pp, &ports)) != NULL)
		{
			sb_free(&hosts);
			sb_free(&ports);
			return err;
		}
		if (**pp != ',')
			break;
		(*pp)++;
		sb_putc(&hosts, ',');
		sb_putc(&ports, ',');
	}
	u->hosts = hosts.data;
	u->ports = ports.data;
	/* "host1,host2" with no ports at all leaves ports as ","; drop it */
	if (strspn(u->ports, ",") == strlen(u->ports))
		u->ports[0] = '\0';
	return NULL;
}

/* "/dbname", and where it is (or would go) for url_with_database */
static const char *
parse_path(const char *s, const char **pp, PgUrl *u)
{
	const char *p = *pp;

	u->path_start = (size_t) (p - s);
	if (*p == '/')
	{
		const char *d = ++p;

		while (*p && *p != '?')
			p++;
		if (p > d)
		{
			u->dbname = decode(d, (size_t) (p - d));
			if (!u->dbname)
				return "invalid percent-encoding in the database name";
			u->has_dbname = true;
		}
	}
	u->path_end = (size_t) (p - s);
	*pp = p;
	return NULL;
}

/* one "key=value" of the query: kv[0..end), eq its first '=' or NULL */
static const char *
parse_param(const char *kv, const char *eq, const char *end, PgUrl *u)
{
	char	   *key,
			   *val;

	if (!eq)
		return "missing \"=\" in a URL query parameter";
	key = decode(kv, (size_t) (eq - kv));
	val = decode(eq + 1, (size_t) (end - eq - 1));
	if (!key || !val)
	{
		free(key);
		free(val);
		return "invalid percent-encoding in a URL query parameter";
	}
	u->params = xrealloc(u->params, sizeof(UrlParam) * (size_t) (u->nparams + 1));
	u->params[u->nparams].key = key;
	u->params[u->nparams].value = val;
	u->nparams++;
	/* a dbname= parameter names the database too (the last one wins) */
	if (strcmp(key, "dbname") == 0)
	{
		free(u->dbname);
		u->dbname = xstrdup(val);
		u->has_dbname = val[0] != '\0';
	}
	return NULL;
}

/* "key=value&..." after the '?': u->params */
static const char *
parse_query(const char *p, PgUrl *u)
{
	while (*p)
	{
		const char *kv = p,
				   *eq = NULL,
				   *err;

		while (*p && *p != '&')
		{
			if (*p == '=' && !eq)
				eq = p;
			else if (*p == '=')
				return "extra \"=\" in a URL query parameter";
			p++;
		}
		if (p > kv && (err = parse_param(kv, eq, p, u)) != NULL)
			return err;
		if (*p == '&')
			p++;
	}
	return NULL;
}

bool
url_parse(const char *s, PgUrl *u, const char **err)
{
	size_t		slen = scheme_length(s);
	const char *p,
			   *e;

	memset(u, 0, sizeof(*u));
	if (slen == 0)
		e = "not a URL (expected scheme://...)";
	else
	{
		p = s + slen + 3;
		if ((e = parse_scheme(s, slen, u)) == NULL &&
			(e = parse_userinfo(s, &p, u)) == NULL &&
			(e = parse_hosts(&p, u)) == NULL &&
			(e = parse_path(s, &p, u)) == NULL &&
			*p == '?')
			e = parse_query(p + 1, u);
	}
	if (e)
	{
		*err = e;
		url_free(u);
		return false;
	}
	return true;
}

char *
url_with_database(const char *s, const PgUrl *u, const char *dbname)
{
	StrBuf		sb;
	char	   *enc = url_encode(dbname);
	const char *q;

	sb_init(&sb);
	sb_putn(&sb, s, u->path_start);
	sb_putc(&sb, '/');
	sb_puts(&sb, enc);

	q = s + u->path_end;
	if (*q == '?')
	{
		/* copy the query, replacing the value of any dbname= parameter */
		const char *p = q + 1;

		sb_putc(&sb, '?');
		while (*p)
		{
			const char *piece = p;
			const char *eq;
			size_t		plen;

			while (*p && *p != '&')
				p++;
			plen = (size_t) (p - piece);
			eq = memchr(piece, '=', plen);
			if (eq)
			{
				char	   *key = decode(piece, (size_t) (eq - piece));

				if (key && strcmp(key, "dbname") == 0)
				{
					sb_putn(&sb, piece, (size_t) (eq - piece) + 1);
					sb_puts(&sb, enc);
				}
				else
					sb_putn(&sb, piece, plen);
				free(key);
			}
			else
				sb_putn(&sb, piece, plen);
			if (*p == '&')
			{
				sb_putc(&sb, '&');
				p++;
			}
		}
	}
	free(enc);
	return sb.data;
}

/* percent-decode s[0..n), keeping bad escapes (and %00) as they are */
char *
url_decode_lenient(const char *s, size_t n)
{
	char	   *out = xmalloc(n + 1);
	size_t		i,
				o = 0;

	for (i = 0; i < n; i++)
	{
		if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0 &&
			(hexval(s[i + 1]) | hexval(s[i + 2])) != 0)
		{
			out[o++] = (char) (hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
			i += 2;
		}
		else
			out[o++] = s[i];
	}
	out[o] = '\0';
	return out;
}

char *
rewrite_database(const char *s, const char *dbname, const char **err)
{
	if (url_looks_like_url(s))
	{
		PgUrl		u;
		char	   *out;

		if (!url_parse(s, &u, err))
			return NULL;
		out = url_with_database(s, &u, dbname);
		url_free(&u);
		return out;
	}
	else
	{
		/* a libpq conninfo string: a later dbname= wins */
		char	   *errmsg = NULL;
		PQconninfoOption *opts = PQconninfoParse(s, &errmsg);
		StrBuf		sb;
		const char *p;

		if (!opts)
		{
			*err = "neither a URL nor a valid libpq connection string";
			PQfreemem(errmsg);
			return NULL;
		}
		PQconninfoFree(opts);
		sb_init(&sb);
		sb_puts(&sb, s);
		if (sb.len > 0)
			sb_putc(&sb, ' ');
		sb_puts(&sb, "dbname='");
		for (p = dbname; *p; p++)
		{
			if (*p == '\'' || *p == '\\')
				sb_putc(&sb, '\\');
			sb_putc(&sb, *p);
		}
		sb_putc(&sb, '\'');
		return sb.data;
	}
}

char *
database_of(const char *s, const char **err)
{
	*err = NULL;
	if (url_looks_like_url(s))
	{
		PgUrl		u;
		char	   *db;

		if (!url_parse(s, &u, err))
			return NULL;
		db = u.has_dbname ? xstrdup(u.dbname) : NULL;
		url_free(&u);
		return db;
	}
	else
	{
		char	   *errmsg = NULL;
		PQconninfoOption *opts = PQconninfoParse(s, &errmsg);
		PQconninfoOption *o;
		char	   *db = NULL;

		if (!opts)
		{
			*err = "neither a URL nor a valid libpq connection string";
			PQfreemem(errmsg);
			return NULL;
		}
		for (o = opts; o->keyword; o++)
			if (strcmp(o->keyword, "dbname") == 0 && o->val && o->val[0])
				db = xstrdup(o->val);
		PQconninfoFree(opts);
		return db;
	}
}
