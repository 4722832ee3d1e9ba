/* connector.c -- the reference source connector (CRM -> Kafka): entry
 * point, HTTP outcomes and waits, gap and move resolution (single and
 * batch object reads), object listings, the full resync after a 410 and
 * the repair after a dead-lettered event. FEED mode itself is in
 * connector_feed.c. The bug switches change exactly one step each (see
 * docs/kafka.md, "Connector"). */
#include "connector_int.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crmsync/bugs.h"
#include "crmsync/common.h"

static const char *const entities[] = {"account", "contact", "opportunity",
                                       "entitlement"};

#define URL_MAX (CONNECTOR_CURSOR_MAX * 3 + 512)

enum http_class connector_classify(struct connector *c, const char *what,
                                   const struct http_resp *r)
{
        if (r->status == 200)
                return CONN_HTTP_OK;
        if (r->status == 429) {
                c->st.throttled++;
                return CONN_HTTP_RATE_LIMITED;
        }
        if (r->status == 403) {
                c->st.throttled++;
                fprintf(stderr,
                        "connector: %s: 403 (quota, REQUEST_LIMIT_EXCEEDED?) "
                        "backing off %d s: %.200s\n",
                        what, CONNECTOR_QUOTA_BACKOFF_MS / 1000,
                        r->body ? r->body : "");
                return CONN_HTTP_QUOTA;
        }
        if (r->status == 410)
                return CONN_HTTP_GONE;
        if (r->status == 404)
                return CONN_HTTP_NOT_FOUND;
        c->st.http_errors++;
        if (r->status == 0)
                fprintf(stderr, "connector: %s\n", r->errstr);
        else if (r->status < 500)
                fprintf(stderr, "connector: %s: HTTP %ld: %.200s\n", what,
                        r->status, r->body ? r->body : "");
        return CONN_HTTP_RETRY;
}

/* Wait as the answer asks: Retry-After on 429, long on 403, exponential
 * backoff otherwise, but never less than a Retry-After the answer carries
 * (a 503 sends one). The bug ignore-retry-after retries every refused or
 * failed request at once instead. */
void connector_wait_after(struct connector *c, enum http_class k,
                          const struct http_resp *r, unsigned *attempt)
{
        int64_t ms;

        if (c->cfg->bugs & CRMSYNC_BUG_IGNORE_RETRY_AFTER) {
                connector_nap(c, CONNECTOR_BUG_RETRY_MS);
                return;
        }
        switch (k) {
        case CONN_HTTP_RATE_LIMITED:
                connector_nap(
                    c, (int64_t)connector_retry_after_s(r->retry_after) * 1000);
                break;
        case CONN_HTTP_QUOTA:
                connector_nap(c, CONNECTOR_QUOTA_BACKOFF_MS);
                break;
        default:
                ms = connector_backoff_ms((*attempt)++);
                if (r->retry_after[0] &&
                    connector_retry_after_s(r->retry_after) * 1000LL > ms)
                        ms = connector_retry_after_s(r->retry_after) * 1000LL;
                connector_nap(c, ms);
                break;
        }
}

/* pre: the object as a batch read found it (json null: the CRM had
 * none), or NULL to read it now with a single GET. */
int connector_resolve_gap(struct connector *c, const json_t *ev,
                          const json_t *pre, json_t **out, int wait)
{
        const char *entity = json_string_value(json_object_get(ev, "entity"));
        const char *id   = json_string_value(json_object_get(ev, "record_id"));
        const char *flag = "resolved_gap";
        char        url[URL_MAX], e_ent[128], e_id[128], why[256];
        struct http_resp r;
        enum http_class  k;
        json_t          *obj;
        unsigned         attempt = 0;
        int              move;

        *out = NULL;
        connector_needs_object(ev, &flag);
        move = !strcmp(flag, "resolved_move");
        if (!entity || !id) {
                snprintf(why, sizeof(why), "%s: no entity/id",
                         move ? "move_unresolved" : "gap_unresolved");
                goto unresolved;
        }
        if (pre && json_is_object(pre)) {
                *out = connector_resolve_object(ev, pre, flag);
                if (*out) {
                        if (move)
                                c->st.moves++;
                        else
                                c->st.gaps++;
                        return 0;
                }
                snprintf(why, sizeof(why), "%s: bad object for %s/%s",
                         move ? "move_unresolved" : "gap_unresolved", entity,
                         id);
                goto unresolved;
        }
        if (pre) {
                snprintf(why, sizeof(why), "%s: 404 for %s/%s",
                         move ? "move_unresolved" : "gap_unresolved", entity,
                         id);
                goto unresolved;
        }
        connector_url_escape(entity, e_ent, sizeof(e_ent));
        connector_url_escape(id, e_id, sizeof(e_id));
        snprintf(url, sizeof(url), "%s/v1/objects/%s/%s", c->cfg->crm_url,
                 e_ent, e_id);
        {
                int64_t t0 = crmsync_mono_ms();
                connector_http_get(c->http, url, &r);
                c->st.ms_lookup += crmsync_mono_ms() - t0;
        }
        k = connector_classify(c, move ? "move lookup" : "gap lookup", &r);
        if (k == CONN_HTTP_OK) {
                obj  = json_loadb(r.body, r.len, 0, NULL);
                *out = obj ? connector_resolve_object(ev, obj, flag) : NULL;
                json_decref(obj);
                if (*out) {
                        if (move)
                                c->st.moves++;
                        else
                                c->st.gaps++;
                        return 0;
                }
                snprintf(why, sizeof(why), "%s: bad object for %s/%s",
                         move ? "move_unresolved" : "gap_unresolved", entity,
                         id);
        } else if (k == CONN_HTTP_NOT_FOUND) {
                snprintf(why, sizeof(why), "%s: 404 for %s/%s",
                         move ? "move_unresolved" : "gap_unresolved", entity,
                         id);
        } else {
                if (wait)
                        connector_wait_after(c, k, &r, &attempt);
                return 1;
        }
unresolved:
        fprintf(stderr, "connector: %s\n", why);
        if (move) {
                /* The move itself is a valid change: produce it as is. */
                *out = json_deep_copy(ev);
                return 0;
        }
        {
                char *raw = json_dumps(ev, JSON_COMPACT);
                if (raw)
                        connector_produce_dlq(
                            c, raw, strlen(raw),
                            connector_event_key(ev, c->cfg->bugs), why);
                free(raw);
        }
        return 0;
}

int connector_resolve_gap_http(struct connector *c, const json_t *ev,
                               json_t **out, int wait)
{
        return connector_resolve_gap(c, ev, NULL, out, wait);
}

#define PREFETCH_IDS 100 /* ids per batch read (the CRM's limit) */

/* The objects of a page's gaps and moves, read before the page is
 * processed with one batch read (GET /v1/objects/{entity}?ids=) per entity
 * and up to PREFETCH_IDS ids, instead of one GET each: "entity/id" -> the
 * object, or json null when the CRM has none. Best effort: after any
 * answer but a 200 it stops, and what it did not get is read one by one
 * (with the single read's waits and retries). New reference. */
json_t *connector_prefetch_objects(struct connector *c, const json_t *events)
{
        json_t     *got = json_object(), *ev;
        size_t      i;
        const char *flag;

        if (!got)
                return NULL;
        for (int more = 1; more;) {
                char             url[URL_MAX], e_ent[64], e_id[128], key[200];
                const char      *entity = NULL;
                size_t           n = 0, len = 0;
                struct http_resp r;

                more = 0;
                json_array_foreach(events, i, ev)
                {
                        const char *en =
                            json_string_value(json_object_get(ev, "entity"));
                        const char *id =
                            json_string_value(json_object_get(ev, "record_id"));
                        if (!en || !id || !connector_needs_object(ev, &flag))
                                continue;
                        snprintf(key, sizeof(key), "%s/%s", en, id);
                        if (json_object_get(got, key))
                                continue;
                        if (!entity) {
                                entity = en;
                                connector_url_escape(en, e_ent, sizeof(e_ent));
                                len = (size_t)snprintf(url, sizeof(url),
                                                       "%s/v1/objects/%s?ids=",
                                                       c->cfg->crm_url, e_ent);
                        } else if (strcmp(en, entity)) {
                                more = 1;
                                continue;
                        }
                        connector_url_escape(id, e_id, sizeof(e_id));
                        if (n == PREFETCH_IDS ||
                            len + strlen(e_id) + 2 >= sizeof(url)) {
                                more = 1;
                                continue;
                        }
                        len += (size_t)snprintf(url + len, sizeof(url) - len,
                                                "%s%s", n ? "," : "", e_id);
                        /* Pending: a placeholder until the answer. */
                        json_object_set_new(got, key, json_false());
                        n++;
                }
                if (!n)
                        break;
                int64_t t0 = crmsync_mono_ms();
                connector_http_get(c->http, url, &r);
                c->st.ms_lookup += crmsync_mono_ms() - t0;
                enum http_class hk = connector_classify(c, "batch lookup", &r);
                json_t         *root = hk == CONN_HTTP_OK
                                           ? json_loadb(r.body, r.len, 0, NULL)
                                           : NULL;
                if (hk != CONN_HTTP_OK) {
                        /* The single reads that follow are retries of
                         * this request: they wait as it was told. */
                        unsigned attempt = 0;
                        connector_wait_after(c, hk, &r, &attempt);
                }
                json_t *res = json_object_get(root, "results");
                json_t *mis = json_object_get(root, "missing");
                json_t *o;
                size_t  k;
                json_array_foreach(res, k, o)
                {
                        const char *id =
                            json_string_value(json_object_get(o, "id"));
                        snprintf(key, sizeof(key), "%s/%s", entity,
                                 id ? id : "");
                        if (id && json_is_false(json_object_get(got, key)))
                                json_object_set(got, key, o);
                }
                json_array_foreach(mis, k, o)
                {
                        snprintf(key, sizeof(key), "%s/%s", entity,
                                 json_string_value(o) ? json_string_value(o)
                                                      : "");
                        if (json_is_false(json_object_get(got, key)))
                                json_object_set_new(got, key, json_null());
                }
                /* res and mis are borrowed from root: test them first. */
                int whole = json_is_array(res) && json_is_array(mis);
                json_decref(root);
                if (!whole)
                        break; /* the rest one by one */
        }
        /* Placeholders the answer did not cover: read one by one. */
        {
                const char *k;
                json_t     *v, *tmp;
                json_object_foreach_safe(got, tmp, k, v)
                {
                        if (json_is_false(v))
                                json_object_del(got, k);
                }
        }
        return got;
}

int connector_list_page(struct connector *c, const char *entity, int64_t since,
                        int strict_gt, const char *after, json_t **objs,
                        int *has_more, int64_t *next_since, char *next_after,
                        size_t next_after_size)
{
        char             url[URL_MAX], e_after[512], perr[256];
        struct http_resp r;
        unsigned         attempt = 0;

        connector_url_escape(after ? after : "", e_after, sizeof(e_after));
        snprintf(url, sizeof(url),
                 "%s/v1/objects/%s?modified_since=%lld&limit=%u%s%s",
                 c->cfg->crm_url, entity,
                 (long long)(strict_gt ? since + 1 : since), c->cfg->page_size,
                 *e_after ? "&after=" : "", e_after);
        while (!*c->stop && !c->fatal) {
                enum http_class k;

                connector_http_get(c->http, url, &r);
                k = connector_classify(c, "objects listing", &r);
                if (k == CONN_HTTP_NOT_FOUND)
                        return 2;
                if (k != CONN_HTTP_OK) {
                        connector_wait_after(c, k, &r, &attempt);
                        continue;
                }
                if (connector_parse_objects(
                        r.body, r.len, objs, has_more, next_since, next_after,
                        next_after_size, perr, sizeof(perr)) == 0)
                        return 0;
                c->st.http_errors++;
                fprintf(stderr, "connector: objects listing: %s\n", perr);
                connector_nap(c, connector_backoff_ms(attempt++));
        }
        return 1;
}

/* List every object of entity modified since `since` and produce each one's
 * current state as a full-state event (prefix/flag "resync"). Returns 0,
 * 1 stopped, 2 entity not listed (404), -1 + errstr; counts into *objects. */
static int produce_listed(struct connector *c, const char *entity,
                          int64_t since, uint64_t *objects, char *errstr,
                          size_t errstr_size)
{
        char after[CRMSYNC_ID_MAX * 4] = "";

        for (uint32_t page = 0; page < 10000000; page++) {
                json_t *objs, *o;
                int     has_more, rc;
                int64_t nsince;
                char    nafter[sizeof(after)];
                size_t  i;

                rc = connector_list_page(c, entity, since, 0, after, &objs,
                                         &has_more, &nsince, nafter,
                                         sizeof(nafter));
                if (rc)
                        return rc;
                json_array_foreach(objs, i, o)
                {
                        json_t *ev = connector_object_event(entity, o, "resync",
                                                            "resync");
                        if (!ev)
                                continue;
                        (*objects)++;
                        rc = connector_produce_event(c, ev, NULL, "resync",
                                                     errstr, errstr_size);
                        json_decref(ev);
                        if (rc) {
                                json_decref(objs);
                                return -1;
                        }
                }
                json_decref(objs);
                if (!has_more || nsince < 0)
                        return 0;
                since = nsince;
                snprintf(after, sizeof(after), "%s", nafter);
                connector_stats_maybe(c, 0);
        }
        return 0;
}

int connector_resync(struct connector *c, char *errstr, size_t errstr_size)
{
        uint64_t objects = 0;

        fprintf(stderr, "connector: resync: listing every object\n");
        connector_delivery_reset(c);
        for (size_t e = 0; e < sizeof(entities) / sizeof(entities[0]); e++) {
                int rc = produce_listed(c, entities[e], 0, &objects, errstr,
                                        errstr_size);
                if (rc == 2)
                        fprintf(stderr,
                                "connector: resync: %s not listed (404), "
                                "skipped\n",
                                entities[e]);
                else if (rc)
                        return rc;
        }
        if (connector_wait_delivered(c) != 0) {
                if (c->fatal)
                        return crmsync_err(errstr, errstr_size, "%s",
                                           c->fatal_err);
                fprintf(stderr,
                        "connector: resync: deliveries failed (%s), "
                        "resync again\n",
                        c->last_delivery_err);
                return 2;
        }
        c->st.resyncs++;
        fprintf(stderr, "connector: resync done: %llu object(s)\n",
                (unsigned long long)objects);
        return 0;
}

int connector_repair(struct connector *c, char *errstr, size_t errstr_size)
{
        uint64_t objects = 0;

        fprintf(stderr,
                "connector: repair: re-reading %s objects modified since "
                "%lld after a dead-lettered event\n",
                c->repair_entity[0] ? c->repair_entity : "all",
                (long long)c->repair_since_ms);
        for (size_t e = 0; e < sizeof(entities) / sizeof(entities[0]); e++) {
                int rc;
                if (c->repair_entity[0] &&
                    strcmp(entities[e], c->repair_entity))
                        continue;
                rc = produce_listed(c, entities[e], c->repair_since_ms,
                                    &objects, errstr, errstr_size);
                if (rc == 1 || rc == -1)
                        return rc;
        }
        c->repair_since_ms  = 0;
        c->repair_entity[0] = '\0';
        c->st.repairs++;
        fprintf(stderr, "connector: repair done: %llu object(s)\n",
                (unsigned long long)objects);
        return 0;
}

int crmsync_connector_run(const struct connector_config *cfg,
                          volatile sig_atomic_t *stop, char *errstr,
                          size_t errstr_size)
{
        struct connector c;
        char             cur[CONNECTOR_CURSOR_MAX];
        int              rc = -1;

        if (!cfg || !stop)
                return crmsync_err(errstr, errstr_size, "no configuration");
        if (!cfg->topic || !*cfg->topic || !cfg->offsets_topic ||
            !*cfg->offsets_topic)
                return crmsync_err(errstr, errstr_size,
                                   "topic and offsets topic are required");
        if (cfg->mode != CONNECTOR_WEBHOOK &&
            (!cfg->crm_url || strncmp(cfg->crm_url, "http", 4)))
                return crmsync_err(errstr, errstr_size,
                                   "CRM URL (http://host:port) is required");
        if (cfg->page_size < 1 || cfg->page_size > 100000)
                return crmsync_err(errstr, errstr_size,
                                   "page size %u out of range 1..100000",
                                   cfg->page_size);

        memset(&c, 0, sizeof(c));
        c.cfg  = cfg;
        c.stop = stop;
        crmsync_dynbuf_init(&c.env, CONNECTOR_BODY_MAX);
        /* $CRMSYNC_CONNECTOR_NAME (the harness sets one per run) keeps
         * runs that share a cluster from resuming each other's cursors. */
        snprintf(c.cursor_key, sizeof(c.cursor_key), "%s%s",
                 crmsync_env("CRMSYNC_CONNECTOR_NAME", CONNECTOR_NAME),
                 cfg->mode == CONNECTOR_POLL      ? ".poll"
                 : cfg->mode == CONNECTOR_WEBHOOK ? ".webhook"
                                                  : "");
        if (curl_global_init(CURL_GLOBAL_DEFAULT))
                return crmsync_err(errstr, errstr_size,
                                   "curl_global_init failed");
        c.http = connector_http_new(cfg->client_id);
        if (!c.http) {
                crmsync_err(errstr, errstr_size, "cannot create HTTP client");
                goto out_curl;
        }
        if (connector_kafka_open(&c, errstr, errstr_size))
                goto out_http;
        /* Feed: the page cursor; poll: the watermarks; webhook: the
         * receiver's port and subscription state. */
        if (connector_load_cursor(&c, cur, sizeof(cur), errstr, errstr_size))
                goto out_kafka;
        snprintf(c.cursor, sizeof(c.cursor), "%s", cur);
        c.next_stats_ms = crmsync_mono_ms() + CONNECTOR_STATS_EVERY_MS;
        switch (cfg->mode) {
        case CONNECTOR_FEED:
                rc = connector_run_feed(&c, errstr, errstr_size);
                break;
        case CONNECTOR_POLL:
                rc = connector_run_poll(&c, errstr, errstr_size);
                break;
        case CONNECTOR_WEBHOOK:
                rc = connector_run_webhook(&c, errstr, errstr_size);
                break;
        }
        connector_stats_maybe(&c, 1);
out_kafka:
        connector_kafka_close(&c);
        json_decref(c.poll_state);
out_http:
        connector_http_destroy(c.http);
out_curl:
        curl_global_cleanup();
        return rc;
}
