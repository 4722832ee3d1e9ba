/* hs_search.c -- parse and evaluate the body of HubSpot's CRM v3 search
 * (the subset the mock CRM serves; see hs_search.h). */
#include "hs_search.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "crmsync/common.h"

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
        y -= m <= 2;
        int64_t era = (y >= 0 ? y : y - 399) / 400;
        int64_t yoe = y - era * 400;
        int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
        int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146097 + doe - 719468;
}

static int digits(const char *s, int n, int64_t *out)
{
        int64_t v = 0;
        for (int i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -1;
                v = v * 10 + (s[i] - '0');
        }
        *out = v;
        return 0;
}

int crmsync_hs_time_parse(const char *s, int64_t *ms)
{
        int64_t y, mo, d, h, mi, sec, frac = 0;
        size_t  n = s ? strlen(s) : 0;

        if (n == 0 || n > 32)
                return -1;
        if (strspn(s, "0123456789") == n) {
                if (n > 15)
                        return -1;
                return digits(s, (int)n, ms);
        }
        if (n != 20 && n != 24)
                return -1;
        if (digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) ||
            s[7] != '-' || digits(s + 8, 2, &d) || s[10] != 'T' ||
            digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &mi) ||
            s[16] != ':' || digits(s + 17, 2, &sec))
                return -1;
        if (n == 24 && (s[19] != '.' || digits(s + 20, 3, &frac)))
                return -1;
        if (s[n - 1] != 'Z' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
            mi > 59 || sec > 59)
                return -1;
        *ms = ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60000 +
              sec * 1000 + frac;
        return 0;
}

void crmsync_hs_time_format(int64_t ms, char *out, size_t out_size)
{
        int64_t days = ms >= 0 ? ms / 86400000 : (ms - 86399999) / 86400000;
        int64_t rem  = ms - days * 86400000;
        /* civil_from_days (H. Hinnant) */
        int64_t z   = days + 719468;
        int64_t era = (z >= 0 ? z : z - 146096) / 146097;
        int64_t doe = z - era * 146097;
        int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        int64_t mp  = (5 * doy + 2) / 153;
        int64_t d   = doy - (153 * mp + 2) / 5 + 1;
        int64_t m   = mp < 10 ? mp + 3 : mp - 9;
        int64_t y   = yoe + era * 400 + (m <= 2);

        snprintf(out, out_size,
                 "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%03lldZ",
                 (long long)y, (long long)m, (long long)d,
                 (long long)(rem / 3600000), (long long)(rem / 60000 % 60),
                 (long long)(rem / 1000 % 60), (long long)(rem % 1000));
}

static int parse_prop(const char *name)
{
        if (!strcmp(name, "hs_lastmodifieddate") ||
            !strcmp(name, "lastmodifieddate"))
                return HS_PROP_LASTMOD;
        if (!strcmp(name, "hs_object_id"))
                return HS_PROP_ID;
        return -1;
}

static int parse_op(const char *name)
{
        static const char *const ops[] = {"EQ",  "NEQ", "LT",
                                          "LTE", "GT",  "GTE"};
        for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
                if (!strcmp(name, ops[i]))
                        return (int)i;
        return -1;
}

/* A filter value: a JSON string or integer, as a time or an id. */
static int parse_value(const json_t *v, int prop, int64_t *out)
{
        char buf[40];

        if (json_is_integer(v)) {
                if (json_integer_value(v) < 0)
                        return -1;
                *out = json_integer_value(v);
                return 0;
        }
        if (!json_is_string(v) || json_string_length(v) >= sizeof(buf))
                return -1;
        snprintf(buf, sizeof(buf), "%s", json_string_value(v));
        if (prop == HS_PROP_LASTMOD)
                return crmsync_hs_time_parse(buf, out);
        if (!buf[0] || strlen(buf) > 15 ||
            strspn(buf, "0123456789") != strlen(buf))
                return -1;
        return digits(buf, (int)strlen(buf), out);
}

static int parse_filter(const json_t *f, struct hs_filter *out, size_t g,
                        size_t i, char *errstr, size_t errstr_size)
{
        const char *k;
        json_t     *v;
        const char *pn = json_string_value(json_object_get(f, "propertyName"));
        const char *op = json_string_value(json_object_get(f, "operator"));

        if (!json_is_object(f))
                return crmsync_err(errstr, errstr_size,
                                   "filterGroups[%zu].filters[%zu]: expected "
                                   "an object",
                                   g, i);
        json_object_foreach((json_t *)f, k, v)
        {
                if (strcmp(k, "propertyName") && strcmp(k, "operator") &&
                    strcmp(k, "value"))
                        return crmsync_err(
                            errstr, errstr_size,
                            "filterGroups[%zu].filters[%zu].%.40s: not "
                            "supported (propertyName, operator, value only)",
                            g, i, k);
        }
        if (!pn || (out->prop = parse_prop(pn)) < 0)
                return crmsync_err(errstr, errstr_size,
                                   "filterGroups[%zu].filters[%zu]."
                                   "propertyName: '%.40s' not supported "
                                   "(hs_lastmodifieddate, hs_object_id)",
                                   g, i, pn ? pn : "");
        if (!op || (out->op = parse_op(op)) < 0)
                return crmsync_err(errstr, errstr_size,
                                   "filterGroups[%zu].filters[%zu].operator: "
                                   "'%.40s' not supported (EQ, NEQ, LT, LTE, "
                                   "GT, GTE)",
                                   g, i, op ? op : "");
        if (parse_value(json_object_get(f, "value"), out->prop, &out->value))
                return crmsync_err(errstr, errstr_size,
                                   "filterGroups[%zu].filters[%zu].value: "
                                   "expected %s",
                                   g, i,
                                   out->prop == HS_PROP_LASTMOD
                                       ? "epoch milliseconds or an ISO 8601 "
                                         "UTC time"
                                       : "a numeric object id");
        return 0;
}

static int parse_groups(const json_t *groups, struct hs_search *out,
                        char *errstr, size_t errstr_size)
{
        size_t  g, i;
        json_t *grp, *f;

        if (!json_is_array(groups) ||
            json_array_size(groups) > HS_SEARCH_GROUPS_MAX)
                return crmsync_err(errstr, errstr_size,
                                   "filterGroups: expected an array of at "
                                   "most %d groups",
                                   HS_SEARCH_GROUPS_MAX);
        json_array_foreach(groups, g, grp)
        {
                json_t *filters = json_object_get(grp, "filters");
                if (!json_is_object(grp) || !json_is_array(filters) ||
                    json_object_size(grp) != 1 || !json_array_size(filters) ||
                    json_array_size(filters) > HS_SEARCH_FILTERS_MAX)
                        return crmsync_err(errstr, errstr_size,
                                           "filterGroups[%zu]: expected "
                                           "{\"filters\":[...]} with 1..%d "
                                           "filters",
                                           g, HS_SEARCH_FILTERS_MAX);
                json_array_foreach(filters, i, f)
                {
                        if (parse_filter(f, &out->f[g][i], g, i, errstr,
                                         errstr_size))
                                return -1;
                }
                out->nf[g] = json_array_size(filters);
        }
        out->ngroups = json_array_size(groups);
        return 0;
}

/* sorts: [{"propertyName":P,"direction":"ASCENDING"|"DESCENDING"}] or
 * ["P"] / ["-P"]; HubSpot allows one sort. */
static int parse_sorts(const json_t *sorts, struct hs_search *out, char *errstr,
                       size_t errstr_size)
{
        json_t     *s = json_array_get(sorts, 0);
        const char *pn, *dir = "ASCENDING";

        if (!json_is_array(sorts) || json_array_size(sorts) > 1)
                return crmsync_err(errstr, errstr_size,
                                   "sorts: expected an array of at most one "
                                   "sort");
        if (!s)
                return 0;
        if (json_is_string(s)) {
                pn = json_string_value(s);
                if (*pn == '-') {
                        dir = "DESCENDING";
                        pn++;
                }
        } else {
                pn = json_string_value(json_object_get(s, "propertyName"));
                if (json_object_get(s, "direction"))
                        dir =
                            json_string_value(json_object_get(s, "direction"));
        }
        if (!pn || (out->sort_prop = parse_prop(pn)) < 0)
                return crmsync_err(errstr, errstr_size,
                                   "sorts[0].propertyName: '%.40s' not "
                                   "supported (hs_lastmodifieddate, "
                                   "hs_object_id)",
                                   pn ? pn : "");
        if (!dir || (strcmp(dir, "ASCENDING") && strcmp(dir, "DESCENDING")))
                return crmsync_err(errstr, errstr_size,
                                   "sorts[0].direction: expected ASCENDING or "
                                   "DESCENDING");
        out->sort_desc = !strcmp(dir, "DESCENDING");
        return 0;
}

static int parse_paging(const json_t *root, struct hs_search *out, char *errstr,
                        size_t errstr_size)
{
        json_t *lim   = json_object_get(root, "limit");
        json_t *after = json_object_get(root, "after");

        out->limit = HS_SEARCH_LIMIT_DEF;
        if (lim) {
                if (!json_is_integer(lim) || json_integer_value(lim) < 1 ||
                    json_integer_value(lim) > HS_SEARCH_LIMIT_MAX)
                        return crmsync_err(errstr, errstr_size,
                                           "limit: expected an integer in "
                                           "1..%d",
                                           HS_SEARCH_LIMIT_MAX);
                out->limit = (uint32_t)json_integer_value(lim);
        }
        if (after && !json_is_null(after)) {
                int64_t v;
                if (parse_value(after, HS_PROP_ID, &v))
                        return crmsync_err(errstr, errstr_size,
                                           "after: expected the paging.next."
                                           "after of an earlier page");
                out->after = (uint64_t)v;
        }
        return 0;
}

int crmsync_hs_search_parse(const char *body, size_t len, struct hs_search *out,
                            char *errstr, size_t errstr_size)
{
        json_error_t jerr;
        json_t      *root, *v;
        const char  *k;
        int          rc = -1;

        memset(out, 0, sizeof(*out));
        out->sort_prop = HS_PROP_ID;
        root           = json_loadb(body, len, 0, &jerr);
        if (!root)
                return crmsync_err(errstr, errstr_size,
                                   "Invalid input JSON on line %d, column "
                                   "%d: %s",
                                   jerr.line, jerr.column, jerr.text);
        if (!json_is_object(root)) {
                crmsync_err(errstr, errstr_size,
                            "Invalid input JSON: expected an object");
                goto out;
        }
        json_object_foreach(root, k, v)
        {
                if (!strcmp(k, "query") && json_is_string(v) &&
                    json_string_length(v)) {
                        crmsync_err(errstr, errstr_size,
                                    "query: full-text search is not "
                                    "supported");
                        goto out;
                }
                if (strcmp(k, "filterGroups") && strcmp(k, "sorts") &&
                    strcmp(k, "limit") && strcmp(k, "after") &&
                    strcmp(k, "properties") && strcmp(k, "query")) {
                        crmsync_err(errstr, errstr_size,
                                    "%.40s: not supported (filterGroups, "
                                    "sorts, limit, after, properties)",
                                    k);
                        goto out;
                }
        }
        v = json_object_get(root, "properties");
        if (v && !json_is_array(v)) {
                crmsync_err(errstr, errstr_size,
                            "properties: expected an array of names");
                goto out;
        }
        if ((v = json_object_get(root, "filterGroups")) &&
            parse_groups(v, out, errstr, errstr_size))
                goto out;
        if ((v = json_object_get(root, "sorts")) &&
            parse_sorts(v, out, errstr, errstr_size))
                goto out;
        rc = parse_paging(root, out, errstr, errstr_size);
out:
        json_decref(root);
        return rc;
}

static int cmp_op(int op, int64_t a, int64_t b)
{
        switch (op) {
        case HS_OP_EQ:
                return a == b;
        case HS_OP_NEQ:
                return a != b;
        case HS_OP_LT:
                return a < b;
        case HS_OP_LTE:
                return a <= b;
        case HS_OP_GT:
                return a > b;
        default:
                return a >= b;
        }
}

int crmsync_hs_search_match(const struct hs_search *q, int64_t lastmod_ms,
                            int64_t id)
{
        if (q->ngroups == 0)
                return 1;
        for (size_t g = 0; g < q->ngroups; g++) {
                int ok = 1;
                for (size_t i = 0; i < q->nf[g] && ok; i++) {
                        const struct hs_filter *f = &q->f[g][i];
                        ok                        = cmp_op(
                                                   f->op, f->prop == HS_PROP_LASTMOD ? lastmod_ms : id,
                                                   f->value);
                }
                if (ok)
                        return 1;
        }
        return 0;
}
