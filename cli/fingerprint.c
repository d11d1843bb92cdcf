/*
 * fingerprint.c -- SHA-256 over files and directory trees, for
 * `pg_mint template --fingerprint-files` and `pg_mint fingerprint`.
 *
 * Every regular file found under the given paths (recursively, following
 * symbolic links) gets a key: for a directory argument D, "basename(D)/" +
 * its path relative to D with '/' separators; for a file argument, its
 * basename.  The entries are sorted by key (bytewise) and hashed as
 *
 *     key NUL decimal-size NUL contents      (for each entry, in order)
 *
 * so the result does not depend on the current directory, on the order of
 * the arguments, or on file times and permissions, and changes whenever a
 * file is added, removed, renamed or edited.  Inside directories, entries
 * whose name starts with "." and "__pycache__" directories are skipped
 * (editor files, .git, Python byte code written while migrations run).
 *
 * Layer: base helper, called by cmd_template.c and cmd_url.c; calls
 * extension/sha256.c and util.c.
 */
#include "pg_mint.h"
#include "sha256.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct FpEntry
{
	char	   *key;
	char	   *path;
} FpEntry;

typedef struct FpList
{
	FpEntry    *items;
	size_t		n;
	size_t		cap;
} FpList;

static void
fp_add(FpList *l, const char *key, const char *path)
{
	if (l->n == l->cap)
	{
		l->cap = l->cap ? l->cap * 2 : 64;
		l->items = xrealloc(l->items, l->cap * sizeof(FpEntry));
	}
	l->items[l->n].key = xstrdup(key);
	l->items[l->n].path = xstrdup(path);
	l->n++;
}

static int
fp_cmp(const void *a, const void *b)
{
	const FpEntry *x = a,
			   *y = b;
	int			c = strcmp(x->key, y->key);

	return c ? c : strcmp(x->path, y->path);
}

static bool
walk(FpList *l, const char *path, const char *key, int depth)
{
	DIR		   *d;
	struct dirent *de;
	char	  **names = NULL;
	size_t		nn = 0,
				cap = 0,
				i;
	bool		ok = true;

	if (depth > 64)
	{
		log_error("\"%s\": directories nested too deeply (a symbolic link loop?)", path);
		return false;
	}
	d = opendir(path);
	if (!d)
	{
		log_error("could not open directory \"%s\": %s", path, strerror(errno));
		return false;
	}
	while ((de = readdir(d)) != NULL)
	{
		if (de->d_name[0] == '.' || strcmp(de->d_name, "__pycache__") == 0)
			continue;
		if (nn == cap)
		{
			cap = cap ? cap * 2 : 32;
			names = xrealloc(names, cap * sizeof(char *));
		}
		names[nn++] = xstrdup(de->d_name);
	}
	closedir(d);

	for (i = 0; i < nn && ok; i++)
	{
		char	   *p = xasprintf("%s/%s", path, names[i]);
		char	   *k = xasprintf("%s/%s", key, names[i]);
		struct stat st;

		if (stat(p, &st) != 0)
		{
			log_error("could not read \"%s\": %s", p, strerror(errno));
			ok = false;
		}
		else if (S_ISDIR(st.st_mode))
			ok = walk(l, p, k, depth + 1);
		else if (S_ISREG(st.st_mode))
			fp_add(l, k, p);
		/* sockets, fifos, devices: not migration files, skipped */
		free(p);
		free(k);
	}
	for (i = 0; i < nn; i++)
		free(names[i]);
	free(names);
	return ok;
}

static char *
base_name_of(const char *path)
{
	char		resolved[PATH_MAX];
	const char *slash;

	if (!realpath(path, resolved))
		return NULL;
	slash = strrchr(resolved, '/');
	return xstrdup(slash ? slash + 1 : resolved);
}

bool
fingerprint_files(int npaths, const char *const *paths, char *out)
{
	FpList		l = {0};
	mint_sha256_ctx ctx;
	uint8_t		digest[MINT_SHA256_LEN];
	size_t		i;
	int			a;
	bool		ok = true;
	static char buf[65536];

	for (a = 0; a < npaths && ok; a++)
	{
		struct stat st;
		char	   *key;

		if (stat(paths[a], &st) != 0)
		{
			log_error("could not read \"%s\": %s", paths[a], strerror(errno));
			ok = false;
			break;
		}
		key = base_name_of(paths[a]);
		if (!key)
		{
			log_error("could not resolve \"%s\": %s", paths[a], strerror(errno));
			ok = false;
			break;
		}
		if (S_ISDIR(st.st_mode))
			ok = walk(&l, paths[a], key, 0);
		else if (S_ISREG(st.st_mode))
			fp_add(&l, key, paths[a]);
		else
		{
			log_error("\"%s\" is neither a file nor a directory", paths[a]);
			ok = false;
		}
		free(key);
	}

	if (ok)
	{
		qsort(l.items, l.n, sizeof(FpEntry), fp_cmp);
		mint_sha256_init(&ctx);
		for (i = 0; i < l.n && ok; i++)
		{
			FILE	   *f = fopen(l.items[i].path, "rb");
			struct stat st;
			char		size[32];
			size_t		got;
			off_t		total = 0;

			if (!f || fstat(fileno(f), &st) != 0)
			{
				log_error("could not read \"%s\": %s", l.items[i].path, strerror(errno));
				if (f)
					fclose(f);
				ok = false;
				break;
			}
			snprintf(size, sizeof(size), "%lld", (long long) st.st_size);
			mint_sha256_update(&ctx, l.items[i].key, strlen(l.items[i].key) + 1);
			mint_sha256_update(&ctx, size, strlen(size) + 1);
			while ((got = fread(buf, 1, sizeof(buf), f)) > 0)
			{
				mint_sha256_update(&ctx, buf, got);
				total += (off_t) got;
			}
			if (ferror(f) || total != st.st_size)
			{
				log_error("could not read \"%s\": %s", l.items[i].path,
						  ferror(f) ? strerror(errno) : "file changed while being read");
				ok = false;
			}
			fclose(f);
		}
		if (ok)
		{
			mint_sha256_final(&ctx, digest);
			mint_sha256_hex(digest, MINT_SHA256_LEN, out);
		}
	}

	for (i = 0; i < l.n; i++)
	{
		free(l.items[i].key);
		free(l.items[i].path);
	}
	free(l.items);
	return ok;
}
