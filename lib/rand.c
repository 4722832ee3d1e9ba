/* rand.c -- splitmix64 and xoshiro256** (rand.h), the only PRNGs of
 * crmsync (lib/). */
#include "crmsync/rand.h"

#define UNIT_53 (1.0 / 9007199254740992.0) /* 2^-53 */

uint64_t crmsync_mix64(uint64_t z)
{
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
}

uint64_t crmsync_splitmix64(uint64_t *state)
{
        return crmsync_mix64(*state += 0x9e3779b97f4a7c15ULL);
}

double crmsync_splitmix64_unit(uint64_t *state)
{
        return (double)(crmsync_splitmix64(state) >> 11) * UNIT_53;
}

void crmsync_rng_seed(struct crmsync_rng *r, uint64_t seed)
{
        for (int i = 0; i < 4; i++)
                r->s[i] = crmsync_splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
        return (x << k) | (x >> (64 - k));
}

uint64_t crmsync_rng_next(struct crmsync_rng *r)
{
        uint64_t *s      = r->s;
        uint64_t  result = rotl(s[1] * 5, 7) * 9;
        uint64_t  t      = s[1] << 17;

        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = rotl(s[3], 45);
        return result;
}

uint64_t crmsync_rng_below(struct crmsync_rng *r, uint64_t n)
{
        uint64_t lim = UINT64_MAX - UINT64_MAX % n;
        uint64_t x;

        do
                x = crmsync_rng_next(r);
        while (x >= lim);
        return x % n;
}

double crmsync_rng_unit(struct crmsync_rng *r)
{
        return (double)(crmsync_rng_next(r) >> 11) * UNIT_53;
}
