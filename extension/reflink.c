/*
 * reflink.c -- can CREATE DATABASE share the template's blocks instead of
 * copying them?
 *
 * PostgreSQL 18's file_copy_method = clone makes STRATEGY FILE_COPY copy each
 * file with copy_file_range(), which shares blocks on file systems with
 * reflinks (XFS made with reflink=1, btrfs): the copy then costs the same
 * whatever the template's size.  Elsewhere copy_file_range() still works but
 * copies every byte, so pg_mint asks the file system itself: it clones a
 * small probe file with the FICLONE ioctl in the tablespace's temporary
 * directory (whose leftovers the server removes at restart) and removes it.
 *
 * Layer: primitives.  Called by steps.c; calls nothing of pg_mint's.
 */
#include "postgres.h"

#include <fcntl.h>
#include <unistd.h>
#include <sys/ioctl.h>
#ifdef __linux__
#include <linux/fs.h>
#endif

#include "commands/tablespace.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/fd.h"
#if PG_VERSION_NUM >= 180000
#include "common/file_utils.h"	/* PG_TEMP_FILE_PREFIX moved here */
#endif

#include "pg_mint.h"

/*
 * Can files of tablespace spcoid be cloned?  On false, *why says why
 * (palloc'd, a sentence fragment for errdetail).
 */
bool
mint_can_clone_files(Oid spcoid, char **why)
{
#if PG_VERSION_NUM < 180000 || !defined(FICLONE)
	(void) spcoid;
	*why = pstrdup(PG_VERSION_NUM < 180000 ? "file_copy_method exists from PostgreSQL 18"
				   : "this platform has no FICLONE");
	return false;
#else
	char		dir[MAXPGPATH];
	char		src[MAXPGPATH];
	char		dst[MAXPGPATH];
	char		block[BLCKSZ];
	int			sfd,
				dfd;
	int			rc = -1;
	int			save_errno = 0;

	TempTablespacePath(dir, spcoid);
	if (MakePGDirectory(dir) < 0 && errno != EEXIST)
	{
		*why = psprintf("could not create directory \"%s\": %m", dir);
		return false;
	}
	snprintf(src, sizeof(src), "%s/%s_mint_clone_probe_%d.src", dir, PG_TEMP_FILE_PREFIX, MyProcPid);
	snprintf(dst, sizeof(dst), "%s/%s_mint_clone_probe_%d.dst", dir, PG_TEMP_FILE_PREFIX, MyProcPid);

	memset(block, 0, sizeof(block));
	sfd = OpenTransientFile(src, O_RDWR | O_CREAT | O_TRUNC | PG_BINARY);
	if (sfd < 0)
	{
		*why = psprintf("could not create file \"%s\": %m", src);
		return false;
	}
	dfd = OpenTransientFile(dst, O_RDWR | O_CREAT | O_TRUNC | PG_BINARY);
	if (dfd >= 0 && write(sfd, block, sizeof(block)) == sizeof(block))
	{
		rc = ioctl(dfd, FICLONE, sfd);
		save_errno = errno;
	}
	else
		save_errno = errno;
	CloseTransientFile(sfd);
	if (dfd >= 0)
		CloseTransientFile(dfd);
	(void) unlink(src);
	(void) unlink(dst);
	if (rc == 0)
		return true;
	errno = save_errno;
	*why = psprintf("FICLONE in \"%s\" failed: %m", dir);
	return false;
#endif
}
