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

char *
url_redact(const char *s)
{
	PgUrl		u;
	const char *err;
	StrBuf		sb;

	sb_init(&sb);
	if (!url_parse(s, &u, &err))
	{
		/* textual fallback: hide whatever sits between "user:" and "@" */
		const char *ui = strstr(s, "://");
		const char *at,
				   *colon;

		if (ui)
		{
			ui += 3;
			at = ui;
			while (*at && *at != '@' && *at != '/')
				at++;
			colon = memchr(ui, ':', (size_t) (at - ui));
			if (*at == '@' && colon)
			{
				sb_putn(&sb, s, (size_t) (colon + 1 - s));
				sb_puts(&sb, "xxxxx");
				sb_puts(&sb, at);
				return sb.data;
			}
		}
		sb_puts(&sb, s);
		return sb.data;
	}
	if (u.pw_end > 0)
	{
		sb_putn(&sb, s, u.pw_start);
		sb_puts(&sb, "xxxxx");
		sb_puts(&sb, s + u.pw_end);
	}
	else
		sb_puts(&sb, s);
	url_free(&u);

	/* and any password= parameter in the query */
	{
		size_t		off = 0;
		char	   *pw;

		while ((pw = strstr(sb.data + off, "password=")) != NULL)
		{
			size_t		vstart = (size_t) (pw - sb.data) + strlen("password=");

			if (pw > sb.data && (pw[-1] == '?' || pw[-1] == '&'))
			{
				size_t		vend = vstart;
				StrBuf		out;

				while (sb.data[vend] && sb.data[vend] != '&')
					vend++;
				sb_init(&out);
				sb_putn(&out, sb.data, vstart);
				sb_puts(&out, "xxxxx");
				sb_puts(&out, sb.data + vend);
				sb_free(&sb);
				sb = out;
				off = vstart + 5;
			}
			else
				off = vstart;
		}
	}
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
