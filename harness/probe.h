/* probe.h -- a producer that writes one small record to every partition of
 * a probe topic at a fixed interval and records which sends failed: the
 * harness's own measure of broker unavailability, independent of the
 * pipeline. Runs on its own thread until stopped. */
#ifndef CRMSYNC_PROBE_H
#define CRMSYNC_PROBE_H

#include <stddef.h>
#include <stdint.h>

struct probe_sample {
        int64_t send_ms; /* wall clock */
        int32_t partition;
        int8_t  state; /* 0 pending, 1 acknowledged, -1 failed */
};

typedef struct probe probe_t;

/* Produce to topic (partitions of it) every interval_ms; keep at most
 * max_samples samples. Delivery fails after timeout_ms. NULL + errstr on
 * failure. The caller owns the result: free with crmsync_probe_destroy. */
probe_t *crmsync_probe_start(const char *props_file, const char *topic,
                             int partitions, int interval_ms, int timeout_ms,
                             size_t max_samples, char *errstr,
                             size_t errstr_size);
/* Stop the thread, waiting for outstanding deliveries. Call once. */
void crmsync_probe_stop(probe_t *p);
/* Seconds from the first failed send to partition at or after from_ms to
 * the first acknowledged send after it; 0 when no send failed; -1 when it
 * never recovered. After stop only. */
double crmsync_probe_unavailable_s(const probe_t *p, int32_t partition,
                                   int64_t from_ms);
void   crmsync_probe_destroy(probe_t *p); /* accepts NULL */

#endif
