/*
 * worker_name.c -- the per-worker database naming rule (see worker_name.h).
 * Shared by the extension and the CLI so that both always agree.
 */
#include "worker_name.h"
#include "sha256.h"

#include <string.h>

size_t
mint_utf8_clip(const char *s, size_t len, size_t maxlen)
{
	size_t		n = len < maxlen ? len : maxlen;

	/* back off while the byte at the cut is a UTF-8 continuation byte */
	while (n > 0 && n < len && (((unsigned char) s[n]) & 0xC0) == 0x80)
		n--;
	return n;
}

int
mint_worker_name(const char *base, const char *worker, char *out)
{
	size_t		blen,
				wlen,
				flen;
	mint_sha256_ctx ctx;
	uint8_t		digest[MINT_SHA256_LEN];
	char		hex[MINT_NAME_HASH_HEX + 1];
	size_t		keep;
	char	   *p;

	if (base == NULL || base[0] == '\0')
		return -1;
	blen = strlen(base);
	wlen = (worker != NULL) ? strlen(worker) : 0;
	flen = blen + (wlen > 0 ? 1 + wlen : 0);

	if (flen <= MINT_NAME_MAX)
	{
		memcpy(out, base, blen);
		if (wlen > 0)
		{
			out[blen] = '_';
			memcpy(out + blen + 1, worker, wlen);
		}
		out[flen] = '\0';
		return 0;
	}

	/* hash the full, unshortened name "base_worker" */
	mint_sha256_init(&ctx);
	mint_sha256_update(&ctx, base, blen);
	if (wlen > 0)
	{
		mint_sha256_update(&ctx, "_", 1);
		mint_sha256_update(&ctx, worker, wlen);
	}
	mint_sha256_final(&ctx, digest);
	mint_sha256_hex(digest, MINT_NAME_HASH_HEX / 2, hex);

	p = out;
	if (wlen > 0 && wlen <= MINT_NAME_KEEP_WORKER)
	{
		/* <base clipped>_<hash>_<worker> */
		keep = MINT_NAME_MAX - 1 - MINT_NAME_HASH_HEX - 1 - wlen;
		keep = mint_utf8_clip(base, blen, keep);
		memcpy(p, base, keep);
		p += keep;
		*p++ = '_';
		memcpy(p, hex, MINT_NAME_HASH_HEX);
		p += MINT_NAME_HASH_HEX;
		*p++ = '_';
		memcpy(p, worker, wlen);
		p += wlen;
	}
	else
	{
		/* <base_worker clipped>_<hash> */
		char		full[2 * (MINT_NAME_MAX + 1)];
		size_t		fb;

		keep = MINT_NAME_MAX - 1 - MINT_NAME_HASH_HEX;
		/* only the first keep (+ a few) bytes matter: build them */
		fb = blen < sizeof(full) ? blen : sizeof(full);
		memcpy(full, base, fb);
		if (fb < sizeof(full) && wlen > 0)
		{
			size_t		room = sizeof(full) - fb;

			full[fb++] = '_';
			room--;
			memcpy(full + fb, worker, wlen < room ? wlen : room);
			fb += wlen < room ? wlen : room;
		}
		keep = mint_utf8_clip(full, fb, keep);
		memcpy(p, full, keep);
		p += keep;
		*p++ = '_';
		memcpy(p, hex, MINT_NAME_HASH_HEX);
		p += MINT_NAME_HASH_HEX;
	}
	*p = '\0';
	return 1;
}

int
mint_worker_name_run(const char *base, const char *worker, const char *run, char *out)
{
	char		full[4 * (MINT_NAME_MAX + 1)];
	size_t		blen,
				rlen;

	if (base == NULL || base[0] == '\0')
		return -1;
	if (run == NULL || run[0] == '\0')
		return mint_worker_name(base, worker, out);
	blen = strlen(base);
	rlen = strlen(run);
	/* longer bases and runs only matter through the hash: keep them whole */
	if (blen + 1 + rlen + 1 > sizeof(full))
	{
		/* hash what does not fit into a stand-in of fixed length */
		mint_sha256_ctx ctx;
		uint8_t		digest[MINT_SHA256_LEN];
		char		hex[2 * MINT_SHA256_LEN + 1];
		size_t		keep = MINT_NAME_MAX;

		mint_sha256_init(&ctx);
		mint_sha256_update(&ctx, base, blen);
		mint_sha256_update(&ctx, "_", 1);
		mint_sha256_update(&ctx, run, rlen);
		mint_sha256_final(&ctx, digest);
		mint_sha256_hex(digest, MINT_SHA256_LEN, hex);
		keep = mint_utf8_clip(base, blen, keep);
		memcpy(full, base, keep);
		full[keep] = '_';
		memcpy(full + keep + 1, hex, 2 * MINT_SHA256_LEN + 1);
		return mint_worker_name(full, worker, out) < 0 ? -1 : 1;
	}
	memcpy(full, base, blen);
	full[blen] = '_';
	memcpy(full + blen + 1, run, rlen + 1);
	return mint_worker_name(full, worker, out);
}

void
mint_template_version_name(const char *tpl, const char *fp, char *out)
{
	mint_sha256_ctx ctx;
	uint8_t		digest[MINT_SHA256_LEN];
	char		hex[MINT_VERSION_HASH_HEX + 1];
	size_t		tlen = strlen(tpl);
	size_t		keep;

	mint_sha256_init(&ctx);
	mint_sha256_update(&ctx, tpl, tlen);
	mint_sha256_update(&ctx, "", 1);	/* NUL: ("ab", "c") differs from ("a", "bc") */
	mint_sha256_update(&ctx, fp, strlen(fp));
	mint_sha256_final(&ctx, digest);
	mint_sha256_hex(digest, MINT_VERSION_HASH_HEX / 2, hex);
	keep = mint_utf8_clip(tpl, tlen, MINT_NAME_MAX - 2 - MINT_VERSION_HASH_HEX);
	memcpy(out, tpl, keep);
	out[keep] = '_';
	out[keep + 1] = 'v';
	memcpy(out + keep + 2, hex, MINT_VERSION_HASH_HEX);
	out[keep + 2 + MINT_VERSION_HASH_HEX] = '\0';
}
