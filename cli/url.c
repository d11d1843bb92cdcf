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

#define FAIL(msg) do { *err = (msg); url_free(u); return false; } while (0)

bool
url_parse(const char *s, PgUrl *u, const char **err)
{
	size_t		slen = scheme_length(s);
	const char *start,
			   *p;
	const char *plus;
	StrBuf		hosts,
				ports;
	char		prevchar;

	memset(u, 0, sizeof(*u));
	if (slen == 0)
		FAIL("not a URL (expected scheme://...)");

	plus = memchr(s, '+', slen);
	if (plus)
	{
		u->scheme = xstrndup(s, (size_t) (plus - s));
		u->driver = xstrndup(plus + 1, slen - (size_t) (plus - s) - 1);
		if (u->driver[0] == '\0')
			FAIL("empty driver name after \"+\" in the URL scheme");
	}
	else
		u->scheme = xstrndup(s, slen);

	start = s + slen + 3;

	/* userinfo: up to the first '@' before any '/' (as libpq) */
	p = start;
	while (*p && *p != '@' && *p != '/')
		p++;
	if (*p == '@')
	{
		const char *ui = start;
		const char *colon = ui;

		u->has_userinfo = true;
		while (colon < p && *colon != ':')
			colon++;
		if (colon > ui)
		{
			u->user = decode(ui, (size_t) (colon - ui));
			if (!u->user)
				FAIL("invalid percent-encoding in the user name");
		}
		if (colon < p)
		{
			u->password = decode(colon + 1, (size_t) (p - colon - 1));
			if (!u->password)
				FAIL("invalid percent-encoding in the password");
			u->pw_start = (size_t) (colon + 1 - s);
			u->pw_end = (size_t) (p - s);
		}
		p++;
	}
	else
		p = start;

	/* host list */
	sb_init(&hosts);
	sb_init(&ports);
	for (;;)
	{
		const char *h;
		size_t		hlen;
		char	   *dh;

		if (*p == '[')
		{
			h = ++p;
			while (*p && *p != ']')
				p++;
			if (!*p)
			{
				sb_free(&hosts);
				sb_free(&ports);
				FAIL("missing \"]\" after an IPv6 host address");
			}
			if (p == h)
			{
				sb_free(&hosts);
				sb_free(&ports);
				FAIL("empty IPv6 host address");
			}
			hlen = (size_t) (p - h);
			p++;
			if (*p && *p != ':' && *p != '/' && *p != '?' && *p != ',')
			{
				sb_free(&hosts);
				sb_free(&ports);
				FAIL("unexpected character after an IPv6 host address");
			}
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
		{
			sb_free(&hosts);
			sb_free(&ports);
			FAIL("invalid percent-encoding in a host name");
		}
		sb_puts(&hosts, dh);
		free(dh);

		prevchar = *p;
		if (prevchar == ':')
		{
			const char *pt = ++p;

			while (*p && *p != '/' && *p != '?' && *p != ',')
				p++;
			/* "host:" (empty) means the default port */
			for (const char *q = pt; q < p; q++)
				if (!isdigit((unsigned char) *q))
				{
					sb_free(&hosts);
					sb_free(&ports);
					FAIL("invalid port number");
				}
			sb_putn(&ports, pt, (size_t) (p - pt));
			prevchar = *p;
		}
		if (prevchar != ',')
			break;
		p++;
		sb_putc(&hosts, ',');
		sb_putc(&ports, ',');
	}
	u->hosts = hosts.data;
	u->ports = ports.data;
	/* "host1,host2" with no ports at all leaves ports as ","; drop it */
	if (strspn(u->ports, ",") == strlen(u->ports))
		u->ports[0] = '\0';

	u->path_start = (size_t) (p - s);
	if (prevchar == '/')
	{
		const char *d = ++p;

		while (*p && *p != '?')
			p++;
		if (p > d)
		{
			u->dbname = decode(d, (size_t) (p - d));
			if (!u->dbname)
				FAIL("invalid percent-encoding in the database name");
			u->has_dbname = true;
		}
		prevchar = *p;
	}
	u->path_end = (size_t) (p - s);

	if (prevchar == '?')
	{
		p++;
		while (*p)
		{
			const char *kv = p,
					   *eq = NULL;
			char	   *key,
					   *val;

			while (*p && *p != '&')
			{
				if (*p == '=' && !eq)
					eq = p;
				else if (*p == '=')
					FAIL("extra \"=\" in a URL query parameter");
				p++;
			}
			if (p > kv)
			{
				if (!eq)
					FAIL("missing \"=\" in a URL query parameter");
				key = decode(kv, (size_t) (eq - kv));
				val = decode(eq + 1, (size_t) (p - eq - 1));
				if (!key || !val)
				{
					free(key);
					free(val);
					FAIL("invalid percent-encoding in a URL query parameter");
				}
				u->params = xrealloc(u->params, sizeof(UrlParam) * (size_t) (u->nparams + 1));
				u->params[u->nparams].key = key;
				u->params[u->nparams].value = val;
				u->nparams++;
				if (strcmp(key, "dbname") == 0)
				{
					free(u->dbname);
					u->dbname = xstrdup(val);
					u->has_dbname = val[0] != '\0';
				}
			}
			if (*p == '&')
				p++;
		}
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

bool
url_password_span(const char *s, size_t limit, size_t *start, size_t *end)
{
	size_t		slen = scheme_length(s);
	const char *ui,
			   *at = NULL,
			   *colon,
			   *p;

	if (slen > 0)
		ui = s + slen + 3;
	else if ((ui = strstr(s, "://")) != NULL)
		ui += 3;
	else
		return false;
	for (p = ui; *p && (size_t) (p - s) < limit; p++)
		if (*p == '@')
			at = p;
	if (!at)
		return false;
	colon = memchr(ui, ':', (size_t) (at - ui));
	if (!colon)
		return false;
	*start = (size_t) (colon + 1 - s);
	*end = (size_t) (at - s);
	return true;
}

/* what url_redact hides: characters, and empty passwords (a place) */
#define HIDE_CHAR	1
#define HIDE_BEFORE	2

static void
hide_span(unsigned char *hide, size_t from, size_t to)
{
	hide[from] |= HIDE_BEFORE;
	for (; from < to; from++)
		hide[from] |= HIDE_CHAR;
}

/*
 * Mark the value of every query parameter of s[from..n) whose key names a
 * password (secret_key: any case, any percent-encoding).  A parameter
 * starts after a '?' or '&' and its value runs to the next '&'.  Words
 * without '=' right after a password value ("?password=ab&cd") are the
 * rest of a password with a raw '&' in it and are hidden too.
 */
static void
hide_query_secrets(const char *s, size_t from, size_t n, unsigned char *hide)
{
	size_t		i = from;
	bool		after_password = false;

	while (i < n)
	{
		char		c = s[i++];
		size_t		k;

		if (c != '?' && c != '&')
			continue;
		k = i;
		while (k < n && s[k] != '=' && s[k] != '&' && s[k] != '?')
			k++;
		if (k < n && s[k] == '=')
		{
			after_password = secret_key(s + i, k - i);
			if (after_password)
			{
				for (i = k + 1; i < n && s[i] != '&'; i++)
					;
				hide_span(hide, k + 1, i);
			}
		}
		else if (after_password && k > i)
		{
			hide_span(hide, i, k);
			i = k;
		}
	}
}

/*
 * s with its passwords replaced by "xxxxx", for messages: the password in
 * the user information and the value of every password= query parameter.
 *
 * When s parses, the password is what libpq would take -- unless the host
 * or database name holds an '@', which means the password had a raw '@'
 * or '/' that cut the user information short ("u:pa@ss@h", "u:12/ab@h/db").
 * When s does not parse, there is no telling where the password ends, nor
 * where the query starts.  Then everything from the first ':' of the user
 * information to the last '@' is hidden, and password parameters are
 * looked for all over: more than the passwords when a later part of the
 * URL has an '@', '?' or '&' too, never less.  Hidden parts that touch
 * become one "xxxxx".
 */
char *
url_redact(const char *s)
{
	PgUrl		u;
	const char *err;
	StrBuf		sb;
	size_t		n = strlen(s),
				start,
				end,
				qfrom,
				i;
	unsigned char *hide = xmalloc(n + 1);
	const char *sep = strstr(s, "://");
	bool		has_pw;

	memset(hide, 0, n + 1);
	if (url_parse(s, &u, &err))
	{
		qfrom = u.path_end;
		has_pw = url_password_span(s, u.path_end, &start, &end) && end > u.pw_end;
		if (!has_pw && u.pw_end > 0)
		{
			/* the password libpq takes */
			start = u.pw_start;
			end = u.pw_end;
			has_pw = true;
		}
		url_free(&u);
	}
	else
	{
		qfrom = sep ? (size_t) (sep - s) + 3 : 0;
		has_pw = url_password_span(s, n, &start, &end);
	}
	if (has_pw)
		hide_span(hide, start, end);
	hide_query_secrets(s, qfrom, n, hide);

	sb_init(&sb);
	for (i = 0; i <= n; i++)
	{
		bool		in_run = i > 0 && (hide[i - 1] & HIDE_CHAR);

		if ((hide[i] & (HIDE_CHAR | HIDE_BEFORE)) && !in_run)
			sb_puts(&sb, "xxxxx");
		if (i < n && !(hide[i] & HIDE_CHAR))
			sb_putc(&sb, s[i]);
	}
	free(hide);
	return sb.data;
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
