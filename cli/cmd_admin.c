/*
 * cmd_admin.c -- `pg_mint drop`, `pg_mint list`, `pg_mint gc`.
 */
#include "pg_mint.h"

#include <stdlib.h>
#include <string.h>

#define OPT_JSON		1
#define OPT_OLDER_THAN	2
#define OPT_DRY_RUN		3

/* parse options that take no arguments besides flags; positional -> list */
static void
simple_help(const char *command)
{
	help_command(command, stdout);
	exit(EXIT_OK);
}

int
cmd_drop(int argc, char **argv, int start)
{
	static const OptSpec specs[] = {
		CONN_OPT_SPECS,
		{NULL, 0, ARG_NONE, 0}
	};
	ArgParser	p;
	const char *v;
	const char **names = xmalloc(sizeof(char *) * (size_t) (argc + 1));
	int			n = 0,
				i,
				id,
				rc = EXIT_OK;
	PGconn	   *conn;

	argp_init(&p, argc, argv, start, specs, "drop");
	while ((id = argp_next(&p, &v)) != ARGP_END)
	{
		if (id == ARGP_POSITIONAL)
			names[n++] = v;
		else if (id == ARGP_DASHDASH)
		{
			while (p.rest < argc)
				names[n++] = argv[p.rest++];
		}
		else if (id == OPT_HELP)
			simple_help("drop");
		else
			handle_common_option(id, v);
	}
	if (n == 0)
		usage_error("drop", "no database NAME given");

	conn = mint_connect();
	require_extension(conn);
	for (i = 0; i < n; i++)
	{
		const char *params[1] = {names[i]};
		PGresult   *res;
		QueryStatus st = query_interruptible(conn, "SELECT mint.drop($1)", 1, params, 0, &res);

		if (st == Q_INTERRUPTED)
		{
			log_error("interrupted by signal %d: the drop of \"%s\" was canceled", signal_received(), names[i]);
			PQclear(res);
			PQfinish(conn);
			return 128 + signal_received();
		}
		if (st != Q_OK)
		{
			char	   *ctx = xasprintf("could not drop \"%s\"", names[i]);

			report_error(conn, res, ctx);
			free(ctx);
			rc = EXIT_RUNTIME;
			if (PQstatus(conn) != CONNECTION_OK)
			{
				PQclear(res);
				break;
			}
		}
		else if (strcmp(PQgetvalue(res, 0, 0), "t") == 0)
			log_info("dropped %s", names[i]);
		else
			log_info("%s does not exist, skipped", names[i]);
		PQclear(res);
	}
	PQfinish(conn);
	return rc;
}

/* ---- list -------------------------------------------------------------- */

enum
{
	L_DATNAME, L_KIND, L_TEMPLATE, L_FINGERPRINT, L_STATE, L_OWNER,
	L_CREATED, L_SIZE, L_CONNS, L_SIZE_PRETTY, L_CREATED_LOCAL, L_NCOLS
};

int
cmd_list(int argc, char **argv, int start)
{
	static const OptSpec specs[] = {
		{"json", 0, ARG_NONE, OPT_JSON},
		CONN_OPT_SPECS,
		{NULL, 0, ARG_NONE, 0}
	};
	ArgParser	p;
	const char *v;
	bool		json = false;
	int			id,
				i,
				c,
				n;
	PGconn	   *conn;
	PGresult   *res;

	argp_init(&p, argc, argv, start, specs, "list");
	while ((id = argp_next(&p, &v)) != ARGP_END)
	{
		if (id == ARGP_POSITIONAL)
			usage_error("list", "unexpected argument \"%s\"", dsn_redact(v));
		else if (id == ARGP_DASHDASH)
			usage_error("list", "unexpected \"--\"");
		else if (id == OPT_HELP)
			simple_help("list");
		else if (id == OPT_JSON)
			json = true;
		else
			handle_common_option(id, v);
	}

	conn = mint_connect();
	require_extension(conn);
	res = query_or_die(conn,
					   "SELECT datname, kind, template, fingerprint, state, owner,"
					   " pg_catalog.to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"
					   " size_bytes, connections, pg_catalog.pg_size_pretty(size_bytes),"
					   " pg_catalog.to_char(created_at, 'YYYY-MM-DD HH24:MI:SS')"
					   " FROM mint.databases ORDER BY datname COLLATE pg_catalog.\"C\"",
					   0, NULL, "could not read mint.databases");
	n = PQntuples(res);

	if (json)
	{
		StrBuf		sb;
		static const char *const keys[] = {
			"datname", "kind", "template", "fingerprint", "state", "owner",
			"created_at", "size_bytes", "connections"
		};

		sb_init(&sb);
		sb_putc(&sb, '[');
		for (i = 0; i < n; i++)
		{
			sb_puts(&sb, i == 0 ? "\n  {" : ",\n  {");
			for (c = 0; c <= L_CONNS; c++)
			{
				const char *val = PQgetisnull(res, i, c) ? NULL : PQgetvalue(res, i, c);

				if (c > 0)
					sb_puts(&sb, ", ");
				sb_json_string(&sb, keys[c]);
				sb_puts(&sb, ": ");
				if (val && (c == L_SIZE || c == L_CONNS))
					sb_puts(&sb, val);
				else
					sb_json_string(&sb, val);
			}
			sb_putc(&sb, '}');
		}
		sb_puts(&sb, n > 0 ? "\n]\n" : "]\n");
		fputs(sb.data, stdout);
		sb_free(&sb);
	}
	else
	{
		static const char *const heads[] = {
			"name", "kind", "template", "state", "owner", "size", "conns", "created", "fingerprint"
		};
		static const int cols[] = {
			L_DATNAME, L_KIND, L_TEMPLATE, L_STATE, L_OWNER, L_SIZE_PRETTY, L_CONNS,
			L_CREATED_LOCAL, L_FINGERPRINT
		};
		int			ncol = (int) (sizeof(cols) / sizeof(cols[0]));
		int			width[16];
		char	  **shown = xmalloc(sizeof(char *) * (size_t) (n * ncol + 1));

		/*
		 * what each cell shows: names come from the server, and another
		 * role's may hold newlines or terminal escapes; the fingerprint is
		 * shortened to its first 16 bytes
		 */
		for (i = 0; i < n; i++)
			for (c = 0; c < ncol; c++)
			{
				const char *val = PQgetvalue(res, i, cols[c]);

				if (cols[c] == L_FINGERPRINT)
				{
					char	   *head = xstrndup(val, 16);

					shown[i * ncol + c] = text_escape(head);
					free(head);
				}
				else
					shown[i * ncol + c] = text_escape(val);
			}

		for (c = 0; c < ncol; c++)
		{
			width[c] = (int) strlen(heads[c]);
			for (i = 0; i < n; i++)
			{
				int			w = (int) strlen(shown[i * ncol + c]);

				if (w > width[c])
					width[c] = w;
			}
		}
		for (c = 0; c < ncol; c++)
			printf("%s%-*s", c ? "  " : "", c == ncol - 1 ? 0 : width[c], heads[c]);
		printf("\n");
		for (c = 0; c < ncol; c++)
		{
			int			k;

			printf("%s", c ? "  " : "");
			for (k = 0; k < width[c]; k++)
				putchar('-');
		}
		printf("\n");
		for (i = 0; i < n; i++)
		{
			for (c = 0; c < ncol; c++)
			{
				const char *val = shown[i * ncol + c];

				if (cols[c] == L_FINGERPRINT)
					printf("  %s", val);
				else if (cols[c] == L_CONNS || cols[c] == L_SIZE_PRETTY)
					printf("%s%*s", c ? "  " : "", width[c], val);
				else
					printf("%s%-*s", c ? "  " : "", width[c], val);
			}
			printf("\n");
		}
		printf("(%d database%s)\n", n, n == 1 ? "" : "s");
		for (i = 0; i < n * ncol; i++)
			free(shown[i]);
		free(shown);
	}
	PQclear(res);
	PQfinish(conn);
	return EXIT_OK;
}

/* ---- gc ---------------------------------------------------------------- */

int
cmd_gc(int argc, char **argv, int start)
{
	static const OptSpec specs[] = {
		{"older-than", 0, ARG_REQUIRED, OPT_OLDER_THAN},
		{"dry-run", 0, ARG_NONE, OPT_DRY_RUN},
		CONN_OPT_SPECS,
		{NULL, 0, ARG_NONE, 0}
	};
	ArgParser	p;
	const char *v;
	const char *older_str = "1h";
	bool		dry_run = false;
	int64_t		older_ms;
	char	   *interval;
	int			id,
				i,
				n;
	PGconn	   *conn;
	PGresult   *res;
	const char *params[1];

	argp_init(&p, argc, argv, start, specs, "gc");
	while ((id = argp_next(&p, &v)) != ARGP_END)
	{
		if (id == ARGP_POSITIONAL)
			usage_error("gc", "unexpected argument \"%s\"", dsn_redact(v));
		else if (id == ARGP_DASHDASH)
			usage_error("gc", "unexpected \"--\"");
		else if (id == OPT_HELP)
			simple_help("gc");
		else if (id == OPT_OLDER_THAN)
			older_str = v;
		else if (id == OPT_DRY_RUN)
			dry_run = true;
		else
			handle_common_option(id, v);
	}
	older_ms = duration_or_usage("gc", "--older-than", older_str);
	interval = xasprintf("%lld milliseconds", (long long) older_ms);
	params[0] = interval;

	conn = mint_connect();
	require_extension(conn);

	if (dry_run)
	{
		/* mint.gc_preview() applies mint.gc()'s own rules, dropping nothing */
		res = query_or_die(conn, "SELECT datname, reason FROM mint.gc_preview($1::interval)",
						   1, params, "could not preview garbage collection");
		n = PQntuples(res);
		for (i = 0; i < n; i++)
		{
			char	   *datname = text_escape(PQgetvalue(res, i, 0));
			char	   *reason = text_escape(PQgetvalue(res, i, 1));

			printf("%s\t%s\n", datname, reason);
			free(datname);
			free(reason);
		}
		log_info("dry run: %d database%s would be dropped", n, n == 1 ? "" : "s");
	}
	else
	{
		res = query_or_die(conn, "SELECT g FROM mint.gc($1::interval) AS g", 1, params,
						   "garbage collection failed");
		n = PQntuples(res);
		for (i = 0; i < n; i++)
		{
			char	   *datname = text_escape(PQgetvalue(res, i, 0));

			printf("%s\n", datname);
			free(datname);
		}
		log_info("dropped %d database%s", n, n == 1 ? "" : "s");
	}
	PQclear(res);
	PQfinish(conn);
	return EXIT_OK;
}
