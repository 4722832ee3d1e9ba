/* fuzz_crm_request.c -- libFuzzer target for the mock CRM's parsers of
 * outside input: the POST /v1/subscriptions JSON body, the webhook
 * signature/timestamp headers, query strings and metric label strings.
 *
 * Input layout: the low two bits of the first byte pick the parser; the
 * rest of the input is its argument. Seeds: corpus/fuzz_crm_request/. */
#include <event2/buffer.h>
#include <event2/event.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fakes/crm/crm_metrics.h"
#include "fakes/crm/crm_query.h"
#include "fakes/crm/crm_webhook.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct event_base *base;

/* NUL-terminated copy of [p, p+n). */
static char *dupz(const uint8_t *p, size_t n)
{
        char *s = malloc(n + 1);
        if (!s)
                abort();
        if (n)
                memcpy(s, p, n);
        s[n] = '\0';
        return s;
}

static void fuzz_subscribe(const uint8_t *data, size_t size)
{
        struct crm_webhook_config cfg = {.max_subscriptions = 2};
        crm_webhook_t            *w;
        char                      err[256];
        int                       code;

        if (!base)
                base = event_base_new();
        w = crmsync_webhook_new(base, &cfg);
        if (!w)
                abort();
        code = crmsync_webhook_subscribe_json(w, (const char *)data, size, err,
                                              sizeof(err));
        if (code != 201 && code != 400 && code != 409)
                abort();
        if (code == 201) {
                /* A subscription that parsed must also be able to queue. */
                if (crmsync_webhook_enqueue(w, "{}", 2, "e-1") != 0)
                        abort();
        }
        if (strnlen(err, sizeof(err)) >= sizeof(err))
                abort();
        crmsync_webhook_destroy(w);
}

static void fuzz_headers(const uint8_t *data, size_t size)
{
        /* "signature \n timestamp \n body" */
        char   *all = dupz(data, size);
        char   *sig = all, *ts = NULL, *body = "";
        char   *nl = strchr(all, '\n');
        int64_t v;
        int     rc;

        if (nl) {
                *nl = '\0';
                ts  = nl + 1;
                nl  = strchr(ts, '\n');
                if (nl) {
                        *nl  = '\0';
                        body = nl + 1;
                }
        }
        rc = crmsync_webhook_parse_timestamp(ts ? ts : sig, &v);
        if (rc == 0 && v < 0)
                abort();
        rc = crmsync_webhook_verify_headers(
            "secret", "POST", "http://127.0.0.1:1/h", body, strlen(body), sig,
            ts, 1764066000000LL, 0);
        if (rc != 0 && rc != -1 && rc != -2 && rc != -3)
                abort();
        free(all);
}

static void fuzz_query(const uint8_t *data, size_t size)
{
        static const char *keys[] = {"cursor", "limit", "api_key", "", "a"};
        char              *q      = dupz(data, size);
        char               out[64];
        uint64_t           u;

        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
                int rc = crmsync_query_get(q, keys[i], out, sizeof(out));
                if (rc == 0 && strlen(out) >= sizeof(out))
                        abort();
                if (rc < -1 || rc > 1)
                        abort();
                rc = crmsync_query_u64(q, keys[i], &u);
                if (rc < -1 || rc > 1)
                        abort();
                crmsync_query_u64_range(q, keys[i], 1, 1000, &u);
        }
        free(q);
}

static void fuzz_labels(const uint8_t *data, size_t size)
{
        crm_metrics_t   *m      = crmsync_metrics_new(8);
        char            *labels = dupz(data, size);
        struct evbuffer *out;

        if (!m)
                abort();
        crmsync_metrics_inc(m, "fuzz_total", labels, 1);
        crmsync_metrics_set(m, labels, NULL, 1.5);
        crmsync_metrics_help(m, "fuzz_total", labels);
        out = evbuffer_new();
        if (!out || crmsync_metrics_render(m, out) != 0)
                abort();
        evbuffer_free(out);
        crmsync_metrics_destroy(m);
        free(labels);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (size == 0 || size > 16384)
                return 0;
        switch (data[0] & 3) {
        case 0:
                fuzz_subscribe(data + 1, size - 1);
                break;
        case 1:
                fuzz_headers(data + 1, size - 1);
                break;
        case 2:
                fuzz_query(data + 1, size - 1);
                break;
        default:
                fuzz_labels(data + 1, size - 1);
                break;
        }
        return 0;
}
