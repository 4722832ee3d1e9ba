/* connector_http.c -- the connector's HTTP client: one keep-alive libcurl
 * easy handle, bounded bodies, Retry-After capture. */
#include "connector_int.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crmsync/dynbuf.h"

struct connector_http {
        CURL                 *curl;
        struct curl_slist    *hdrs;
        struct crmsync_dynbuf body; /* response, up to CONNECTOR_BODY_MAX */
        char                  retry_after[32];
};

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *opaque)
{
        struct connector_http *h      = opaque;
        size_t                 n      = size * nmemb;
        static const char      name[] = "Retry-After:";

        if (n > sizeof(name) - 1 && !strncasecmp(ptr, name, sizeof(name) - 1)) {
                size_t vlen = n - (sizeof(name) - 1);
                char  *v    = ptr + sizeof(name) - 1;
                while (vlen && (*v == ' ' || *v == '\t')) {
                        v++;
                        vlen--;
                }
                while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' ||
                                v[vlen - 1] == ' '))
                        vlen--;
                if (vlen >= sizeof(h->retry_after))
                        vlen = sizeof(h->retry_after) - 1;
                memcpy(h->retry_after, v, vlen);
                h->retry_after[vlen] = '\0';
        }
        return n;
}

struct connector_http *connector_http_new(const char *client_id)
{
        struct connector_http *h = calloc(1, sizeof(*h));
        char                   hdr[300];

        if (!h)
                return NULL;
        crmsync_dynbuf_init(&h->body, CONNECTOR_BODY_MAX);
        h->curl = curl_easy_init();
        if (!h->curl) {
                free(h);
                return NULL;
        }
        snprintf(hdr, sizeof(hdr), "X-Client-Id: %s",
                 client_id && *client_id ? client_id : CONNECTOR_NAME);
        h->hdrs = curl_slist_append(NULL, hdr);
        h->hdrs = curl_slist_append(h->hdrs, "Accept: application/json");
        curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, h->hdrs);
        curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION,
                         crmsync_dynbuf_curl_write);
        curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, &h->body);
        curl_easy_setopt(h->curl, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(h->curl, CURLOPT_HEADERDATA, h);
        curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
        curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, 30000L);
        curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h->curl, CURLOPT_NOPROXY, "*");
        curl_easy_setopt(h->curl, CURLOPT_USERAGENT, "crmsync-connector");
        return h;
}

void connector_http_destroy(struct connector_http *h)
{
        if (!h)
                return;
        curl_easy_cleanup(h->curl);
        curl_slist_free_all(h->hdrs);
        crmsync_dynbuf_free(&h->body);
        free(h);
}

static void perform(struct connector_http *h, const char *url,
                    struct http_resp *r)
{
        CURLcode rc;

        memset(r, 0, sizeof(*r));
        crmsync_dynbuf_reset(&h->body);
        h->retry_after[0] = '\0';
        curl_easy_setopt(h->curl, CURLOPT_URL, url);
        rc = curl_easy_perform(h->curl);
        if (rc != CURLE_OK) {
                snprintf(r->errstr, sizeof(r->errstr), "GET %s: %s%s", url,
                         curl_easy_strerror(rc),
                         h->body.too_large ? " (body too large)" : "");
                return;
        }
        curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &r->status);
        r->body = crmsync_dynbuf_ptr(&h->body);
        r->len  = crmsync_dynbuf_len(&h->body);
        memcpy(r->retry_after, h->retry_after, sizeof(r->retry_after));
}

void connector_http_get(struct connector_http *h, const char *url,
                        struct http_resp *r)
{
        curl_easy_setopt(h->curl, CURLOPT_HTTPGET, 1L);
        perform(h, url, r);
}

void connector_http_post(struct connector_http *h, const char *url,
                         const char *json, struct http_resp *r)
{
        struct curl_slist *hdrs = NULL;

        for (struct curl_slist *s = h->hdrs; s; s = s->next)
                hdrs = curl_slist_append(hdrs, s->data);
        hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
        curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, json);
        curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(json));
        perform(h, url, r);
        curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, h->hdrs);
        curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, NULL);
        curl_slist_free_all(hdrs);
}

void connector_url_escape(const char *in, char *out, size_t out_size)
{
        static const char hex[] = "0123456789ABCDEF";
        size_t            o     = 0;

        if (out_size == 0)
                return;
        for (; in && *in && o + 4 < out_size; in++) {
                unsigned char ch = (unsigned char)*in;
                if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' ||
                    ch == '.' || ch == '~') {
                        out[o++] = (char)ch;
                } else {
                        out[o++] = '%';
                        out[o++] = hex[ch >> 4];
                        out[o++] = hex[ch & 15];
                }
        }
        out[o] = '\0';
}
