/* scenario_vctx.c -- typed field readers of the scenario loader: each
 * error names file:line:column and the field path. */
#include "harness/scenario_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crmsync/common.h"

int scenario_err(struct vctx *c, const char *path, int want_key,
                 const char *fmt, ...)
{
        char    msg[512];
        int     line = 1, column = 1;
        va_list ap;
        if (c->failed)
                return -1; /* keep the first error */
        c->failed = 1;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        crmsync_jsonpos_find(c->jp, path, want_key, &line, &column);
        return crmsync_err(c->errstr, c->errstr_size, "%s:%d:%d: %s: %s",
                           c->file, line, column, *path ? path : "(root)", msg);
}

void scenario_join(char *out, size_t size, const char *parent, const char *key)
{
        snprintf(out, size, "%s%s%s", parent, *parent ? "." : "", key);
}

const char *scenario_type_name(const json_t *v)
{
        switch (json_typeof(v)) {
        case JSON_OBJECT:
                return "an object";
        case JSON_ARRAY:
                return "an array";
        case JSON_STRING:
                return "a string";
        case JSON_INTEGER:
                return "an integer";
        case JSON_REAL:
                return "a number";
        case JSON_TRUE:
        case JSON_FALSE:
                return "a boolean";
        default:
                return "null";
        }
}

/* Unknown keys are errors: known is a NULL-terminated list. */
int scenario_check_known(struct vctx *c, json_t *obj, const char *path,
                         const char *const *known)
{
        const char *key;
        json_t     *v;
        json_object_foreach(obj, key, v)
        {
                int ok = 0;
                for (const char *const *k = known; *k; k++)
                        if (!strcmp(*k, key))
                                ok = 1;
                if (!ok) {
                        char p[512];
                        scenario_join(p, sizeof(p), path, key);
                        return scenario_err(c, p, 1, "unknown field '%s'", key);
                }
        }
        return 0;
}

/* Optional object member; *out NULL when absent. */
int scenario_get_obj(struct vctx *c, json_t *obj, const char *path,
                     const char *key, json_t **out)
{
        char    p[512];
        json_t *v = json_object_get(obj, key);
        *out      = NULL;
        if (!v)
                return 0;
        scenario_join(p, sizeof(p), path, key);
        if (!json_is_object(v))
                return scenario_err(c, p, 0, "expected an object, got %s",
                                    scenario_type_name(v));
        *out = v;
        return 0;
}

int scenario_get_num(struct vctx *c, json_t *obj, const char *path,
                     const char *key, double *out, double min, double max)
{
        char    p[512];
        json_t *v = json_object_get(obj, key);
        if (!v)
                return 0;
        scenario_join(p, sizeof(p), path, key);
        if (!json_is_number(v))
                return scenario_err(c, p, 0, "expected a number, got %s",
                                    scenario_type_name(v));
        double d = json_number_value(v);
        if (!isfinite(d) || d < min || d > max)
                return scenario_err(c, p, 0, "%g is out of range [%g, %g]", d,
                                    min, max);
        *out = d;
        return 0;
}

int scenario_get_u64(struct vctx *c, json_t *obj, const char *path,
                     const char *key, uint64_t *out, uint64_t min, uint64_t max)
{
        char    p[512];
        json_t *v = json_object_get(obj, key);
        if (!v)
                return 0;
        scenario_join(p, sizeof(p), path, key);
        if (!json_is_integer(v))
                return scenario_err(c, p, 0, "expected an integer, got %s",
                                    scenario_type_name(v));
        json_int_t i = json_integer_value(v);
        if (i < 0 || (uint64_t)i < min || (uint64_t)i > max)
                return scenario_err(
                    c, p, 0, "%lld is out of range [%llu, %llu]", (long long)i,
                    (unsigned long long)min, (unsigned long long)max);
        *out = (uint64_t)i;
        return 0;
}

int scenario_get_u32(struct vctx *c, json_t *obj, const char *path,
                     const char *key, uint32_t *out, uint32_t min, uint32_t max)
{
        uint64_t v = *out;
        if (scenario_get_u64(c, obj, path, key, &v, min, max) == -1)
                return -1;
        *out = (uint32_t)v;
        return 0;
}

int scenario_get_int(struct vctx *c, json_t *obj, const char *path,
                     const char *key, int *out, int min, int max)
{
        uint64_t v = (uint64_t)*out;
        if (scenario_get_u64(c, obj, path, key, &v, (uint64_t)min,
                             (uint64_t)max) == -1)
                return -1;
        *out = (int)v;
        return 0;
}

int scenario_get_bool(struct vctx *c, json_t *obj, const char *path,
                      const char *key, int *out)
{
        char    p[512];
        json_t *v = json_object_get(obj, key);
        if (!v)
                return 0;
        scenario_join(p, sizeof(p), path, key);
        if (!json_is_boolean(v))
                return scenario_err(c, p, 0, "expected a boolean, got %s",
                                    scenario_type_name(v));
        *out = json_is_true(v);
        return 0;
}

/* String member; choices is "a|b|c" or NULL for any. */
int scenario_get_str(struct vctx *c, json_t *obj, const char *path,
                     const char *key, char *out, size_t out_size,
                     const char *choices)
{
        char    p[512];
        json_t *v = json_object_get(obj, key);
        if (!v)
                return 0;
        scenario_join(p, sizeof(p), path, key);
        if (!json_is_string(v))
                return scenario_err(c, p, 0, "expected a string, got %s",
                                    scenario_type_name(v));
        const char *s = json_string_value(v);
        if (strlen(s) >= out_size)
                return scenario_err(c, p, 0, "longer than %zu characters",
                                    out_size - 1);
        if (choices) {
                size_t      n  = strlen(s);
                const char *at = strstr(choices, s);
                int         ok = 0;
                while (n && at) {
                        if ((at == choices || at[-1] == '|') &&
                            (at[n] == '|' || at[n] == '\0'))
                                ok = 1;
                        at = strstr(at + 1, s);
                }
                if (!ok)
                        return scenario_err(c, p, 0, "'%s' is not one of %s", s,
                                            choices);
        }
        snprintf(out, out_size, "%s", s);
        return 0;
}

int scenario_get_strdup(struct vctx *c, json_t *obj, const char *path,
                        const char *key, char **out)
{
        char    p[512];
        json_t *v = json_object_get(obj, key);
        if (!v || json_is_null(v))
                return 0;
        scenario_join(p, sizeof(p), path, key);
        if (!json_is_string(v) || !*json_string_value(v))
                return scenario_err(c, p, 0,
                                    "expected a non-empty string, got %s",
                                    scenario_type_name(v));
        free(*out);
        *out = strdup(json_string_value(v));
        return 0;
}
