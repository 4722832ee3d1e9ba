/* connector_scan.c -- a /v1/changes page read without a JSON tree.
 *
 * The mock CRM writes its pages as jansson's compact output, so each event
 * object is already the text json_dumps(JSON_COMPACT) gives for it. For
 * such a page the scanner finds each event's text and the members the
 * connector needs, and decides whether the event is produced as it is:
 * its envelope is then its own text plus the "connector" member, byte for
 * byte what connector_envelope_dumps() writes from the tree.
 *
 * The scanner takes only a narrow subset of JSON and declines the whole
 * page on anything else: whitespace inside an event, a string with an
 * escape, a control character or a byte outside printable ASCII, a real,
 * "-0", an integer of more than 18 digits, an object or array nested
 * deeper than a member of an event, a repeated member (of the page, an
 * event or an object in it), more than SCAN_MEMBERS_MAX members. A
 * declined page goes to connector_parse_page() (jansson), so a malformed
 * page keeps jansson's error. Inside the subset jansson reads the same
 * values (tests/unit/test_connector_scan.c, fuzz_connector_page). */
#include "connector_int.h"

#include <stdlib.h>
#include <string.h>

#include "crmsync/bugs.h"
#include "crmsync/json_lex.h"

#define SCAN_MEMBERS_MAX 32 /* members of an event */
#define SCAN_FIELDS_MAX 8   /* members of an object in an event */

struct member {
        struct connector_span key,
            val;      /* val of a string: without its quotes */
        char    kind; /* s i t f n o a */
        int64_t ival;
};

struct event {
        struct member m[SCAN_MEMBERS_MAX];
        size_t        n;
        struct member f[SCAN_FIELDS_MAX]; /* the members of "fields" */
        size_t        nf;
        int           fields_many; /* over SCAN_FIELDS_MAX: not as is */
};

static size_t word_end(const char *p, size_t i, size_t n, const char *w)
{
        size_t l = strlen(w);
        return n - i >= l && !memcmp(p + i, w, l) ? i + l : 0;
}

/* A scalar at i into m (kind, val, ival); returns the index after it, or
 * 0 when it is not one the scanner takes. */
static size_t scalar(const char *p, size_t i, size_t n, struct member *m)
{
        size_t e;

        if (i >= n)
                return 0;
        switch (p[i]) {
        case '"':
                e          = crmsync_json_plain_str(p, i, n);
                m->kind    = 's';
                m->val.off = i + 1;
                m->val.len = e ? e - i - 2 : 0;
                return e;
        case 't':
                m->kind = 't';
                return word_end(p, i, n, "true");
        case 'f':
                m->kind = 'f';
                return word_end(p, i, n, "false");
        case 'n':
                m->kind = 'n';
                return word_end(p, i, n, "null");
        default:
                m->kind = 'i';
                return crmsync_json_int(p, i, n, &m->ival);
        }
}

static int same_key(const char *p, const struct member *v, size_t cnt,
                    struct connector_span k)
{
        for (size_t j = 0; j < cnt; j++)
                if (v[j].key.len == k.len &&
                    !memcmp(p + v[j].key.off, p + k.off, k.len))
                        return 1;
        return 0;
}

/* "key": at i (no whitespace); returns the index after the colon, or 0
 * (also when the key repeats one of the cnt before it). */
static size_t key_end(const char *p, size_t i, size_t n, struct member *v,
                      size_t cnt)
{
        size_t e = crmsync_json_plain_str(p, i, n);

        if (!e || e >= n || p[e] != ':')
                return 0;
        v[cnt].key.off = i + 1;
        v[cnt].key.len = e - i - 2;
        if (same_key(p, v, cnt, v[cnt].key))
                return 0;
        return e + 1;
}

/* [scalar,...] at i; returns the index after it, or 0. */
static size_t array_end(const char *p, size_t i, size_t n)
{
        struct member m;

        if (++i < n && p[i] == ']')
                return i + 1;
        for (;;) {
                if (!(i = scalar(p, i, n, &m)) || i >= n)
                        return 0;
                if (p[i] == ']')
                        return i + 1;
                if (p[i++] != ',')
                        return 0;
        }
}

/* {"k":scalar,...} at i, its first SCAN_FIELDS_MAX members into e->f;
 * returns the index after it, or 0. */
static size_t object_end(const char *p, size_t i, size_t n, struct event *e,
                         int keep)
{
        struct member v[SCAN_MEMBERS_MAX];
        size_t        cnt = 0;

        if (++i < n && p[i] == '}')
                return i + 1;
        for (;;) {
                if (cnt == SCAN_MEMBERS_MAX)
                        return 0;
                if (!(i = key_end(p, i, n, v, cnt)) ||
                    !(i = scalar(p, i, n, &v[cnt])) || i >= n)
                        return 0;
                if (keep && cnt < SCAN_FIELDS_MAX)
                        e->f[e->nf++] = v[cnt];
                else if (keep)
                        e->fields_many = 1;
                cnt++;
                if (p[i] == '}')
                        return i + 1;
                if (p[i++] != ',')
                        return 0;
        }
}

static int key_is(const char *p, const struct member *m, const char *k)
{
        size_t l = strlen(k);
        return m->key.len == l && !memcmp(p + m->key.off, k, l);
}

/* One event object at i (compact, no whitespace); returns the index after
 * it, or 0. */
static size_t event_end(const char *p, size_t i, size_t n, struct event *e)
{
        e->n           = 0;
        e->nf          = 0;
        e->fields_many = 0;
        if (i >= n || p[i] != '{')
                return 0;
        if (++i < n && p[i] == '}')
                return i + 1;
        for (;;) {
                struct member *m = &e->m[e->n];
                if (e->n == SCAN_MEMBERS_MAX ||
                    !(i = key_end(p, i, n, e->m, e->n)) || i >= n)
                        return 0;
                if (p[i] == '{') {
                        int keep = key_is(p, m, "fields");
                        m->kind  = 'o';
                        i        = object_end(p, i, n, e, keep);
                } else if (p[i] == '[') {
                        m->kind = 'a';
                        i       = array_end(p, i, n);
                } else {
                        i = scalar(p, i, n, m);
                }
                if (!i || i >= n)
                        return 0;
                e->n++;
                if (p[i] == '}')
                        return i + 1;
                if (p[i++] != ',')
                        return 0;
        }
}

static const struct member *get(const char *p, const struct event *e,
                                const char *k)
{
        for (size_t j = 0; j < e->n; j++)
                if (key_is(p, &e->m[j], k))
                        return &e->m[j];
        return NULL;
}

/* Whether connector_event_check() passes and nothing else needs the
 * tree (see connector_raw_ev.as_is); fills the spans and seq. */
static int event_take(const char *p, const struct event *e,
                      struct connector_raw_ev *r)
{
        static const char   *need[] = {"event_id", "entity", "record_id",
                                       "account_id", "change_type"};
        const struct member *s[5], *v, *f, *ct, *prev;
        int                  ent;

        v      = get(p, e, "seq");
        r->seq = v && v->kind == 'i' ? v->ival : 0;
        for (size_t k = 0; k < 5; k++) {
                s[k] = get(p, e, need[k]);
                if (!s[k] || s[k]->kind != 's' || !s[k]->val.len ||
                    s[k]->val.len > 200)
                        return 0;
        }
        r->eid  = s[0]->val;
        r->rec  = s[2]->val;
        r->acct = s[3]->val;
        v       = get(p, e, "version");
        if (!v || v->kind != 'i' || get(p, e, "connector"))
                return 0;
        ct   = s[4];
        prev = get(p, e, "previous_account_id");
        if ((ct->val.len == 3 && !memcmp(p + ct->val.off, "gap", 3)) ||
            (ct->val.len == 6 && !memcmp(p + ct->val.off, "update", 6) &&
             prev && prev->kind == 's'))
                return 0; /* resolved by reading the object */
        f = get(p, e, "fields");
        if (!f || f->kind == 'n')
                return 1;
        if (f->kind != 'o' || e->fields_many)
                return 0;
        ent = connector_entity_index(p + s[1]->val.off, s[1]->val.len);
        if (ent < 0)
                return 0;
        for (size_t j = 0; j < e->nf; j++) {
                char t = connector_field_kind(ent, p + e->f[j].key.off,
                                              e->f[j].key.len);
                char k = e->f[j].kind;
                if (!(t == 's' && k == 's') && !(t == 'i' && k == 'i') &&
                    !(t == 'b' && (k == 't' || k == 'f')))
                        return 0;
        }
        return 1;
}

/* The "events" array at i (whitespace between its events); appends to
 * pg. Returns the index after it, 0 when declined, -1 out of memory. */
static long events_end(const char *p, size_t i, size_t n,
                       struct connector_raw_page *pg)
{
        struct event e;

        i = crmsync_json_skip_ws(p, i + 1, n);
        if (i < n && p[i] == ']')
                return (long)i + 1;
        for (;;) {
                struct connector_raw_ev *r;
                size_t                   start = i;

                if (!(i = event_end(p, i, n, &e)))
                        return 0;
                if (pg->n == pg->cap) {
                        size_t cap = pg->cap ? pg->cap * 2 : 512;
                        void  *nv  = realloc(pg->v, cap * sizeof(*pg->v));
                        if (!nv)
                                return -1;
                        pg->v   = nv;
                        pg->cap = cap;
                }
                r = &pg->v[pg->n++];
                memset(r, 0, sizeof(*r));
                r->text.off = start;
                r->text.len = i - start;
                r->as_is    = event_take(p, &e, r);
                i           = crmsync_json_skip_ws(p, i, n);
                if (i >= n)
                        return 0;
                if (p[i] == ']')
                        return (long)i + 1;
                if (p[i] != ',')
                        return 0;
                i = crmsync_json_skip_ws(p, i + 1, n);
        }
}

/* One member of the page at i (after its key and colon, whitespace
 * skipped); *seen has a bit per known member. Returns the index after the
 * value, 0 declined, -1 out of memory. */
static long page_member(const char *p, size_t i, size_t n,
                        struct connector_span k, unsigned *seen,
                        struct connector_raw_page *pg)
{
        struct member m;
        size_t        e;
        int           which = -1;

        if (k.len == 6 && !memcmp(p + k.off, "events", 6))
                which = 0;
        else if (k.len == 11 && !memcmp(p + k.off, "next_cursor", 11))
                which = 1;
        else if (k.len == 8 && !memcmp(p + k.off, "has_more", 8))
                which = 2;
        if (which >= 0 && (*seen & (1u << which)))
                return 0; /* repeated: jansson keeps the last one */
        if (which >= 0)
                *seen |= 1u << which;
        if (which == 0)
                return i < n && p[i] == '[' ? events_end(p, i, n, pg) : 0;
        if (!(e = scalar(p, i, n, &m)))
                return 0;
        if (which == 1) {
                if (m.kind != 's' && m.kind != 'n')
                        return 0;
                pg->next_cursor =
                    m.kind == 's' ? m.val : (struct connector_span){0, 0};
        } else if (which == 2) {
                if (m.kind != 't' && m.kind != 'f')
                        return 0;
                pg->has_more = m.kind == 't';
        }
        return (long)e;
}

int connector_scan_page(const char *p, size_t n, struct connector_raw_page *pg)
{
        unsigned seen = 0;
        size_t   i    = crmsync_json_skip_ws(p, 0, n);

        pg->n           = 0;
        pg->has_more    = 0;
        pg->next_cursor = (struct connector_span){0, 0};
        if (!p || i >= n || p[i] != '{')
                return 0;
        i = crmsync_json_skip_ws(p, i + 1, n);
        if (i < n && p[i] == '}')
                return 0; /* no "events" */
        for (;;) {
                struct connector_span k;
                long                  r;
                size_t                e = crmsync_json_plain_str(p, i, n);

                if (!e)
                        return 0;
                k.off = i + 1;
                k.len = e - i - 2;
                i     = crmsync_json_skip_ws(p, e, n);
                if (i >= n || p[i] != ':')
                        return 0;
                i = crmsync_json_skip_ws(p, i + 1, n);
                r = page_member(p, i, n, k, &seen, pg);
                if (r <= 0)
                        return (int)r;
                i = crmsync_json_skip_ws(p, (size_t)r, n);
                if (i >= n)
                        return 0;
                if (p[i] == '}')
                        break;
                if (p[i] != ',')
                        return 0;
                i = crmsync_json_skip_ws(p, i + 1, n);
        }
        if (crmsync_json_skip_ws(p, i + 1, n) != n || !(seen & 1u))
                return 0;
        return 1;
}

void connector_raw_page_free(struct connector_raw_page *pg)
{
        free(pg->v);
        memset(pg, 0, sizeof(*pg));
}
