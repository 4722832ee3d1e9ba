/* connector_sig.c -- the connector's own check of HubSpot v3 webhook
 * signatures. It shares only the HMAC/base64 primitives of lib/ with the
 * mock CRM that signs: the string to sign is assembled here, from the
 * documented algorithm, so that a signing bug in the fake cannot hide
 * behind the same bug in the verifier.
 *
 * v3: base64(HMAC-SHA256(secret, method + uri + body + timestamp)), where
 * timestamp is the X-...-Request-Timestamp header exactly as received
 * (decimal milliseconds); requests older than 5 minutes are rejected. */
#include "connector_int.h"

#include <string.h>

#include "crmsync/hmac.h"

int connector_sig_v3(const char *secret, const char *method, const char *uri,
                     const char *body, size_t body_len, const char *ts,
                     char *out_b64, size_t out_size)
{
        unsigned char      mac[CRMSYNC_SHA256_LEN];
        struct crmsync_iov msg[4];

        if (!secret || !method || !uri || !ts || (!body && body_len))
                return -1;
        msg[0] = (struct crmsync_iov){method, strlen(method)};
        msg[1] = (struct crmsync_iov){uri, strlen(uri)};
        msg[2] = (struct crmsync_iov){body, body_len};
        msg[3] = (struct crmsync_iov){ts, strlen(ts)};
        if (crmsync_hmac_sha256(secret, strlen(secret), msg, 4, mac) != 0)
                return -1;
        return crmsync_base64_encode(mac, sizeof(mac), out_b64, out_size) < 0
                   ? -1
                   : 0;
}

/* Decimal milliseconds, digits only, 1..18 of them. */
static int parse_ts(const char *s, int64_t *out)
{
        int64_t v = 0;
        size_t  n = 0;

        if (!s)
                return -1;
        for (; s[n]; n++) {
                if (s[n] < '0' || s[n] > '9' || n >= 18)
                        return -1;
                v = v * 10 + (s[n] - '0');
        }
        if (!n)
                return -1;
        *out = v;
        return 0;
}

int connector_sig_verify(const char *secret, const char *method,
                         const char *uri, const char *body, size_t body_len,
                         const char *sig_hdr, const char *ts_hdr,
                         int64_t now_ms)
{
        char    expect[CRMSYNC_SHA256_B64_SIZE];
        size_t  slen;
        int64_t ts;

        if (!sig_hdr || parse_ts(ts_hdr, &ts) != 0)
                return -3;
        slen = strlen(sig_hdr);
        if (!slen || slen >= CONNECTOR_SIG_MAX)
                return -3;
        if (now_ms - ts > CONNECTOR_SIG_WINDOW_MS ||
            ts - now_ms > CONNECTOR_SIG_WINDOW_MS)
                return -2;
        if (connector_sig_v3(secret, method, uri, body, body_len, ts_hdr,
                             expect, sizeof(expect)) != 0)
                return -1;
        /* Lengths are public; contents are compared in constant time. */
        if (slen != strlen(expect))
                return -1;
        return crmsync_ct_equal(expect, sig_hdr, slen) ? 0 : -1;
}
