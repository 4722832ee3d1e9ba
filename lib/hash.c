/* hash.c -- 64-bit FNV-1a (hash.h). */
#include "crmsync/hash.h"

#define FNV64_BASIS 14695981039346656037ULL
#define FNV64_PRIME 1099511628211ULL

uint64_t crmsync_fnv1a64(const void *p, size_t len)
{
        const unsigned char *b = p;
        uint64_t             h = FNV64_BASIS;

        for (size_t i = 0; i < len; i++)
                h = (h ^ b[i]) * FNV64_PRIME;
        return h;
}

uint64_t crmsync_fnv1a64_str(const char *s)
{
        uint64_t h = FNV64_BASIS;

        for (; *s; s++)
                h = (h ^ (unsigned char)*s) * FNV64_PRIME;
        return h;
}
