/*
 * guard.c -- running pg_mint's own SQL safely, whoever calls it.
 *
 * pg_mint runs SQL of its own in three kinds of place: in the caller's
 * backend as the extension's owner (the bookkeeping writes of a pool hit and
 * of set_pool), in the caller's backend as the caller, and in background
 * workers connected as the caller or as a pool's owner.  Nothing the caller
 * controls may be resolved there: not its search_path (an operator
 * "evil.=(text, text)" found before pg_catalog's would run the attacker's
 * function as the extension's owner), not its temporary objects.  So, as
 * core does for maintenance commands run as a table's owner (REFRESH
 * MATERIALIZED VIEW, VACUUM, index builds):
 *
 *  - search_path is pinned to "pg_catalog, pg_temp" in a new GUC nest
 *    level, restored afterwards (on error, by transaction abort);
 *  - a switch of role adds SECURITY_RESTRICTED_OPERATION, so nothing run
 *    meanwhile may change the session (SET ROLE, temporary tables, ...);
 *  - every operator and function in pg_mint's SQL is schema-qualified.
 *
 * Layer: primitives (bottom).  Called by registry.c and exec.c; calls
 * objects.c.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/guc.h"

#include "pg_mint.h"

#define MINT_SAFE_SEARCH_PATH "pg_catalog, pg_temp"

/* A new GUC nest level with search_path = pg_catalog, pg_temp; returns it. */
int
mint_pin_search_path(void)
{
	int			level = NewGUCNestLevel();

	(void) set_config_option("search_path", MINT_SAFE_SEARCH_PATH,
							 PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	return level;
}

/* Undo mint_pin_search_path() (not needed after an error: abort does it). */
void
mint_unpin_search_path(int level)
{
	AtEOXact_GUC(true, level);
}

/* The value a background worker sets for its whole life. */
void
mint_pin_search_path_for_session(void)
{
	SetConfigOption("search_path", MINT_SAFE_SEARCH_PATH, PGC_USERSET, PGC_S_SESSION);
}

/*
 * Act as role from here until mint_guard_exit(): restricted security
 * context, pinned search_path.
 */
void
mint_guard_enter(MintGuard *g, Oid role)
{
	GetUserIdAndSecContext(&g->save_uid, &g->save_sec);
	SetUserIdAndSecContext(role, g->save_sec | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	g->nestlevel = mint_pin_search_path();
	g->active = true;
}

/* Back to the caller's role, context and search_path. */
void
mint_guard_exit(MintGuard *g, bool ok)
{
	if (!g->active)
		return;
	g->active = false;
	/* after an error the transaction's abort pops the nest level itself */
	if (ok)
		mint_unpin_search_path(g->nestlevel);
	SetUserIdAndSecContext(g->save_uid, g->save_sec);
}
