/* kafka_conf.c -- the pipeline's Kafka configuration: a properties file
 * (read by lib/kafka_props.c) applied to an rd_kafka_conf_t; parse the
 * run's start offsets. The harness builds its own (harness/kafka_conf.c). */
#include "crmsync/common.h"
#include "crmsync/kafka_props.h"
#include "crmsync/pipeline.h"

#include <errno.h>
#include <stdlib.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <string.h>

/* Hand one property to librdkafka. */
static int set_prop(void *conf, const char *key, const char *val, char *err,
                    size_t err_size)
{
        return rd_kafka_conf_set((rd_kafka_conf_t *)conf, key, val, err,
                                 err_size) == RD_KAFKA_CONF_OK
                   ? 0
                   : -1;
}

int crmsync_kafka_conf_file(void *conf, const char *path, char *errstr,
                            size_t errstr_size)
{
        if (!conf)
                return crmsync_err(errstr, errstr_size,
                                   "kafka config: no configuration");
        return crmsync_kafka_props_read(path, set_prop, conf, errstr,
                                        errstr_size);
}

int crmsync_start_offsets_parse(const char *spec, int64_t *offsets, int max,
                                char *errstr, size_t errstr_size)
{
        const char *p    = spec;
        int         item = 0;

        for (int i = 0; i < max; i++)
                offsets[i] = -1;
        if (!spec)
                return 0;
        while (*p) {
                char     *end;
                long      part;
                long long off;

                item++;
                if (item > CRMSYNC_START_OFFSETS_MAX)
                        return crmsync_err(errstr, errstr_size,
                                           "start offsets: more than %d "
                                           "items",
                                           CRMSYNC_START_OFFSETS_MAX);
                errno = 0;
                part  = strtol(p, &end, 10);
                if (end == p || *end != ':' || errno || part < 0 || part >= max)
                        return crmsync_err(errstr, errstr_size,
                                           "start offsets: item %d ('%.40s')"
                                           ": expected PARTITION:OFFSET "
                                           "with a partition 0..%d",
                                           item, p, max - 1);
                p   = end + 1;
                off = strtoll(p, &end, 10);
                if (end == p || (*end && *end != ',') || errno || off < 0)
                        return crmsync_err(errstr, errstr_size,
                                           "start offsets: item %d: offset "
                                           "'%.40s' is not a number >= 0",
                                           item, p);
                offsets[part] = off;
                p             = *end ? end + 1 : end;
        }
        return 0;
}
