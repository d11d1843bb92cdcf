/*
 * autostrategy.c -- what strategy `auto` copies a template with, when its
 * files cannot be cloned (PostgreSQL 18 on a file system with reflinks).
 *
 * Layer: primitives.  Called by steps.c (strategy_clause); calls nothing of
 * pg_mint's.
 *
 * WAL_LOG (the server default from 15) copies block by block through
 * shared buffers and writes every block to the WAL: its cost grows with the
 * template's size and with every other copy running beside it.  FILE_COPY
 * copies the files and pays two checkpoints: with fsync on each is hundreds
 * of milliseconds, with fsync off they cost little.  Measured on this
 * project's benchmark machine (bench/results/results.md):
 *  - fsync off (test settings): FILE_COPY is as fast as WAL_LOG or faster
 *    at every size and several times faster with copies running at once;
 *  - fsync on (the server's defaults): WAL_LOG is about 3x faster for
 *    templates of tens of megabytes, FILE_COPY catches up as templates grow
 *    (1.4x at 85 MB) and wins beyond a few hundred megabytes, and when other
 *    copies of the same template run at once (their checkpoints are shared).
 * The rule below follows those numbers; it reads only facts of this server
 * at the time of the call: fsync, the template's size on disk, and how many
 * other sessions are copying the same template now.
 */
#include "postgres.h"

#include <sys/stat.h>

#include "catalog/pg_database.h"
#include "common/relpath.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "storage/lock.h"
#include "utils/timestamp.h"

#include "pg_mint.h"

/* from this size on FILE_COPY beats WAL_LOG with fsync on */
#define MINT_AUTO_FILE_COPY_BYTES	((int64) 256 * 1024 * 1024)

/* with this many other copies of the template running, FILE_COPY wins */
#define MINT_AUTO_FILE_COPY_PEERS	2

/* bytes in the template's directory of its tablespace */
static int64
template_bytes(Oid dboid, Oid spcoid)
{
	char	   *path = GetDatabasePath(dboid, spcoid);
	DIR		   *dir;
	struct dirent *de;
	int64		total = 0;

	dir = AllocateDir(path);
	if (dir == NULL)
		return 0;
	while ((de = ReadDirExtended(dir, path, LOG)) != NULL)
	{
		char		file[MAXPGPATH * 2];
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(file, sizeof(file), "%s/%s", path, de->d_name);
		if (stat(file, &st) == 0)
			total += st.st_size;
	}
	FreeDir(dir);
	return total;
}

/*
 * Other sessions copying database dboid now or about to: CREATE DATABASE
 * holds ShareLock on its template, and so does a pg_mint copy from the time
 * it queues for a copy slot (steps.c lock_template).
 */
static int
copies_running(Oid dboid)
{
	LockData   *data = GetLockStatusData();
	int			n = 0;
	int			i;

	for (i = 0; i < data->nelements; i++)
	{
		LockInstanceData *l = &data->locks[i];

		if (l->locktag.locktag_type == LOCKTAG_OBJECT &&
			l->locktag.locktag_field1 == InvalidOid &&
			l->locktag.locktag_field2 == DatabaseRelationId &&
			l->locktag.locktag_field3 == dboid &&
			(l->holdMask & LOCKBIT_ON(ShareLock)) != 0 &&
			l->pid != MyProcPid)
			n++;
	}
	return n;
}

/*
 * template_bytes() of the last template this process looked at, for a
 * minute: a worker that copies the same template call after call (an
 * executor serving a test worker) stats its files once, not on every call
 * (~300 files for a 50-table template: milliseconds, beside a copy of tens
 * of milliseconds).  A finished template does not change (no connections);
 * a base template that grows is seen again after a minute.
 */
#define MINT_AUTO_SIZE_CACHE_MS 60000

static int64
template_bytes_cached(Oid dboid, Oid spcoid)
{
	static Oid	db = InvalidOid;
	static Oid	spc = InvalidOid;
	static int64 bytes = 0;
	static TimestampTz at = 0;

	if (dboid != db || spcoid != spc ||
		TimestampDifferenceExceeds(at, GetCurrentTimestamp(), MINT_AUTO_SIZE_CACHE_MS))
	{
		bytes = template_bytes(dboid, spcoid);
		db = dboid;
		spc = spcoid;
		at = GetCurrentTimestamp();
	}
	return bytes;
}

/*
 * MINT_STRATEGY_WAL_LOG or MINT_STRATEGY_FILE_COPY for a copy of database
 * dboid, whose default tablespace is spcoid (InvalidOid: not known).
 */
int
mint_auto_strategy(Oid dboid, Oid spcoid)
{
	if (!enableFsync)
		return MINT_STRATEGY_FILE_COPY;
	if (copies_running(dboid) >= MINT_AUTO_FILE_COPY_PEERS)
		return MINT_STRATEGY_FILE_COPY;
	if (OidIsValid(spcoid) && template_bytes_cached(dboid, spcoid) >= MINT_AUTO_FILE_COPY_BYTES)
		return MINT_STRATEGY_FILE_COPY;
	return MINT_STRATEGY_WAL_LOG;
}
