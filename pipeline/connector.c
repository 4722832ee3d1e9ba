/* connector.c -- the reference source connector (CRM -> Kafka): entry
 * point, FEED mode (GET /v1/changes with a stored cursor) and the full
 * resync after a 410.
 *
 * FEED mode reads up to CONNECTOR_BATCH_PAGES pages while has_more is true,
 * resolves gap events, produces the batch (idempotent producer, acks=all),
 * waits for every delivery report, and only then stores the page cursor in
 * the cursor topic: at-least-once. The bug switches change exactly one of
 * these steps each (see docs/kafka.md, "Connector"). */
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

/* Outcome of one HTTP exchange, as the loops act on it. */
enum http_class {
        HTTP_OK,
        HTTP_RATE_LIMITED, /* 429 */
        HTTP_QUOTA,        /* 403 */
        HTTP_GONE,         /* 410 */
        HTTP_NOT_FOUND,    /* 404 */
        HTTP_RETRY,        /* 5xx, transport, other 4xx */
};

static enum http_class classify(struct connector *c, const char *what,
                                const struct http_resp *r)
{
        if (r->status == 200)
                return HTTP_OK;
        if (r->status == 429) {
                c->st.throttled++;
                return HTTP_RATE_LIMITED;
        }
        if (r->status == 403) {
                c->st.throttled++;
                fprintf(stderr,
                        "connector: %s: 403 (quota, REQUEST_LIMIT_EXCEEDED?) "
                        "backing off %d s: %.200s\n",
                        what, CONNECTOR_QUOTA_BACKOFF_MS / 1000,
                        r->body ? r->body : "");
                return HTTP_QUOTA;
        }
        if (r->status == 410)
                return HTTP_GONE;
        if (r->status == 404)
                return HTTP_NOT_FOUND;
        c->st.http_errors++;
        if (r->status == 0)
                fprintf(stderr, "connector: %s\n", r->errstr);
        else if (r->status < 500)
                fprintf(stderr, "connector: %s: HTTP %ld: %.200s\n", what,
                        r->status, r->body ? r->body : "");
        return HTTP_RETRY;
}

/* Wait as the answer asks: Retry-After on 429, long on 403, exponential
 * backoff otherwise, but never less than a Retry-After the answer carries
 * (a 503 sends one). The bug ignore-retry-after retries every refused or
 * failed request at once instead. */
static void wait_after(struct connector *c, enum http_class k,
                       const struct http_resp *r, unsigned *attempt)
{
        int64_t ms;

        if (c->cfg->bugs & CRMSYNC_BUG_IGNORE_RETRY_AFTER) {
                connector_nap(c, CONNECTOR_BUG_RETRY_MS);
                return;
        }
        switch (k) {
        case HTTP_RATE_LIMITED:
                connector_nap(
                    c, (int64_t)connector_retry_after_s(r->retry_after) * 1000);
                break;
        case HTTP_QUOTA:
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
static int resolve_gap(struct connector *c, const json_t *ev, const json_t *pre,
                       json_t **out, int wait)
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
        k = classify(c, move ? "move lookup" : "gap lookup", &r);
        if (k == HTTP_OK) {
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
        } else if (k == HTTP_NOT_FOUND) {
                snprintf(why, sizeof(why), "%s: 404 for %s/%s",
                         move ? "move_unresolved" : "gap_unresolved", entity,
                         id);
        } else {
                if (wait)
                        wait_after(c, k, &r, &attempt);
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
        return resolve_gap(c, ev, NULL, out, wait);
}

#define PREFETCH_IDS 100 /* ids per batch read (the CRM's limit) */

/* The objects of a page's gaps and moves, read before the page is
 * processed with one batch read (GET /v1/objects/{entity}?ids=) per entity
 * and up to PREFETCH_IDS ids, instead of one GET each: "entity/id" -> the
 * object, or json null when the CRM has none. Best effort: after any
 * answer but a 200 it stops, and what it did not get is read one by one
 * (with the single read's waits and retries). New reference. */
static json_t *prefetch_objects(struct connector *c, const json_t *events)
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
                enum http_class hk = classify(c, "batch lookup", &r);
                json_t         *root =
                    hk == HTTP_OK ? json_loadb(r.body, r.len, 0, NULL) : NULL;
                if (hk != HTTP_OK) {
                        /* The single reads that follow are retries of
                         * this request: they wait as it was told. */
                        unsigned attempt = 0;
                        wait_after(c, hk, &r, &attempt);
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
                k = classify(c, "objects listing", &r);
                if (k == HTTP_NOT_FOUND)
                        return 2;
                if (k != HTTP_OK) {
                        wait_after(c, k, &r, &attempt);
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

/* One batch: events with the cursor of the page each came from. */
struct batch {
        json_t *items; /* [{"ev":..,"cur":".."}] */
        int     pages;
};

static void batch_clear(struct batch *b)
{
        json_array_clear(b->items);
        b->pages = 0;
}

/* A produced batch whose delivery is not awaited yet: the next pages are
 * read (and parsed, their moves looked up) while it is in flight. */
struct pending {
        int    on;
        size_t n;
        char   cursor[CONNECTOR_CURSOR_MAX];
};

/* Produce the batch; its delivery is awaited by batch_settle() before the
 * next batch is produced (or the feed stops or errs), so batches still go
 * out one after the other and a cursor is stored only after everything
 * before it was delivered. Returns 0, 1 (a repair failed: the caller
 * re-reads from its stored cursor) or -1 fatal (errstr). Under
 * cursor-before-delivery the cursor is stored first. */
static int batch_produce(struct connector *c, struct batch *b,
                         const char *cursor, struct pending *pend, char *errstr,
                         size_t errstr_size)
{
        int bug_early = !!(c->cfg->bugs & CRMSYNC_BUG_CURSOR_BEFORE_DELIVERY);
        size_t  i;
        json_t *it;
        char    serr[256];

        connector_delivery_reset(c);
        if (bug_early && strcmp(cursor, c->cursor) &&
            connector_store_cursor(c, cursor, serr, sizeof(serr)))
                fprintf(stderr, "connector: %s\n", serr);
        int64_t t0 = crmsync_mono_ms();
        json_array_foreach(b->items, i, it)
        {
                if (connector_produce_event(
                        c, json_object_get(it, "ev"),
                        json_string_value(json_object_get(it, "cur")), "feed",
                        errstr, errstr_size))
                        return -1;
        }
        c->st.ms_produce += crmsync_mono_ms() - t0;
        pend->on = 1;
        pend->n  = json_array_size(b->items);
        snprintf(pend->cursor, sizeof(pend->cursor), "%s", cursor);
        /* A dead-lettered event's change is re-read before the cursor
         * moves past it, in the same delivery wait. */
        if (c->repair_since_ms) {
                int rr = connector_repair(c, errstr, errstr_size);
                if (rr) {
                        pend->on = 0;
                        return rr < 0 ? -1 : 1;
                }
        }
        return 0;
}

/* Wait for the pending batch's delivery, then store its cursor (the
 * record itself is awaited before the next store). Returns 0 (also when
 * nothing was pending), 1 delivery failed (the caller re-reads from its
 * stored cursor), -1 fatal (errstr). Under cursor-before-delivery failed
 * deliveries are only counted. */
static int batch_settle(struct connector *c, struct pending *pend, char *errstr,
                        size_t errstr_size)
{
        int  bug_early = !!(c->cfg->bugs & CRMSYNC_BUG_CURSOR_BEFORE_DELIVERY);
        int  failed;
        char serr[256];

        if (!pend->on)
                return 0;
        pend->on = 0;
        failed   = connector_wait_delivered(c);
        if (c->fatal)
                return crmsync_err(errstr, errstr_size, "%s", c->fatal_err);
        if (failed != 0) {
                fprintf(stderr,
                        "connector: %s delivery of a batch of %zu failed "
                        "(%s)%s\n",
                        failed < 0 ? "unfinished" : "failed", pend->n,
                        c->last_delivery_err,
                        bug_early ? "; cursor already stored: events lost"
                                  : "; re-reading from the stored cursor");
                if (!bug_early)
                        return 1;
        }
        if (!bug_early && strcmp(pend->cursor, c->cursor)) {
                if (connector_store_cursor_async(c, pend->cursor, serr,
                                                 sizeof(serr))) {
                        /* Not stored: a restart re-reads (duplicates). */
                        fprintf(stderr, "connector: %s\n", serr);
                }
        }
        return 0;
}

/* The change feed's state across pages. */
struct feed {
        char           req[CONNECTOR_CURSOR_MAX];  /* cursor of this page */
        char           next[CONNECTOR_CURSOR_MAX]; /* the page's next */
        struct batch   b;
        struct pending pend;
        unsigned       attempt; /* failed requests in a row */
        int            fresh;   /* no stored cursor and no page read yet */
        int            has_more;
};

/* What a step of the feed loop tells the loop to do. */
enum feed_step {
        FEED_GO_ON, /* the step is done: go on with this page */
        FEED_NEXT,  /* request the next (or the same) page */
        FEED_STOP,  /* leave the loop (a resync saw the stop) */
        FEED_FAIL,  /* a fatal error, in errstr */
};

/* Settle the batch in flight; when it failed, read again from the stored
 * cursor. Returns the result of batch_settle(). */
static int feed_settle_or_rewind(struct connector *c, struct feed *f,
                                 char *errstr, size_t errstr_size)
{
        int sr = batch_settle(c, &f->pend, errstr, errstr_size);
        if (sr == 1) {
                snprintf(f->req, sizeof(f->req), "%s", c->cursor);
                batch_clear(&f->b);
        }
        return sr;
}

/* GET one page of /v1/changes from f->req. */
static enum http_class feed_fetch(struct connector *c, struct feed *f,
                                  struct http_resp *r)
{
        char    url[URL_MAX], e_cur[CONNECTOR_CURSOR_MAX * 3 + 1];
        int64_t t0;

        connector_url_escape(f->req, e_cur, sizeof(e_cur));
        snprintf(url, sizeof(url), "%s/v1/changes?limit=%u%s%s",
                 c->cfg->crm_url, c->cfg->page_size, *f->req ? "&cursor=" : "",
                 e_cur);
        t0 = crmsync_mono_ms();
        connector_http_get(c->http, url, r);
        c->st.ms_page += crmsync_mono_ms() - t0;
        return classify(c, "changes", r);
}

/* 410: the cursor expired. Resync from the objects, then go on from the
 * oldest retained cursor. */
static enum feed_step feed_on_gone(struct connector *c, struct feed *f,
                                   const struct http_resp *r, char *errstr,
                                   size_t errstr_size)
{
        char oldest[CONNECTOR_CURSOR_MAX], perr[256];
        int  rs;

        connector_parse_410(r->body, r->len, oldest, sizeof(oldest));
        fprintf(stderr,
                "connector: 410 cursor expired at '%s'; "
                "oldest retained cursor '%s'\n",
                f->req, oldest);
        if (c->cfg->bugs & CRMSYNC_BUG_IGNORE_410) {
                /* The bug: jump without a resync. */
                snprintf(f->req, sizeof(f->req), "%s", oldest);
                return FEED_NEXT;
        }
        batch_clear(&f->b); /* the resync covers it */
        rs = connector_resync(c, errstr, errstr_size);
        if (rs < 0)
                return FEED_FAIL;
        if (rs == 1)
                return FEED_STOP;
        if (rs == 2) {
                connector_nap(c, connector_backoff_ms(f->attempt++));
                return FEED_NEXT;
        }
        snprintf(f->req, sizeof(f->req), "%s", oldest);
        if (connector_store_cursor(c, f->req, perr, sizeof(perr)))
                fprintf(stderr, "connector: %s\n", perr);
        return FEED_NEXT;
}

/* A page request that did not answer 200: settle the batch in flight,
 * then back off, resync (410) or, with the bug, drop the batch (429). */
static enum feed_step feed_on_error(struct connector *c, struct feed *f,
                                    enum http_class k, struct http_resp *r,
                                    char *errstr, size_t errstr_size)
{
        /* Whatever the error path does, the batch in flight is settled
         * first. */
        int sr = feed_settle_or_rewind(c, f, errstr, errstr_size);
        if (sr < 0)
                return FEED_FAIL;
        if (sr == 1) {
                connector_nap(c, connector_backoff_ms(f->attempt++));
                return FEED_NEXT;
        }
        if (k == HTTP_RATE_LIMITED &&
            (c->cfg->bugs & CRMSYNC_BUG_NO_RETRY_429)) {
                /* The bug: the error path throws the batch away but keeps
                 * the advanced read cursor, and ignores Retry-After. */
                if (json_array_size(f->b.items) > 0) {
                        fprintf(stderr,
                                "connector: 429: dropping a batch of "
                                "%zu event(s)\n",
                                json_array_size(f->b.items));
                        c->st.batches_dropped++;
                }
                batch_clear(&f->b);
                connector_nap(c, CONNECTOR_BACKOFF_MIN_MS);
                return FEED_NEXT;
        }
        if (k == HTTP_GONE)
                return feed_on_gone(c, f, r, errstr, errstr_size);
        wait_after(c, k, r, &f->attempt);
        return FEED_NEXT;
}

/* The first page read without a stored cursor: when the feed no longer
 * starts at the first change, what retention dropped is only in the
 * objects, so resync from them. Takes events on any answer but FEED_GO_ON. */
static enum feed_step feed_check_start(struct connector *c, struct feed *f,
                                       json_t *events, char *errstr,
                                       size_t errstr_size)
{
        json_int_t seq;
        int        rs;

        if (!f->fresh || json_array_size(events) == 0)
                return FEED_GO_ON;
        seq = json_integer_value(
            json_object_get(json_array_get(events, 0), "seq"));
        f->fresh = 0;
        if (seq <= 1)
                return FEED_GO_ON;
        fprintf(stderr,
                "connector: no stored cursor and the "
                "feed starts at seq %lld: initial "
                "snapshot\n",
                (long long)seq);
        json_decref(events);
        if (batch_settle(c, &f->pend, errstr, errstr_size) < 0)
                return FEED_FAIL;
        rs = connector_resync(c, errstr, errstr_size);
        if (rs < 0)
                return FEED_FAIL;
        if (rs == 1)
                return FEED_STOP;
        if (rs == 2)
                f->fresh = 1;
        return FEED_NEXT;
}

/* Add the page's events to the batch, a gap event replaced by its object
 * (read in one batch beforehand). When a gap cannot be resolved yet, the
 * page's part is dropped and the page requested again. Takes events. */
static enum feed_step feed_add_page(struct connector *c, struct feed *f,
                                    json_t *events, char *errstr,
                                    size_t errstr_size)
{
        size_t  i, before = json_array_size(f->b.items);
        json_t *ev, *pre  = prefetch_objects(c, events);
        int     page_retry = 0;

        json_array_foreach(events, i, ev)
        {
                const char *flag;
                json_t     *use = json_incref(ev), *item;

                if (connector_needs_object(ev, &flag)) {
                        json_t     *res;
                        char        key[200];
                        const char *en =
                            json_string_value(json_object_get(ev, "entity"));
                        const char *id =
                            json_string_value(json_object_get(ev, "record_id"));
                        snprintf(key, sizeof(key), "%s/%s", en ? en : "",
                                 id ? id : "");
                        json_decref(use);
                        if (resolve_gap(c, ev, json_object_get(pre, key), &res,
                                        1)) {
                                page_retry = 1;
                                break;
                        }
                        if (!res)
                                continue; /* dead-lettered gap */
                        use = res;
                }
                item = json_pack("{s:o,s:s}", "ev", use, "cur", f->req);
                if (!item) {
                        json_decref(pre);
                        json_decref(events);
                        crmsync_err(errstr, errstr_size, "out of memory");
                        return FEED_FAIL;
                }
                json_array_append_new(f->b.items, item);
        }
        json_decref(pre);
        if (page_retry) {
                /* Drop this page's part; the request is repeated. */
                while (json_array_size(f->b.items) > before)
                        json_array_remove(f->b.items,
                                          json_array_size(f->b.items) - 1);
                json_decref(events);
                return FEED_NEXT;
        }
        c->st.polled += json_array_size(events);
        json_decref(events);
        f->b.pages++;
        if (*f->next)
                snprintf(f->req, sizeof(f->req), "%s", f->next);
        return FEED_GO_ON;
}

/* After a page: once the batch is full (or the feed is drained or
 * stopping), the previous batch is delivered (and its cursor stored)
 * before this one goes out; this one is then in flight while the next
 * pages are read. */
static enum feed_step feed_deliver(struct connector *c, struct feed *f,
                                   char *errstr, size_t errstr_size)
{
        int sr;

        if (f->has_more && f->b.pages < CONNECTOR_BATCH_PAGES && !*c->stop)
                return FEED_NEXT;
        sr = batch_settle(c, &f->pend, errstr, errstr_size);
        if (sr == 0)
                sr = batch_produce(c, &f->b, f->req, &f->pend, errstr,
                                   errstr_size);
        if (sr == 0 && (!f->has_more || *c->stop))
                sr = batch_settle(c, &f->pend, errstr, errstr_size);
        if (sr < 0)
                return FEED_FAIL;
        if (sr == 1) {
                snprintf(f->req, sizeof(f->req), "%s", c->cursor);
                batch_clear(&f->b);
                connector_nap(c, connector_backoff_ms(f->attempt++));
                return FEED_NEXT;
        }
        batch_clear(&f->b);
        connector_stats_maybe(c, 0);
        if (!f->has_more)
                connector_nap(c, c->cfg->poll_idle_ms);
        return FEED_NEXT;
}

/* One round of the feed loop: fetch a page, handle errors, add it to the
 * batch and deliver when the batch is due. */
static enum feed_step feed_page(struct connector *c, struct feed *f,
                                char *errstr, size_t errstr_size)
{
        struct http_resp r;
        enum http_class  k;
        enum feed_step   st;
        json_t          *events;
        char             perr[256];

        k = feed_fetch(c, f, &r);
        if (k != HTTP_OK)
                return feed_on_error(c, f, k, &r, errstr, errstr_size);
        if (connector_parse_page(r.body, r.len, &events, f->next,
                                 sizeof(f->next), &f->has_more, perr,
                                 sizeof(perr))) {
                if (feed_settle_or_rewind(c, f, errstr, errstr_size) < 0)
                        return FEED_FAIL;
                c->st.http_errors++;
                fprintf(stderr, "connector: changes: %s\n", perr);
                connector_nap(c, connector_backoff_ms(f->attempt++));
                return FEED_NEXT;
        }
        f->attempt = 0;
        if ((st = feed_check_start(c, f, events, errstr, errstr_size)) !=
                FEED_GO_ON ||
            (st = feed_add_page(c, f, events, errstr, errstr_size)) !=
                FEED_GO_ON)
                return st;
        return feed_deliver(c, f, errstr, errstr_size);
}

int connector_run_feed(struct connector *c, char *errstr, size_t errstr_size)
{
        struct feed    f  = {.b = {json_array(), 0}, .fresh = !*c->cursor};
        enum feed_step st = FEED_NEXT;
        int            rc = -1;

        if (!f.b.items)
                return crmsync_err(errstr, errstr_size, "out of memory");
        snprintf(f.req, sizeof(f.req), "%s", c->cursor);
        while (!*c->stop && !c->fatal) {
                st = feed_page(c, &f, errstr, errstr_size);
                if (st == FEED_FAIL)
                        goto out;
                if (st == FEED_STOP)
                        break;
        }
        if (!c->fatal && batch_settle(c, &f.pend, errstr, errstr_size) < 0)
                goto out;
        rc =
            c->fatal ? crmsync_err(errstr, errstr_size, "%s", c->fatal_err) : 0;
out:
        json_decref(f.b.items);
        return rc;
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
