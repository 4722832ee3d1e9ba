/* kafka_conf.c -- load a file of librdkafka properties ("key=value" lines)
 * into an rd_kafka_conf_t, with errors that name file:line; parse the
 * run's start offsets. */
#include "crmsync/common.h"
#include "crmsync/pipeline.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <string.h>

#define KAFKA_CONF_LINE_MAX 4096   /* longest accepted line, bytes */
#define KAFKA_CONF_LINES_MAX 10000 /* most lines read from one file */

static char *trim(char *s)
{
        char *e;

        while (isspace((unsigned char)*s))
                s++;
        e = s + strlen(s);
        while (e > s && isspace((unsigned char)e[-1]))
                *--e = '\0';
        return s;
}

int crmsync_kafka_conf_file(void *conf, const char *path, char *errstr,
                            size_t errstr_size)
{
        char  line[KAFKA_CONF_LINE_MAX + 2];
        char  kerr[512];
        FILE *fp;
        int   lineno = 0, rc = -1;

        if (!conf || !path)
                return crmsync_err(errstr, errstr_size,
                                   "kafka config: no configuration or path");
        fp = fopen(path, "r");
        if (!fp)
                return crmsync_err(errstr, errstr_size, "%s: %s", path,
                                   strerror(errno));

        while (fgets(line, sizeof(line), fp)) {
                char  *s, *eq, *key, *val;
                size_t len = strlen(line);

                lineno++;
                if (lineno > KAFKA_CONF_LINES_MAX) {
                        crmsync_err(errstr, errstr_size,
                                    "%s:%d: too many lines (at most %d)", path,
                                    lineno, KAFKA_CONF_LINES_MAX);
                        goto out_close;
                }
                if (len > KAFKA_CONF_LINE_MAX && line[len - 1] != '\n') {
                        crmsync_err(errstr, errstr_size,
                                    "%s:%d: line too long (at most %d bytes)",
                                    path, lineno, KAFKA_CONF_LINE_MAX);
                        goto out_close;
                }
                s = trim(line);
                if (!*s || *s == '#')
                        continue;
                eq = strchr(s, '=');
                if (!eq) {
                        crmsync_err(errstr, errstr_size,
                                    "%s:%d: expected key=value, got '%s'", path,
                                    lineno, s);
                        goto out_close;
                }
                *eq = '\0';
                key = trim(s);
                val = trim(eq + 1);
                if (!*key) {
                        crmsync_err(errstr, errstr_size,
                                    "%s:%d: empty property name", path, lineno);
                        goto out_close;
                }
                if (rd_kafka_conf_set((rd_kafka_conf_t *)conf, key, val, kerr,
                                      sizeof(kerr)) != RD_KAFKA_CONF_OK) {
                        crmsync_err(errstr, errstr_size,
                                    "%s:%d: property '%s': %s", path, lineno,
                                    key, kerr);
                        goto out_close;
                }
        }
        if (ferror(fp)) {
                crmsync_err(errstr, errstr_size, "%s: read error: %s", path,
                            strerror(errno));
                goto out_close;
        }
        rc = 0;
out_close:
        fclose(fp);
        return rc;
}

int crmsync_start_offsets_parse(const char *spec, int64_t *offsets, int max,
                                char *errstr, size_t errstr_size)
{
        const char *p = spec;
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
                if (end == p || *end != ':' || errno || part < 0 ||
                    part >= max)
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
