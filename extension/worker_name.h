/*
 * worker_name.h -- the per-worker database naming rule, shared by the
 * extension (mint.worker_name) and the CLI (pg_mint url / clone --worker).
 *
 * Pure C: no PostgreSQL headers, no allocation.
 */
#ifndef MINT_WORKER_NAME_H
#define MINT_WORKER_NAME_H

#include <stddef.h>

/* PostgreSQL identifiers hold at most NAMEDATALEN - 1 = 63 bytes. */
#define MINT_NAME_MAX 63

/* Hex digits of the SHA-256 prefix used when a name has to be shortened. */
#define MINT_NAME_HASH_HEX 16

/* Workers up to this many bytes stay visible at the end of a shortened name. */
#define MINT_NAME_KEEP_WORKER 20

/*
 * Compute the database name for (base, worker) into out (at least
 * MINT_NAME_MAX + 1 bytes).  worker may be NULL or "" (the name is then base
 * itself, shortened if needed).  base must be non-empty.
 *
 * Rule: "base_worker" when that fits in 63 bytes.  Otherwise the name is
 * shortened deterministically: "<clipped base>_<hash16>_<worker>" when the
 * worker has at most 20 bytes, else "<clipped base_worker>_<hash16>", where
 * hash16 is the first 16 hex digits of SHA-256("base_worker") and clipping
 * never splits a UTF-8 character.
 *
 * Returns 1 if the name was shortened, 0 if not, -1 if base is empty/NULL.
 */
int			mint_worker_name(const char *base, const char *worker, char *out);

/*
 * The name for (base, worker) of one run: the name of ("base_run", worker)
 * by the rule above, so that concurrent runs (CI pipelines, two worktrees)
 * never share a database; run NULL or "" gives mint_worker_name(base,
 * worker) exactly.  Same return values.
 */
int			mint_worker_name_run(const char *base, const char *worker, const char *run, char *out);

/* Hex digits of the fingerprint hash in a template version's name. */
#define MINT_VERSION_HASH_HEX 12

/*
 * The database name a finished version of template tpl with fingerprint fp
 * moves to when a build of another fingerprint takes the template's own
 * name: "<tpl clipped>_v<hash12>", hash12 the first 12 hex digits of
 * SHA-256(tpl NUL fp), at most 63 bytes, clipped on a UTF-8 boundary.
 */
void		mint_template_version_name(const char *tpl, const char *fp, char *out);

/* Largest prefix length <= maxlen of s that does not split a UTF-8 character. */
size_t		mint_utf8_clip(const char *s, size_t len, size_t maxlen);

#endif
