/* kafka_props.h -- reader of librdkafka properties files (lib/):
 * "key=value" lines, '#' comments, blank lines; errors name file:line.
 * It knows no Kafka client: each side (the pipeline, the harness) builds
 * its own rd_kafka_conf_t from the pairs it is handed. */
#ifndef CRMSYNC_KAFKA_PROPS_H
#define CRMSYNC_KAFKA_PROPS_H

#include <stddef.h>

#define CRMSYNC_KAFKA_PROPS_LINE_MAX 4096   /* longest line, bytes */
#define CRMSYNC_KAFKA_PROPS_LINES_MAX 10000 /* most lines in one file */

/* Called once per property, in file order. key and val are borrowed,
 * valid during the call only. Return 0 to go on, or -1 with a reason in
 * err (err_size bytes) to stop: the reader then reports
 * "path:line: property 'key': <err>". */
typedef int(crmsync_kafka_prop_cb)(void *opaque, const char *key,
                                   const char *val, char *err, size_t err_size);

/* Read the file at path and call cb for each property. Returns 0, or -1 +
 * errstr naming the file and line (unreadable file, too many lines, a
 * line too long, a line without '=', an empty name, or cb's error). */
int crmsync_kafka_props_read(const char *path, crmsync_kafka_prop_cb *cb,
                             void *opaque, char *errstr, size_t errstr_size);

#endif
