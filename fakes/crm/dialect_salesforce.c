/* dialect_salesforce.c -- the mock CRM in Salesforce's REST dialect: OAuth
 * token, sObject reads, updated/deleted, SOQL query and queryAll with
 * nextRecordsUrl, Salesforce's error shapes and limits, over the same
 * live state as /v1 (docs/crm-dialects.md, docs/wire-contracts.md). */
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
#include "soql.h"

#define SF_BATCH 2000              /* records per query page */
#define SF_SESSION_MS 7200000      /* a session lasts 2 h */
#define SF_CLIENT "salesforce-org" /* throttle client id: limits per org */
#define SF_TOKEN_PREFIX "00D000000000001AAA!"

/* By enum crm_entity (crm_int.h). */
const struct sf_type crm_sf_types[CRM_ENTITY_CNT] = {
    {"Account",
     "001",
     {{"Name", "name"},
      {"Industry", "industry"},
      {"Tier__c", "tier"},
      {"Owner__c", "owner"},
      {"AnnualRevenue", "annual_revenue"}}},
    {"Contact",
     "003",
     {{"Email", "email"},
      {"FirstName", "first_name"},
      {"LastName", "last_name"},
      {"Title", "title"},
      {"Consent_Email__c", "consent_email"},
      {"Consent_SMS__c", "consent_sms"}}},
    {"Opportunity",
     "006",
     {{"Name", "name"}, {"StageName", "stage"}, {"Amount", "amount"}}},
    {"Entitlement",
     "550",
     {{"Name", "sku"}, {"Seats__c", "seats"}, {"EndDate", "ends_on"}}},
};

static const char *const system_fields[] = {
    "Id",          "IsDeleted",          "SystemModstamp", "LastModifiedDate",
    "CreatedDate", "Crmsync_Version__c", "AccountId",      "MasterRecordId",
    NULL};

static int type_parse(const char *s, size_t n)
{
        for (int t = 0; t < CRM_ENTITY_CNT; t++)
                if (strlen(crm_sf_types[t].name) == n &&
                    !strncasecmp(crm_sf_types[t].name, s, n))
                        return t;
        return -1;
}

/* "A-000017" -> "001000000000017AAA" (an 18-character id; digits only,
 * so the case-safe suffix is AAA). */
void crm_salesforce_id(enum crm_entity t, const char *rid, char *out, size_t n)
{
        int64_t v = crm_hubspot_num(rid);
        snprintf(out, n, "%s%012" PRId64 "AAA", crm_sf_types[t].prefix,
                 v < 0 ? 0 : v);
}

/* Record index of a Salesforce id (15 or 18 characters), or -1. */
static int64_t sf_find(crm_server_t *s, enum crm_entity t, const char *id)
{
        static const char pfx[CRM_ENTITY_CNT] = {'A', 'C', 'O', 'E'};
        size_t            n                   = strlen(id);
        char              rid[CRMSYNC_ID_MAX];
        int64_t           v = 0;

        if ((n != 15 && n != 18) || strncmp(id, crm_sf_types[t].prefix, 3) ||
            (n == 18 && strcmp(id + 15, "AAA")))
                return -1;
        for (size_t i = 3; i < 15; i++) {
                if (id[i] < '0' || id[i] > '9')
                        return -1;
                v = v * 10 + (id[i] - '0');
        }
        snprintf(rid, sizeof(rid), "%c-%06" PRId64, pfx[t], v);
        const struct crm_record *r = crmsync_workload_find(s->w, t, rid);
        if (!r || !s->live[r - crmsync_workload_record(s->w, 0)].exists)
                return -1;
        return r - crmsync_workload_record(s->w, 0);
}

static void sf_time(int64_t ms, char *out, size_t n)
{
        char z[40];
        crmsync_hs_time_format(ms, z, sizeof(z)); /* ...sssZ */
        snprintf(out, n, "%.23s+0000", z);
}

/* ------------------------------------------------------------------ */
/* Replies */

static void sf_reply(crm_server_t *s, struct evhttp_request *req, int status,
                     json_t *body)
{
        crm_reply_value(s, req, status, body, "[]");
}

/* Salesforce's error shape: [{"message":...,"errorCode":...}]. */
static void sf_error(crm_server_t *s, struct evhttp_request *req, int status,
                     const char *code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void sf_error(crm_server_t *s, struct evhttp_request *req, int status,
                     const char *code, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        crm_reply_verror(s, req, status, CRM_ERROR_SALESFORCE, code, fmt, ap);
        va_end(ap);
}

/* The throttle as Salesforce answers: 403 REQUEST_LIMIT_EXCEEDED (daily
 * TotalRequests, or the rate as ConcurrentPerOrgLongTxn with
 * Retry-After), 500 UNKNOWN_EXCEPTION, 503 SERVER_UNAVAILABLE. */
int crm_salesforce_throttle_ok(crm_server_t *s, struct evhttp_request *req)
{
        struct crm_throttle_result r;
        struct evkeyvalq          *h = evhttp_request_get_output_headers(req);
        char                       buf[64];

        if (!s->throttle)
                return 1;
        crmsync_throttle_check(s->throttle, SF_CLIENT, crmsync_wall_ms(), &r);
        if (s->cfg.daily_quota) {
                snprintf(buf, sizeof(buf), "api-usage=%" PRIu64 "/%" PRIu64,
                         s->cfg.daily_quota, s->cfg.daily_quota);
                evhttp_add_header(h, "Sforce-Limit-Info", buf);
        }
        if (r.verdict == CRM_THROTTLE_OK)
                return 1;
        if (r.retry_after_s >= 0) {
                snprintf(buf, sizeof(buf), "%d", r.retry_after_s);
                evhttp_add_header(h, "Retry-After", buf);
        }
        if (r.verdict == CRM_THROTTLE_QUOTA)
                sf_error(s, req, 403, "REQUEST_LIMIT_EXCEEDED",
                         "TotalRequests Limit exceeded.");
        else if (r.verdict == CRM_THROTTLE_RATE_LIMITED)
                sf_error(s, req, 403, "REQUEST_LIMIT_EXCEEDED",
                         "ConcurrentPerOrgLongTxn Limit exceeded.");
        else if (r.http_status == 503)
                sf_error(s, req, 503, "SERVER_UNAVAILABLE",
                         "Server temporarily unavailable");
        else
                sf_error(s, req, 500, "UNKNOWN_EXCEPTION",
                         "An unexpected error occurred.");
        return 0;
}

/* The request's session: 1 live (its serial in *serial), 0 a token that
 * is not (or no longer) valid, -1 no token at all. */
int crm_salesforce_session(crm_server_t *s, struct evhttp_request *req,
                           uint64_t *serial)
{
        const char *a = evhttp_find_header(
            evhttp_request_get_input_headers(req), "Authorization");
        char *end;

        if (a && !strncmp(a, "Bearer ", 7))
                a += 7;
        else if (a && !strncmp(a, "OAuth ", 6))
                a += 6;
        else
                return -1;
        if (!strncmp(a, SF_TOKEN_PREFIX, strlen(SF_TOKEN_PREFIX))) {
                long long issued =
                    strtoll(a + strlen(SF_TOKEN_PREFIX), &end, 10);
                unsigned long long sn =
                    *end == '.' ? strtoull(end + 1, &end, 10) : 0;
                int64_t now = crmsync_wall_ms();
                if (!*end && sn > s->sf_expired_serial && sn <= s->sf_serial &&
                    now - issued < SF_SESSION_MS && issued <= now) {
                        if (serial)
                                *serial = sn;
                        return 1;
                }
        }
        return 0;
}

/* 1 when the request carries a live session, else 0 after a 401. */
int crm_salesforce_session_ok(crm_server_t *s, struct evhttp_request *req)
{
        if (crm_salesforce_session(s, req, NULL) == 1)
                return 1;
        sf_error(s, req, 401, "INVALID_SESSION_ID",
                 "Session expired or invalid");
        return 0;
}

/* POST /services/oauth2/token (form body): any grant_type of password,
 * client_credentials or refresh_token gets a session. */
static void handle_token(crm_server_t *s, struct evhttp_request *req)
{
        struct evbuffer *in = evhttp_request_get_input_buffer(req);
        size_t           n  = evbuffer_get_length(in);
        char             body[2048], grant[32], tok[96], url[64], ts[24];
        int64_t          now = crmsync_wall_ms();

        if (evhttp_request_get_command(req) != EVHTTP_REQ_POST ||
            n >= sizeof(body)) {
                sf_reply(s, req, 400,
                         json_pack("{s:s,s:s}", "error", "invalid_request",
                                   "error_description",
                                   "POST a form body under 2 KiB"));
                return;
        }
        evbuffer_copyout(in, body, n);
        body[n] = '\0';
        if (crmsync_query_get(body, "grant_type", grant, sizeof(grant)) ||
            (strcmp(grant, "password") && strcmp(grant, "client_credentials") &&
             strcmp(grant, "refresh_token"))) {
                sf_reply(
                    s, req, 400,
                    json_pack("{s:s,s:s}", "error", "unsupported_grant_type",
                              "error_description", "grant type not supported"));
                return;
        }
        /* The serial orders sessions: expire_sessions ends those so far. */
        snprintf(tok, sizeof(tok), "%s%" PRId64 ".%" PRIu64, SF_TOKEN_PREFIX,
                 now, ++s->sf_serial);
        snprintf(url, sizeof(url), "http://127.0.0.1:%d", s->port);
        snprintf(ts, sizeof(ts), "%" PRId64, now);
        sf_reply(s, req, 200,
                 json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "access_token", tok,
                           "instance_url", url, "id",
                           "http://127.0.0.1/id/00D000000000001AAA/"
                           "005000000000001AAA",
                           "token_type", "Bearer", "issued_at", ts, "signature",
                           "crmsync"));
}

/* ------------------------------------------------------------------ */
/* Records */

static const struct crm_event *last_ev(crm_server_t *s, uint32_t idx)
{
        return crmsync_workload_event(s->w, s->live[idx].last_ev);
}

/* The value of one Salesforce field of record idx, or NULL if none. */
static json_t *field_value(crm_server_t *s, enum crm_entity t, uint32_t idx,
                           const char *name)
{
        const struct live_rec *lr = &s->live[idx];
        char                   buf[40];

        if (!strcasecmp(name, "Id")) {
                crm_salesforce_id(t, crmsync_workload_record(s->w, idx)->id,
                                  buf, sizeof(buf));
                return json_string(buf);
        }
        if (!strcasecmp(name, "IsDeleted"))
                return json_boolean(lr->deleted);
        if (!strcasecmp(name, "SystemModstamp") ||
            !strcasecmp(name, "LastModifiedDate") ||
            !strcasecmp(name, "CreatedDate")) {
                sf_time(strcasecmp(name, "CreatedDate") ? lr->last_modified_ms
                                                        : lr->created_ms,
                        buf, sizeof(buf));
                return json_string(buf);
        }
        if (!strcasecmp(name, "Crmsync_Version__c"))
                return json_integer(lr->version);
        if (!strcasecmp(name, "AccountId") ||
            !strcasecmp(name, "MasterRecordId")) {
                const struct crm_event *e   = last_ev(s, idx);
                const char             *acc = !strcasecmp(name, "AccountId")
                                                  ? e->account_id
                                                  : e->merged_into;
                if (!acc[0] ||
                    (t == CRM_ENTITY_ACCOUNT && !strcasecmp(name, "AccountId")))
                        return json_null();
                crm_salesforce_id(CRM_ENTITY_ACCOUNT, acc, buf, sizeof(buf));
                return json_string(buf);
        }
        for (int i = 0; i < 8 && crm_sf_types[t].f[i].sf; i++)
                if (!strcasecmp(crm_sf_types[t].f[i].sf, name)) {
                        json_t *f =
                            lr->deleted ? NULL : crm_live_fields(s, idx);
                        json_t *v = json_incref(
                            json_object_get(f, crm_sf_types[t].f[i].field));
                        json_decref(f);
                        return v ? v : json_null();
                }
        return NULL;
}

static int known_field(enum crm_entity t, const char *name)
{
        for (int i = 0; system_fields[i]; i++)
                if (!strcasecmp(system_fields[i], name))
                        return 1;
        for (int i = 0; i < 8 && crm_sf_types[t].f[i].sf; i++)
                if (!strcasecmp(crm_sf_types[t].f[i].sf, name))
                        return 1;
        return 0;
}

/* One record: attributes, then the named fields (all when names NULL). */
static json_t *sf_record(crm_server_t *s, enum crm_entity t, uint32_t idx,
                         const char *ver, const struct soql_query *q)
{
        json_t *o = json_object();
        char    id[40], url[160];

        crm_salesforce_id(t, crmsync_workload_record(s->w, idx)->id, id,
                          sizeof(id));
        snprintf(url, sizeof(url), "/services/data/%s/sobjects/%s/%s", ver,
                 crm_sf_types[t].name, id);
        json_object_set_new(
            o, "attributes",
            json_pack("{s:s,s:s}", "type", crm_sf_types[t].name, "url", url));
        if (q) {
                for (int i = 0; i < q->nfields; i++)
                        json_object_set_new(
                            o, q->fields[i],
                            field_value(s, t, idx, q->fields[i]));
                return o;
        }
        for (int i = 0; system_fields[i]; i++) {
                json_t *v = field_value(s, t, idx, system_fields[i]);
                json_object_set_new(o, system_fields[i], v ? v : json_null());
        }
        for (int i = 0; i < 8 && crm_sf_types[t].f[i].sf; i++)
                json_object_set_new(
                    o, crm_sf_types[t].f[i].sf,
                    field_value(s, t, idx, crm_sf_types[t].f[i].sf));
        return o;
}

static void handle_get(crm_server_t *s, struct evhttp_request *req,
                       enum crm_entity t, const char *id, const char *ver)
{
        int64_t idx = sf_find(s, t, id);
        if (idx < 0) {
                sf_error(s, req, 404, "NOT_FOUND",
                         "The requested resource does not exist");
                return;
        }
        if (s->live[idx].deleted) {
                sf_error(s, req, 404, "ENTITY_IS_DELETED", "entity is deleted");
                return;
        }
        uint32_t u = (uint32_t)idx;
        sf_reply(s, req, 200, sf_record(s, t, u, ver, NULL));
        crm_observe_records(s, &u, 1, "objects");
}

/* ------------------------------------------------------------------ */
/* updated / deleted */

/* start= and end= of /updated/ and /deleted/ (datetimes), start < end. */
static int window(const char *query, int64_t *start, int64_t *end)
{
        char a[40], b[40];
        if (crmsync_query_get(query, "start", a, sizeof(a)) ||
            crmsync_query_get(query, "end", b, sizeof(b)) ||
            crmsync_soql_time_parse(a, strlen(a), start) ||
            crmsync_soql_time_parse(b, strlen(b), end) || *start >= *end)
                return -1;
        return 0;
}

static void handle_changed(crm_server_t *s, struct evhttp_request *req,
                           enum crm_entity t, int deleted, const char *query)
{
        int64_t start, end;
        char    id[40], ts[40];
        json_t *out = json_array();

        if (window(query, &start, &end)) {
                json_decref(out);
                sf_error(s, req, 400, "INVALID_REPLICATION_DATE",
                         "start and end must be datetimes "
                         "(2026-01-31T12:00:00+00:00), start before end");
                return;
        }
        for (size_t i = 0; i < s->by_entity_cnt[t]; i++) {
                uint32_t               idx = s->by_entity[t][i];
                const struct live_rec *lr  = &s->live[idx];
                if (!lr->exists || lr->late_pending || lr->deleted != deleted ||
                    lr->last_modified_ms < start || lr->last_modified_ms > end)
                        continue;
                crm_salesforce_id(t, crmsync_workload_record(s->w, idx)->id, id,
                                  sizeof(id));
                if (!deleted) {
                        json_array_append_new(out, json_string(id));
                        continue;
                }
                sf_time(lr->last_modified_ms, ts, sizeof(ts));
                json_array_append_new(
                    out, json_pack("{s:s,s:s}", "id", id, "deletedDate", ts));
        }
        sf_time(end, ts, sizeof(ts));
        if (!deleted) {
                sf_reply(s, req, 200,
                         json_pack("{s:o,s:s}", "ids", out, "latestDateCovered",
                                   ts));
                return;
        }
        char first[40];
        sf_time(s->start_wall_ms, first, sizeof(first));
        sf_reply(s, req, 200,
                 json_pack("{s:o,s:s,s:s}", "deletedRecords", out,
                           "earliestDateAvailable", first, "latestDateCovered",
                           ts));
}

/* ------------------------------------------------------------------ */
/* SOQL query, queryAll, nextRecordsUrl */

struct sf_locator {
        uint32_t          gen; /* 0 = free */
        int               all, entity;
        size_t            batch; /* the query's batchSize */
        struct soql_query q;
};

/* Sort context for qsort (the loop is single-threaded). */
static const crm_server_t *sort_srv;
static int                 sort_desc;

static int cmp_rec(const void *a, const void *b)
{
        uint32_t i = *(const uint32_t *)a, j = *(const uint32_t *)b;
        int64_t  x = sort_srv->live[i].last_modified_ms;
        int64_t  y = sort_srv->live[j].last_modified_ms;
        int      c = x != y ? (x < y ? -1 : 1)
                            : strcmp(crmsync_workload_record(sort_srv->w, i)->id,
                                     crmsync_workload_record(sort_srv->w, j)->id);
        return sort_desc ? -c : c;
}

/* The batch size of Sforce-Query-Options: batchSize=N (200..2000). */
static size_t batch_size(struct evhttp_request *req)
{
        const char *o = evhttp_find_header(
            evhttp_request_get_input_headers(req), "Sforce-Query-Options");
        const char *b = o ? strstr(o, "batchSize=") : NULL;
        long        v = b ? strtol(b + 10, NULL, 10) : SF_BATCH;
        return v < 200 ? 200 : v > SF_BATCH ? SF_BATCH : (size_t)v;
}

/* Run locator slot's query from offset and answer one page. */
static void run_query(crm_server_t *s, struct evhttp_request *req,
                      uint32_t slot, size_t offset, const char *ver)
{
        struct sf_locator *l = &s->sf_loc[slot];
        enum crm_entity    t = (enum crm_entity)l->entity;
        uint32_t          *m = malloc((s->by_entity_cnt[t] + 1) * sizeof(*m));
        size_t             n = 0;
        char               id[40], next[96];

        if (!m) {
                sf_error(s, req, 503, "SERVER_UNAVAILABLE", "out of memory");
                return;
        }
        for (size_t i = 0; i < s->by_entity_cnt[t]; i++) {
                uint32_t               idx = s->by_entity[t][i];
                const struct live_rec *lr  = &s->live[idx];
                if (!lr->exists || lr->late_pending || (lr->deleted && !l->all))
                        continue;
                crm_salesforce_id(t, crmsync_workload_record(s->w, idx)->id, id,
                                  sizeof(id));
                if (crmsync_soql_match(&l->q, lr->last_modified_ms, id))
                        m[n++] = idx;
        }
        sort_srv  = s;
        sort_desc = l->q.order_desc;
        qsort(m, n, sizeof(*m), cmp_rec);
        if (l->q.limit && n > l->q.limit)
                n = l->q.limit;
        size_t  from = offset < n ? offset : n;
        size_t  take = n - from < l->batch ? n - from : l->batch;
        json_t *recs = json_array();
        for (size_t i = 0; i < take; i++)
                json_array_append_new(recs,
                                      sf_record(s, t, m[from + i], ver, &l->q));
        json_t *out = json_pack("{s:I,s:b}", "totalSize", (json_int_t)n, "done",
                                from + take >= n);
        if (from + take < n) {
                snprintf(next, sizeof(next),
                         "/services/data/%s/query/01g%02u%08u-%zu", ver, slot,
                         l->gen, from + take);
                json_object_set_new(out, "nextRecordsUrl", json_string(next));
        }
        json_object_set_new(out, "records", recs);
        sf_reply(s, req, 200, out);
        crm_observe_records(s, m + from, take, "objects");
        free(m);
}

static void handle_query(crm_server_t *s, struct evhttp_request *req, int all,
                         const char *query, const char *ver)
{
        char              q[SOQL_MAX_LEN + 1], why[256];
        struct soql_query parsed;
        int               t;

        if (crmsync_query_get(query, "q", q, sizeof(q))) {
                sf_error(s, req, 400, "MALFORMED_QUERY",
                         "q: a SOQL query of at most %d bytes is required",
                         SOQL_MAX_LEN);
                return;
        }
        if (crmsync_soql_parse(q, &parsed, why, sizeof(why))) {
                sf_error(s, req, 400, "MALFORMED_QUERY", "%s", why);
                return;
        }
        t = type_parse(parsed.object, strlen(parsed.object));
        if (t < 0) {
                sf_error(s, req, 400, "INVALID_TYPE",
                         "sObject type '%s' is not supported.", parsed.object);
                return;
        }
        for (int i = 0; i < parsed.nfields; i++)
                if (!known_field((enum crm_entity)t, parsed.fields[i])) {
                        sf_error(s, req, 400, "INVALID_FIELD",
                                 "No such column '%s' on entity '%s'.",
                                 parsed.fields[i], crm_sf_types[t].name);
                        return;
                }
        if (!s->sf_loc &&
            !(s->sf_loc = calloc(CRM_SF_LOCATORS, sizeof(*s->sf_loc)))) {
                sf_error(s, req, 503, "SERVER_UNAVAILABLE", "out of memory");
                return;
        }
        uint32_t slot          = s->sf_loc_next++ % CRM_SF_LOCATORS;
        s->sf_loc[slot].gen    = s->sf_loc_next;
        s->sf_loc[slot].all    = all;
        s->sf_loc[slot].entity = t;
        s->sf_loc[slot].q      = parsed;
        s->sf_loc[slot].batch  = batch_size(req);
        run_query(s, req, slot, 0, ver);
}

/* GET .../query/01g<slot 2><gen 8>-<offset>: the next page. */
static void handle_more(crm_server_t *s, struct evhttp_request *req,
                        const char *loc, const char *ver)
{
        unsigned slot, gen;
        size_t   off;
        char     tail;

        if (sscanf(loc, "01g%2u%8u-%zu%c", &slot, &gen, &off, &tail) != 3 ||
            slot >= CRM_SF_LOCATORS || !s->sf_loc ||
            s->sf_loc[slot].gen != gen) {
                sf_error(s, req, 400, "INVALID_QUERY_LOCATOR",
                         "invalid query locator");
                return;
        }
        run_query(s, req, slot, off, ver);
}

/* ------------------------------------------------------------------ */
/* Routing */

void crm_salesforce_handle(crm_server_t *s, struct evhttp_request *req,
                           const char *path, const char *query)
{
        char        ver[16], seg[4][64];
        const char *p;
        size_t      nseg = 0;
        int         t    = -1;

        if (!strcmp(path, "/services/oauth2/token")) {
                handle_token(s, req);
                return;
        }
        if (!crm_salesforce_session_ok(s, req) ||
            !crm_salesforce_throttle_ok(s, req))
                return;
        crm_feed_advance(s, crmsync_wall_ms());
        /* /services/data/vNN.N/... */
        p = path + 15;
        if (strncmp(path, "/services/data/", 15) || p[0] != 'v' ||
            strspn(p + 1, "0123456789.") == 0 ||
            strspn(p + 1, "0123456789.") >= sizeof(ver) - 1)
                goto not_found;
        snprintf(ver, sizeof(ver), "%.*s",
                 (int)(1 + strspn(p + 1, "0123456789.")), p);
        p += strlen(ver);
        while (*p == '/' && nseg < 4) {
                size_t l = strcspn(p + 1, "/");
                if (l == 0)
                        break; /* a trailing slash */
                if (l >= sizeof(seg[0]))
                        goto not_found;
                memcpy(seg[nseg], p + 1, l);
                seg[nseg++][l] = '\0';
                p += 1 + l;
        }
        if (*p && strcmp(p, "/"))
                goto not_found;
        if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
                sf_error(s, req, 405, "METHOD_NOT_ALLOWED",
                         "HTTP Method is not allowed for this resource");
                return;
        }
        if (nseg >= 2 && !strcmp(seg[0], "sobjects"))
                t = type_parse(seg[1], strlen(seg[1]));
        if (nseg == 1 &&
            (!strcmp(seg[0], "query") || !strcmp(seg[0], "queryAll")))
                handle_query(s, req, !strcmp(seg[0], "queryAll"), query, ver);
        else if (nseg == 2 && !strcmp(seg[0], "query"))
                handle_more(s, req, seg[1], ver);
        else if (nseg == 3 && t >= 0 &&
                 (!strcmp(seg[2], "updated") || !strcmp(seg[2], "deleted")))
                handle_changed(s, req, (enum crm_entity)t,
                               !strcmp(seg[2], "deleted"), query);
        else if (nseg == 3 && t >= 0)
                handle_get(s, req, (enum crm_entity)t, seg[2], ver);
        else
                goto not_found;
        return;
not_found:
        sf_error(s, req, 404, "NOT_FOUND",
                 "The requested resource does not exist: %.128s", path);
}
