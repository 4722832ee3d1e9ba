/* test_cluster.c -- broker-side faults on the embedded cluster: a fault the
 * mock refuses, or that names a partition the topic does not have, is
 * reported as not performed, never as done. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crmsync/cluster.h"
#include "crmsync/scenario.h"

struct fixture {
        struct scenario *sc;
        cluster_t       *c;
        char             dir[64], props[128], log[128];
};

static int setup(void **state)
{
        static const char text[] =
                "{\"name\":\"cl\",\"target\":{\"brokers\":3,"
                "\"partitions\":4},\"faults\":[{\"at_s\":1,"
                "\"type\":\"leader_move\",\"broker\":2}]}";
        struct fixture *f = calloc(1, sizeof(*f));
        char            errstr[512];
        snprintf(f->dir, sizeof(f->dir), "/tmp/crmsync-cluster.XXXXXX");
        if (!mkdtemp(f->dir))
                return -1;
        snprintf(f->props, sizeof(f->props), "%s/kafka.properties", f->dir);
        snprintf(f->log, sizeof(f->log), "%s/fault-commands.log", f->dir);
        f->sc = crmsync_scenario_load_buffer("cl.json", text, strlen(text),
                                             errstr, sizeof(errstr));
        if (!f->sc) {
                fprintf(stderr, "%s\n", errstr);
                return -1;
        }
        f->c = crmsync_cluster_open(f->sc, f->props, f->log, errstr,
                                    sizeof(errstr));
        if (!f->c) {
                fprintf(stderr, "%s\n", errstr);
                return -1;
        }
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;
        crmsync_cluster_close(f->c);
        crmsync_scenario_destroy(f->sc);
        unlink(f->props);
        unlink(f->log);
        rmdir(f->dir);
        free(f);
        return 0;
}

static int fault(struct fixture *f, const char *type, const char *params,
                 char *why, size_t why_size)
{
        json_error_t jerr;
        json_t      *p = json_loads(params, 0, &jerr);
        int          rc;
        assert_non_null(p);
        why[0] = '\0';
        rc     = crmsync_cluster_fault(f->c, type, p, 1, why, why_size);
        json_decref(p);
        return rc;
}

/* The loader rejects a partition the embedded topic does not have; the
 * injector must not claim the move either when one gets through. */
static void test_leader_move_to_missing_partition_fails(void **state)
{
        struct fixture *f = *state;
        char            why[256];
        assert_int_equal(fault(f, "leader_move",
                               "{\"broker\":2,\"partition\":5000}", why,
                               sizeof(why)),
                         -1);
        assert_string_equal(why, "no partition 5000 (crm.changes has 4)");
        assert_int_equal(fault(f, "leader_move",
                               "{\"broker\":2,\"partition\":4}", why,
                               sizeof(why)),
                         -1);
}

/* No false alarm: existing partitions, or all of them, move. */
static void test_leader_move_to_existing_partition(void **state)
{
        struct fixture *f = *state;
        char            why[256];
        assert_int_equal(fault(f, "leader_move",
                               "{\"broker\":2,\"partition\":3}", why,
                               sizeof(why)),
                         0);
        assert_int_equal(fault(f, "leader_move", "{\"broker\":3}", why,
                               sizeof(why)),
                         0);
        assert_string_equal(why, "");
}

static void test_missing_broker_fails(void **state)
{
        struct fixture *f = *state;
        char            why[256];
        assert_int_equal(fault(f, "broker_rtt",
                               "{\"broker\":7,\"rtt_ms\":5}", why,
                               sizeof(why)),
                         -1);
        assert_string_equal(why, "no broker 7 (the cluster has 3)");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_leader_move_to_missing_partition_fails),
                cmocka_unit_test(test_leader_move_to_existing_partition),
                cmocka_unit_test(test_missing_broker_fails),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
