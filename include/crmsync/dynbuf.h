/* dynbuf.h -- a growable byte buffer with a hard cap (lib/), after curl's
 * dynbuf: growing past the cap is an error of its own, told apart from
 * running out of memory, and the contents are always NUL-terminated.
 *
 * Ownership: the buffer owns its memory; crmsync_dynbuf_free releases it
 * and crmsync_dynbuf_take hands it to the caller. Not thread-safe. */
#ifndef CRMSYNC_DYNBUF_H
#define CRMSYNC_DYNBUF_H

#include <stddef.h>

#define CRMSYNC_DYNBUF_TOO_LARGE (-2) /* the cap would be exceeded */

struct crmsync_dynbuf {
        char  *buf;
        size_t len;
        size_t cap;
        size_t max_bytes; /* contents + NUL never exceed this */
        int    too_large; /* an add hit the cap since init/reset */
};

/* An empty buffer whose contents plus the terminating NUL stay within
 * max_bytes (> 0). Allocates nothing yet. */
void crmsync_dynbuf_init(struct crmsync_dynbuf *b, size_t max_bytes);

/* Append n bytes at p (p may be NULL when n is 0). Returns 0, -1 when out
 * of memory, or CRMSYNC_DYNBUF_TOO_LARGE (and sets too_large) when
 * len + n + 1 > max_bytes; on an error the contents are unchanged. */
int crmsync_dynbuf_add(struct crmsync_dynbuf *b, const void *p, size_t n);

/* libcurl CURLOPT_WRITEFUNCTION appending to the crmsync_dynbuf given as
 * CURLOPT_WRITEDATA: a reply over the cap (too_large set) or out of
 * memory aborts the transfer. */
size_t crmsync_dynbuf_curl_write(char *p, size_t size, size_t nmemb,
                                 void *dynbuf);

/* Empty the buffer (clearing too_large), keeping its memory for reuse. */
void crmsync_dynbuf_reset(struct crmsync_dynbuf *b);

/* The contents, NUL-terminated ("" when empty). Borrowed: valid until the
 * next add, reset, take or free. */
const char *crmsync_dynbuf_ptr(const struct crmsync_dynbuf *b);
size_t      crmsync_dynbuf_len(const struct crmsync_dynbuf *b);

/* Hand the contents to the caller (free() them; NULL when nothing was
 * ever added) and leave the buffer empty. */
char *crmsync_dynbuf_take(struct crmsync_dynbuf *b);

/* Release the memory; the buffer is empty and usable again. Accepts a
 * buffer that never allocated. */
void crmsync_dynbuf_free(struct crmsync_dynbuf *b);

#endif
