/*
 * pool.c -- warm pools of finished copies (mint.set_pool).  Placeholder:
 * the pool lands in a later change; until then clone() never finds a spare.
 */
#include "postgres.h"

#include "pg_mint.h"

bool
mint_pool_take(MintParams *params, Oid template_oid, Oid old_oid)
{
	return false;
}

void
mint_pool_run(MintParams *params)
{
}

void
mint_pool_kick(const char *template_name)
{
}
