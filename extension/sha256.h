/*
 * sha256.h -- small self-contained SHA-256 (FIPS 180-4), shared by the
 * extension (name shortening) and the CLI (--fingerprint-files).
 */
#ifndef MINT_SHA256_H
#define MINT_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define MINT_SHA256_LEN 32

typedef struct mint_sha256_ctx
{
	uint32_t	state[8];
	uint64_t	bitlen;
	uint8_t		buf[64];
	size_t		buflen;
} mint_sha256_ctx;

void		mint_sha256_init(mint_sha256_ctx *ctx);
void		mint_sha256_update(mint_sha256_ctx *ctx, const void *data, size_t len);
void		mint_sha256_final(mint_sha256_ctx *ctx, uint8_t out[MINT_SHA256_LEN]);

/* Hex of the first nbytes of the digest, lower case, NUL-terminated. */
void		mint_sha256_hex(const uint8_t *digest, size_t nbytes, char *out);

#endif
