/* histogram.h -- HDR-style log-linear histogram of non-negative integers
 * (latencies in ms): constant memory, relative error below 1/64. */
#ifndef CRMSYNC_HISTOGRAM_H
#define CRMSYNC_HISTOGRAM_H

#include <stdint.h>

#define HISTOGRAM_SUB_BITS 6
#define HISTOGRAM_BUCKETS ((64 - HISTOGRAM_SUB_BITS + 1) << HISTOGRAM_SUB_BITS)

struct histogram {
        uint64_t counts[HISTOGRAM_BUCKETS];
        uint64_t total;
        uint64_t max;
        uint64_t min;
};

void crmsync_histogram_init(struct histogram *h);
void crmsync_histogram_record(struct histogram *h, uint64_t v);
/* Value at quantile q (0..1): the upper edge of the bucket holding it, never
 * above the recorded max. 0 when empty. */
uint64_t crmsync_histogram_quantile(const struct histogram *h, double q);
/* Value of the rank-th smallest sample (1-based), same error and cap as
 * crmsync_histogram_quantile; 0 when rank is 0 or above the total. */
uint64_t crmsync_histogram_rank(const struct histogram *h, uint64_t rank);

#endif
