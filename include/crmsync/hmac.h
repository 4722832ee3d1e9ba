/* hmac.h -- HMAC-SHA256, base64 and a constant-time comparison (lib/).
 * Pure functions, thread-safe; they know no signature scheme: each user
 * (the mock CRM's signer, the connector's verifier) assembles its own
 * string to sign. */
#ifndef CRMSYNC_HMAC_H
#define CRMSYNC_HMAC_H

#include <stddef.h>

#define CRMSYNC_SHA256_LEN 32
/* base64 of a SHA-256 digest: 44 characters plus NUL. */
#define CRMSYNC_SHA256_B64_SIZE 45

/* One piece of a message: len bytes at p (p may be NULL when len is 0). */
struct crmsync_iov {
        const void *p;
        size_t      len;
};

/* HMAC-SHA256 of the concatenation of parts[0..n) under key[0..key_len),
 * into out[CRMSYNC_SHA256_LEN]. Returns 0, or -1 when libcrypto fails. */
int crmsync_hmac_sha256(const void *key, size_t key_len,
                        const struct crmsync_iov *parts, size_t n,
                        unsigned char out[CRMSYNC_SHA256_LEN]);

/* Standard base64 (RFC 4648, with padding) of in[0..len) into out, NUL-
 * terminated. Returns the length written, or -1 when out_size is too
 * small (it needs 4 * ceil(len / 3) + 1 bytes). */
int crmsync_base64_encode(const unsigned char *in, size_t len, char *out,
                          size_t out_size);

/* 1 when a[0..len) equals b[0..len), in time independent of the contents
 * (lengths are public: compare them first). */
int crmsync_ct_equal(const void *a, const void *b, size_t len);

#endif
