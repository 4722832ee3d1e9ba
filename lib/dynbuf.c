/* dynbuf.c -- size-capped growable buffer (dynbuf.h). */
#include "crmsync/dynbuf.h"

#include <stdlib.h>
#include <string.h>

#define DYNBUF_MIN_CAP 4096

void crmsync_dynbuf_init(struct crmsync_dynbuf *b, size_t max_bytes)
{
        b->buf       = NULL;
        b->len       = 0;
        b->cap       = 0;
        b->max_bytes = max_bytes;
        b->too_large = 0;
}

int crmsync_dynbuf_add(struct crmsync_dynbuf *b, const void *p, size_t n)
{
        size_t need = b->len + n + 1;

        if (n > b->max_bytes || need > b->max_bytes) {
                b->too_large = 1;
                return CRMSYNC_DYNBUF_TOO_LARGE;
        }
        if (need > b->cap) {
                size_t cap = b->cap ? b->cap : DYNBUF_MIN_CAP;
                char  *nb;

                while (cap < need)
                        cap *= 2;
                if (cap > b->max_bytes)
                        cap = b->max_bytes;
                nb = realloc(b->buf, cap);
                if (!nb)
                        return -1;
                b->buf = nb;
                b->cap = cap;
        }
        if (n)
                memcpy(b->buf + b->len, p, n);
        b->len += n;
        b->buf[b->len] = '\0';
        return 0;
}

size_t crmsync_dynbuf_curl_write(char *p, size_t size, size_t nmemb,
                                 void *dynbuf)
{
        size_t n = size * nmemb;

        if (size && n / size != nmemb)
                return 0;
        return crmsync_dynbuf_add(dynbuf, p, n) ? 0 : n;
}

void crmsync_dynbuf_reset(struct crmsync_dynbuf *b)
{
        b->len       = 0;
        b->too_large = 0;
        if (b->buf)
                b->buf[0] = '\0';
}

const char *crmsync_dynbuf_ptr(const struct crmsync_dynbuf *b)
{
        return b->buf ? b->buf : "";
}

size_t crmsync_dynbuf_len(const struct crmsync_dynbuf *b)
{
        return b->len;
}

char *crmsync_dynbuf_take(struct crmsync_dynbuf *b)
{
        char *p = b->buf;

        crmsync_dynbuf_init(b, b->max_bytes);
        return p;
}

void crmsync_dynbuf_free(struct crmsync_dynbuf *b)
{
        free(b->buf);
        crmsync_dynbuf_init(b, b->max_bytes);
}
