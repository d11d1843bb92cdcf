/*
 * util.c -- messages, memory, string buffers, quoting.
 *
 * Layer: bottom, called by every other file; calls only the C library.
 */
#include "pg_mint.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *progname = "pg_mint";
bool		quiet = false;

static void
vlog(const char *level, const char *fmt, va_list ap)
{
	fflush(stdout);
	if (level)
		fprintf(stderr, "%s: %s: ", progname, level);
	else
		fprintf(stderr, "%s: ", progname);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void
log_error(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vlog("error", fmt, ap);
	va_end(ap);
}

void
log_warning(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vlog("warning", fmt, ap);
	va_end(ap);
}

void
log_detail(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vlog("detail", fmt, ap);
	va_end(ap);
}

void
log_hint(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vlog("hint", fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt,...)
{
	va_list		ap;

	if (quiet)
		return;
	va_start(ap, fmt);
	vlog(NULL, fmt, ap);
	va_end(ap);
}

void
usage_error(const char *command, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vlog("error", fmt, ap);
	va_end(ap);
	if (command)
		log_hint("Try \"%s %s --help\" for more information.", progname, command);
	else
		log_hint("Try \"%s --help\" for more information.", progname);
	exit(EXIT_USAGE);
}

void *
xmalloc(size_t n)
{
	void	   *p = malloc(n ? n : 1);

	if (!p)
	{
		log_error("out of memory");
		exit(EXIT_RUNTIME);
	}
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
	{
		log_error("out of memory");
		exit(EXIT_RUNTIME);
	}
	return p;
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	char	   *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
xasprintf(const char *fmt,...)
{
	va_list		ap;
	int			n;
	char	   *p;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	p = xmalloc((size_t) n + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t) n + 1, fmt, ap);
	va_end(ap);
	return p;
}

void
sb_init(StrBuf *sb)
{
	sb->cap = 64;
	sb->len = 0;
	sb->data = xmalloc(sb->cap);
	sb->data[0] = '\0';
}

void
sb_putn(StrBuf *sb, const char *s, size_t n)
{
	if (sb->len + n + 1 > sb->cap)
	{
		while (sb->len + n + 1 > sb->cap)
			sb->cap *= 2;
		sb->data = xrealloc(sb->data, sb->cap);
	}
	memcpy(sb->data + sb->len, s, n);
	sb->len += n;
	sb->data[sb->len] = '\0';
}

void
sb_puts(StrBuf *sb, const char *s)
{
	sb_putn(sb, s, strlen(s));
}

void
sb_putc(StrBuf *sb, char c)
{
	sb_putn(sb, &c, 1);
}

void
sb_printf(StrBuf *sb, const char *fmt,...)
{
	va_list		ap;
	int			n;
	char	   *tmp;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	tmp = xmalloc((size_t) n + 1);
	va_start(ap, fmt);
	vsnprintf(tmp, (size_t) n + 1, fmt, ap);
	va_end(ap);
	sb_putn(sb, tmp, (size_t) n);
	free(tmp);
}

void
sb_free(StrBuf *sb)
{
	free(sb->data);
	sb->data = NULL;
	sb->len = sb->cap = 0;
}

char *
shell_quote(const char *s)
{
	StrBuf		sb;

	sb_init(&sb);
	sb_putc(&sb, '\'');
	for (; *s; s++)
	{
		if (*s == '\'')
			sb_puts(&sb, "'\\''");
		else
			sb_putc(&sb, *s);
	}
	sb_putc(&sb, '\'');
	return sb.data;
}

/*
 * s fit for a plain-text line on a terminal: control characters (bytes
 * below 0x20 and 0x7f) become \n, \r, \t or \xHH, so that a name from the
 * server cannot start a new line or send escape sequences.  Everything else,
 * UTF-8 multibyte characters included, is copied unchanged.  NULL -> "".
 */
char *
text_escape(const char *s)
{
	StrBuf		sb;

	sb_init(&sb);
	for (; s && *s; s++)
	{
		unsigned char c = (unsigned char) *s;

		if (c == '\n')
			sb_puts(&sb, "\\n");
		else if (c == '\r')
			sb_puts(&sb, "\\r");
		else if (c == '\t')
			sb_puts(&sb, "\\t");
		else if (c < 0x20 || c == 0x7f)
			sb_printf(&sb, "\\x%02x", c);
		else
			sb_putc(&sb, (char) c);
	}
	return sb.data;
}

void
sb_json_string(StrBuf *sb, const char *s)
{
	if (s == NULL)
	{
		sb_puts(sb, "null");
		return;
	}
	sb_putc(sb, '"');
	for (; *s; s++)
	{
		unsigned char c = (unsigned char) *s;

		switch (c)
		{
			case '"':
				sb_puts(sb, "\\\"");
				break;
			case '\\':
				sb_puts(sb, "\\\\");
				break;
			case '\n':
				sb_puts(sb, "\\n");
				break;
			case '\r':
				sb_puts(sb, "\\r");
				break;
			case '\t':
				sb_puts(sb, "\\t");
				break;
			default:
				if (c < 0x20)
					sb_printf(sb, "\\u%04x", c);
				else
					sb_putc(sb, (char) c);
		}
	}
	sb_putc(sb, '"');
}

bool
env_set(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && v[0] != '\0';
}

double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}
