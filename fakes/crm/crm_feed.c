/* crm_feed.c -- the mock CRM's paged change feed (GET /v1/changes) and the
 * feed faults: duplicates, late visibility, gaps, retention, drops. */
#include "crm_int.h"

#include <event2/buffer.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crm_query.h"
#include "crmsync/rand.h"

enum {
        SALT_DUP       = 1,
        SALT_LATE      = 2,
        SALT_GAP       = 3,
        SALT_DUP_DELAY = 4,
        SALT_CURSOR    = 5,
        SALT_DRIFT     = 6
};

double crm_draw(const crm_server_t *s, uint64_t a, uint64_t salt)
{
        uint64_t z = crmsync_mix64(
            s->seed ^ crmsync_mix64(a * 0x9e3779b97f4a7c15ULL + salt));
        return (double)(z >> 11) * (1.0 / 9007199254740992.0);
}

/* ------------------------------------------------------------------ */
/* Cursors: "c1.<position hex>.<check hex>" */

static uint32_t cursor_check(const crm_server_t *s, uint64_t pos)
{
        return (uint32_t)crmsync_mix64(s->seed ^
                                       crmsync_mix64(pos + SALT_CURSOR));
}

/* Writes "c1.<pos hex>.<check hex>" and its NUL into out (at least
 * CRM_CURSOR_MAX bytes); returns the length. No printf: on every page. */
static size_t cursor_write(const crm_server_t *s, uint64_t pos, char *out)
{
        static const char hex[] = "0123456789abcdef";
        uint32_t          chk   = cursor_check(s, pos);
        size_t            n     = 0;
        int               shift = 60;

        memcpy(out, "c1.", 3);
        n = 3;
        while (shift > 0 && !((pos >> shift) & 0xf))
                shift -= 4;
        for (; shift >= 0; shift -= 4)
                out[n++] = hex[(pos >> shift) & 0xf];
        out[n++] = '.';
        for (shift = 28; shift >= 0; shift -= 4)
                out[n++] = hex[(chk >> shift) & 0xf];
        out[n] = '\0';
        return n;
}

/* Returns 0 and *pos, or -1 for a malformed or tampered cursor. */
static int cursor_parse(const crm_server_t *s, const char *c, uint64_t *pos)
{
        uint64_t p = 0, chk = 0;
        size_t   i, n;

        if (strncmp(c, "c1.", 3))
                return -1;
        c += 3;
        for (n = 0; c[n] && c[n] != '.'; n++) {
                int h = (c[n] >= '0' && c[n] <= '9')   ? c[n] - '0'
                        : (c[n] >= 'a' && c[n] <= 'f') ? c[n] - 'a' + 10
                                                       : -1;
                if (h < 0 || n >= 16)
                        return -1;
                p = (p << 4) | (uint64_t)h;
        }
        if (n == 0 || c[n] != '.')
                return -1;
        c += n + 1;
        for (i = 0; c[i]; i++) {
                int h = (c[i] >= '0' && c[i] <= '9')   ? c[i] - '0'
                        : (c[i] >= 'a' && c[i] <= 'f') ? c[i] - 'a' + 10
                                                       : -1;
                if (h < 0 || i >= 8)
                        return -1;
                chk = (chk << 4) | (uint64_t)h;
        }
        if (i != 8 || chk != cursor_check(s, p))
                return -1;
        *pos = p;
        return 0;
}

/* ------------------------------------------------------------------ */
/* Delivery log and delayed entries */

/* The wire JSON of event ev altered as form says (malloc'ed), or NULL. */
static char *form_json(crm_server_t *s, uint32_t ev, int form)
{
        struct crm_event g = *crmsync_workload_event(s->w, ev);
        json_t          *j, *f;
        char            *out;

        if (form == CRM_FORM_GAP)
                g.change = CRM_CHANGE_GAP;
        j = crmsync_event_to_json(&g, s->start_wall_ms);
        f = json_object_get(j, "fields");
        switch (form) {
        case CRM_FORM_NEW_FIELD:
                json_object_set_new(f, "x_loyalty_tier",
                                    json_string("introduced-by-drift"));
                break;
        case CRM_FORM_CHANGED_TYPE: {
                /* The first field changes its JSON type, so that a reader
                 * checking types against docs/wire-contracts.md sees it: a
                 * string becomes an object {"value": ...} (a compound
                 * field), any other value its JSON text as a string. */
                const char *k = NULL;
                json_t     *v;
                void       *it = json_object_iter(f);
                if (it) {
                        k = json_object_iter_key(it);
                        v = json_object_iter_value(it);
                        if (json_is_string(v)) {
                                json_object_set_new(
                                    f, k, json_pack("{s:O}", "value", v));
                        } else {
                                char *t = json_dumps(v, JSON_ENCODE_ANY);
                                json_object_set_new(f, k,
                                                    json_string(t ? t : ""));
                                free(t);
                        }
                } else {
                        json_object_set_new(j, "version",
                                            json_sprintf("%u", g.version));
                }
                break;
        }
        case CRM_FORM_MISSING:
                json_object_del(j, "record_id");
                break;
        default:
                break;
        }
        out = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        return out;
}

/* A page body being built. libevent sizes the chain it adds after a
 * reference chain like that reference (a 70 KB allocation for a
 * 50-byte trailer), so a copy that follows a reference goes through a
 * small scratch buffer whose chain is then moved over. */
struct page {
        struct evbuffer *out, *scratch;
        int              last_ref; /* out ends with a reference chain */
};

static void page_copy(struct page *pg, const void *p, size_t n)
{
        if (!pg->last_ref) {
                evbuffer_add(pg->out, p, n);
                return;
        }
        evbuffer_add(pg->scratch, p, n);
        evbuffer_add_buffer(pg->out, pg->scratch);
        pg->last_ref = 0;
}

/* p: n bytes of wire chunk c, held by reference (copied when short). */
static void page_ref(struct page *pg, const void *p, size_t n,
                     struct wire_chunk *c)
{
        if (n < CRM_REF_MIN_BYTES || crm_wire_ref(pg->out, p, n, c)) {
                page_copy(pg, p, n);
                return;
        }
        pg->last_ref = 1;
}

/* Events ev..ev+n-1 as committed, comma-separated: one slice of the wire
 * JSON per chunk they span. */
static void add_committed(crm_server_t *s, struct page *pg, uint32_t ev,
                          size_t n)
{
        for (size_t k = 0; k < n;) {
                size_t             m = crm_wire_run(ev + (uint32_t)k, n - k);
                size_t             len;
                struct wire_chunk *c;
                const char *p = crm_wire_get(s, ev + (uint32_t)k, m, &len, &c);

                if (k)
                        page_copy(pg, ",", 1);
                if (p) {
                        page_ref(pg, p, len, c);
                } else {
                        /* Out of memory for a chunk: one by one. */
                        for (size_t j = 0; j < m; j++) {
                                char *b = form_json(s, ev + (uint32_t)(k + j),
                                                    CRM_FORM_NORMAL);
                                if (j)
                                        page_copy(pg, ",", 1);
                                if (b)
                                        page_copy(pg, b, strlen(b));
                                free(b);
                        }
                }
                k += m;
        }
}

/* Append an altered entry: its JSON from when it entered the log, or
 * built now if that failed (out of memory). */
static void add_altered(crm_server_t *s, struct page *pg,
                        const struct feed_entry *e)
{
        if (e->alt) {
                const struct alt_json *a = &s->alt[e->alt - 1];
                page_copy(pg, a->json, a->len);
                return;
        }
        char *b = form_json(s, e->ev, e->form);
        if (b)
                page_copy(pg, b, strlen(b));
        free(b);
}

/* Append log entries [pos, end), comma-separated. A run of entries that
 * are consecutive events served as committed (the usual case: no
 * duplicate, late, dropped or altered event in between) is one slice of
 * the wire buffer. Altered entries (gap, schema drift) are copied one by
 * one. */
static void add_entries(crm_server_t *s, struct page *pg, size_t pos,
                        size_t end)
{
        for (size_t i = pos; i < end;) {
                const struct feed_entry *e   = &s->log[i];
                size_t                   run = 1;

                if (i > pos)
                        page_copy(pg, ",", 1);
                if (e->form != CRM_FORM_NORMAL) {
                        add_altered(s, pg, e);
                        i++;
                        continue;
                }
                while (i + run < end &&
                       s->log[i + run].form == CRM_FORM_NORMAL &&
                       s->log[i + run].ev == e->ev + run)
                        run++;
                add_committed(s, pg, e->ev, run);
                i += run;
        }
}

/* Serialize an altered entry once; returns 1 + its index in s->alt, or 0
 * when out of memory (the page then builds it per request). */
static uint32_t alt_add(crm_server_t *s, uint32_t ev, int form)
{
        if (crmsync_array_grow(&s->alt, &s->alt_cap, s->alt_cnt,
                               sizeof(*s->alt), 256))
                return 0;
        char *b = form_json(s, ev, form);
        if (!b)
                return 0;
        s->alt[s->alt_cnt].json = b;
        s->alt[s->alt_cnt].len  = strlen(b);
        return (uint32_t)++s->alt_cnt;
}

static int log_append(crm_server_t *s, uint32_t ev, int form, int dup,
                      int64_t at_ms)
{
        if (crmsync_array_grow(&s->log, &s->log_cap, s->log_cnt,
                               sizeof(*s->log), 4096))
                return -1;
        struct feed_entry *e = &s->log[s->log_cnt++];
        e->ev                = ev;
        e->form              = (uint8_t)form;
        e->dup               = (uint8_t)dup;
        e->alt      = form == CRM_FORM_NORMAL ? 0 : alt_add(s, ev, form);
        e->added_ms = at_ms;

        /* Newly visible: hand the first appearance to the webhooks too
         * (with none subscribed, do not serialise it for them). */
        if (!dup && crmsync_webhook_subscribers(s->webhook)) {
                const char *id = crmsync_workload_event(s->w, ev)->event_id;
                size_t      len;
                const char *p = form == CRM_FORM_NORMAL
                                    ? crm_wire_get(s, ev, 1, &len, NULL)
                                    : NULL;
                if (p) {
                        crmsync_webhook_enqueue(s->webhook, p, len, id);
                } else if (e->alt) {
                        const struct alt_json *a = &s->alt[e->alt - 1];
                        crmsync_webhook_enqueue(s->webhook, a->json, a->len,
                                                id);
                } else {
                        char *b = form_json(s, ev, form);
                        if (b)
                                crmsync_webhook_enqueue(s->webhook, b,
                                                        strlen(b), id);
                        free(b);
                }
        }
        return 0;
}

static int heap_less(const struct pending *a, const struct pending *b)
{
        return a->release_ms < b->release_ms ||
               (a->release_ms == b->release_ms && a->order < b->order);
}

static int heap_push(crm_server_t *s, int64_t release_ms, uint32_t ev, int dup)
{
        if (crmsync_array_grow(&s->heap, &s->heap_cap, s->heap_cnt,
                               sizeof(*s->heap), 256))
                return -1;
        size_t i = s->heap_cnt++;
        s->heap[i] =
            (struct pending){release_ms, s->heap_order++, ev, (uint8_t)dup};
        while (i > 0) {
                size_t p = (i - 1) / 2;
                if (!heap_less(&s->heap[i], &s->heap[p]))
                        break;
                struct pending t = s->heap[p];
                s->heap[p]       = s->heap[i];
                s->heap[i]       = t;
                i                = p;
        }
        return 0;
}

static struct pending heap_pop(crm_server_t *s)
{
        struct pending top = s->heap[0];
        size_t         i   = 0;
        s->heap[0]         = s->heap[--s->heap_cnt];
        for (;;) {
                size_t l = 2 * i + 1, r = l + 1, m = i;
                if (l < s->heap_cnt && heap_less(&s->heap[l], &s->heap[m]))
                        m = l;
                if (r < s->heap_cnt && heap_less(&s->heap[r], &s->heap[m]))
                        m = r;
                if (m == i)
                        break;
                struct pending t = s->heap[m];
                s->heap[m]       = s->heap[i];
                s->heap[i]       = t;
                i                = m;
        }
        return top;
}

/* Event ev is committed at t_ms: update state and decide how it is served. */
static void commit_one(crm_server_t *s, uint32_t ev, int64_t t_ms)
{
        const struct crm_event *x = crmsync_workload_event(s->w, ev);

        crm_objects_apply(s, ev);
        crm_cometd_commit(s, ev);
        if (s->drop[ev])
                return; /* committed, never served */
        if (s->late_ratio > 0 &&
            crm_draw(s, x->seq, SALT_LATE) < s->late_ratio) {
                heap_push(s, t_ms + s->late_delay_ms, ev, 0);
                s->live[s->ev_rec[ev]].late_pending++;
                return;
        }
        int form = CRM_FORM_NORMAL;
        if (s->gap_ratio > 0 && crm_draw(s, x->seq, SALT_GAP) < s->gap_ratio)
                form = CRM_FORM_GAP;
        else if (s->drift_ratio > 0 &&
                 crm_draw(s, x->seq, SALT_DRIFT) < s->drift_ratio)
                form = s->drift_form;
        log_append(s, ev, form, 0, t_ms);
        if (s->dup_ratio > 0 && crm_draw(s, x->seq, SALT_DUP) < s->dup_ratio) {
                /* Served again 0.1..1 s later, so in a later page. */
                int64_t d =
                    100 + (int64_t)(crm_draw(s, x->seq, SALT_DUP_DELAY) * 900);
                heap_push(s, t_ms + d, ev, 1);
        }
}

void crm_feed_advance(crm_server_t *s, int64_t now_ms)
{
        for (;;) {
                int64_t tc = INT64_MAX, th = INT64_MAX;
                if (s->applied < s->ev_cnt)
                        tc =
                            s->start_wall_ms +
                            crmsync_workload_event(s->w, s->applied)->commit_ms;
                if (s->heap_cnt)
                        th = s->heap[0].release_ms;
                if (tc <= th && tc <= now_ms) {
                        commit_one(s, (uint32_t)s->applied++, tc);
                } else if (th < tc && th <= now_ms) {
                        struct pending p = heap_pop(s);
                        if (!p.dup && s->live[s->ev_rec[p.ev]].late_pending)
                                s->live[s->ev_rec[p.ev]].late_pending--;
                        log_append(s, p.ev, 0, p.dup, p.release_ms);
                } else {
                        break;
                }
        }
}

/* ------------------------------------------------------------------ */
/* GET /v1/changes */

static size_t oldest_position(const crm_server_t *s, int64_t now_ms)
{
        size_t lo = s->retention_floor, hi = s->log_cnt;
        if (s->cfg.retention_ms <= 0)
                return lo;
        int64_t limit = now_ms - s->cfg.retention_ms;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (s->log[mid].added_ms < limit)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

/* Append the end of a page: next cursor (at position end) and has_more. */
static void add_trailer(crm_server_t *s, struct page *pg, size_t end)
{
        static const char head[] = "],\"next_cursor\":\"";
        static const char more[] = "\",\"has_more\":true}";
        static const char done[] = "\",\"has_more\":false}";
        char              t[sizeof(head) + CRM_CURSOR_MAX + sizeof(done)];
        size_t            n = sizeof(head) - 1;

        memcpy(t, head, n);
        n += cursor_write(s, end, t + n);
        if (end < s->log_cnt) {
                memcpy(t + n, more, sizeof(more) - 1);
                n += sizeof(more) - 1;
        } else {
                memcpy(t + n, done, sizeof(done) - 1);
                n += sizeof(done) - 1;
        }
        page_copy(pg, t, n);
}

void crm_feed_handle_changes(crm_server_t *s, struct evhttp_request *req,
                             const char *query)
{
        char     cur[CRM_CURSOR_MAX], next[CRM_CURSOR_MAX];
        uint64_t limit = CRM_DEFAULT_PAGE, pos = 0;
        int64_t  now = crmsync_wall_ms();
        int      rc;

        crm_feed_advance(s, now);
        rc =
            crmsync_query_u64_range(query, "limit", 1, s->cfg.max_page, &limit);
        if (rc < 0) {
                crm_reply_error(s, req, 400, "bad_limit",
                                "limit must be an integer in 1..%" PRIu32,
                                s->cfg.max_page);
                return;
        }
        size_t oldest = oldest_position(s, now);
        rc            = crmsync_query_get(query, "cursor", cur, sizeof(cur));
        if (rc < 0 || (rc == 0 && cursor_parse(s, cur, &pos) < 0)) {
                crm_reply_error(s, req, 400, "bad_cursor",
                                "cursor is malformed or was not issued by "
                                "this CRM");
                return;
        }
        if (rc == 1) {
                pos = oldest; /* no cursor: earliest retained change */
        } else if (pos > s->log_cnt) {
                crm_reply_error(s, req, 400, "bad_cursor",
                                "cursor points past the end of the feed");
                return;
        } else if (pos < oldest) {
                struct evbuffer *b = evbuffer_new();
                cursor_write(s, oldest, next);
                evbuffer_add_printf(
                    b,
                    "{\"error\":\"cursor_expired\",\"message\":\"the "
                    "cursor is older than the retention window; resync "
                    "from /v1/objects and continue at oldest_cursor\","
                    "\"oldest_cursor\":\"%s\"}",
                    next);
                crm_reply_json(s, req, 410, b);
                evbuffer_free(b);
                return;
        }

        size_t      end = pos + limit < s->log_cnt ? pos + limit : s->log_cnt;
        struct page pg  = {s->page, s->page_scratch, 0};
        evbuffer_add(pg.out, "{\"events\":[", 11);
        add_entries(s, &pg, pos, end);
        add_trailer(s, &pg, end);
        crm_reply_json(s, req, 200, pg.out); /* moves the content out */
        evbuffer_drain(pg.out, evbuffer_get_length(pg.out));

        if (s->observer)
                for (size_t i = pos; i < end; i++)
                        s->observer(s->observer_opaque,
                                    crmsync_workload_event(s->w, s->log[i].ev),
                                    "feed", now);
        crm_count_served(s, "feed", end - pos);
}

/* ------------------------------------------------------------------ */
/* Faults */

static int get_ratio(const json_t *params, const char *key, double def,
                     double *out, char *errstr, size_t errstr_size)
{
        json_t *v = params ? json_object_get(params, key) : NULL;
        if (!v) {
                *out = def;
                return 0;
        }
        if (!json_is_number(v) || json_number_value(v) < 0 ||
            json_number_value(v) > 1)
                return crmsync_err(errstr, errstr_size,
                                   "%s must be a number in 0..1", key);
        *out = json_number_value(v);
        return 0;
}

static int get_num(const json_t *params, const char *key, double def,
                   double min, double max, double *out, char *errstr,
                   size_t errstr_size)
{
        json_t *v = params ? json_object_get(params, key) : NULL;
        if (!v) {
                *out = def;
                return 0;
        }
        if (!json_is_number(v) || json_number_value(v) < min ||
            json_number_value(v) > max)
                return crmsync_err(errstr, errstr_size,
                                   "%s must be a number in %g..%g", key, min,
                                   max);
        *out = json_number_value(v);
        return 0;
}

static int cmp_u64(const void *a, const void *b)
{
        uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
        return x < y ? -1 : x > y;
}

static int mark_drop(crm_server_t *s, size_t ev)
{
        if (s->drop[ev])
                return 0;
        void *n = realloc(s->dropped, (s->dropped_cnt + 1) * sizeof(uint64_t));
        if (!n)
                return -1;
        s->dropped                   = n;
        s->drop[ev]                  = 1;
        s->dropped[s->dropped_cnt++] = ev + 1;
        return 0;
}

static int fault_drop(crm_server_t *s, const json_t *params, char *errstr,
                      size_t errstr_size)
{
        json_t *seq = params ? json_object_get(params, "seq") : NULL;
        double  cnt;

        if (seq) {
                json_int_t q = json_integer_value(seq);
                if (!json_is_integer(seq) || q < 1 || (uint64_t)q > s->ev_cnt)
                        return crmsync_err(errstr, errstr_size,
                                           "drop_event: seq must be an "
                                           "integer in 1..%zu",
                                           s->ev_cnt);
                if ((size_t)q <= s->applied)
                        return crmsync_err(
                            errstr, errstr_size,
                            "drop_event: seq %" JSON_INTEGER_FORMAT
                            " is already committed",
                            q);
                if (mark_drop(s, (size_t)q - 1))
                        return crmsync_err(errstr, errstr_size,
                                           "out of memory");
                qsort(s->dropped, s->dropped_cnt, sizeof(uint64_t), cmp_u64);
                return 0;
        }
        if (get_num(params, "count", 1, 1, 100000, &cnt, errstr, errstr_size))
                return -1;
        /* Spread over the events not committed yet. */
        size_t left = s->ev_cnt - s->applied, n = (size_t)cnt;
        if (n > left)
                return crmsync_err(errstr, errstr_size,
                                   "drop_event: count %zu exceeds the %zu "
                                   "events not yet committed",
                                   n, left);
        size_t stride = left / (n + 1);
        for (size_t i = 0; i < n; i++) {
                size_t ev = s->applied + (stride ? stride * (i + 1) : i);
                if (mark_drop(s, ev))
                        return crmsync_err(errstr, errstr_size,
                                           "out of memory");
        }
        qsort(s->dropped, s->dropped_cnt, sizeof(uint64_t), cmp_u64);
        return 0;
}

int crm_feed_fault(crm_server_t *s, const char *type, const json_t *params,
                   int on, char *errstr, size_t errstr_size)
{
        double v, d;

        crm_feed_advance(s, crmsync_wall_ms());
        if (!strcmp(type, "duplicate_delivery")) {
                if (get_ratio(params, "ratio", 0.1, &v, errstr, errstr_size))
                        return -1;
                s->dup_ratio = on ? v : 0;
                return 0;
        }
        if (!strcmp(type, "gap_events")) {
                if (get_ratio(params, "ratio", 0.1, &v, errstr, errstr_size))
                        return -1;
                s->gap_ratio = on ? v : 0;
                return 0;
        }
        if (!strcmp(type, "late_events")) {
                if (get_ratio(params, "ratio", 0.1, &v, errstr, errstr_size) ||
                    get_num(params, "delay_s", 5, 0, 86400, &d, errstr,
                            errstr_size))
                        return -1;
                s->late_ratio = on ? v : 0;
                if (on)
                        s->late_delay_ms = (int64_t)(d * 1000);
                return 0;
        }
        if (!strcmp(type, "retention_cut")) {
                if (get_num(params, "keep_s", 0, 0, 1e7, &d, errstr,
                            errstr_size))
                        return -1;
                if (!on)
                        return 0; /* what is cut stays cut */
                /* Keep entries that became servable in the last keep_s. */
                int64_t limit = crmsync_wall_ms() - (int64_t)(d * 1000);
                size_t  p     = s->retention_floor;
                while (p < s->log_cnt && s->log[p].added_ms < limit)
                        p++;
                s->retention_floor = p;
                return 0;
        }
        if (!strcmp(type, "schema_drift")) {
                json_t     *k = params ? json_object_get(params, "kind") : NULL;
                const char *kind = k ? json_string_value(k) : "new_field";
                if (get_ratio(params, "ratio", 1.0, &v, errstr, errstr_size))
                        return -1;
                if (!kind)
                        return crmsync_err(errstr, errstr_size,
                                           "schema_drift: kind must be a "
                                           "string");
                if (!strcmp(kind, "new_field"))
                        s->drift_form = CRM_FORM_NEW_FIELD;
                else if (!strcmp(kind, "changed_type"))
                        s->drift_form = CRM_FORM_CHANGED_TYPE;
                else if (!strcmp(kind, "missing_required"))
                        s->drift_form = CRM_FORM_MISSING;
                else
                        return crmsync_err(errstr, errstr_size,
                                           "schema_drift: kind must be "
                                           "new_field|changed_type|"
                                           "missing_required");
                s->drift_ratio = on ? v : 0;
                return 0;
        }
        if (!strcmp(type, "drop_event"))
                return on ? fault_drop(s, params, errstr, errstr_size) : 0;
        return crmsync_err(errstr, errstr_size, "unknown CRM fault '%s'", type);
}

/* ------------------------------------------------------------------ */

int crm_feed_init(crm_server_t *s, char *errstr, size_t errstr_size)
{
        s->drop         = calloc(s->ev_cnt + 1, 1);
        s->cdc_flags    = calloc(s->ev_cnt + 1, 1);
        s->page         = evbuffer_new();
        s->page_scratch = evbuffer_new();
        if (!s->drop || !s->cdc_flags || !s->page || !s->page_scratch)
                return crmsync_err(errstr, errstr_size, "out of memory");
        return crm_wire_init(s, errstr, errstr_size);
}

void crm_feed_destroy(crm_server_t *s)
{
        if (s->page)
                evbuffer_free(s->page);
        if (s->page_scratch)
                evbuffer_free(s->page_scratch);
        for (size_t i = 0; i < s->alt_cnt; i++)
                free(s->alt[i].json);
        free(s->alt);
        crm_wire_destroy(s);
        free(s->drop);
        free(s->cdc_flags);
        free(s->dropped);
        free(s->log);
        free(s->heap);
}
