/* http_reply.c -- reason phrases and JSON replies (http_reply.h). */
#include "crmsync/http_reply.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <string.h>

const char *crmsync_http_reason(int status)
{
        switch (status) {
        case 200:
                return "OK";
        case 201:
                return "Created";
        case 400:
                return "Bad Request";
        case 401:
                return "Unauthorized";
        case 403:
                return "Forbidden";
        case 404:
                return "Not Found";
        case 405:
                return "Method Not Allowed";
        case 410:
                return "Gone";
        case 413:
                return "Payload Too Large";
        case 415:
                return "Unsupported Media Type";
        case 429:
                return "Too Many Requests";
        case 431:
                return "Request Header Fields Too Large";
        case 500:
                return "Internal Server Error";
        case 501:
                return "Not Implemented";
        case 503:
                return "Service Unavailable";
        case 507:
                return "Insufficient Storage";
        default:
                return "Status";
        }
}

char *crmsync_json_error(const char *code, const char *message)
{
        json_t *j = json_pack("{s:s}", "error", code ? code : "error");
        char   *t;

        if (j && message)
                json_object_set_new(j, "message", json_string(message));
        t = j ? json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j);
        return t;
}

void crmsync_http_send_json(struct evhttp_request *req, int status,
                            const char *json)
{
        struct evkeyvalq *h = evhttp_request_get_output_headers(req);
        struct evbuffer  *b = evbuffer_new();

        if (b && json)
                evbuffer_add(b, json, strlen(json));
        if (!evhttp_find_header(h, "Content-Type"))
                evhttp_add_header(h, "Content-Type", "application/json");
        evhttp_send_reply(req, status, crmsync_http_reason(status), b);
        if (b)
                evbuffer_free(b);
}
