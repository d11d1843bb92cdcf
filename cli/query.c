/*
 * query.c -- server errors and queries that a signal or a deadline can
 * cancel.
 *
 * Layer: shared helper, called by the cmd_*.c files and conn.c
 * (require_extension); calls proc.c (signals) and util.c.
 */
#include "pg_mint.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
