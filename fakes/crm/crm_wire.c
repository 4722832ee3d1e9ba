/* crm_wire.c -- the wire JSON of the change feed's events, serialised a
 * chunk of CRM_WIRE_CHUNK consecutive events at a time when first needed
 * and kept while a page refers to it or while it is among the
 * CRM_WIRE_CACHED chunks used last. Serialising the whole feed at start
 * held ~450 bytes a change in the harness for the whole run (450 MB at a
 * million changes); readers page forward, so a small window is enough. */
#include "crm_int.h"

#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>

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

/* The compact wire JSON of event i (malloc'ed), or NULL. */
static char *event_json(crm_server_t *s, size_t i)
{
        json_t *j = crmsync_event_to_json(crmsync_workload_event(s->w, i),
                                          s->start_wall_ms);
        char   *b = j ? json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j);
        return b;
}

/* Serialise chunk ci: "ev0,ev1,...," (each event followed by a comma). */
static int chunk_build(crm_server_t *s, size_t ci)
{
        struct wire_chunk *c     = &s->wire[ci];
        size_t             first = ci * CRM_WIRE_CHUNK;
        size_t             n     = s->ev_cnt - first;
        size_t             total = 0, cap = 64 * 1024;
        char              *buf = malloc(cap);
        uint32_t          *off;

        if (n > CRM_WIRE_CHUNK)
                n = CRM_WIRE_CHUNK;
        off = calloc(n + 1, sizeof(*off));
        if (!buf || !off)
                goto fail;
        for (size_t k = 0; k < n; k++) {
                char  *b = event_json(s, first + k);
                size_t len;
                if (!b)
                        goto fail;
                len = strlen(b);
                while (total + len + 1 > cap) {
                        char *nb = realloc(buf, cap * 2);
                        if (!nb) {
                                free(b);
                                goto fail;
                        }
                        buf = nb;
                        cap *= 2;
                }
                memcpy(buf + total, b, len);
                buf[total + len] = ',';
                free(b);
                off[k] = (uint32_t)total;
                total += len + 1;
        }
        off[n] = (uint32_t)total;
        {
                char *fit = realloc(buf, total); /* give back the slack */
                c->buf    = fit ? fit : buf;
        }
        c->off = off;
        s->wire_resident++;
        return 0;
fail:
        free(buf);
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
