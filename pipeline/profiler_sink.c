/* profiler_sink.c -- the profiler's HTTP client to the sink: one
 * keep-alive libcurl handle, bounded reply buffer, Retry-After, backoff. */
#include "profiler_int.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crmsync/dynbuf.h"

int64_t profiler_backoff_ms(unsigned attempt, int64_t retry_after_ms)
{
        int64_t ms = PROFILER_BACKOFF_MIN_MS;
        for (unsigned i = 0; i < attempt && ms < PROFILER_BACKOFF_MAX_MS; i++)
                ms *= 2;
        if (ms > PROFILER_BACKOFF_MAX_MS)
                ms = PROFILER_BACKOFF_MAX_MS;
        if (retry_after_ms > ms)
                ms = retry_after_ms;
        if (ms > PROFILER_RETRY_AFTER_MAX_MS)
                ms = PROFILER_RETRY_AFTER_MAX_MS;
        return ms;
}

static size_t on_header(char *p, size_t sz, size_t n, void *arg)
{
        struct prof_http *c   = arg;
        size_t            len = sz * n;
        if (len > 12 && !strncasecmp(p, "Retry-After:", 12)) {
                const char *v = p + 12;
                while (v < p + len && isspace((unsigned char)*v))
                        v++;
                long s      = 0;
                int  digits = 0;
                while (v < p + len && isdigit((unsigned char)*v) && s < 3600) {
                        s = s * 10 + (*v++ - '0');
                        digits++;
                }
                c->retry_after_ms = digits ? s * 1000 : 1000;
        }
        return len;
}

int profiler_http_init(struct prof_http *c, const char *base_url, char *errstr,
                       size_t errstr_size)
{
        memset(c, 0, sizeof(*c));
        crmsync_dynbuf_init(&c->body, PROFILER_BODY_MAX);
        c->buf = crmsync_dynbuf_ptr(&c->body);
        if (base_url && (!strncmp(base_url, "postgres://", 11) ||
                         !strncmp(base_url, "postgresql://", 13))) {
                snprintf(c->base_url, sizeof(c->base_url), "%s", base_url);
                return profiler_pg_init(c, base_url, errstr, errstr_size);
        }
        if (!base_url || strncmp(base_url, "http://", 7))
                return crmsync_err(errstr, errstr_size,
                                   "sink URL must start with http:// or "
                                   "be a postgres:// DSN (got "
                                   "\"%s\")",
                                   base_url ? base_url : "");
        size_t n = strlen(base_url);
        while (n > 7 && base_url[n - 1] == '/')
                n--;
        if (n >= sizeof(c->base_url))
                return crmsync_err(errstr, errstr_size, "sink URL too long");
        memcpy(c->base_url, base_url, n);
        c->base_url[n] = '\0';
        c->curl        = curl_easy_init();
        if (!c->curl)
                return crmsync_err(errstr, errstr_size,
                                   "curl_easy_init failed");
        CURL *h = c->curl;
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)PROFILER_HTTP_TIMEOUT_MS);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
        curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, crmsync_dynbuf_curl_write);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &c->body);
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(h, CURLOPT_HEADERDATA, c);
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http");
        return 0;
}

void profiler_http_fini(struct prof_http *c)
{
        profiler_pg_fini(c);
        if (c->curl)
                curl_easy_cleanup(c->curl);
        crmsync_dynbuf_free(&c->body);
        memset(c, 0, sizeof(*c));
}

long profiler_http_post(struct prof_http *c, const char *path,
                        const char *content_type, const char *body, size_t len,
                        char *errstr, size_t errstr_size)
{
        char               url[512], ct[128];
        struct curl_slist *hdrs   = NULL;
        long               status = 0;

        if (c->pg)
                return profiler_pg_post(c, path, body, len, errstr,
                                        errstr_size);
        snprintf(url, sizeof(url), "%s%s", c->base_url, path);
        snprintf(ct, sizeof(ct), "Content-Type: %s", content_type);
        hdrs = curl_slist_append(hdrs, ct);
        hdrs = curl_slist_append(hdrs, "Expect:");
        crmsync_dynbuf_reset(&c->body);
        c->retry_after_ms = -1;
        curl_easy_setopt(c->curl, CURLOPT_URL, url);
        curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
        CURLcode rc = curl_easy_perform(c->curl);
        curl_slist_free_all(hdrs);
        c->buf = crmsync_dynbuf_ptr(&c->body); /* "" for an empty reply */
        if (rc != CURLE_OK) {
                crmsync_err(errstr, errstr_size, "POST %s: %s%s", url,
                            curl_easy_strerror(rc),
                            c->body.too_large ? " (reply too large)" : "");
                return 0;
        }
        curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
        return status;
}
