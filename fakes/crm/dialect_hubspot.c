/* dialect_hubspot.c -- the mock CRM in HubSpot's CRM v3 dialect: objects,
 * lists with after paging, search, associations, HubSpot's error shapes,
 * rate-limit headers and a private-app bearer token, over the same live
 * state as /v1 (docs/crm-dialects.md, docs/wire-contracts.md). */
#include "crm_int.h"

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crm_query.h"
#include "hs_search.h"

#define HS_LIST_MAX 100 /* GET list: results per page */
#define HS_TOKEN_PREFIX "pat-"
#define HS_TOKEN_MAX 200
#define HS_INTERVAL_MS 10000 /* shown as HubSpot's ten-secondly policy */
#define HS_ENTITLEMENT_TYPE_ID "2-3000001" /* the custom object's id */

/* crmsync field -> HubSpot property (values are strings on HubSpot). */
struct hs_map {
        enum crm_entity entity;
        const char     *field, *prop;
};

static const struct hs_map fmap[] = {
    {CRM_ENTITY_ACCOUNT, "name", "name"},
    {CRM_ENTITY_ACCOUNT, "industry", "industry"},
    {CRM_ENTITY_ACCOUNT, "tier", "tier"},
    {CRM_ENTITY_ACCOUNT, "owner", "hubspot_owner_id"},
    {CRM_ENTITY_ACCOUNT, "annual_revenue", "annualrevenue"},
    {CRM_ENTITY_CONTACT, "email", "email"},
    {CRM_ENTITY_CONTACT, "first_name", "firstname"},
    {CRM_ENTITY_CONTACT, "last_name", "lastname"},
    {CRM_ENTITY_CONTACT, "title", "jobtitle"},
    {CRM_ENTITY_CONTACT, "consent_email", "consent_email"},
    {CRM_ENTITY_CONTACT, "consent_sms", "consent_sms"},
    {CRM_ENTITY_OPPORTUNITY, "name", "dealname"},
    {CRM_ENTITY_OPPORTUNITY, "stage", "dealstage"},
    {CRM_ENTITY_OPPORTUNITY, "amount", "amount"},
};

const char *crm_hubspot_prop(enum crm_entity t, const char *field)
{
        for (size_t i = 0; i < sizeof(fmap) / sizeof(fmap[0]); i++)
                if (fmap[i].entity == t && !strcmp(fmap[i].field, field))
                        return fmap[i].prop;
        return field;
}

/* Object type in the path <-> entity; entitlements are a custom object
 * (HubSpot has no such standard type). */
static int hs_type_parse(const char *s, size_t n)
{
        if (n == 8 && !strncmp(s, "contacts", n))
                return CRM_ENTITY_CONTACT;
        if (n == 9 && !strncmp(s, "companies", n))
                return CRM_ENTITY_ACCOUNT;
        if (n == 5 && !strncmp(s, "deals", n))
                return CRM_ENTITY_OPPORTUNITY;
        /* A custom object: by fully qualified name or objectTypeId. */
        if ((n == 14 && !strncmp(s, "p_entitlements", n)) ||
            (n == 9 && !strncmp(s, HS_ENTITLEMENT_TYPE_ID, n)))
                return CRM_ENTITY_ENTITLEMENT;
        return -1;
}

static const char *hs_singular(enum crm_entity t)
{
        return t == CRM_ENTITY_ACCOUNT       ? "company"
               : t == CRM_ENTITY_CONTACT     ? "contact"
               : t == CRM_ENTITY_OPPORTUNITY ? "deal"
                                             : "p_entitlements";
}

/* "C-000017" -> 17 (HubSpot's numeric hs_object_id); -1 if not numeric. */
int64_t crm_hubspot_num(const char *id)
{
        const char *p = strchr(id, '-');
        int64_t     v = 0;

        if (!p || !p[1] || strlen(p + 1) > 15)
                return -1;
        for (p++; *p; p++) {
                if (*p < '0' || *p > '9')
                        return -1;
                v = v * 10 + (*p - '0');
        }
        return v;
}

/* Record index of (t, numeric id string), or -1. */
static int64_t hs_find(crm_server_t *s, enum crm_entity t, const char *num)
{
        static const char pfx[CRM_ENTITY_CNT] = {'A', 'C', 'O', 'E'};
        char              id[CRMSYNC_ID_MAX];
        int64_t           v = 0;

        if (!*num || strlen(num) > 12 ||
            strspn(num, "0123456789") != strlen(num))
                return -1;
        for (const char *p = num; *p; p++)
                v = v * 10 + (*p - '0');
        snprintf(id, sizeof(id), "%c-%06lld", pfx[t], (long long)v);
        const struct crm_record *r = crmsync_workload_find(s->w, t, id);
        if (!r || !s->live[r - crmsync_workload_record(s->w, 0)].exists)
                return -1;
        return r - crmsync_workload_record(s->w, 0);
}

/* ------------------------------------------------------------------ */
/* Replies */

void crm_hubspot_correlation_id(char *out, size_t n)
{
        static uint64_t next = 1;
        snprintf(out, n, "00000000-0000-4000-8000-%012" PRIx64, next++);
}

void crm_hubspot_reply(crm_server_t *s, struct evhttp_request *req, int status,
                       json_t *body)
{
        crm_reply_value(s, req, status, body, "{}");
}

/* HubSpot's error shape: {"status":"error","message","correlationId",
 * "category"}. */
void crm_hubspot_error(crm_server_t *s, struct evhttp_request *req, int status,
                       const char *category, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        crm_reply_verror(s, req, status, CRM_ERROR_HUBSPOT, category, fmt, ap);
        va_end(ap);
}

/* The bearer token (a private-app token "pat-..."), or NULL after a 401. */
const char *crm_hubspot_auth(crm_server_t *s, struct evhttp_request *req)
{
        const char *a = evhttp_find_header(
            evhttp_request_get_input_headers(req), "Authorization");

        if (!a || strncmp(a, "Bearer ", 7)) {
                crm_hubspot_error(
                    s, req, 401, "INVALID_AUTHENTICATION",
                    "Authentication credentials not found. This API "
                    "supports OAuth 2.0 and private app access tokens "
                    "(Authorization: Bearer pat-...).");
                return NULL;
        }
        a += 7;
        if (strncmp(a, HS_TOKEN_PREFIX, strlen(HS_TOKEN_PREFIX)) ||
            strlen(a) > HS_TOKEN_MAX || strpbrk(a, " \t")) {
                crm_hubspot_error(
                    s, req, 401, "INVALID_AUTHENTICATION",
                    "The access token provided is invalid: expected a "
                    "private app token (pat-...)");
                return NULL;
        }
        return a;
}

static void add_int_header(struct evkeyvalq *h, const char *name, uint64_t v)
{
        char buf[32];
        snprintf(buf, sizeof(buf), "%" PRIu64, v);
        evhttp_remove_header(h, name);
        evhttp_add_header(h, name, buf);
}

/* The throttle, answered as HubSpot does: 429 with policyName
 * TEN_SECONDLY_ROLLING or DAILY and X-HubSpot-RateLimit-* headers. */
int crm_hubspot_throttle_ok(crm_server_t *s, struct evhttp_request *req,
                            const char *token)
{
        struct crm_throttle_result r;
        struct evkeyvalq          *h = evhttp_request_get_output_headers(req);
        char                       client[CRMSYNC_THROTTLE_CLIENT_MAX];
        char                       cid[48];

        if (!s->throttle)
                return 1;
        snprintf(client, sizeof(client), "%s", token);
        crmsync_throttle_check(s->throttle, client, crmsync_wall_ms(), &r);
        if (r.rate_headers) {
                add_int_header(h, "X-HubSpot-RateLimit-Max", r.limit);
                add_int_header(h, "X-HubSpot-RateLimit-Remaining", r.remaining);
                add_int_header(h, "X-HubSpot-RateLimit-Interval-Milliseconds",
                               HS_INTERVAL_MS);
        }
        if (s->cfg.daily_quota)
                add_int_header(h, "X-HubSpot-RateLimit-Daily",
                               s->cfg.daily_quota);
        if (r.verdict == CRM_THROTTLE_OK)
                return 1;
        if (r.retry_after_s >= 0)
                add_int_header(h, "Retry-After", (uint64_t)r.retry_after_s);
        crm_hubspot_correlation_id(cid, sizeof(cid));
        if (r.verdict == CRM_THROTTLE_TRANSIENT) {
                crm_hubspot_reply(
                    s, req, r.http_status,
                    json_pack("{s:s,s:s,s:s,s:s}", "status", "error", "message",
                              r.http_status == 503 ? "Service Unavailable"
                                                   : "internal error",
                              "correlationId", cid, "category",
                              "INTERNAL_ERROR"));
                return 0;
        }
        int daily = r.verdict == CRM_THROTTLE_QUOTA;
        if (daily)
                add_int_header(h, "X-HubSpot-RateLimit-Daily-Remaining", 0);
        crm_hubspot_reply(
            s, req, 429,
            json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "status", "error", "message",
                      daily ? "You have reached your daily limit."
                            : "You have reached your ten_secondly_rolling "
                              "limit.",
                      "errorType", "RATE_LIMIT", "correlationId", cid,
                      "policyName", daily ? "DAILY" : "TEN_SECONDLY_ROLLING",
                      "groupName", "crmsync"));
        return 0;
}

/* ------------------------------------------------------------------ */
/* Objects */

json_t *crm_prop_string(const json_t *v)
{
        char buf[32];
        if (json_is_string(v))
                return json_string(json_string_value(v));
        if (json_is_integer(v)) {
                snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT,
                         json_integer_value(v));
                return json_string(buf);
        }
        if (json_is_boolean(v))
                return json_string(json_is_true(v) ? "true" : "false");
        if (json_is_real(v)) {
                snprintf(buf, sizeof(buf), "%.17g", json_real_value(v));
                return json_string(buf);
        }
        return NULL;
}

static void set_time(json_t *o, const char *key, int64_t ms)
{
        char t[40];
        crmsync_hs_time_format(ms, t, sizeof(t));
        json_object_set_new(o, key, json_string(t));
}

static void set_num(json_t *o, const char *key, int64_t v)
{
        char buf[24];
        snprintf(buf, sizeof(buf), "%" PRId64, v);
        json_object_set_new(o, key, json_string(buf));
}

/* The account that owns record idx now (its own id for an account). */
static const char *owner_of(crm_server_t *s, uint32_t idx)
{
        return crmsync_workload_event(s->w, s->live[idx].last_ev)->account_id;
}

static json_t *hs_properties(crm_server_t *s, uint32_t idx)
{
        const struct crm_record *r  = crmsync_workload_record(s->w, idx);
        const struct live_rec   *lr = &s->live[idx];
        json_t                  *p  = json_object();
        json_t                  *f  = crm_live_fields(s, idx);
        const char              *k;
        json_t                  *v;

        json_object_foreach(f, k, v)
        {
                json_t *pv = crm_prop_string(v);
                json_object_set_new(p, crm_hubspot_prop(r->entity, k),
                                    pv ? pv : json_null());
        }
        json_decref(f);
        set_num(p, "hs_object_id", crm_hubspot_num(r->id));
        set_time(p, "createdate", lr->created_ms);
        set_time(p, "hs_lastmodifieddate", lr->last_modified_ms);
        if (r->entity == CRM_ENTITY_CONTACT)
                set_time(p, "lastmodifieddate", lr->last_modified_ms);
        set_num(p, "crmsync_version", lr->version);
        if (r->entity != CRM_ENTITY_ACCOUNT && owner_of(s, idx)[0])
                set_num(p,
                        r->entity == CRM_ENTITY_CONTACT ? "associatedcompanyid"
                                                        : "crmsync_company_id",
                        crm_hubspot_num(owner_of(s, idx)));
        if (lr->merged) {
                char   buf[512] = "";
                size_t i, n = 0;
                json_array_foreach(lr->merged, i, v)
                {
                        n += (size_t)snprintf(
                            buf + n, n < sizeof(buf) ? sizeof(buf) - n : 0,
                            "%s%" PRId64, i ? ";" : "",
                            crm_hubspot_num(json_string_value(v)));
                        if (n >= sizeof(buf))
                                break;
                }
                if (n < sizeof(buf))
                        json_object_set_new(p, "hs_merged_object_ids",
                                            json_string(buf));
        }
        return p;
}

/* One object as HubSpot serializes it; with_assoc adds the association to
 * its company (contacts and deals). */
static json_t *hs_object(crm_server_t *s, uint32_t idx, int with_assoc)
{
        const struct crm_record *r  = crmsync_workload_record(s->w, idx);
        const struct live_rec   *lr = &s->live[idx];
        json_t                  *o  = json_object();
        char                     id[24];

        snprintf(id, sizeof(id), "%" PRId64, crm_hubspot_num(r->id));
        json_object_set_new(o, "id", json_string(id));
        json_object_set_new(o, "properties", hs_properties(s, idx));
        set_time(o, "createdAt", lr->created_ms);
        set_time(o, "updatedAt", lr->last_modified_ms);
        json_object_set_new(o, "archived", json_boolean(lr->deleted));
        if (lr->deleted)
                set_time(o, "archivedAt", lr->last_modified_ms);
        if (with_assoc && r->entity != CRM_ENTITY_ACCOUNT &&
            owner_of(s, idx)[0]) {
                char type[40], cid[24];
                snprintf(type, sizeof(type), "%s_to_company",
                         hs_singular(r->entity));
                snprintf(cid, sizeof(cid), "%" PRId64,
                         crm_hubspot_num(owner_of(s, idx)));
                json_object_set_new(o, "associations",
                                    json_pack("{s:{s:[{s:s,s:s}]}}",
                                              "companies", "results", "id", cid,
                                              "type", type));
        }
        return o;
}

/* A boolean query parameter: 0 absent or false, 1 true, -1 malformed. */
static int query_bool(const char *query, const char *key)
{
        char v[8];
        int  rc = crmsync_query_get(query, key, v, sizeof(v));
        if (rc == 1)
                return 0;
        if (rc < 0 || (strcmp(v, "true") && strcmp(v, "false")))
                return -1;
        return !strcmp(v, "true");
}

/* associations=companies (the only association served). */
static int want_assoc(const char *query)
{
        char v[64];
        if (crmsync_query_get(query, "associations", v, sizeof(v)) != 0)
                return 0;
        return strstr(v, "compan") != NULL;
}

/* GET /crm/v3/objects/{type}/{id}[?archived=true]: a record merged away
 * answers with the record it was merged into, as HubSpot does. */
static void handle_get(crm_server_t *s, struct evhttp_request *req,
                       enum crm_entity t, const char *num, const char *query)
{
        int     archived = query_bool(query, "archived");
        int64_t idx      = hs_find(s, t, num);

        if (archived < 0) {
                crm_hubspot_error(s, req, 400, "VALIDATION_ERROR",
                                  "archived: expected true or false");
                return;
        }
        for (int hop = 0; idx >= 0 && hop < 8 && !archived; hop++) {
                const struct crm_event *e =
                    crmsync_workload_event(s->w, s->live[idx].last_ev);
                if (!s->live[idx].deleted || !e->merged_into[0])
                        break;
                const struct crm_record *w =
                    crmsync_workload_find(s->w, t, e->merged_into);
                idx = w ? w - crmsync_workload_record(s->w, 0) : -1;
        }
        if (idx < 0 || s->live[idx].deleted != archived) {
                crm_hubspot_error(s, req, 404, "OBJECT_NOT_FOUND",
                                  "resource not found: no %s with id %.40s",
                                  hs_singular(t), num);
                return;
        }
        uint32_t u = (uint32_t)idx;
        crm_hubspot_reply(s, req, 200, hs_object(s, u, want_assoc(query)));
        crm_observe_records(s, &u, 1, "objects");
}

/* GET /crm/v3/objects/{type}/{id}/associations/companies */
static void handle_assoc(crm_server_t *s, struct evhttp_request *req,
                         enum crm_entity t, const char *num, const char *to)
{
        int64_t idx = hs_find(s, t, num);
        char    type[40], cid[24];

        if (strcmp(to, "companies") && strcmp(to, "company")) {
                crm_hubspot_error(
                    s, req, 400, "VALIDATION_ERROR",
                    "association to '%.40s' is not supported (companies)", to);
                return;
        }
        if (idx < 0 || s->live[idx].deleted) {
                crm_hubspot_error(s, req, 404, "OBJECT_NOT_FOUND",
                                  "resource not found: no %s with id %.40s",
                                  hs_singular(t), num);
                return;
        }
        json_t *res = json_array();
        if (t != CRM_ENTITY_ACCOUNT && owner_of(s, (uint32_t)idx)[0]) {
                snprintf(type, sizeof(type), "%s_to_company", hs_singular(t));
                snprintf(cid, sizeof(cid), "%" PRId64,
                         crm_hubspot_num(owner_of(s, (uint32_t)idx)));
                json_array_append_new(
                    res, json_pack("{s:s,s:s}", "id", cid, "type", type));
        }
        crm_hubspot_reply(s, req, 200, json_pack("{s:o}", "results", res));
}

/* v4 association types between t and companies (HubSpot's defaults;
 * entitlements, a custom object here, get user-defined ones): the
 * primary one and the unlabeled one, in the direction asked. */
static json_t *v4_types(enum crm_entity t, int to_company)
{
        static const int ids[CRM_ENTITY_CNT][2][2] = {
            {{0, 0}, {0, 0}},
            {{2, 280}, {1, 279}},          /* company->contact, back */
            {{6, 342}, {5, 341}},          /* company->deal, back */
            {{1000002, 0}, {1000001, 0}}}; /* custom object */
        const int *id  = ids[t][to_company];
        int        usr = t == CRM_ENTITY_ENTITLEMENT;
        json_t    *a   = json_array();

        json_array_append_new(
            a, json_pack("{s:s,s:i,s:s?}", "category",
                         usr ? "USER_DEFINED" : "HUBSPOT_DEFINED", "typeId",
                         id[0], "label", usr ? NULL : "Primary"));
        if (id[1])
                json_array_append_new(a, json_pack("{s:s,s:i,s:n}", "category",
                                                   "HUBSPOT_DEFINED", "typeId",
                                                   id[1], "label"));
        return a;
}

static int cmp_i64(const void *a, const void *b)
{
        int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
        return x < y ? -1 : x > y;
}

/* GET /crm/v4/objects/{type}/{id}/associations/{toType}?limit=&after=:
 * a contact, deal or entitlement has its company; a company has the live
 * records of toType it owns, in id order, limit 1..500 (500), after =
 * the last toObjectId of the previous page. */
static void handle_assoc_v4(crm_server_t *s, struct evhttp_request *req,
                            enum crm_entity t, const char *num, const char *to,
                            const char *query)
{
        int      to_t  = hs_type_parse(to, strlen(to));
        uint64_t limit = 500, after = 0;
        int64_t  idx = hs_find(s, t, num), *ids = NULL;
        size_t   n = 0, first = 0;
        json_t  *res = json_array(), *out;

        if (to_t < 0 ||
            (t == CRM_ENTITY_ACCOUNT) == (to_t == CRM_ENTITY_ACCOUNT) ||
            crmsync_query_u64_range(query, "limit", 1, 500, &limit) < 0 ||
            crmsync_query_u64(query, "after", &after) < 0) {
                json_decref(res);
                crm_hubspot_error(s, req, 400, "VALIDATION_ERROR",
                                  "associations between companies and "
                                  "contacts, deals or p_entitlements; "
                                  "limit 1..500, after a number (asked: "
                                  "%s to %.40s)",
                                  hs_singular(t), to);
                return;
        }
        if (idx < 0 || s->live[idx].deleted) {
                json_decref(res);
                crm_hubspot_error(s, req, 404, "OBJECT_NOT_FOUND",
                                  "resource not found: no %s with id %.40s",
                                  hs_singular(t), num);
                return;
        }
        if (t != CRM_ENTITY_ACCOUNT) {
                int64_t c = crm_hubspot_num(owner_of(s, (uint32_t)idx));
                if (c > 0 && (uint64_t)c > after)
                        json_array_append_new(
                            res,
                            json_pack("{s:I,s:o}", "toObjectId", (json_int_t)c,
                                      "associationTypes", v4_types(t, 1)));
        } else if ((ids =
                        malloc((s->by_entity_cnt[to_t] + 1) * sizeof(*ids)))) {
                const char *me = crmsync_workload_record(s->w, idx)->id;
                for (size_t i = 0; i < s->by_entity_cnt[to_t]; i++) {
                        uint32_t r = s->by_entity[to_t][i];
                        int64_t  v = crm_hubspot_num(
                             crmsync_workload_record(s->w, r)->id);
                        if (s->live[r].exists && !s->live[r].deleted && v > 0 &&
                            (uint64_t)v > after && !strcmp(owner_of(s, r), me))
                                ids[n++] = v;
                }
                qsort(ids, n, sizeof(*ids), cmp_i64);
                for (; first < n && first < limit; first++)
                        json_array_append_new(
                            res, json_pack("{s:I,s:o}", "toObjectId",
                                           (json_int_t)ids[first],
                                           "associationTypes",
                                           v4_types((enum crm_entity)to_t, 0)));
        }
        out = json_pack("{s:o}", "results", res);
        if (first < n) {
                char a[24];
                snprintf(a, sizeof(a), "%" PRId64, ids[first - 1]);
                json_object_set_new(out, "paging",
                                    json_pack("{s:{s:s}}", "next", "after", a));
        }
        free(ids);
        crm_hubspot_reply(s, req, 200, out);
}

/* Sort context for qsort (the loop is single-threaded). */
static const crm_server_t *sort_srv;
static int                 sort_by_lastmod, sort_desc;

static int cmp_rec(const void *a, const void *b)
{
        uint32_t i = *(const uint32_t *)a, j = *(const uint32_t *)b;
        int64_t  x =
            crm_hubspot_num(crmsync_workload_record(sort_srv->w, i)->id);
        int64_t y =
            crm_hubspot_num(crmsync_workload_record(sort_srv->w, j)->id);
        int c = 0;

        if (sort_by_lastmod && sort_srv->live[i].last_modified_ms !=
                                   sort_srv->live[j].last_modified_ms)
                c = sort_srv->live[i].last_modified_ms <
                            sort_srv->live[j].last_modified_ms
                        ? -1
                        : 1;
        else if (x != y)
                c = x < y ? -1 : 1;
        return sort_desc ? -c : c;
}

/* Records of type t that a search index lists (late changes not yet
 * visible are not listed), archived or not. Caller frees; NULL = OOM. */
static uint32_t *collect(crm_server_t *s, enum crm_entity t, int archived,
                         const struct hs_search *q, size_t *n)
{
        uint32_t *m = malloc((s->by_entity_cnt[t] + 1) * sizeof(*m));

        *n = 0;
        if (!m)
                return NULL;
        for (size_t i = 0; i < s->by_entity_cnt[t]; i++) {
                uint32_t               idx = s->by_entity[t][i];
                const struct live_rec *lr  = &s->live[idx];
                if (!lr->exists || lr->late_pending || lr->deleted != archived)
                        continue;
                if (q && !crmsync_hs_search_match(
                             q, lr->last_modified_ms,
                             crm_hubspot_num(
                                 crmsync_workload_record(s->w, idx)->id)))
                        continue;
                m[(*n)++] = idx;
        }
        return m;
}

static void reply_page(crm_server_t *s, struct evhttp_request *req, uint32_t *m,
                       size_t n, size_t from, size_t take, int with_total,
                       const char *next_after, int assoc)
{
        json_t *res = json_array();
        json_t *out = json_object();

        for (size_t i = 0; i < take; i++)
                json_array_append_new(res, hs_object(s, m[from + i], assoc));
        if (with_total)
                json_object_set_new(out, "total", json_integer((json_int_t)n));
        json_object_set_new(out, "results", res);
        if (next_after)
                json_object_set_new(
                    out, "paging",
                    json_pack("{s:{s:s}}", "next", "after", next_after));
        crm_hubspot_reply(s, req, 200, out);
        crm_observe_records(s, m + from, take, "objects");
}

/* GET /crm/v3/objects/{type}?limit=&after=&archived=&associations=:
 * ordered by id; after is the last id of the previous page. */
static void handle_list(crm_server_t *s, struct evhttp_request *req,
                        enum crm_entity t, const char *query)
{
        uint64_t limit = 10, after = 0;
        int      archived  = query_bool(query, "archived");
        int      has_after = crmsync_query_u64(query, "after", &after);
        size_t   n, from = 0;
        char     next[24];

        if (crmsync_query_u64_range(query, "limit", 1, HS_LIST_MAX, &limit) <
                0 ||
            has_after < 0 || archived < 0) {
                crm_hubspot_error(
                    s, req, 400, "VALIDATION_ERROR",
                    "limit must be 1..%d, after the paging.next.after "
                    "of an earlier page, archived true or false",
                    HS_LIST_MAX);
                return;
        }
        uint32_t *m = collect(s, t, archived, NULL, &n);
        if (!m) {
                crm_hubspot_error(s, req, 503, "INTERNAL_ERROR",
                                  "out of memory");
                return;
        }
        sort_srv        = s;
        sort_by_lastmod = 0;
        sort_desc       = 0;
        qsort(m, n, sizeof(*m), cmp_rec);
        while (has_after == 0 && from < n &&
               crm_hubspot_num(crmsync_workload_record(s->w, m[from])->id) <=
                   (int64_t)after)
                from++;
        size_t take = n - from < limit ? n - from : (size_t)limit;
        if (from + take < n)
                snprintf(
                    next, sizeof(next), "%" PRId64,
                    crm_hubspot_num(
                        crmsync_workload_record(s->w, m[from + take - 1])->id));
        reply_page(s, req, m, n, from, take, 0, from + take < n ? next : NULL,
                   want_assoc(query));
        free(m);
}

/* The request body (NUL-terminated copy, caller frees) or NULL after a
 * 4xx in HubSpot's shape. */
char *crm_hubspot_body(crm_server_t *s, struct evhttp_request *req, size_t *len)
{
        const char *ct = evhttp_find_header(
            evhttp_request_get_input_headers(req), "Content-Type");
        struct evbuffer *in = evhttp_request_get_input_buffer(req);
        size_t           n  = evbuffer_get_length(in);
        char            *b;

        if (!ct || strncasecmp(ct, "application/json", 16)) {
                crm_hubspot_error(s, req, 415, "VALIDATION_ERROR",
                                  "Content-Type must be application/json");
                return NULL;
        }
        if (n > CRM_BODY_MAX) {
                crm_hubspot_error(s, req, 413, "VALIDATION_ERROR",
                                  "request body exceeds %d bytes",
                                  CRM_BODY_MAX);
                return NULL;
        }
        b = malloc(n + 1);
        if (!b) {
                crm_hubspot_error(s, req, 503, "INTERNAL_ERROR",
                                  "out of memory");
                return NULL;
        }
        evbuffer_copyout(in, b, n);
        b[n] = '\0';
        *len = n;
        return b;
}

/* POST /crm/v3/objects/{type}/search: filterGroups, one sort (ties in id
 * order), limit <= 200, after = offset; one query pages through at most
 * 10,000 results (400 beyond). Archived records are never listed. */
static void handle_search(crm_server_t *s, struct evhttp_request *req,
                          enum crm_entity t)
{
        struct hs_search q;
        char             why[256], next[24];
        size_t           len, n;
        char            *body = crm_hubspot_body(s, req, &len);

        if (!body)
                return;
        int rc = crmsync_hs_search_parse(body, len, &q, why, sizeof(why));
        free(body);
        if (rc) {
                crm_hubspot_error(s, req, 400, "VALIDATION_ERROR", "%s", why);
                return;
        }
        if (q.after >= HS_SEARCH_CAP) {
                crm_hubspot_error(s, req, 400, "VALIDATION_ERROR",
                                  "after: a search can page through at most %d "
                                  "results; narrow the filters (move the "
                                  "hs_lastmodifieddate window)",
                                  HS_SEARCH_CAP);
                return;
        }
        uint32_t *m = collect(s, t, 0, &q, &n);
        if (!m) {
                crm_hubspot_error(s, req, 503, "INTERNAL_ERROR",
                                  "out of memory");
                return;
        }
        sort_srv        = s;
        sort_by_lastmod = q.sort_prop == HS_PROP_LASTMOD;
        sort_desc       = q.sort_desc;
        qsort(m, n, sizeof(*m), cmp_rec);
        size_t from = q.after < n ? (size_t)q.after : n;
        size_t take = n - from < q.limit ? n - from : q.limit;
        if (from + take > HS_SEARCH_CAP)
                take = HS_SEARCH_CAP - from;
        int more = from + take < n && from + take < HS_SEARCH_CAP;
        snprintf(next, sizeof(next), "%zu", from + take);
        reply_page(s, req, m, n, from, take, 1, more ? next : NULL, 0);
        free(m);
}

static int want(crm_server_t *s, struct evhttp_request *req,
                enum evhttp_cmd_type m)
{
        if (evhttp_request_get_command(req) == m)
                return 1;
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
                          m == EVHTTP_REQ_GET ? "GET" : "POST");
        crm_hubspot_error(s, req, 405, "VALIDATION_ERROR",
                          "use %s for this path",
                          m == EVHTTP_REQ_GET ? "GET" : "POST");
        return 0;
}

void crm_hubspot_handle(crm_server_t *s, struct evhttp_request *req,
                        const char *path, const char *query)
{
        const char *token = crm_hubspot_auth(s, req);
        const char *rest, *slash;
        char        seg[3][CRMSYNC_ID_MAX];
        size_t      nseg = 0;
        int         t, v4 = 0;

        if (!token || !crm_hubspot_throttle_ok(s, req, token))
                return;
        crm_feed_advance(s, crmsync_wall_ms());
        if (!strncmp(path, "/crm/v4/objects/", 16))
                v4 = 1;
        else if (strncmp(path, "/crm/v3/objects/", 16))
                goto not_found;
        rest  = path + 16;
        slash = strchr(rest, '/');
        t = hs_type_parse(rest, slash ? (size_t)(slash - rest) : strlen(rest));
        if (t < 0) {
                crm_hubspot_error(s, req, 404, "OBJECT_NOT_FOUND",
                                  "unknown object type in %.100s (contacts, "
                                  "companies, deals, p_entitlements)",
                                  path);
                return;
        }
        while (slash && nseg < 3) {
                const char *p   = slash + 1;
                const char *end = strchr(p, '/');
                size_t      l   = end ? (size_t)(end - p) : strlen(p);
                if (!l || l >= CRMSYNC_ID_MAX)
                        goto not_found;
                memcpy(seg[nseg], p, l);
                seg[nseg++][l] = '\0';
                slash          = end;
        }
        if (slash)
                goto not_found;
        if (v4) { /* only the associations of v4 are served */
                if (nseg != 3 || strcmp(seg[1], "associations"))
                        goto not_found;
                if (want(s, req, EVHTTP_REQ_GET))
                        handle_assoc_v4(s, req, (enum crm_entity)t, seg[0],
                                        seg[2], query);
        } else if (nseg == 0) {
                if (want(s, req, EVHTTP_REQ_GET))
                        handle_list(s, req, (enum crm_entity)t, query);
        } else if (nseg == 1 && !strcmp(seg[0], "search")) {
                if (want(s, req, EVHTTP_REQ_POST))
                        handle_search(s, req, (enum crm_entity)t);
        } else if (nseg == 1) {
                if (want(s, req, EVHTTP_REQ_GET))
                        handle_get(s, req, (enum crm_entity)t, seg[0], query);
        } else if (nseg == 3 && !strcmp(seg[1], "associations")) {
                if (want(s, req, EVHTTP_REQ_GET))
                        handle_assoc(s, req, (enum crm_entity)t, seg[0],
                                     seg[2]);
        } else {
                goto not_found;
        }
        return;
not_found:
        crm_hubspot_error(s, req, 404, "OBJECT_NOT_FOUND",
                          "no route for %.128s", path);
}
