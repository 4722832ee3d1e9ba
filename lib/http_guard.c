/* http_guard.c -- request size limits and JSON bodies for the errors that
 * evhttp answers by itself (see include/crmsync/http_guard.h).
 *
 * How: every connection's bufferevent is made here (evhttp_set_bevcb), and
 * an evbuffer callback watches its output. evhttp writes a whole response
 * (head, then body) into that buffer before it enables writing, so when
 * the buffer ends with libevent's error page (Content-Type text/html; our
 * servers never send HTML), the page is replaced there, before a byte of
 * it reaches the socket. A second callback counts the bytes received since
 * the last response began, which tells a head over the limit (431) from a
 * malformed one (400): evhttp reports both as 400.
 *
 * Per-connection counters live in a fixed ring of slots (no allocation per
 * connection, nothing to free when evhttp frees a connection). A slot is
 * reused after SLOTS newer connections; a connection that outlives its
 * slot still gets JSON errors, only 431 falls back to 400 for it.
 * Everything runs on the server's event loop thread. */
#include "crmsync/http_guard.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 1024
#define TAIL_MAX 4096 /* libevent's page with its head is ~250 bytes */
#define PAGE_END "</BODY></HTML>\n"
#define PAGE_BODY "\r\n\r\n<HTML><HEAD>\n<TITLE>"

struct slot {
        http_guard_t    *g;
        struct evbuffer *in, *out;     /* of the connection holding the slot */
        size_t           in_bytes;     /* since the last response began */
        size_t           req_in_bytes; /* in_bytes when it began */
};

struct http_guard {
        size_t             max_header_bytes, max_body_bytes;
        unsigned           next;
        int                busy; /* rewriting: ignore our own changes */
        unsigned long long rewritten;
        struct slot        slots[SLOTS];
};

/* Copy n bytes of buf from offset off into out. evbuffer_peek, unlike
 * evbuffer_copyout_from, also works while evhttp holds the buffer's start
 * frozen. Returns 0 or -1. */
static int copy_at(struct evbuffer *buf, size_t off, char *out, size_t n)
{
        struct evbuffer_ptr   at;
        struct evbuffer_iovec v[16];
        int                   nv;
        size_t                got = 0;

        if (evbuffer_ptr_set(buf, &at, off, EVBUFFER_PTR_SET))
                return -1;
        nv = evbuffer_peek(buf, (ev_ssize_t)n, &at, v, 16);
        for (int i = 0; i < nv && i < 16 && got < n; i++) {
                size_t k = v[i].iov_len < n - got ? v[i].iov_len : n - got;
                memcpy(out + got, v[i].iov_base, k);
                got += k;
        }
        return got == n ? 0 : -1;
}

/* The last occurrence of needle in hay[0..n), or NULL. */
static const char *last_of(const char *hay, size_t n, const char *needle)
{
        size_t      k    = strlen(needle);
        const char *last = NULL;
        for (const char *p = hay; n >= k && p <= hay + n - k; p++) {
                p = memmem(p, (size_t)(hay + n - p), needle, k);
                if (!p)
                        break;
                last = p;
        }
        return last;
}

static void json_page(const http_guard_t *g, int status, size_t req_in_bytes,
                      int *out_status, const char **reason, const char **code,
                      char *msg, size_t msg_size)
{
        *out_status = status;
        switch (status) {
        case 400:
                if (req_in_bytes > g->max_header_bytes) {
                        *out_status = 431;
                        *reason     = "Request Header Fields Too Large";
                        *code       = "header_too_large";
                        snprintf(msg, msg_size,
                                 "request line and headers over %zu bytes",
                                 g->max_header_bytes);
                } else {
                        *reason = "Bad Request";
                        *code   = "bad_request";
                        snprintf(msg, msg_size,
                                 "malformed request line or header (or a "
                                 "head over %zu bytes)",
                                 g->max_header_bytes);
                }
                return;
        case 413:
                *reason = "Payload Too Large";
                *code   = "body_too_large";
                snprintf(msg, msg_size, "request body over %zu bytes",
                         g->max_body_bytes);
                return;
        case 501:
                *reason = "Not Implemented";
                *code   = "not_implemented";
                snprintf(msg, msg_size, "method not supported by this server");
                return;
        default:
                *reason = "Error";
                *code   = "http_error";
                snprintf(msg, msg_size, "HTTP status %d", status);
                return;
        }
}

/* Replace libevent's error page at the end of buf, if there is one. */
static void rewrite_page(http_guard_t *g, struct slot *s, struct evbuffer *buf)
{
        char        tail[TAIL_MAX + 1], msg[160], resp[512];
        size_t      len = evbuffer_get_length(buf), n;
        const char *body, *head, *reason, *code;
        int         status, new_status, m;

        /* Cheap test first: this runs on every write to the buffer. */
        if (len < sizeof(PAGE_END) - 1 ||
            copy_at(buf, len - (sizeof(PAGE_END) - 1), tail,
                    sizeof(PAGE_END) - 1) ||
            memcmp(tail, PAGE_END, sizeof(PAGE_END) - 1))
                return;
        n = len < TAIL_MAX ? len : TAIL_MAX;
        if (copy_at(buf, len - n, tail, n))
                return;
        tail[n] = '\0'; /* sscanf below reads a string */
        body    = last_of(tail, n, PAGE_BODY);
        head    = body ? last_of(tail, (size_t)(body - tail), "HTTP/1.") : NULL;
        if (!head ||
            !memmem(head, (size_t)(body - head), "Content-Type: text/html", 23))
                return;
        if (sscanf(head, "HTTP/1.%*1[01] %3d", &status) != 1 || status < 400)
                return; /* evhttp's own pages are errors */
        json_page(g, status, s ? s->req_in_bytes : 0, &new_status, &reason,
                  &code, msg, sizeof(msg));
        {
                char json[256];
                int  jn = snprintf(json, sizeof(json),
                                   "{\"error\":\"%s\",\"message\":\"%s\"}\n",
                                   code, msg);
                m       = snprintf(resp, sizeof(resp),
                                   "HTTP/1.%c %d %s\r\n"
                                         "Content-Type: application/json\r\n"
                                         "Connection: close\r\n"
                                         "Content-Length: %d\r\n\r\n%s",
                                   head[7], new_status, reason, jn, json);
        }
        if (m <= 0 || (size_t)m >= sizeof(resp))
                return;
        g->busy = 1;
        /* A socket bufferevent keeps its output's start frozen except
         * while it writes; we are not inside such a write here. */
        evbuffer_unfreeze(buf, 1);
        {
                size_t           keep   = len - (n - (size_t)(head - tail));
                struct evbuffer *before = keep ? evbuffer_new() : NULL;
                if (!keep || (before && evbuffer_remove_buffer(
                                            buf, before, keep) == (int)keep)) {
                        evbuffer_drain(buf, evbuffer_get_length(buf));
                        if (before)
                                evbuffer_add_buffer(buf, before);
                        evbuffer_add(buf, resp, (size_t)m);
                        g->rewritten++;
                } else if (before) {
                        /* Out of memory: put the prefix back; the page
                         * goes out as libevent wrote it. */
                        evbuffer_prepend_buffer(buf, before);
                }
                if (before)
                        evbuffer_free(before);
        }
        evbuffer_freeze(buf, 1);
        g->busy = 0;
}

static void on_output(struct evbuffer *buf, const struct evbuffer_cb_info *info,
                      void *arg)
{
        struct slot  *s = arg;
        http_guard_t *g = s->g;
        char          first[7];

        if (g->busy || !info->n_added)
                return;
        if (s->out != buf)
                s = NULL; /* the slot went to a newer connection */
        /* A response begins: what came in so far was its request. */
        if (s && info->n_added >= sizeof(first) &&
            !copy_at(buf, info->orig_size, first, sizeof(first)) &&
            !memcmp(first, "HTTP/1.", sizeof(first))) {
                s->req_in_bytes = s->in_bytes;
                s->in_bytes     = 0;
        }
        rewrite_page(g, s, buf);
}

static void on_input(struct evbuffer *buf, const struct evbuffer_cb_info *info,
                     void *arg)
{
        struct slot *s = arg;
        if (s->in == buf)
                s->in_bytes += info->n_added;
}

static struct bufferevent *make_bev(struct event_base *base, void *arg)
{
        http_guard_t       *g = arg;
        struct slot        *s = &g->slots[g->next++ % SLOTS];
        struct bufferevent *bev =
            bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
        if (!bev)
                return NULL; /* evhttp makes its own */
        s->g            = g;
        s->in           = bufferevent_get_input(bev);
        s->out          = bufferevent_get_output(bev);
        s->in_bytes     = 0;
        s->req_in_bytes = 0;
        if (!evbuffer_add_cb(s->out, on_output, s) ||
            !evbuffer_add_cb(s->in, on_input, s)) {
                bufferevent_free(bev);
                return NULL;
        }
        return bev;
}

http_guard_t *crmsync_http_guard_new(struct evhttp *http,
                                     size_t         max_header_bytes,
                                     size_t         max_body_bytes)
{
        http_guard_t *g = calloc(1, sizeof(*g));
        if (!g)
                return NULL;
        g->max_header_bytes = max_header_bytes;
        g->max_body_bytes   = max_body_bytes;
        evhttp_set_max_headers_size(http, (ev_ssize_t)max_header_bytes);
        evhttp_set_max_body_size(http, (ev_ssize_t)max_body_bytes);
        evhttp_set_bevcb(http, make_bev, g);
        return g;
}

void crmsync_http_guard_free(http_guard_t *g)
{
        free(g);
}

unsigned long long crmsync_http_guard_rewritten(const http_guard_t *g)
{
        return g ? g->rewritten : 0;
}
