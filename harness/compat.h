/* compat.h -- `crmsync probe`: the compatibility checklist of one target.
 * Each item is pass, fail or unsupported, with the broker's error and the
 * API version the client used (read from librdkafka's protocol log). An
 * API the broker does not list in its ApiVersions answer is unsupported,
 * never a crash. Every step is bounded by a timeout. */
#ifndef CRMSYNC_COMPAT_H
#define CRMSYNC_COMPAT_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#include "harness/scenario.h"

/* The topics the probe uses (created when it can; an existing one is
 * fine). */
#define COMPAT_TOPIC "crmsync.probe.compat"
#define COMPAT_COMPACTED_TOPIC "crmsync.probe.compacted"

/* Probe target t (an external target, or an embedded one: the probe then
 * starts that cluster for itself). timeout_ms bounds each step. Returns
 * {"target", "type", "bootstrap_servers", "api_versions": [{"key",
 * "name", "min", "max"}], "items": [{"item", "status", "api", "error",
 * "detail"}], "figures": {"metadata_rtt_ms", "produce_p50_ms",
 * "produce_p99_ms", "largest_message_bytes"}, "counts": {"pass", "fail",
 * "unsupported"}}, or NULL + errstr when the cluster cannot be reached. New
 * reference. */
json_t *crmsync_compat_probe(const struct scenario_target *t, int timeout_ms,
                             char *errstr, size_t errstr_size);

/* The checklist as a Markdown table (items, then the ApiVersions table
 * when with_api_table). */
void crmsync_compat_markdown(const json_t *probe, int with_api_table, FILE *fp);

#endif
