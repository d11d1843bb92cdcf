/*
 * redact.c -- keeping passwords out of what pg_mint prints.
 *
 * Layer: shared helper, called by args.c, conn.c, main.c and the cmd_*.c
 * files; calls url.c (parsing) and util.c.
 *
 * Every message that shows a user-supplied URL, libpq connection string,
 * or a word that might be one, shows it through here.  A password, and anything that may be part of one,
 * becomes "xxxxx"; every other byte is kept.  Where the text cannot be
 * parsed, the guess errs on the side of hiding too much: a message may lose
 * a harmless word, it must never show part of a password.
 *
 * Passwords are the values of the keys "password" and "sslpassword" in
 * any case and, in URLs, any percent-encoding (libpq itself only knows the
 * lower-case names, but a misspelt key still holds a password), and the
 * password in a URL's user information.
 */
#include "pg_mint.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MASK "xxxxx"

bool
secret_key(const char *key, size_t n)
{
	char	   *k = url_decode_lenient(key, n);
	bool		secret = strcasecmp(k, "password") == 0 || strcasecmp(k, "sslpassword") == 0;

	free(k);
	return secret;
}

/* ---- URLs --------------------------------------------------------------- */

/*
 * [*start, *end): from the first ':' of the user information to the last
 * '@' before offset limit -- everything that may be a password; false if
 * there is no such ':' and '@'
 */
static bool
url_password_span(const char *s, size_t limit, size_t *start, size_t *end)
{
	const char *ui = strstr(s, "://"),
			   *at = NULL,
			   *colon,
			   *p;

	/* a scheme has no ':', so this is also right after a URL's scheme */
	if (ui == NULL)
		return false;
	ui += 3;
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

/* ---- connection strings --------------------------------------------------- */

/* does w[0..n) contain "://"? */
static bool
has_scheme_sep(const char *w, size_t n)
{
	size_t		i;

	for (i = 0; i + 3 <= n; i++)
		if (w[i] == ':' && w[i + 1] == '/' && w[i + 2] == '/')
			return true;
	return false;
}

/*
 * A word of a connection string that is not a keyword=value pair or that
 * holds a URL: hide what may be a password in it.  "scheme://..." goes
 * through url_redact; "user:password@host" without a scheme (a mistyped
 * URL) loses everything from its first ':' to its last '@'.
 */
static void
put_word(StrBuf *sb, const char *w, size_t n, bool bare)
{
	char	   *t = xstrndup(w, n);

	if (strstr(t, "://"))
	{
		char	   *r = url_redact(t);

		sb_puts(sb, r);
		free(r);
	}
	else
	{
		const char *at = bare ? strrchr(t, '@') : NULL;
		const char *colon = at ? memchr(t, ':', (size_t) (at - t)) : NULL;

		if (colon)
		{
			sb_putn(sb, t, (size_t) (colon + 1 - t));
			sb_puts(sb, MASK);
			sb_puts(sb, at);
		}
		else
			sb_puts(sb, t);
	}
	free(t);
}

/*
 * The libpq connection string s with password values replaced.  The words
 * are found the way libpq's conninfo_parse finds them: keyword, optional
 * blanks, '=', optional blanks, then a value in single quotes (backslash
 * escapes, may run to the end when the quote is never closed) or up to the
 * next blank (backslash escapes).  Bare words after a password value (no
 * '=' follows them) are the rest of an unquoted password with a blank in
 * it, and are hidden too.  A string that starts like a URL (after blanks)
 * is first redacted as one: libpq reports such a string word by word.
 */
char *
conninfo_redact(const char *s)
{
	StrBuf		sb;
	const char *p;
	char	   *urlfixed = NULL;
	bool		after_password = false;

	p = s;
	while (isspace((unsigned char) *p))
		p++;
	if (url_looks_like_url(p))
	{
		char	   *r = url_redact(p);

		urlfixed = xasprintf("%.*s%s", (int) (p - s), s, r);
		free(r);
		s = urlfixed;
	}

	sb_init(&sb);
	p = s;
	while (*p)
	{
		const char *kw,
				   *kwend,
				   *v;
		bool		secret;

		if (isspace((unsigned char) *p))
		{
			sb_putc(&sb, *p++);
			continue;
		}

		/* the keyword: up to '=' or a blank */
		kw = p;
		while (*p && *p != '=' && !isspace((unsigned char) *p))
			p++;
		kwend = p;
		while (isspace((unsigned char) *p))
			p++;
		if (*p != '=')
		{
			/* a bare word (libpq: missing "=" after it) */
			if (after_password)
				sb_puts(&sb, MASK);
			else
				put_word(&sb, kw, (size_t) (kwend - kw), true);
			sb_putn(&sb, kwend, (size_t) (p - kwend));
			continue;
		}
		if (has_scheme_sep(kw, (size_t) (kwend - kw)))
		{
			/*
			 * a URL later in the string ("... postgresql://u:pa=ss@h/db"):
			 * libpq cuts it at its first '=', which may be inside the
			 * password, so the whole blank-delimited word is one URL
			 */
			const char *e = p;

			while (*e && !isspace((unsigned char) *e))
				e++;
			put_word(&sb, kw, (size_t) (e - kw), true);
			p = e;
			after_password = false;
			continue;
		}
		put_word(&sb, kw, (size_t) (kwend - kw), true);
		sb_putn(&sb, kwend, (size_t) (p + 1 - kwend));
		p++;
		while (isspace((unsigned char) *p))
			sb_putc(&sb, *p++);

		/* the key is what follows the last '?' or '&' of a URL-ish word */
		{
			const char *k = kwend;

			while (k > kw && k[-1] != '?' && k[-1] != '&')
				k--;
			secret = secret_key(k, (size_t) (kwend - k));
		}
		after_password = secret;

		v = p;
		if (*p == '\'')
		{
			sb_putc(&sb, '\'');
			v = ++p;
			while (*p && *p != '\'')
				p += (*p == '\\' && p[1]) ? 2 : 1;
			if (secret)
				sb_puts(&sb, MASK);
			else
				put_word(&sb, v, (size_t) (p - v), false);
			if (*p == '\'')
				sb_putc(&sb, *p++);
		}
		else
		{
			while (*p && !isspace((unsigned char) *p))
				p += (*p == '\\' && p[1]) ? 2 : 1;
			if (secret)
				sb_puts(&sb, MASK);
			else
				put_word(&sb, v, (size_t) (p - v), false);
		}
	}
	free(urlfixed);
	return sb.data;
}

char *
dsn_redact(const char *s)
{
	return url_looks_like_url(s) ? url_redact(s) : conninfo_redact(s);
}

/*
 * libpq's message about connection string s not parsing (errmsg, from
 * PQconninfoParse), without passwords: libpq quotes the word it stumbled
 * on, which may be (part of) one.  The redacted string has the same words
 * in the same places, so parsing it again yields the same complaint about
 * the redacted word.
 */
char *
conninfo_error_redacted(const char *s, const char *errmsg)
{
	char	   *red = conninfo_redact(s);
	char	   *m2 = NULL;
	char	   *out;
	PQconninfoOption *opts;

	if (strcmp(red, s) == 0)
	{
		free(red);
		return xstrdup(errmsg ? errmsg : "out of memory");
	}
	opts = PQconninfoParse(red, &m2);
	free(red);
	if (opts)
	{
		/* cannot happen, but never fall back to the unredacted message */
		PQconninfoFree(opts);
		return xstrdup("invalid connection string (not shown: it holds a password)\n");
	}
	out = xstrdup(m2 ? m2 : "out of memory");
	PQfreemem(m2);
	return out;
}

/* ---- libpq messages about a URL libpq's grammar splits oddly -------------- */

/* does value v contain one of the pieces of text t (split at URL punctuation)? */
static bool
holds_piece(const char *v, const char *t, size_t n)
{
	size_t		i = 0;

	while (i < n)
	{
		size_t		j = i;
		char	   *piece;
		bool		found;

		while (j < n && !strchr("@/:,?&=[]", t[j]))
			j++;
		if (j > i)
		{
			piece = url_decode_lenient(t + i, j - i);
			found = piece[0] && strstr(v, piece) != NULL;
			free(piece);
			if (found)
				return true;
		}
		i = j + 1;
	}
	return false;
}

/* msg with every occurrence of v (not inside a longer word) replaced */
static char *
replace_word(const char *msg, const char *v)
{
	StrBuf		sb;
	const char *p = msg,
			   *hit;
	size_t		n = strlen(v);

	sb_init(&sb);
	if (n == 0)
	{
		sb_puts(&sb, msg);
		return sb.data;
	}
	while ((hit = strstr(p, v)) != NULL)
	{
		bool		starts = hit == msg || !isalnum((unsigned char) hit[-1]);
		bool		ends = !isalnum((unsigned char) hit[n]);

		if (starts && ends)
		{
			sb_putn(&sb, p, (size_t) (hit - p));
			sb_puts(&sb, MASK);
			p = hit + n;
		}
		else
		{
			sb_putn(&sb, p, (size_t) (hit - p) + 1);
			p = hit + 1;
		}
	}
	sb_puts(&sb, p);
	return sb.data;
}

/*
 * msg (libpq's connection error) without the parts of url's password that
 * libpq's grammar put into a host, port or database name: with a raw '@'
 * in the password ("u:pa@ss@host"), the user information ends at the first
 * '@' and "ss@host" becomes the host; with a raw '/' ("u:12/ab@host/db")
 * there is no user information and "12" becomes the port.  libpq then
 * quotes that host or port.  Each such value is replaced by "xxxxx".
 */
char *
url_scrub_message(const char *url, const char *msg)
{
	PgUrl		u;
	const char *err;
	size_t		start,
				end,
				from;
	char	   *out = xstrdup(msg);
	char	   *vals[3];
	int			i;

	if (!url_parse(url, &u, &err))
		return out;
	if (!url_password_span(url, u.path_end, &start, &end))
	{
		url_free(&u);
		return out;
	}
	/* the part libpq did not take as the password */
	from = u.pw_end > 0 ? u.pw_end + 1 : start;
	if (end > from)
	{
		const char *t = url + from;
		size_t		n = end - from;

		vals[0] = u.hosts;
		vals[1] = u.ports;
		vals[2] = u.dbname;
		for (i = 0; i < 3; i++)
		{
			char	   *list,
					   *item,
					   *save = NULL;

			if (!vals[i] || !vals[i][0])
				continue;
			/* hosts and ports are comma-separated lists */
			list = xstrdup(vals[i]);
			for (item = i < 2 ? strtok_r(list, ",", &save) : list; item;
				 item = i < 2 ? strtok_r(NULL, ",", &save) : NULL)
			{
				if (holds_piece(item, t, n))
				{
					char	   *r = replace_word(out, item);

					free(out);
					out = r;
				}
			}
			free(list);
		}
	}
	url_free(&u);
	return out;
}
