/* connector_scan_cmp.h -- a feed page read both ways, the connector's
 * scanner (connector_scan_page) and jansson (connector_parse_page), and
 * every difference that would change what the connector produces. Shared
 * by tests/unit/test_connector_scan.c and tests/fuzz/fuzz_connector_page.c
 * (static functions: include it once). Needs connector_int.h. */
#ifndef CRMSYNC_CONNECTOR_SCAN_CMP_H
#define CRMSYNC_CONNECTOR_SCAN_CMP_H

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crmsync/dynbuf.h"

static int cmp_span(const char *body, struct connector_span s, const char *v)
{
        return v && strlen(v) == s.len && !memcmp(body + s.off, v, s.len);
}

static const char *cmp_str(const json_t *o, const char *k)
{
        return json_string_value(json_object_get(o, k));
}

/* The envelope both ways: from the event's text, and jansson's dump of
 * the envelope built from its tree (connector_envelope). */
static int cmp_envelope(const char *text, size_t len, const json_t *tree)
{
        static const char *curs[] = {"c1.1f.0a0b0c0d", NULL, "caf\xc3\xa9",
                                     "q\"b\\", "bad\xff"};
        int                bad    = 0;

        for (size_t k = 0; k < 5 && !bad; k++) {
                struct crmsync_dynbuf b;
                int64_t               ts  = (int64_t)k * 1000000007 - 17;
                const char           *via = k == 3 ? "r\x01" : "feed";
                json_t *env  = connector_envelope(tree, curs[k], ts, via);
                char   *want = env ? json_dumps(env, JSON_COMPACT) : NULL;
                crmsync_dynbuf_init(&b, 1 << 26);
                bad = !want ||
                      connector_envelope_raw(text, len, curs[k], ts, via, &b) ||
                      strcmp(want, crmsync_dynbuf_ptr(&b));
                free(want);
                json_decref(env);
                crmsync_dynbuf_free(&b);
        }
        return bad;
}

/* One event the scanner took: it must be jansson's event i, and be
 * produced as its text exactly when the tree way would produce it
 * unchanged. */
static int cmp_event(const char *body, const struct connector_raw_ev *r,
                     const json_t *tree, char *why, size_t why_size)
{
        json_t     *t2 = json_loadb(body + r->text.off, r->text.len, 0, NULL);
        const char *flag;
        char        err[256];
        char       *dump  = json_dumps(tree, JSON_COMPACT);
        int         as_is = json_is_object(tree) &&
                    !json_object_get(tree, "connector") &&
                    !connector_needs_object(tree, &flag) &&
                    !connector_event_check(tree, err, sizeof(err));
        int bad = 0;

        if (!t2 || !json_equal(t2, tree))
                bad = snprintf(why, why_size, "event text is not the event");
        else if (r->seq != json_integer_value(json_object_get(tree, "seq")))
                bad = snprintf(why, why_size, "seq differs");
        else if (r->as_is != as_is)
                bad = snprintf(why, why_size, "as_is %d, tree way says %d",
                               r->as_is, as_is);
        else if (as_is && (!dump || strlen(dump) != r->text.len ||
                           memcmp(dump, body + r->text.off, r->text.len)))
                bad = snprintf(why, why_size, "text is not jansson's dump");
        else if (as_is &&
                 (!cmp_span(body, r->eid, cmp_str(tree, "event_id")) ||
                  !cmp_span(body, r->acct, cmp_str(tree, "account_id")) ||
                  !cmp_span(body, r->rec, cmp_str(tree, "record_id"))))
                bad = snprintf(why, why_size, "event_id or a key differs");
        else if (as_is && cmp_envelope(body + r->text.off, r->text.len, tree))
                bad = snprintf(why, why_size, "envelope differs");
        free(dump);
        json_decref(t2);
        return bad ? -1 : 0;
}

/* Read body both ways. Returns the scanner's answer (1 taken, 0
 * declined), or -2 with why when the two disagree. */
static int connector_scan_cmp(const char *body, size_t len, char *why,
                              size_t why_size)
{
        struct connector_raw_page pg     = {0};
        json_t                   *events = NULL;
        char                      next[CONNECTOR_CURSOR_MAX], err[256];
        int                       has_more = 0, rc, jrc;

        rc  = connector_scan_page(body, len, &pg);
        jrc = connector_parse_page(body, len, &events, next, sizeof(next),
                                   &has_more, err, sizeof(err));
        if (rc == 1 && pg.next_cursor.len >= sizeof(next)) {
                rc = jrc ? 1 : -2; /* the feed reads it with jansson */
                if (rc == -2)
                        snprintf(why, why_size, "long cursor taken");
        } else if (rc == 1 && jrc) {
                rc = -2;
                snprintf(why, why_size, "taken, jansson says: %.200s", err);
        } else if (rc == 1 && (pg.n != json_array_size(events) ||
                               pg.has_more != has_more ||
                               pg.next_cursor.len != strlen(next) ||
                               memcmp(body + pg.next_cursor.off, next,
                                      pg.next_cursor.len))) {
                rc = -2;
                snprintf(why, why_size, "count, cursor or has_more differ");
        }
        for (size_t i = 0; rc == 1 && i < pg.n; i++)
                if (cmp_event(body, &pg.v[i], json_array_get(events, i), why,
                              why_size))
                        rc = -2;
        json_decref(events);
        connector_raw_page_free(&pg);
        return rc;
}

#endif
