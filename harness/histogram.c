/* histogram.c -- HDR-style log-linear histogram. */
#include "harness/histogram.h"

#include <string.h>

#define SUB (1u << HISTOGRAM_SUB_BITS)

static unsigned bucket_of(uint64_t v)
{
        if (v < SUB)
                return (unsigned)v;
        unsigned msb   = 63 - (unsigned)__builtin_clzll(v);
        unsigned shift = msb - HISTOGRAM_SUB_BITS + 1;
        return ((shift) << HISTOGRAM_SUB_BITS) +
               (unsigned)((v >> shift) - (SUB >> 1)) + (SUB >> 1);
}

/* Largest value that falls into bucket b. */
static uint64_t bucket_top(unsigned b)
{
        if (b < SUB)
                return b;
        unsigned shift = b >> HISTOGRAM_SUB_BITS;
        uint64_t m     = (b & (SUB - 1));
        if (m < (SUB >> 1))
                m += SUB >> 1; /* never happens for valid buckets */
        return ((m + 1) << shift) - 1;
}

void crmsync_histogram_init(struct histogram *h)
{
        memset(h, 0, sizeof(*h));
        h->min = UINT64_MAX;
}

void crmsync_histogram_record(struct histogram *h, uint64_t v)
{
        h->counts[bucket_of(v)]++;
        h->total++;
        if (v > h->max)
                h->max = v;
        if (v < h->min)
                h->min = v;
}

uint64_t crmsync_histogram_quantile(const struct histogram *h, double q)
{
        uint64_t rank;
        if (!h->total)
                return 0;
        if (q <= 0)
                return h->min;
        rank = (uint64_t)(q * (double)h->total + 0.999999);
        if (rank < 1)
                rank = 1;
        if (rank > h->total)
                rank = h->total;
        return crmsync_histogram_rank(h, rank);
}

uint64_t crmsync_histogram_rank(const struct histogram *h, uint64_t rank)
{
        uint64_t seen = 0;
        if (!rank || rank > h->total)
                return 0;
        for (unsigned b = 0; b < HISTOGRAM_BUCKETS; b++) {
                seen += h->counts[b];
                if (seen >= rank) {
                        uint64_t top = bucket_top(b);
                        return top > h->max ? h->max : top;
                }
        }
        return h->max;
}
