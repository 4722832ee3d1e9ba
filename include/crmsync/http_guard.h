/* http_guard.h -- size limits and JSON errors for every evhttp server of
 * crmsync (the mock CRM, the sink, the connector's webhook receiver).
 *
 * evhttp answers some requests itself, before any handler runs: a
 * malformed request line or header, a head or a body over its limit, a
 * method it does not know. libevent 2.1 has no error callback for these
 * and sends an HTML page. The guard sets the limits and rewrites each such
 * page, before it leaves the process, into
 *     {"error":"<code>","message":"..."}
 * with Content-Type application/json:
 *     400 bad_request        malformed request line or header
 *     431 header_too_large   request head over max_header_bytes
 *     413 body_too_large     body over max_body_bytes
 *     501 not_implemented    method evhttp does not know or allow
 *     other statuses         http_error
 * Like common.c, this is a primitive both sides may use (it knows no
 * domain), kept beside common.c until a lib/ layer exists. */
#ifndef CRMSYNC_HTTP_GUARD_H
#define CRMSYNC_HTTP_GUARD_H

#include <stddef.h>

struct evhttp;

typedef struct http_guard http_guard_t;

/* Default head limit of every server: request line plus headers. */
#define CRMSYNC_HTTP_MAX_HEADER_BYTES 65536

/* Set the limits on http (evhttp_set_max_headers_size/_body_size) and
 * install the rewriting of evhttp's own error pages. Call before binding;
 * free with crmsync_http_guard_free after evhttp_free(http). NULL when out
 * of memory. */
http_guard_t *crmsync_http_guard_new(struct evhttp *http,
                                     size_t         max_header_bytes,
                                     size_t         max_body_bytes);
void          crmsync_http_guard_free(http_guard_t *g); /* accepts NULL */

/* Error pages rewritten so far (for tests and metrics). */
unsigned long long crmsync_http_guard_rewritten(const http_guard_t *g);

#endif
