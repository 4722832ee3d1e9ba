/* connector_feed.c -- FEED mode of the reference connector: GET
 * /v1/changes with a stored cursor.
 *
 * The connector reads up to CONNECTOR_BATCH_PAGES pages while has_more is
 * true, resolves gap events and moves, produces the batch (idempotent
 * producer, acks=all), and stores the page cursor in the cursor topic only
 * after every delivery report of the batch came back: at-least-once. The
 * next pages are read while a batch is in flight. The bug switches change
 * exactly one of these steps each (see docs/kafka.md, "Connector").
 *
 * A page is read by connector_scan_page() when it can (no JSON tree: an
 * ordinary event is produced as its own text), else by jansson; either
 * way the records produced are the same. */
#include "connector_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crmsync/bugs.h"
#include "crmsync/common.h"
#include "crmsync/dynbuf.h"

#define URL_MAX (CONNECTOR_CURSOR_MAX * 3 + 512)

/* One event of a batch: a tree, or the text of an event the page scanner
 * took as it is, held in the batch's arena. */
struct item {
        json_t               *ev;  /* NULL: the text at off */
        size_t                off; /* text, event_id, keys: arena offsets */
        size_t                len;
        struct connector_span eid, acct, rec;
        size_t                cur; /* the page's cursor, NUL-terminated */
};

/* One batch: events with the cursor of the page each came from. */
struct batch {
        struct item          *v;
        size_t                n, cap;
        struct crmsync_dynbuf arena; /* cursors and page bodies */
        int                   pages;
};

/* Drop the items from `keep` on and the arena from arena_len on. */
static void batch_cut(struct batch *b, size_t keep, size_t arena_len)
{
        while (b->n > keep)
                json_decref(b->v[--b->n].ev);
        if (arena_len < b->arena.len) {
                b->arena.len            = arena_len;
                b->arena.buf[arena_len] = '\0';
        }
}

static void batch_clear(struct batch *b)
{
        batch_cut(b, 0, 0);
        b->pages = 0;
}

static struct item *batch_push(struct batch *b)
{
        if (b->n == b->cap) {
                size_t cap = b->cap ? b->cap * 2 : 1024;
                void  *nv  = realloc(b->v, cap * sizeof(*b->v));
                if (!nv)
                        return NULL;
                b->v   = nv;
                b->cap = cap;
        }
        memset(&b->v[b->n], 0, sizeof(b->v[0]));
        return &b->v[b->n++];
}

static int item_produce(struct connector *c, struct batch *b,
                        const struct item *it, char *errstr, size_t errstr_size)
{
        const char                 *a = b->arena.buf;
        const struct connector_span k =
            (c->cfg->bugs & CRMSYNC_BUG_KEY_BY_RECORD_ID) ? it->rec : it->acct;

        if (it->ev)
                return connector_produce_event(c, it->ev, a + it->cur, "feed",
                                               errstr, errstr_size);
        return connector_produce_raw_event(
            c, a + it->off, it->len, a + k.off, k.len, a + it->eid.off,
            it->eid.len, a + it->cur, "feed", errstr, errstr_size);
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
        int  bug_early = !!(c->cfg->bugs & CRMSYNC_BUG_CURSOR_BEFORE_DELIVERY);
        char serr[256];

        connector_delivery_reset(c);
        if (bug_early && strcmp(cursor, c->cursor) &&
            connector_store_cursor(c, cursor, serr, sizeof(serr)))
                fprintf(stderr, "connector: %s\n", serr);
        int64_t t0 = crmsync_mono_ms();
        for (size_t i = 0; i < b->n; i++)
                if (item_produce(c, b, &b->v[i], errstr, errstr_size))
                        return -1;
        c->st.ms_produce += crmsync_mono_ms() - t0;
        pend->on = 1;
        pend->n  = b->n;
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
        struct connector_raw_page raw; /* the last page scanned */
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
        return connector_classify(c, "changes", r);
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
        if (k == CONN_HTTP_RATE_LIMITED &&
            (c->cfg->bugs & CRMSYNC_BUG_NO_RETRY_429)) {
                /* The bug: the error path throws the batch away but keeps
                 * the advanced read cursor, and ignores Retry-After. */
                if (f->b.n > 0) {
                        fprintf(stderr,
                                "connector: 429: dropping a batch of "
                                "%zu event(s)\n",
                                f->b.n);
                        c->st.batches_dropped++;
                }
                batch_clear(&f->b);
                connector_nap(c, CONNECTOR_BACKOFF_MIN_MS);
                return FEED_NEXT;
        }
        if (k == CONN_HTTP_GONE)
                return feed_on_gone(c, f, r, errstr, errstr_size);
        connector_wait_after(c, k, r, &f->attempt);
        return FEED_NEXT;
}

/* One page's events, as jansson read them (events) or as the scanner
 * did (the body copied into the batch's arena at base; trees[i] holds
 * event i's tree when it is not produced as it is, tarr the same trees
 * for the object lookups). */
struct page {
        size_t   n;
        json_t  *events;
        json_t **trees;
        json_t  *tarr;
        size_t   base;  /* arena offset of the body */
        size_t   cur;   /* arena offset of the page's cursor */
        size_t   start; /* arena length before this page */
};

static void page_free(struct page *pg)
{
        if (pg->trees)
                for (size_t i = 0; i < pg->n; i++)
                        json_decref(pg->trees[i]);
        free(pg->trees);
        json_decref(pg->tarr);
        json_decref(pg->events);
        memset(pg, 0, sizeof(*pg));
}

/* Event i's tree (borrowed), or NULL when it is produced as its text. */
static json_t *page_tree(const struct page *pg, size_t i)
{
        return pg->events ? json_array_get(pg->events, i) : pg->trees[i];
}

/* The first page read without a stored cursor: when the feed no longer
 * starts at the first change, what retention dropped is only in the
 * objects, so resync from them. */
static enum feed_step feed_check_start(struct connector *c, struct feed *f,
                                       const struct page *pg, char *errstr,
                                       size_t errstr_size)
{
        json_int_t seq;
        int        rs;

        if (!f->fresh || pg->n == 0)
                return FEED_GO_ON;
        seq      = pg->events ? json_integer_value(json_object_get(
                                    json_array_get(pg->events, 0), "seq"))
                              : f->raw.v[0].seq;
        f->fresh = 0;
        if (seq <= 1)
                return FEED_GO_ON;
        fprintf(stderr,
                "connector: no stored cursor and the "
                "feed starts at seq %lld: initial "
                "snapshot\n",
                (long long)seq);
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

/* Event i of a scanned page as a batch item. */
static int add_raw(struct feed *f, const struct page *pg, size_t i)
{
        const struct connector_raw_ev *r  = &f->raw.v[i];
        struct item                   *it = batch_push(&f->b);

        if (!it)
                return -1;
        it->off  = pg->base + r->text.off;
        it->len  = r->text.len;
        it->eid  = r->eid;
        it->acct = r->acct;
        it->rec  = r->rec;
        it->eid.off += pg->base;
        it->acct.off += pg->base;
        it->rec.off += pg->base;
        it->cur = pg->cur;
        return 0;
}

/* Event ev (a tree) as a batch item, a gap or a move replaced by its
 * object (pre: read in one batch beforehand). Returns 0, 1 when a gap
 * cannot be resolved yet, -1 out of memory. */
static int add_tree(struct connector *c, struct feed *f, const struct page *pg,
                    json_t *ev, const json_t *pre)
{
        const char  *flag;
        json_t      *use = json_incref(ev);
        struct item *it;

        if (connector_needs_object(ev, &flag)) {
                json_t     *res;
                char        key[200];
                const char *en =
                    json_string_value(json_object_get(ev, "entity"));
                const char *id =
                    json_string_value(json_object_get(ev, "record_id"));
                snprintf(key, sizeof(key), "%s/%s", en ? en : "", id ? id : "");
                json_decref(use);
                if (connector_resolve_gap(c, ev, json_object_get(pre, key),
                                          &res, 1))
                        return 1;
                if (!res)
                        return 0; /* dead-lettered gap */
                use = res;
        }
        it = batch_push(&f->b);
        if (!it) {
                json_decref(use);
                return -1;
        }
        it->ev  = use;
        it->cur = pg->cur;
        return 0;
}

/* Add the page's events to the batch. When a gap cannot be resolved yet,
 * the page's part is dropped and the page requested again. */
static enum feed_step feed_add_page(struct connector *c, struct feed *f,
                                    const struct page *pg, char *errstr,
                                    size_t errstr_size)
{
        size_t  before = f->b.n;
        json_t *pre =
            connector_prefetch_objects(c, pg->events ? pg->events : pg->tarr);
        int rc = 0;

        for (size_t i = 0; i < pg->n && !rc; i++) {
                json_t *ev = page_tree(pg, i);
                rc = ev ? add_tree(c, f, pg, ev, pre) : add_raw(f, pg, i);
        }
        json_decref(pre);
        if (rc < 0) {
                crmsync_err(errstr, errstr_size, "out of memory");
                return FEED_FAIL;
        }
        if (rc) {
                /* Drop this page's part; the request is repeated. */
                batch_cut(&f->b, before, pg->start);
                return FEED_NEXT;
        }
        c->st.polled += pg->n;
        f->b.pages++;
        if (*f->next)
                snprintf(f->req, sizeof(f->req), "%s", f->next);
        return FEED_GO_ON;
}

/* Read the page in r: the scanner's way when it takes the page (its body
 * and cursor then go to the batch's arena), else jansson's. Returns 0,
 * -1 + perr when the page is malformed (jansson's error). */
static int feed_read(struct feed *f, const struct http_resp *r, struct page *pg,
                     char *perr, size_t perr_size)
{
        struct crmsync_dynbuf *a = &f->b.arena;

        memset(pg, 0, sizeof(*pg));
        pg->start = a->len;
        if (connector_scan_page(r->body, r->len, &f->raw) == 1 &&
            f->raw.next_cursor.len < sizeof(f->next)) {
                int ok    = 1;
                pg->n     = f->raw.n;
                pg->cur   = a->len;
                pg->base  = a->len + strlen(f->req) + 1;
                pg->trees = calloc(pg->n ? pg->n : 1, sizeof(*pg->trees));
                pg->tarr  = json_array();
                ok        = pg->trees && pg->tarr &&
                     !crmsync_dynbuf_add(a, f->req, strlen(f->req) + 1) &&
                     !crmsync_dynbuf_add(a, r->body, r->len);
                for (size_t i = 0; ok && i < pg->n; i++) {
                        const struct connector_raw_ev *e = &f->raw.v[i];
                        if (e->as_is)
                                continue;
                        pg->trees[i] = json_loadb(r->body + e->text.off,
                                                  e->text.len, 0, NULL);
                        ok           = pg->trees[i] &&
                             !json_array_append(pg->tarr, pg->trees[i]);
                }
                if (ok) {
                        memcpy(f->next, r->body + f->raw.next_cursor.off,
                               f->raw.next_cursor.len);
                        f->next[f->raw.next_cursor.len] = '\0';
                        f->has_more                     = f->raw.has_more;
                        return 0;
                }
                /* Out of memory (or a text jansson refused): jansson's
                 * way for the whole page. */
                {
                        size_t start = pg->start;
                        page_free(pg);
                        batch_cut(&f->b, f->b.n, start);
                        pg->start = start;
                }
        }
        pg->cur = a->len;
        if (crmsync_dynbuf_add(a, f->req, strlen(f->req) + 1))
                return crmsync_err(perr, perr_size, "out of memory");
        if (connector_parse_page(r->body, r->len, &pg->events, f->next,
                                 sizeof(f->next), &f->has_more, perr,
                                 perr_size)) {
                batch_cut(&f->b, f->b.n, pg->start);
                return -1;
        }
        pg->n = json_array_size(pg->events);
        return 0;
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
        struct page      pg;
        char             perr[256];

        k = feed_fetch(c, f, &r);
        if (k != CONN_HTTP_OK)
                return feed_on_error(c, f, k, &r, errstr, errstr_size);
        if (feed_read(f, &r, &pg, perr, sizeof(perr))) {
                if (feed_settle_or_rewind(c, f, errstr, errstr_size) < 0)
                        return FEED_FAIL;
                c->st.http_errors++;
                fprintf(stderr, "connector: changes: %s\n", perr);
                connector_nap(c, connector_backoff_ms(f->attempt++));
                return FEED_NEXT;
        }
        f->attempt = 0;
        st         = feed_check_start(c, f, &pg, errstr, errstr_size);
        if (st != FEED_GO_ON)
                batch_cut(&f->b, f->b.n, pg.start);
        else
                st = feed_add_page(c, f, &pg, errstr, errstr_size);
        page_free(&pg);
        if (st != FEED_GO_ON)
                return st;
        return feed_deliver(c, f, errstr, errstr_size);
}

int connector_run_feed(struct connector *c, char *errstr, size_t errstr_size)
{
        struct feed    f  = {.fresh = !*c->cursor};
        enum feed_step st = FEED_NEXT;
        int            rc = -1;

        crmsync_dynbuf_init(&f.b.arena, CONNECTOR_BODY_MAX * 2);
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
        batch_clear(&f.b);
        free(f.b.v);
        crmsync_dynbuf_free(&f.b.arena);
        connector_raw_page_free(&f.raw);
        return rc;
}
