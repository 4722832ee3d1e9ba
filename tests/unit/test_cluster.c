/* test_cluster.c -- broker-side faults on the embedded cluster: a fault the
 * mock refuses, or that names a partition the topic does not have, is
 * reported as not performed, never as done. An external target's fault
 * commands: their log is written where a failed write can be told (a full
 * disk, played by /dev/full, skips the fault with the reason instead of
 * running it silently), and a writable log gets the command and its
 * output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crmsync/broker.h"
#include "harness/cluster.h"
#include "harness/scenario.h"

struct fixture {
        struct scenario *sc;
        cluster_t       *c;
        char             dir[64], props[128], log[128];
};

static int setup(void **state)
{
        static const char text[] = "{\"name\":\"cl\",\"target\":{\"brokers\":3,"
                                   "\"partitions\":4},\"faults\":[{\"at_s\":1,"
                                   "\"type\":\"leader_move\",\"broker\":2}]}";
        struct fixture   *f      = calloc(1, sizeof(*f));
        char              errstr[512];
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
        assert_int_equal(
            fault(f, "leader_move", "{\"broker\":3}", why, sizeof(why)), 0);
        assert_string_equal(why, "");
}

static void test_missing_broker_fails(void **state)
{
        struct fixture *f = *state;
        char            why[256];
        assert_int_equal(fault(f, "broker_rtt", "{\"broker\":7,\"rtt_ms\":5}",
                               why, sizeof(why)),
                         -1);
        assert_string_equal(why, "no broker 7 (the cluster has 3)");
}

/* -- an external target's fault commands --------------------------------- */

struct ext_fixture {
        crmsync_broker_t *broker;
        struct scenario  *sc;
        char              dir[64];
};

static int ext_setup(void **state)
{
        struct ext_fixture *f = calloc(1, sizeof(*f));
        char                errstr[512], path[128], buf[1024];
        FILE               *fp;
        int                 n;

        if (!f)
                return -1;
        snprintf(f->dir, sizeof(f->dir), "/tmp/crmsync-cluster.XXXXXX");
        if (!mkdtemp(f->dir) ||
            !(f->broker = crmsync_broker_new(1, errstr, sizeof(errstr))) ||
            crmsync_broker_create_topic(f->broker, CLUSTER_PROBE_TOPIC, 2, 1,
                                        errstr, sizeof(errstr)) ||
            crmsync_broker_create_topic(f->broker, "crm.changes", 2, 1, errstr,
                                        sizeof(errstr))) {
                fprintf(stderr, "setup: %s\n", errstr);
                return -1;
        }
        snprintf(path, sizeof(path), "%s/target.json", f->dir);
        if (!(fp = fopen(path, "w")))
                return -1;
        fprintf(fp,
                "{ \"name\": \"t\", \"properties\": { \"bootstrap.servers\": "
                "\"%s\" }, \"topics\": { \"create\": false }, \"commands\": "
                "{ \"broker_down\": \"echo down {broker}\", \"broker_up\": "
                "\"echo up {broker}\" } }\n",
                crmsync_broker_bootstraps(f->broker));
        fclose(fp);
        n = snprintf(buf, sizeof(buf),
                     "{ \"name\": \"t\", \"target\": { \"type\": "
                     "\"external\", \"file\": \"%s\", \"partitions\": 2 "
                     "} }",
                     path);
        if (!(f->sc = crmsync_scenario_load_buffer("t.json", buf, (size_t)n,
                                                   errstr, sizeof(errstr)))) {
                fprintf(stderr, "scenario: %s\n", errstr);
                return -1;
        }
        *state = f;
        return 0;
}

static int ext_teardown(void **state)
{
        struct ext_fixture *f = *state;
        char                cmd[128];
        crmsync_scenario_destroy(f->sc);
        crmsync_broker_destroy(f->broker);
        snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
        if (system(cmd) != 0)
                fprintf(stderr, "could not remove %s\n", f->dir);
        free(f);
        return 0;
}

/* An embedded target's client properties go to the clients' file, after
 * the embedded broker's bootstrap.servers. */
static void test_embedded_properties_reach_the_clients(void **state)
{
        struct fixture *f          = *state;
        char            text[2048] = "", *lz4, *boot;
        FILE           *fp;
        size_t          n;
        cluster_t      *c;
        char            errstr[512];

        crmsync_cluster_close(f->c);
        f->sc->embedded_properties =
            json_pack("{s:s}", "compression.type", "lz4");
        c = crmsync_cluster_open(f->sc, f->props, f->log, errstr,
                                 sizeof(errstr));
        if (!c)
                fail_msg("open: %s", errstr);
        f->c = c;
        fp   = fopen(f->props, "r");
        assert_non_null(fp);
        n = fread(text, 1, sizeof(text) - 1, fp);
        fclose(fp);
        text[n] = '\0';
        boot    = strstr(text, "\nbootstrap.servers=127.0.0.1:");
        lz4     = strstr(text, "\ncompression.type=lz4\n");
        assert_non_null(boot);
        assert_non_null(lz4);
        assert_true(boot < lz4);
}

static cluster_t *open_with_log(struct ext_fixture *f, const char *log)
{
        char       props[128], errstr[512];
        cluster_t *c;
        snprintf(props, sizeof(props), "%s/kafka.properties", f->dir);
        c = crmsync_cluster_open(f->sc, props, log, errstr, sizeof(errstr));
        if (!c)
                fprintf(stderr, "open: %s\n", errstr);
        assert_non_null(c);
        return c;
}

static void test_full_log_skips_the_fault(void **state)
{
        struct ext_fixture *f        = *state;
        cluster_t          *c        = open_with_log(f, "/dev/full");
        json_t             *p        = json_pack("{s:i}", "broker", 1);
        char                why[512] = "";

        assert_int_equal(
            crmsync_cluster_fault(c, "broker_restart", p, 1, why, sizeof(why)),
            -1);
        assert_non_null(strstr(why, "/dev/full: No space left on device"));
        json_decref(p);
        crmsync_cluster_close(c);
}

static void test_writable_log_gets_the_command(void **state)
{
        struct ext_fixture *f = *state;
        char                log[128], text[256] = "";
        cluster_t          *c;
        json_t             *p        = json_pack("{s:i}", "broker", 2);
        char                why[512] = "";
        FILE               *fp;
        size_t              n;

        snprintf(log, sizeof(log), "%s/fault-commands.log", f->dir);
        c = open_with_log(f, log);
        assert_int_equal(
            crmsync_cluster_fault(c, "broker_restart", p, 1, why, sizeof(why)),
            0);
        crmsync_cluster_close(c); /* waits for the command */
        fp = fopen(log, "r");
        assert_non_null(fp);
        n       = fread(text, 1, sizeof(text) - 1, fp);
        text[n] = '\0';
        fclose(fp);
        assert_string_equal(text, "$ echo down 2\ndown 2\n");
        json_decref(p);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_leader_move_to_missing_partition_fails),
            cmocka_unit_test(test_leader_move_to_existing_partition),
            cmocka_unit_test(test_missing_broker_fails),
            /* last: it reopens the group's cluster */
            cmocka_unit_test(test_embedded_properties_reach_the_clients),
        };
        const struct CMUnitTest ext_tests[] = {
            cmocka_unit_test_setup_teardown(test_full_log_skips_the_fault,
                                            ext_setup, ext_teardown),
            cmocka_unit_test_setup_teardown(test_writable_log_gets_the_command,
                                            ext_setup, ext_teardown),
        };
        return cmocka_run_group_tests(tests, setup, teardown) +
               cmocka_run_group_tests(ext_tests, NULL, NULL);
}
