/* crm_wire.c -- the wire JSON of the change feed's events, serialised a
 * chunk of CRM_WIRE_CHUNK consecutive events at a time when first needed
 * and kept while a page refers to it or while it is among the
 * CRM_WIRE_CACHED chunks used last. Serialising the whole feed at start
 * held ~450 bytes a change in the harness for the whole run (450 MB at a
 * million changes); readers page forward, so a small window is enough.
 * Each event is written directly (crm_wire_event_append), not through a
 * jansson tree built and freed per event: the same bytes. */
#include "crm_int.h"

#include <event2/buffer.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crmsync/dynbuf.h"

int crm_wire_init(crm_server_t *s, char *errstr, size_t errstr_size)
{
        s->wire_cnt = (s->ev_cnt + CRM_WIRE_CHUNK - 1) / CRM_WIRE_CHUNK;
        s->wire     = calloc(s->wire_cnt ? s->wire_cnt : 1, sizeof(*s->wire));
        if (!s->wire)
                return crmsync_err(errstr, errstr_size, "out of memory");
        return 0;
}

static void chunk_free(crm_server_t *s, struct wire_chunk *c)
{
        free(c->buf);
        free(c->off);
        c->buf = NULL;
        c->off = NULL;
        s->wire_resident--;
}

void crm_wire_destroy(crm_server_t *s)
{
        for (size_t i = 0; i < s->wire_cnt; i++)
                if (s->wire[i].buf)
                        chunk_free(s, &s->wire[i]);
        free(s->wire);
        s->wire = NULL;
}

/* 1 when jansson writes s as it is between quotes: printable ASCII
 * without '"' or '\\' (jansson would escape those, and json_string()
 * refuses text that is not UTF-8). */
static int plain(const char *s)
{
        for (; *s; s++) {
                unsigned char ch = (unsigned char)*s;
                if (ch < 0x20 || ch >= 0x7f || ch == '"' || ch == '\\')
                        return 0;
        }
        return 1;
}

static int add(struct crmsync_dynbuf *b, const char *p, size_t n)
{
        return crmsync_dynbuf_add(b, p, n);
}

static int add_s(struct crmsync_dynbuf *b, const char *s)
{
        return add(b, s, strlen(s));
}

/* ,"key":"value" (key starts with the comma or brace it needs). */
static int add_str(struct crmsync_dynbuf *b, const char *key, const char *v)
{
        return add_s(b, key) || add(b, "\"", 1) || add_s(b, v) ||
               add(b, "\"", 1);
}

static int add_int(struct crmsync_dynbuf *b, const char *key, int64_t v)
{
        char     d[24];
        size_t   n = sizeof(d);
        uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

        do {
                d[--n] = (char)('0' + u % 10);
                u /= 10;
        } while (u);
        if (v < 0)
                d[--n] = '-';
        return add_s(b, key) || add(b, d + n, sizeof(d) - n);
}

/* The jansson way, for an event with a string it would escape. */
static int event_append_jansson(const struct crm_event *ev,
                                int64_t start_wall_ms, struct crmsync_dynbuf *b)
{
        json_t *j  = crmsync_event_to_json(ev, start_wall_ms);
        char   *t  = j ? json_dumps(j, JSON_COMPACT) : NULL;
        int     rc = t ? add_s(b, t) : -1;

        json_decref(j);
        free(t);
        return rc;
}

int crm_wire_event_append(const struct crm_event *ev, int64_t start_wall_ms,
                          struct crmsync_dynbuf *b)
{
        char txn[24];
        int  n;

        if (!ev)
                return -1;
        n = ev->merged_cnt > 2 ? 2 : ev->merged_cnt;
        if (!plain(ev->event_id) || !plain(ev->record_id) ||
            !plain(ev->account_id) || !plain(ev->merged_into) ||
            !plain(ev->previous_account_id) ||
            (n > 0 && !plain(ev->merged_ids[0])) ||
            (n > 1 && !plain(ev->merged_ids[1])))
                return event_append_jansson(ev, start_wall_ms, b);
        snprintf(txn, sizeof(txn), "t-%08" PRIu32, ev->txn);
        if (add_str(b, "{\"event_id\":", ev->event_id) ||
            add_int(b, ",\"seq\":", (int64_t)ev->seq) ||
            add_str(b, ",\"entity\":", crmsync_entity_name(ev->entity)) ||
            add_str(b, ",\"record_id\":", ev->record_id) ||
            add_str(b, ",\"account_id\":", ev->account_id) ||
            add_str(b, ",\"change_type\":", crmsync_change_name(ev->change)) ||
            add_int(b, ",\"version\":", ev->version) ||
            add_int(b, ",\"commit_ts_ms\":", start_wall_ms + ev->commit_ms) ||
            add_str(b, ",\"transaction_key\":", txn) ||
            add_int(b, ",\"sequence_number\":", ev->txn_seq))
                return -1;
        for (int i = 0; i < n; i++)
                if (add_str(b, i ? "," : ",\"merged_ids\":[",
                            ev->merged_ids[i]))
                        return -1;
        if ((n > 0 && add(b, "]", 1)) ||
            (ev->merged_into[0] &&
             add_str(b, ",\"merged_into\":", ev->merged_into)) ||
            (ev->previous_account_id[0] &&
             add_str(b, ",\"previous_account_id\":", ev->previous_account_id)))
                return -1;
        /* fields_json is jansson's compact text of the object (insertion
         * order), which is what loading and dumping it again gives. */
        if (ev->change == CRM_CHANGE_GAP)
                return add_s(b, ",\"fields\":null}");
        if (ev->change == CRM_CHANGE_DELETE)
                return add_s(b, ",\"fields\":{}}");
        return add_s(b, ",\"fields\":") ||
               add_s(b, ev->fields_json ? ev->fields_json : "{}") ||
               add(b, "}", 1);
}

/* Serialise chunk ci: "ev0,ev1,...," (each event followed by a comma). */
static int chunk_build(crm_server_t *s, size_t ci)
{
        struct wire_chunk    *c     = &s->wire[ci];
        size_t                first = ci * CRM_WIRE_CHUNK;
        size_t                n     = s->ev_cnt - first;
        struct crmsync_dynbuf b;
        uint32_t             *off;

        if (n > CRM_WIRE_CHUNK)
                n = CRM_WIRE_CHUNK;
        crmsync_dynbuf_init(&b, UINT32_MAX);
        off = calloc(n + 1, sizeof(*off));
        if (!off)
                return -1;
        for (size_t k = 0; k < n; k++) {
                off[k] = (uint32_t)b.len;
                if (crm_wire_event_append(
                        crmsync_workload_event(s->w, first + k),
                        s->start_wall_ms, &b) ||
                    add(&b, ",", 1))
                        goto fail;
        }
        off[n] = (uint32_t)b.len;
        {
                size_t total = b.len;
                char  *buf   = crmsync_dynbuf_take(&b);
                char  *fit   = buf ? realloc(buf, total) : NULL;
                c->buf       = fit ? fit : buf;
        }
        if (!c->buf)
                goto fail;
        c->off = off;
        s->wire_resident++;
        return 0;
fail:
        crmsync_dynbuf_free(&b);
        free(off);
        return -1;
}

/* Free the least recently used chunk no page holds, if the cache is
 * full. */
static void evict(crm_server_t *s)
{
        struct wire_chunk *lru = NULL;

        if (s->wire_resident < CRM_WIRE_CACHED)
                return;
        for (size_t i = 0; i < s->wire_cnt; i++) {
                struct wire_chunk *c = &s->wire[i];
                if (c->buf && !c->refs && (!lru || c->used < lru->used))
                        lru = c;
        }
        if (lru)
                chunk_free(s, lru);
}

size_t crm_wire_run(uint32_t ev, size_t n)
{
        size_t left = CRM_WIRE_CHUNK - ev % CRM_WIRE_CHUNK;
        return n < left ? n : left;
}

const char *crm_wire_get(crm_server_t *s, uint32_t ev, size_t n, size_t *len,
                         struct wire_chunk **chunk)
{
        size_t             ci = ev / CRM_WIRE_CHUNK, k = ev % CRM_WIRE_CHUNK;
        struct wire_chunk *c;

        if (ci >= s->wire_cnt || n == 0 || k + n > CRM_WIRE_CHUNK ||
            ev + n > s->ev_cnt)
                return NULL;
        c = &s->wire[ci];
        if (!c->buf) {
                evict(s);
                if (chunk_build(s, ci))
                        return NULL;
        }
        c->used = ++s->wire_clock;
        *len    = c->off[k + n] - c->off[k] - 1; /* without the last comma */
        if (chunk)
                *chunk = c;
        return c->buf + c->off[k];
}

static void wire_release(const void *data, size_t len, void *extra)
{
        struct wire_chunk *c = extra;
        (void)data;
        (void)len;
        c->refs--;
}

int crm_wire_ref(struct evbuffer *out, const char *p, size_t n,
                 struct wire_chunk *c)
{
        if (evbuffer_add_reference(out, p, n, wire_release, c))
                return -1;
        c->refs++;
        return 0;
}

size_t crm_wire_resident_bytes(const crm_server_t *s)
{
        size_t n = 0;
        for (size_t i = 0; i < s->wire_cnt; i++)
                if (s->wire[i].buf)
                        n += s->wire[i].off[crm_wire_run(
                            (uint32_t)(i * CRM_WIRE_CHUNK),
                            s->ev_cnt - i * CRM_WIRE_CHUNK)];
        return n;
}
