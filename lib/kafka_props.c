/* kafka_props.c -- read a librdkafka properties file ("key=value" lines)
 * and hand each property to the caller, with errors that name file:line
 * (lib/; moved from pipeline/kafka_conf.c). */
#include "crmsync/kafka_props.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "crmsync/common.h"

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

int crmsync_kafka_props_read(const char *path, crmsync_kafka_prop_cb *cb,
                             void *opaque, char *errstr, size_t errstr_size)
{
        char  line[CRMSYNC_KAFKA_PROPS_LINE_MAX + 2];
        char  kerr[512];
        FILE *fp;
        int   lineno = 0, rc = -1;

        if (!cb || !path)
                return crmsync_err(errstr, errstr_size,
                                   "kafka config: no callback or path");
        fp = fopen(path, "r");
        if (!fp)
                return crmsync_err(errstr, errstr_size, "%s: %s", path,
                                   strerror(errno));

        while (fgets(line, sizeof(line), fp)) {
                char  *s, *eq, *key, *val;
                size_t len = strlen(line);

                lineno++;
                if (lineno > CRMSYNC_KAFKA_PROPS_LINES_MAX) {
                        crmsync_err(errstr, errstr_size,
                                    "%s:%d: too many lines (at most %d)", path,
                                    lineno, CRMSYNC_KAFKA_PROPS_LINES_MAX);
                        goto out_close;
                }
                if (len > CRMSYNC_KAFKA_PROPS_LINE_MAX &&
                    line[len - 1] != '\n') {
                        crmsync_err(errstr, errstr_size,
                                    "%s:%d: line too long (at most %d bytes)",
                                    path, lineno, CRMSYNC_KAFKA_PROPS_LINE_MAX);
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
                kerr[0] = '\0';
                if (cb(opaque, key, val, kerr, sizeof(kerr)) != 0) {
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
