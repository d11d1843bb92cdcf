/*
 * compat.h -- PostgreSQL version differences (13 .. 18) in one place.
 */
#ifndef MINT_COMPAT_H
#define MINT_COMPAT_H

#include "postgres.h"

#if PG_VERSION_NUM < 130000
#error "pg_mint needs PostgreSQL 13 or later"
#endif

#include "catalog/pg_authid.h"
#include "catalog/pg_database.h"
#include "commands/dbcommands.h"
#include "miscadmin.h"
#include "parser/parser.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/syscache.h"

#if PG_VERSION_NUM >= 130000
#include "common/hashfn.h"
#endif

/* raw_parser() gained a mode argument in 14 */
#if PG_VERSION_NUM >= 140000
#define mint_raw_parser(s) raw_parser((s), RAW_PARSE_DEFAULT)
#else
#define mint_raw_parser(s) raw_parser(s)
#endif

/* ProcessUtility() gained readOnlyTree in 14 */
#if PG_VERSION_NUM >= 140000
#define mint_ProcessUtility(pstmt, sql, ctx, dest) \
	ProcessUtility((pstmt), (sql), false, (ctx), NULL, NULL, (dest), NULL)
#else
#define mint_ProcessUtility(pstmt, sql, ctx, dest) \
	ProcessUtility((pstmt), (sql), (ctx), NULL, NULL, (dest), NULL)
#endif

/* ownership / ACL helpers were generalised in 16 */
#if PG_VERSION_NUM >= 160000
#define mint_database_ownercheck(dboid, roleid) \
	object_ownercheck(DatabaseRelationId, (dboid), (roleid))
#define mint_database_aclcheck(dboid, roleid, mode) \
	object_aclcheck(DatabaseRelationId, (dboid), (roleid), (mode))
#else
#define mint_database_ownercheck(dboid, roleid) pg_database_ownercheck((dboid), (roleid))
#define mint_database_aclcheck(dboid, roleid, mode) pg_database_aclcheck((dboid), (roleid), (mode))
#endif

/* predefined roles were renamed in 14 */
#if PG_VERSION_NUM >= 140000
#define MINT_ROLE_READ_ALL_STATS ROLE_PG_READ_ALL_STATS
#else
#define MINT_ROLE_READ_ALL_STATS DEFAULT_ROLE_READ_ALL_STATS
#endif

/* CREATE DATABASE ... STRATEGY exists from 15 */
#if PG_VERSION_NUM >= 150000
#define MINT_HAVE_STRATEGY 1
#endif

/* bgw_library_name grew from BGW_MAXLEN to MAXPGPATH in 18: always use sizeof */

/* the role-login check can be bypassed for background workers from 17 */
#if PG_VERSION_NUM >= 170000
#define MINT_BGW_CONN_FLAGS BGWORKER_BYPASS_ROLELOGINCHECK
#else
#define MINT_BGW_CONN_FLAGS 0
#endif

/*
 * Does the current user have CREATEDB?  have_createdb_privilege() is exported
 * only from 16 and from a late 15 minor: a build against 15.20's headers would
 * not load on 15.18.  Read rolcreatedb from the syscache below 16.
 */
static inline bool
mint_have_createdb_privilege(void)
{
#if PG_VERSION_NUM >= 160000
	return have_createdb_privilege();
#else
	bool		result = false;
	HeapTuple	utup;

	if (superuser())
		return true;
	utup = SearchSysCache1(AUTHOID, ObjectIdGetDatum(GetUserId()));
	if (HeapTupleIsValid(utup))
	{
		result = ((Form_pg_authid) GETSTRUCT(utup))->rolcreatedb;
		ReleaseSysCache(utup);
	}
	return result;
#endif
}

/*
 * A composite Datum as a tuple header.  DatumGetHeapTupleHeader() became an
 * exported function in a late 17 minor (17.12): calling it would make a
 * build need a symbol that 17.0 .. 17.11 lack.  The row comes from a
 * function of the running server, so detoasting it is all the old macro did.
 */
#define mint_DatumGetHeapTupleHeader(d) ((HeapTupleHeader) PG_DETOAST_DATUM(d))

/* shm_mq_send gained force_flush in 15: a job must reach the worker at once */
#if PG_VERSION_NUM >= 150000
#define mint_shm_mq_send(mqh, nbytes, data) shm_mq_send((mqh), (nbytes), (data), false, true)
#else
#define mint_shm_mq_send(mqh, nbytes, data) shm_mq_send((mqh), (nbytes), (data), false)
#endif

#endif							/* MINT_COMPAT_H */
