/*
 * SHA-256 (FIPS 180-4), for run names derived from an execution's identity
 * and the digests of plugin files. Small and dependency-free, so the engine
 * host, which offers it to engines, maps no crypto library.
 */
#ifndef WFE_BASE_SHA256_H
#define WFE_BASE_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct wfe_sha256 {
  uint32_t state[8];
  uint64_t length; /* bytes hashed so far */
  unsigned char block[64];
  size_t used; /* bytes in `block` */
};

void wfe_sha256_init(struct wfe_sha256 *ctx);
void wfe_sha256_update(struct wfe_sha256 *ctx, const void *data, size_t len);
/* Writes the 32-byte digest. */
void wfe_sha256_final(struct wfe_sha256 *ctx, unsigned char digest[32]);

/* Lowercase hex SHA-256 of a buffer, with a terminating NUL (65 bytes). */
void wfe_sha256_hex(const void *data, size_t len, char out_hex[65]);

/* Lowercase hex of a 32-byte digest, NUL-terminated. */
void wfe_sha256_to_hex(const unsigned char digest[32], char out_hex[65]);

#endif
