/* test_crm_wire.c -- the change feed's wire JSON, serialised by chunks on
 * demand (fakes/crm/crm_wire.c): every event's bytes are its documented
 * wire form whichever chunk is resident, a chunk a page still refers to
 * is never freed, and the bytes held stay a window of CRM_WIRE_CACHED
 * chunks however long the feed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crmsync/common.h"
#include "crmsync/crm.h"
#include "crmsync/dynbuf.h"
#include "crmsync/workload.h"
#include "fakes/crm/crm_int.h"

#define CHUNKS (2 * CRM_WIRE_CACHED + 1) /* the last one partly full */
#define EVENTS (CRM_WIRE_CHUNK * (CHUNKS - 1) + 17)

struct fx {
        struct event_base *base;
        crm_workload_t    *w;
        crm_server_t      *s;
};

static int setup(void **state)
{
        struct crm_workload_config wc = {0};
        struct crm_server_config   sc = {0};
        struct fx                 *f  = calloc(1, sizeof(*f));
        char                       err[256];

        wc.seed       = 5;
        wc.accounts   = 50;
        wc.changes    = EVENTS;
        wc.rate_per_s = 1000000;
        f->w          = crmsync_workload_generate(&wc, err, sizeof(err));
        f->base       = event_base_new();
        if (!f->w || !f->base)
                return -1;
        sc.workload      = f->w;
        sc.start_wall_ms = crmsync_wall_ms() - 60000;
        f->s = crmsync_crm_server_new(f->base, &sc, err, sizeof(err));
        if (!f->s) {
                fprintf(stderr, "server: %s\n", err);
                return -1;
        }
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fx *f = *state;
        crmsync_crm_server_destroy(f->s);
        crmsync_workload_destroy(f->w);
        event_base_free(f->base);
        free(f);
        return 0;
}

/* The documented wire form of event i, as the feed served it when the
 * whole feed was serialised at start. */
static char *want_json(struct fx *f, size_t i)
{
        json_t *j = crmsync_event_to_json(crmsync_workload_event(f->w, i),
                                          f->s->start_wall_ms);
        char   *b = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        return b;
}

static void check_event(struct fx *f, size_t i)
{
        size_t      len = 0;
        const char *p   = crm_wire_get(f->s, (uint32_t)i, 1, &len, NULL);
        char       *b   = want_json(f, i);

        assert_non_null(p);
        if (len != strlen(b) || memcmp(p, b, len))
                fail_msg("event %zu: got %.*s\n want %s", i, (int)len, p, b);
        free(b);
}

/* Every event twice, the second pass after its chunk was freed and built
 * again; the bytes held never pass the window. */
static void test_bytes_and_window(void **state)
{
        struct fx *f    = *state;
        size_t     peak = 0, total = 0;

        for (int pass = 0; pass < 2; pass++)
                for (size_t i = 0; i < EVENTS; i++) {
                        size_t held;
                        check_event(f, i);
                        held = crm_wire_resident_bytes(f->s);
                        if (held > peak)
                                peak = held;
                        assert_true(f->s->wire_resident <= CRM_WIRE_CACHED);
                }
        for (size_t i = 0; i < EVENTS; i++) {
                char *b = want_json(f, i);
                total += strlen(b) + 1;
                free(b);
        }
        /* Of 64 full chunks, at most CRM_WIRE_CACHED held (chunks differ
         * in size: 15% slack). Serialising the whole feed held it all. */
        if (peak > total / (CHUNKS - 1) * CRM_WIRE_CACHED * 115 / 100)
                fail_msg("held %zu bytes of a %zu-byte feed", peak, total);
}

/* A slice of several events is their wire forms joined by commas; a run
 * that crosses a chunk's end is cut there. */
static void test_slices(void **state)
{
        struct fx  *f     = *state;
        uint32_t    first = CRM_WIRE_CHUNK - 3;
        size_t      len, want_len = 0;
        const char *p;
        char       *want = calloc(1, 1 << 16);

        assert_int_equal(crm_wire_run(first, 10), 3);
        assert_int_equal(crm_wire_run(CRM_WIRE_CHUNK, 10), 10);
        for (uint32_t i = first; i < first + 3; i++) {
                char *b = want_json(f, i);
                want_len += (size_t)sprintf(want + want_len, "%s%s",
                                            i > first ? "," : "", b);
                free(b);
        }
        p = crm_wire_get(f->s, first, 3, &len, NULL);
        assert_non_null(p);
        assert_int_equal(len, want_len);
        assert_memory_equal(p, want, len);
        /* Across a chunk's end, or past the feed: refused, not read. */
        assert_null(crm_wire_get(f->s, first, 4, &len, NULL));
        assert_null(crm_wire_get(f->s, EVENTS - 1, 2, &len, NULL));
        free(want);
}

/* A chunk a page holds stays while every other chunk is walked through;
 * once the page lets go, it is freed like any other. */
static void test_referenced_chunk_stays(void **state)
{
        struct fx         *f   = *state;
        struct evbuffer   *out = evbuffer_new();
        struct wire_chunk *c   = NULL;
        size_t             len;
        const char        *p = crm_wire_get(f->s, 5, 100, &len, &c);
        char              *copy;

        assert_non_null(p);
        copy = malloc(len);
        memcpy(copy, p, len);
        assert_int_equal(crm_wire_ref(out, p, len, c), 0);
        assert_int_equal(c->refs, 1);
        for (size_t i = CRM_WIRE_CHUNK; i < EVENTS; i += CRM_WIRE_CHUNK)
                check_event(f, i);
        assert_non_null(c->buf);
        assert_int_equal(evbuffer_get_length(out), len);
        assert_memory_equal(evbuffer_pullup(out, -1), copy, len);
        evbuffer_free(out);
        assert_int_equal(c->refs, 0);
        for (size_t i = CRM_WIRE_CHUNK; i < EVENTS; i += CRM_WIRE_CHUNK)
                check_event(f, i);
        assert_null(c->buf);
        free(copy);
}

static void check_append(const struct crm_event *ev, int64_t start)
{
        struct crmsync_dynbuf b;
        json_t               *j    = crmsync_event_to_json(ev, start);
        char                 *want = json_dumps(j, JSON_COMPACT);

        crmsync_dynbuf_init(&b, 1 << 20);
        assert_non_null(want);
        assert_int_equal(crm_wire_event_append(ev, start, &b), 0);
        if (strcmp(crmsync_dynbuf_ptr(&b), want))
                fail_msg("got  %s\nwant %s", crmsync_dynbuf_ptr(&b), want);
        crmsync_dynbuf_free(&b);
        free(want);
        json_decref(j);
}

/* The direct writer gives jansson's bytes for every shape of event:
 * merges, moves, gaps, deletes, empty fields, negative and large
 * numbers, and strings jansson escapes or refuses (those go through
 * jansson itself). */
static void test_event_append_same_as_jansson(void **state)
{
        static const char *ids[] = {"C-000001",    "",          "q\"uote",
                                    "back\\slash", "tab\tnl\n", "\x01ctl",
                                    "caf\xc3\xa9", "bad\xff",   "del\x7f",
                                    "sl/ash"};
        struct crm_event   ev;
        (void)state;

        for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
                memset(&ev, 0, sizeof(ev));
                ev.seq                 = 1 + i * 1000000007ULL;
                ev.event_id            = ids[i];
                ev.record_id           = ids[(i + 1) % 10];
                ev.account_id          = ids[(i + 2) % 10];
                ev.merged_ids[0]       = ids[(i + 3) % 10];
                ev.merged_ids[1]       = ids[(i + 4) % 10];
                ev.merged_into         = ids[(i + 5) % 10];
                ev.previous_account_id = ids[(i + 6) % 10];
                ev.merged_cnt          = (int)(i % 4);
                ev.fields_json         = i % 3 ? "{\"name\":\"A\\u0001\","
                                                 "\"annual_revenue\":-5,"
                                                 "\"x\":true}"
                                               : NULL;
                ev.commit_ms           = i % 2 ? -12345 : 987654321;
                ev.entity              = (enum crm_entity)(i % 4);
                ev.change              = (enum crm_change)(i % 5);
                ev.version             = i % 2 ? UINT32_MAX : 1;
                ev.txn                 = (uint32_t)i * 77;
                ev.txn_seq             = (uint32_t)i;
                check_append(&ev, i % 2 ? 0 : 1764066000000LL);
                ev.change = CRM_CHANGE_GAP;
                check_append(&ev, -1);
        }
}

/* The same for every event of a generated workload. */
static void test_workload_append_same_as_jansson(void **state)
{
        struct fx *f = *state;

        for (size_t i = 0; i < EVENTS; i++)
                check_append(crmsync_workload_event(f->w, i),
                             f->s->start_wall_ms);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_bytes_and_window),
            cmocka_unit_test(test_slices),
            cmocka_unit_test(test_referenced_chunk_stays),
            cmocka_unit_test(test_event_append_same_as_jansson),
            cmocka_unit_test(test_workload_append_same_as_jansson),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
