/* json_util.c -- dotted-path lookups in JSON objects (lib/). */
#include "crmsync/json_util.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

json_t *crmsync_json_path(const json_t *o, const char *path)
{
        char        key[64];
        const char *p = path;

        while (o && *p) {
                const char *dot = strchr(p, '.');
                size_t      n   = dot ? (size_t)(dot - p) : strlen(p);
                if (n >= sizeof(key))
                        return NULL;
                snprintf(key, sizeof(key), "%.*s", (int)n, p);
                o = json_object_get(o, key);
                p += n + (dot ? 1 : 0);
        }
        return (json_t *)o;
}

double crmsync_json_num(const json_t *o, const char *path)
{
        const json_t *v = crmsync_json_path(o, path);
        return json_is_number(v) ? json_number_value(v) : NAN;
}
