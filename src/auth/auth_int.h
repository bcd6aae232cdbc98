/* Internals shared by the digest authentication sources: hashing, HMAC, hex, base64url. */
#ifndef SIPREG_AUTH_INT_H
#define SIPREG_AUTH_INT_H

#include <openssl/evp.h>

#include "sipreg/auth.h"

/* An incremental digest over one algorithm's hash. Errors are sticky: check `err` (or the
 * return of sipreg__hash_end) once at the end. */
struct sipreg__hash {
    EVP_MD_CTX *ctx;
    int err;
};

/* The hash of an algorithm's family, fetched once per process; NULL if unavailable. */
const EVP_MD *sipreg__auth_md(enum sipreg_auth_alg alg);

/* Starts a hash; on failure h->err is set and later calls do nothing. */
void sipreg__hash_begin(struct sipreg__hash *h, EVP_MD_CTX *ctx, enum sipreg_auth_alg alg);
void sipreg__hash_add(struct sipreg__hash *h, const void *p, size_t n);
/* Adds the contents of a quoted-string with its quoted-pair escapes removed. */
void sipreg__hash_add_unq(struct sipreg__hash *h, struct sipreg_str s);
/* Finishes into lowercase hex (NUL-terminated). 0 or SIPREG_ECRYPTO. */
int sipreg__hash_end_hex(struct sipreg__hash *h, char out[SIPREG_AUTH_HEX_MAX]);

/* Lowercase hex of n bytes into out (2n chars + NUL). */
void sipreg__hex(char *out, const uint8_t *p, size_t n);

/* HMAC-SHA256 over the concatenation of `nparts` byte ranges. 0 or SIPREG_ECRYPTO. */
struct sipreg__bytes {
    const void *p;
    size_t n;
};
int sipreg__hmac_sha256(const uint8_t key[32], const struct sipreg__bytes *parts, size_t nparts,
                        uint8_t out[32]);

/* base64url without padding (RFC 4648 §5). The encoder writes 4n/3 rounded up chars and a NUL.
 * The decoder accepts only the canonical encoding of exactly `n` bytes (length, alphabet and zero
 * unused bits). 0 or SIPREG_EPARSE. */
void sipreg__b64url_encode(char *out, const uint8_t *p, size_t n);
int sipreg__b64url_decode(uint8_t *out, size_t n, struct sipreg_str s);

/* Tests only: whether the tracker holds `tag`, and its highest nc. */
bool sipreg__auth_tracker_find(struct sipreg_auth_tracker *t, const uint8_t tag[16], uint32_t *nc);

#endif
