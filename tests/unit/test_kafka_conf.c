/* test_kafka_conf.c -- librdkafka property files: parsing and file:line
 * errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crmsync/pipeline.h"

static char *write_tmp(const char *text)
{
        char *path = strdup("/tmp/test_kafka_conf.XXXXXX");
        int   fd;
        FILE *fp;

        assert_non_null(path);
        fd = mkstemp(path);
        assert_true(fd >= 0);
        fp = fdopen(fd, "w");
        assert_non_null(fp);
        fputs(text, fp);
        fclose(fp);
        return path;
}

static void conf_get(rd_kafka_conf_t *conf, const char *key, char *out,
                     size_t out_size)
{
        size_t sz = out_size;
        assert_int_equal(rd_kafka_conf_get(conf, key, out, &sz),
                         RD_KAFKA_CONF_OK);
}

static void test_good_file_applies(void **state)
{
        char            *path;
        char             errstr[256] = "", val[128];
        rd_kafka_conf_t *conf        = rd_kafka_conf_new();
        (void)state;

        path = write_tmp("# librdkafka properties\n"
                         "\n"
                         "   linger.ms = 37  \n"
                         "\tclient.id=crm-test\n"
                         "  # indented comment\n"
                         "message.timeout.ms=123456\n"
                         "security.protocol=plaintext"); /* no final \n */
        assert_int_equal(
            crmsync_kafka_conf_file(conf, path, errstr, sizeof(errstr)), 0);
        conf_get(conf, "linger.ms", val, sizeof(val));
        assert_string_equal(val, "37");
        conf_get(conf, "client.id", val, sizeof(val));
        assert_string_equal(val, "crm-test");
        conf_get(conf, "message.timeout.ms", val, sizeof(val));
        assert_string_equal(val, "123456");
        unlink(path);
        free(path);
        rd_kafka_conf_destroy(conf);
}

static void test_bad_property_names_file_line(void **state)
{
        char            *path, want[512];
        char             errstr[512] = "";
        rd_kafka_conf_t *conf        = rd_kafka_conf_new();
        (void)state;

        path = write_tmp("# ok\nlinger.ms=5\n\nno.such.property=1\n");
        assert_int_equal(
            crmsync_kafka_conf_file(conf, path, errstr, sizeof(errstr)), -1);
        snprintf(want, sizeof(want),
                 "%s:4: property 'no.such.property': ", path);
        assert_non_null(strstr(errstr, want));
        unlink(path);
        free(path);
        rd_kafka_conf_destroy(conf);
}

static void test_bad_value_and_missing_equals(void **state)
{
        char            *path, want[512];
        char             errstr[512] = "";
        rd_kafka_conf_t *conf        = rd_kafka_conf_new();
        (void)state;

        path = write_tmp("linger.ms=not-a-number\n");
        assert_int_equal(
            crmsync_kafka_conf_file(conf, path, errstr, sizeof(errstr)), -1);
        snprintf(want, sizeof(want), "%s:1: property 'linger.ms': ", path);
        assert_non_null(strstr(errstr, want));
        unlink(path);
        free(path);

        path = write_tmp("linger.ms=5\njust-a-word\n");
        assert_int_equal(
            crmsync_kafka_conf_file(conf, path, errstr, sizeof(errstr)), -1);
        snprintf(want, sizeof(want), "%s:2: expected key=value", path);
        assert_non_null(strstr(errstr, want));
        unlink(path);
        free(path);
        rd_kafka_conf_destroy(conf);
}

static void test_missing_file(void **state)
{
        char             errstr[512] = "";
        rd_kafka_conf_t *conf        = rd_kafka_conf_new();
        (void)state;

        assert_int_equal(crmsync_kafka_conf_file(conf,
                                                 "/nonexistent/kafka.props",
                                                 errstr, sizeof(errstr)),
                         -1);
        assert_non_null(strstr(errstr, "/nonexistent/kafka.props"));
        assert_non_null(strstr(errstr, "No such file"));
        rd_kafka_conf_destroy(conf);
}

static void test_start_offsets(void **state)
{
        int64_t off[4];
        char    errstr[256] = "";
        (void)state;

        assert_int_equal(crmsync_start_offsets_parse("0:10,2:0,3:7", off, 4,
                                                     errstr, sizeof(errstr)),
                         0);
        assert_int_equal(off[0], 10);
        assert_int_equal(off[1], -1); /* not named */
        assert_int_equal(off[2], 0);
        assert_int_equal(off[3], 7);
        assert_int_equal(
            crmsync_start_offsets_parse("", off, 4, errstr, sizeof(errstr)), 0);
        assert_int_equal(off[0], -1);
        assert_int_equal(crmsync_start_offsets_parse("0:1,4:2", off, 4, errstr,
                                                     sizeof(errstr)),
                         -1);
        assert_non_null(strstr(errstr, "item 2"));
        assert_int_equal(
            crmsync_start_offsets_parse("0:x", off, 4, errstr, sizeof(errstr)),
            -1);
        assert_non_null(strstr(errstr, "offset 'x'"));
        assert_int_equal(
            crmsync_start_offsets_parse("0:-1", off, 4, errstr, sizeof(errstr)),
            -1);
        assert_int_equal(
            crmsync_start_offsets_parse("1-5", off, 4, errstr, sizeof(errstr)),
            -1);
        assert_non_null(strstr(errstr, "PARTITION:OFFSET"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_good_file_applies),
            cmocka_unit_test(test_bad_property_names_file_line),
            cmocka_unit_test(test_bad_value_and_missing_equals),
            cmocka_unit_test(test_missing_file),
            cmocka_unit_test(test_start_offsets),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
