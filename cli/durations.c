/*
 * durations.c -- "500ms", "30s", "2m", "1h", "1d" or plain seconds ("30",
 * "1.5").  Whitespace, signs, empty strings, unknown units and values
 * above 100 years are rejected.
 *
 * Layer: base helper, called by the cmd_*.c files; calls only util.c.
 */
#include "pg_mint.h"

#include <ctype.h>
#include <string.h>

bool
parse_duration_ms(const char *s, int64_t *ms)
{
	const char *p = s;
	double		intpart = 0,
				frac = 0,
				scale = 1;
	bool		digits = false;
	double		unit_ms;
	double		total;

	if (s == NULL)
		return false;
	while (isdigit((unsigned char) *p))
	{
		intpart = intpart * 10 + (*p - '0');
		digits = true;
		if (intpart > 1e15)
			return false;
		p++;
	}
	if (*p == '.')
	{
		p++;
		while (isdigit((unsigned char) *p))
		{
			scale /= 10;
			frac += (*p - '0') * scale;
			digits = true;
			p++;
		}
	}
	if (!digits)
		return false;

	if (*p == '\0' || strcmp(p, "s") == 0 || strcmp(p, "sec") == 0)
		unit_ms = 1000;
	else if (strcmp(p, "ms") == 0)
		unit_ms = 1;
	else if (strcmp(p, "m") == 0 || strcmp(p, "min") == 0)
		unit_ms = 60 * 1000;
	else if (strcmp(p, "h") == 0)
		unit_ms = 3600 * 1000;
	else if (strcmp(p, "d") == 0)
		unit_ms = 86400.0 * 1000;
	else
		return false;

	total = (intpart + frac) * unit_ms;
	if (total > 100.0 * 365 * 86400 * 1000)
		return false;
	*ms = (int64_t) (total + 0.5);
	return true;
}

int64_t
duration_or_usage(const char *command, const char *option, const char *s)
{
	int64_t		ms;

	if (!parse_duration_ms(s, &ms))
		usage_error(command,
					"invalid duration \"%s\" for %s (use e.g. 500ms, 30s, 2m, 1h, 1d or plain seconds)",
					s, option);
	return ms;
}
