/* rand.h -- the seeded pseudo-random generators (lib/). Deterministic
 * for a seed on every platform, never for secrets.
 *   splitmix64   one 64-bit word of state: fault draws, jitter, and the
 *                seeding of the stream generator below;
 *   crmsync_rng  xoshiro256** seeded through splitmix64: long streams
 *                (the workload generator).
 * The state is the caller's; nothing here locks. */
#ifndef CRMSYNC_RAND_H
#define CRMSYNC_RAND_H

#include <stdint.h>

/* The splitmix64 output function: a bijective 64-bit mix, also usable as
 * a stateless draw (crmsync_mix64(seed ^ counter)). */
uint64_t crmsync_mix64(uint64_t z);
/* Advance *state and return the next splitmix64 output. */
uint64_t crmsync_splitmix64(uint64_t *state);
/* The next splitmix64 output as a double uniform in [0, 1). */
double crmsync_splitmix64_unit(uint64_t *state);

struct crmsync_rng {
        uint64_t s[4];
};

/* Seed r: its four words are four splitmix64 outputs from seed. */
void     crmsync_rng_seed(struct crmsync_rng *r, uint64_t seed);
uint64_t crmsync_rng_next(struct crmsync_rng *r);
/* Uniform in [0, n); n > 0. Rejection sampling keeps it unbiased. */
uint64_t crmsync_rng_below(struct crmsync_rng *r, uint64_t n);
/* Uniform in [0, 1). */
double crmsync_rng_unit(struct crmsync_rng *r);

#endif
