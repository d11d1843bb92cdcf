/*
 * checks.c -- may pg_mint touch this database?  The rules that both the
 * caller (before it hands work to a worker) and the worker (before each
 * step, with the latest catalog state) apply.
 *
 * Layer: rules, below the operations.  Called by pg_mint.c (the SQL
 * functions) and by ops.c; calls registry.c and blockers.c.
 *
 * A database is pg_mint's only if mint.registry names it by OID and name;
 * anything else is never dropped, renamed, altered or emptied of sessions.
 * pg_mint acts with the caller's privileges, so it also refuses what the
 * caller could not do by hand (ownership), and it never replaces or drops a
 * database that something outliving its sessions uses (blockers.c).
 */
#include "postgres.h"

#include "catalog/pg_database.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"

#include "compat.h"
#include "pg_mint.h"

void
mint_require_owner(const char *name, Oid oid, const char *what)
{
	if (!mint_database_ownercheck(oid, GetUserId()))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("must be owner of database \"%s\" to %s it", name, what),
				 errdetail("pg_mint acts with the privileges of role \"%s\", which could not do this by hand.",
						   GetUserNameFromId(GetUserId(), false))));
}

void
mint_require_pg_mint(const char *name, MintEntry *e)
{
	if (!e->found)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("database \"%s\" was not created by pg_mint", name),
				 errdetail("pg_mint only drops, replaces or alters databases it created itself."),
				 errhint("Choose another name, or use DROP DATABASE by hand if you really mean it.")));
}

/*
 * The existing database name (oid) may be replaced or rebuilt by pg_mint
 * only if pg_mint created it as a `kind`, the caller owns it, and nothing
 * that outlives its sessions (prepared transaction, slot, subscription)
 * uses it.
 */
static void
require_replaceable_entry(const char *name, Oid oid, MintEntry *e, const char *kind,
						  const char *what)
{
	if (!e->found)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_DATABASE),
				 errmsg("database \"%s\" already exists and was not created by pg_mint", name),
				 errdetail("pg_mint only replaces or rebuilds databases it created itself."),
				 errhint("Choose another name, or drop \"%s\" by hand if you really mean it.", name)));
	if (strcmp(e->kind, kind) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("database \"%s\" is a pg_mint %s, not a %s", name, e->kind, kind),
				 errhint("Choose another name.")));
	mint_require_owner(name, oid, what);
	mint_check_blockers(name, oid);
}

void
mint_require_replaceable(const char *name, Oid oid, const char *kind, const char *what)
{
	MintEntry	e;

	mint_registry_lookup(name, oid, &e);
	require_replaceable_entry(name, oid, &e, kind, what);
}

/*
 * name (oid) must be a database pg_mint created, that the caller could drop
 * by hand, and that nothing outliving its sessions holds.
 */
void
mint_require_droppable(const char *name, Oid oid, MintEntry *e)
{
	mint_registry_lookup(name, oid, e);
	mint_require_pg_mint(name, e);
	mint_require_owner(name, oid, "drop");
	mint_check_blockers(name, oid);
}

/* Error unless tpl (tpl_oid), the database a clone is made from, exists. */
void
mint_template_exists(const char *tpl, Oid tpl_oid)
{
	if (!OidIsValid(tpl_oid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_DATABASE),
				 errmsg("template database \"%s\" does not exist", tpl),
				 errhint("Build it first: SELECT mint.template_begin('%s', fingerprint), create the schema, then SELECT mint.template_finish('%s').",
						 tpl, tpl)));
}

/*
 * May clones be made from tpl, whose registry row (if any) is *entry?
 * Errors when it is a pg_mint template not finished.  Returns true when it
 * is a finished pg_mint template.
 */
bool
mint_template_check(const char *tpl, MintEntry *entry)
{
	if (entry->found && strcmp(entry->kind, "template") == 0 && strcmp(entry->state, "ready") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("template \"%s\" is not finished", tpl),
				 errdetail("Its build was started with mint.template_begin but not finished: the builder is this session, or it aborted or died."),
				 errhint("Call mint.template_finish('%s') from the building session, or mint.template_begin('%s', fingerprint) to rebuild it.",
						 tpl, tpl)));
	return entry->found && strcmp(entry->kind, "template") == 0;
}

/* May the existing database target (oid), whose row is *entry, be replaced by a clone? */
void
mint_check_clone_target(const char *target, Oid oid, MintEntry *entry)
{
	require_replaceable_entry(target, oid, entry, "clone", "replace");
}
