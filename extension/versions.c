/*
 * versions.c -- template versions: several fingerprints of one template
 * name exist side by side, each its own database, so that two branches (or
 * worktrees) that share a server never clone each other's schema.
 *
 * A version is a template registry row; version_of names the template it
 * belongs to and fingerprint which version it is.  The version built last
 * lives under the template's own name (builders connect to that name, as
 * they always did); when a build of another fingerprint needs the name, the
 * finished version there is renamed to mint_template_version_name(template,
 * fingerprint) -- "<template>_v<12 hex>" -- which is deterministic, so the
 * same version always moves to the same name.  A version is found by
 * (template, fingerprint) in the registry, never by guessing its name.
 *
 * Each version has a lock of its own (space MINT_LOCK_SPACE_VERSION, keyed
 * by template and fingerprint): clones hold it shared while they copy,
 * whoever renames or drops the version holds it exclusively.  A version
 * therefore never moves or goes away under a clone, and a clone of version
 * A never waits for a build of version B.
 *
 * The session remembers the fingerprint it last passed to template_begin
 * for each template name: its clones are of that version.
 *
 * Layer: rules (beside checks.c).  Called by pg_mint.c and ops.c; calls
 * registry.c and locks.c.
 */
#include "postgres.h"

#include "nodes/pg_list.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "pg_mint.h"

/* The server's major version (server_version_num / 10000). */
int
mint_server_major(void)
{
	const char *svn = GetConfigOption("server_version_num", false, false);

	return (svn ? atoi(svn) : PG_VERSION_NUM) / 10000;
}

void
mint_version_lock_init(MintLock *lock, const char *tpl, const char *fp, LOCKMODE mode)
{
	/* the length prefix keeps ("a:b", "c") apart from ("a", "b:c") */
	char	   *key = psprintf("%d:%s:%s", (int) strlen(tpl), tpl, fp ? fp : "");

	mint_lock_init_space(lock, key, mode, MINT_LOCK_SPACE_VERSION);
	pfree(key);
}

/* Every version of tpl (any state but dropping), in *out; returns how many. */
int
mint_version_list(const char *tpl, MintVersion **out)
{
	return mint_registry_versions(tpl, out);
}

/*
 * The version of tpl with fingerprint fp (a finished one built by this
 * server major first); false when there is none.
 */
bool
mint_version_find(const char *tpl, const char *fp, MintVersion *v)
{
	MintVersion *all;
	int			n = mint_registry_versions(tpl, &all);
	int			best = -1;
	int			i;

	for (i = 0; i < n; i++)
	{
		if (strcmp(all[i].fingerprint, fp) != 0)
			continue;
		if (best < 0 ||
			(strcmp(all[i].state, "ready") == 0 &&
			 all[i].server_version / 10000 == mint_server_major()))
			best = i;
	}
	if (best < 0)
		return false;
	*v = all[best];
	return true;
}

/* Is there a finished version of tpl for fp, built by this server major? */
bool
mint_version_ready(const char *tpl, const char *fp)
{
	MintVersion v;

	return mint_version_find(tpl, fp, &v) &&
		strcmp(v.state, "ready") == 0 &&
		v.server_version / 10000 == mint_server_major();
}

/* ---- the session's choice ------------------------------------------------ */
typedef struct MintChoice
{
	char		tpl[NAMEDATALEN];
	char	   *fp;
} MintChoice;

static List *choices = NIL;		/* in TopMemoryContext */

/* This session's clones of tpl are of version fp from now on. */
void
mint_version_choose(const char *tpl, const char *fp)
{
	ListCell   *lc;
	MintChoice *c = NULL;
	MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

	foreach(lc, choices)
	{
		if (strcmp(((MintChoice *) lfirst(lc))->tpl, tpl) == 0)
		{
			c = (MintChoice *) lfirst(lc);
			pfree(c->fp);
			break;
		}
	}
	if (c == NULL)
	{
		c = palloc0(sizeof(MintChoice));
		strlcpy(c->tpl, tpl, NAMEDATALEN);
		choices = lappend(choices, c);
	}
	c->fp = pstrdup(fp);
	MemoryContextSwitchTo(old);
}

/* The fingerprint this session last passed to template_begin for tpl, or NULL. */
const char *
mint_version_chosen(const char *tpl)
{
	ListCell   *lc;

	foreach(lc, choices)
	{
		MintChoice *c = (MintChoice *) lfirst(lc);

		if (strcmp(c->tpl, tpl) == 0)
			return c->fp;
	}
	return NULL;
}
