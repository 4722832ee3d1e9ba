/* hash.h -- the one hash function of crmsync (lib/): 64-bit FNV-1a with
 * the standard offset basis 14695981039346656037 and prime
 * 1099511628211, so that any FNV-1a library gives the same values. The
 * account-domain buckets (hash:K/N) are a wire contract built on it:
 * docs/wire-contracts.md has test vectors. Not for secrets. */
#ifndef CRMSYNC_HASH_H
#define CRMSYNC_HASH_H

#include <stddef.h>
#include <stdint.h>

/* FNV-1a 64 of len bytes at p (p may be NULL when len is 0). */
uint64_t crmsync_fnv1a64(const void *p, size_t len);
/* FNV-1a 64 of the bytes of a NUL-terminated string. */
uint64_t crmsync_fnv1a64_str(const char *s);

#endif
