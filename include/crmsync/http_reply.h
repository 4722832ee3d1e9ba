/* http_reply.h -- JSON replies of crmsync's evhttp servers (lib/): the
 * mock CRM, the sink and the connector's webhook receiver. Error bodies
 * have one shape everywhere: {"error":"<stable code>","message":"..."}.
 * Call from the thread of the request's event loop. */
#ifndef CRMSYNC_HTTP_REPLY_H
#define CRMSYNC_HTTP_REPLY_H

#include <stddef.h>

struct evhttp_request;

/* Reason phrase of an HTTP status ("Too Many Requests"), "Status" for one
 * this table does not know. Static storage. */
const char *crmsync_http_reason(int status);

/* A new compact JSON error body {"error":code,"message":message}
 * (message left out when NULL). The caller frees it with free(); NULL
 * when out of memory. */
char *crmsync_json_error(const char *code, const char *message);

/* Send status with the NUL-terminated JSON body json (NULL = no body) and
 * Content-Type application/json unless the handler set one. json stays
 * the caller's. */
void crmsync_http_send_json(struct evhttp_request *req, int status,
                            const char *json);

#endif
