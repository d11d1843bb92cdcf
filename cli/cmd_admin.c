/*
 * cmd_admin.c -- `pg_mint drop`, `pg_mint list`, `pg_mint gc`.
 *
 * Layer: command, called by main.c; calls args.c, help.c, conn.c, query.c,
 * durations.c, proc.c and util.c.
 */
#include "pg_mint.h"

#include <stdlib.h>
#include <string.h>

int
cmd_drop(int argc, char **argv, int start)
{
	WordList	names = {0};
	const OptSpec options[] = {CONN_OPTIONS, OPT_TABLE_END};
	const CommandLine cl = {"drop", options, {NULL}, EXTRA_TO_LIST, &names, DASHDASH_TO_LIST};
	int			i,
				rc = EXIT_OK;
	PGconn	   *conn;

	parse_command_line(&cl, argc, argv, start);
	if (names.n == 0)
		usage_error("drop", "no database NAME given");

	conn = mint_connect();
	require_extension(conn);
	for (i = 0; i < names.n; i++)
	{
		const char *params[1] = {names.items[i]};
		PGresult   *res;
		QueryStatus st = query_interruptible(conn, "SELECT mint.drop($1)", 1, params, 0, &res);

		if (st == Q_INTERRUPTED)
		{
			log_error("interrupted by signal %d: the drop of \"%s\" was canceled", signal_received(), names.items[i]);
			PQclear(res);
			PQfinish(conn);
			return 128 + signal_received();
		}
		if (st != Q_OK)
		{
			char	   *ctx = xasprintf("could not drop \"%s\"", names.items[i]);

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
			log_info("dropped %s", names.items[i]);
		else
			log_info("%s does not exist, skipped", names.items[i]);
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

/* the rows as a JSON array of objects, sorted as the query sorts them */
static void
print_list_json(const PGresult *res)
{
	static const char *const keys[] = {
		"datname", "kind", "template", "fingerprint", "state", "owner",
		"created_at", "size_bytes", "connections"
	};
	int			n = PQntuples(res),
				i,
				c;
	StrBuf		sb;

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

/* the rows as a table with a header line, then "(N databases)" */
static void
print_list_table(const PGresult *res)
{
	static const char *const heads[] = {
		"name", "kind", "template", "state", "owner", "size", "conns", "created", "fingerprint"
	};
	static const int cols[] = {
		L_DATNAME, L_KIND, L_TEMPLATE, L_STATE, L_OWNER, L_SIZE_PRETTY, L_CONNS,
		L_CREATED_LOCAL, L_FINGERPRINT
	};
	int			ncol = (int) (sizeof(cols) / sizeof(cols[0]));
	int			n = PQntuples(res),
				i,
				c;
	int			width[16];
	char	  **shown = xmalloc(sizeof(char *) * (size_t) (n * ncol + 1));

	/*
	 * what each cell shows: names come from the server, and another role's
	 * may hold newlines or terminal escapes; the fingerprint is shortened to
	 * its first 16 bytes
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

int
cmd_list(int argc, char **argv, int start)
{
	bool		json = false;
	const OptSpec options[] = {OPT_BOOL("json", &json), CONN_OPTIONS, OPT_TABLE_END};
	const CommandLine cl = {"list", options, {NULL}, EXTRA_UNEXPECTED, NULL, DASHDASH_UNEXPECTED};
	PGconn	   *conn;
	PGresult   *res;

	parse_command_line(&cl, argc, argv, start);

	conn = mint_connect();
	require_extension(conn);
	res = query_or_die(conn,
					   "SELECT datname, kind, template, fingerprint, state, owner,"
					   " pg_catalog.to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"
					   " size_bytes, connections, pg_catalog.pg_size_pretty(size_bytes),"
					   " pg_catalog.to_char(created_at, 'YYYY-MM-DD HH24:MI:SS')"
					   " FROM mint.databases ORDER BY datname COLLATE pg_catalog.\"C\"",
					   0, NULL, "could not read mint.databases");
	if (json)
		print_list_json(res);
	else
		print_list_table(res);
	PQclear(res);
	PQfinish(conn);
	return EXIT_OK;
}

/* ---- gc ---------------------------------------------------------------- */

int
cmd_gc(int argc, char **argv, int start)
{
	const char *older_str = "1h";
	const char *run_opt = NULL;
	const char *run;
	bool		dry_run = false;
	bool		all_runs = false;
	const OptSpec options[] = {
		OPT_STR("older-than", &older_str), OPT_BOOL("dry-run", &dry_run),
		OPT_STR("run", &run_opt), OPT_BOOL("all-runs", &all_runs),
		CONN_OPTIONS, OPT_TABLE_END
	};
	const CommandLine cl = {"gc", options, {NULL}, EXTRA_UNEXPECTED, NULL, DASHDASH_UNEXPECTED};
	int64_t		older_ms;
	char	   *interval;
	int			i,
				n;
	PGconn	   *conn;
	PGresult   *res;
	const char *params[2];

	parse_command_line(&cl, argc, argv, start);
	older_ms = duration_or_usage("gc", "--older-than", older_str);
	interval = xasprintf("%lld milliseconds", (long long) older_ms);
	params[0] = interval;
	if (all_runs && run_opt)
		usage_error("gc", "give either --run RUN or --all-runs, not both");
	/* one run's clones when a run is known (--run, PG_MINT_RUN, CI variables) */
	run = all_runs ? NULL : run_identity("gc", run_opt);
	params[1] = run;

	conn = mint_connect();
	require_extension(conn);

	if (dry_run)
	{
		/* mint.gc_preview() applies mint.gc()'s own rules, dropping nothing */
		res = query_or_die(conn, run ? "SELECT datname, reason FROM mint.gc_preview($1::interval, $2)"
						   : "SELECT datname, reason FROM mint.gc_preview($1::interval)",
						   run ? 2 : 1, params, "could not preview garbage collection");
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
		res = query_or_die(conn, run ? "SELECT g FROM mint.gc($1::interval, $2) AS g"
						   : "SELECT g FROM mint.gc($1::interval) AS g", run ? 2 : 1, params,
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

/* pg_mint renew NAME... [--ttl DURATION]: mint.renew, prints each new expiry */
int
cmd_renew(int argc, char **argv, int start)
{
	WordList	names = {0};
	const char *ttl = NULL;
	const OptSpec options[] = {CONN_OPTIONS, OPT_STR("ttl", &ttl), OPT_TABLE_END};
	const CommandLine cl = {"renew", options, {NULL}, EXTRA_TO_LIST, &names, DASHDASH_TO_LIST};
	int			i,
				rc = EXIT_OK;
	PGconn	   *conn;

	parse_command_line(&cl, argc, argv, start);
	if (names.n == 0)
		usage_error("renew", "no database NAME given");
	if (ttl && ttl[0] == '\0')
		usage_error("renew", "--ttl must not be empty");

	conn = mint_connect();
	require_extension(conn);
	for (i = 0; i < names.n; i++)
	{
		const char *params[2] = {names.items[i], ttl};
		PGresult   *res;
		QueryStatus st = query_interruptible(conn, "SELECT mint.renew($1, $2::pg_catalog.interval)",
											 2, params, 0, &res);

		if (st == Q_INTERRUPTED)
		{
			log_error("interrupted by signal %d: the renewal of \"%s\" was canceled", signal_received(), names.items[i]);
			PQclear(res);
			PQfinish(conn);
			return 128 + signal_received();
		}
		if (st != Q_OK)
		{
			char	   *ctx = xasprintf("could not renew the lease of \"%s\"", names.items[i]);

			report_error(conn, res, ctx);
			free(ctx);
			rc = EXIT_RUNTIME;
			PQclear(res);
			if (PQstatus(conn) != CONNECTION_OK)
				break;
			continue;
		}
		printf("%s\t%s\n", names.items[i], PQgetvalue(res, 0, 0));
		PQclear(res);
	}
	PQfinish(conn);
	return rc;
}
