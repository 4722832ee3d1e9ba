/* json_util.h -- reading figures out of nested JSON objects (lib/): the
 * capacity sweeps and their report address figures by dotted paths such
 * as "freshness_ms.p99". */
#ifndef CRMSYNC_JSON_UTIL_H
#define CRMSYNC_JSON_UTIL_H

#include <jansson.h>

/* The member at path under o, each '.' one object level down
 * ("peak_lag.age_ms"); NULL when o is NULL, a level is missing or not an
 * object, or a key is longer than 63 bytes. Borrowed from o. */
json_t *crmsync_json_path(const json_t *o, const char *path);

/* The number at path (crmsync_json_path), NAN when there is none or it
 * is not a number. */
double crmsync_json_num(const json_t *o, const char *path);

#endif
