/* test_kafka_log.c -- the harness's Kafka client log: a write that fails
 * (a full disk, played by /dev/full) is reported, never silently lost. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/kafka_log.h"

static void test_full_disk_is_reported(void **state)
{
        (void)state;
        crmsync_kafka_log_open("/dev/full");
        assert_int_equal(crmsync_kafka_log_failed(), 0);
        crmsync_kafka_log_cb(NULL, 3, "FAIL", "broker down");
        assert_int_equal(crmsync_kafka_log_failed(), ENOSPC);
        /* The next run's log starts clean. */
        crmsync_kafka_log_close();
        assert_int_equal(crmsync_kafka_log_failed(), 0);
}

static void test_unopenable_file_is_reported(void **state)
{
        (void)state;
        crmsync_kafka_log_open("/nonexistent-dir/kafka-clients.log");
        assert_int_equal(crmsync_kafka_log_failed(), ENOENT);
        crmsync_kafka_log_close();
}

static void test_good_file_stays_quiet(void **state)
{
        char  path[] = "/tmp/test_kafka_log.XXXXXX";
        char  line[256];
        int   fd = mkstemp(path);
        FILE *fp;
        (void)state;

        assert_true(fd >= 0);
        close(fd);
        crmsync_kafka_log_open(path);
        crmsync_kafka_log_cb(NULL, 3, "FAIL", "broker down");
        assert_int_equal(crmsync_kafka_log_failed(), 0);
        crmsync_kafka_log_close();
        fp = fopen(path, "r");
        assert_non_null(fp);
        assert_non_null(fgets(line, sizeof(line), fp));
        assert_non_null(strstr(line, "|FAIL|-| broker down"));
        fclose(fp);
        unlink(path);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_full_disk_is_reported),
            cmocka_unit_test(test_unopenable_file_is_reported),
            cmocka_unit_test(test_good_file_stays_quiet),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
