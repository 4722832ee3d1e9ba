/* test_profiler_pg.c -- the reference profiler's postgres writer against
 * a throwaway PostgreSQL (the harness's pg_sink): a side-effect request
 * sent again after its transaction committed (the retry when the
 * connection was cut before the answer) adds no second row; under the
 * no-dedupe bug it does, and the judge's count sees it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <event2/event.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness/pg_sink.h"
#include "pipeline/profiler_int.h"

static const char fx_body[] =
    "{\"event_id\":\"e-00000001\",\"kind\":\"welcome\","
    "\"key\":\"contact/C-000001\"}\n"
    "{\"event_id\":\"e-00000002\",\"kind\":\"welcome\","
    "\"key\":\"contact/C-000002\"}\n";

/* The fault proxy in front of the database runs on the event base: turn
 * it on this thread while the test posts synchronously. */
struct loop {
        struct event_base *base;
        int                stop;
};

static void *loop_main(void *arg)
{
        struct loop          *l   = arg;
        const struct timespec nap = {0, 1000 * 1000};
        while (!__atomic_load_n(&l->stop, __ATOMIC_ACQUIRE)) {
                event_base_loop(l->base, EVLOOP_NONBLOCK);
                nanosleep(&nap, NULL);
        }
        return NULL;
}

struct fx_count {
        uint32_t rows, max;
};

static void count_cb(void *opaque, const char *event_id, const char *kind,
                     uint32_t count)
{
        struct fx_count *c = opaque;
        (void)event_id;
        (void)kind;
        c->rows += count;
        if (count > c->max)
                c->max = count;
}

static struct fx_count post_fx(struct prof_http *c, pg_sink_t *s)
{
        char            err[512];
        struct fx_count n  = {0};
        long            st = profiler_http_post(c, "/v1/side-effects/_bulk",
                                                "application/x-ndjson", fx_body,
                                                strlen(fx_body), err, sizeof(err));
        if (st != 200)
                fprintf(stderr, "post: %ld %s\n", st, err);
        assert_int_equal(st, 200);
        crmsync_pg_sink_foreach_side_effect(s, count_cb, &n);
        return n;
}

static void test_side_effect_retry_inserts_once(void **state)
{
        char                  dir[] = "/tmp/crmsync-test-pg.XXXXXX", err[512];
        struct event_base    *base  = event_base_new();
        struct pg_sink_config cfg   = {0};
        struct prof_http      c;
        struct fx_count       n;
        struct loop           l = {base, 0};
        pthread_t             th;
        pg_sink_t            *s;
        (void)state;

        assert_non_null(mkdtemp(dir));
        chmod(dir, 0755); /* the postgres user writes its data dir here */
        cfg.base    = base;
        cfg.run_dir = dir;
        s           = crmsync_pg_sink_open(&cfg, err, sizeof(err));
        if (!s)
                fprintf(stderr, "pg sink: %s\n", err);
        assert_non_null(s);
        assert_int_equal(pthread_create(&th, NULL, loop_main, &l), 0);
        assert_int_equal(
            profiler_http_init(&c, crmsync_pg_sink_dsn(s), err, sizeof(err)),
            0);

        n = post_fx(&c, s);
        assert_int_equal(n.rows, 2);
        /* The same request again, as after a commit whose answer was
         * lost: nothing more. */
        n = post_fx(&c, s);
        assert_int_equal(n.rows, 2);
        assert_int_equal(n.max, 1);
        /* The no-dedupe bug requests them again: the judge counts 2. */
        c.fx_repeat = 1;
        n           = post_fx(&c, s);
        assert_int_equal(n.rows, 4);
        assert_int_equal(n.max, 2);

        profiler_http_fini(&c);
        __atomic_store_n(&l.stop, 1, __ATOMIC_RELEASE);
        pthread_join(th, NULL);
        crmsync_pg_sink_close(s);
        event_base_free(base);
        snprintf(err, sizeof(err), "%s/postgres.log", dir);
        unlink(err);
        assert_int_equal(rmdir(dir), 0); /* the data directory went too */
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_side_effect_retry_inserts_once),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
