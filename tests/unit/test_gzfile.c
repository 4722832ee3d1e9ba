/* test_gzfile.c -- lib/gzfile: a FILE over gzip. What is written comes back
 * through zlib's own reader and through `gzip -dc` (an independent
 * decoder); everything fflush'ed is readable before the file is closed (a
 * crash keeps it); a plain file reads as-is; rewind re-reads. */
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

#include "crmsync/gzfile.h"

#define LINES 20000

static char dir[] = "/tmp/crmsync-test-gzfile.XXXXXX";

static void path_of(char *buf, size_t n, const char *name)
{
        snprintf(buf, n, "%s/%s", dir, name);
}

static void write_lines(FILE *fp, int from, int to)
{
        for (int i = from; i < to; i++)
                assert_true(fprintf(fp,
                                    "{\"kind\":\"crm_commit\",\"event_id\":"
                                    "\"e-%08d\",\"version\":%d}\n",
                                    i, i % 7) > 0);
}

/* Reads fp to the end, checking each line is the next expected one. */
static int check_lines(FILE *fp, int to)
{
        char  *line = NULL, want[128];
        size_t cap  = 0;
        int    i    = 0;
        while (getline(&line, &cap, fp) != -1) {
                snprintf(want, sizeof(want),
                         "{\"kind\":\"crm_commit\",\"event_id\":\"e-%08d\","
                         "\"version\":%d}\n",
                         i, i % 7);
                assert_string_equal(line, want);
                i++;
        }
        free(line);
        assert_int_equal(i, to);
        return i;
}

static void test_roundtrip_and_size(void **state)
{
        char  p[256], cmd[600];
        FILE *fp;
        long  size;
        (void)state;
        path_of(p, sizeof(p), "a.jsonl.gz");
        assert_non_null(fp = crmsync_gzfile_open(p, "w"));
        write_lines(fp, 0, LINES);
        assert_int_equal(fclose(fp), 0);

        assert_non_null(fp = crmsync_gzfile_open(p, "r"));
        check_lines(fp, LINES);
        rewind(fp); /* the trace reads the history twice */
        check_lines(fp, LINES);
        assert_int_equal(fclose(fp), 0);

        /* gzip itself decodes it to the same bytes */
        snprintf(cmd, sizeof(cmd), "gzip -dc %s > %s/a.plain", p, dir);
        assert_int_equal(system(cmd), 0);
        path_of(p, sizeof(p), "a.plain");
        assert_non_null(fp = fopen(p, "r"));
        check_lines(fp, LINES);
        fclose(fp);

        /* and it is compressed: ~50 bytes a line in, far less out */
        path_of(p, sizeof(p), "a.jsonl.gz");
        assert_non_null(fp = fopen(p, "r"));
        fseek(fp, 0, SEEK_END);
        size = ftell(fp);
        fclose(fp);
        assert_true(size > 0 && size < LINES * 10);
}

/* What was fflush'ed is on disk, decodable, while the writer stays open
 * (as if the process were killed now). */
static void test_flushed_is_readable(void **state)
{
        char  p[256];
        FILE *wr, *rd;
        (void)state;
        path_of(p, sizeof(p), "b.jsonl.gz");
        assert_non_null(wr = crmsync_gzfile_open(p, "w"));
        write_lines(wr, 0, 1000);
        assert_int_equal(fflush(wr), 0);
        assert_non_null(rd = crmsync_gzfile_open(p, "r"));
        check_lines(rd, 1000);
        fclose(rd);
        fclose(wr);
}

static void test_plain_file_reads_as_is(void **state)
{
        char  p[256];
        FILE *fp;
        (void)state;
        path_of(p, sizeof(p), "c.jsonl");
        assert_non_null(fp = fopen(p, "w"));
        write_lines(fp, 0, 300);
        fclose(fp);
        assert_non_null(fp = crmsync_gzfile_open(p, "r"));
        check_lines(fp, 300);
        fclose(fp);
}

static void test_errors(void **state)
{
        char p[256];
        (void)state;
        path_of(p, sizeof(p), "no/such/dir/x.gz");
        errno = 0;
        assert_null(crmsync_gzfile_open(p, "w"));
        assert_int_not_equal(errno, 0);
        assert_null(crmsync_gzfile_open(p, "r"));
        assert_null(crmsync_gzfile_open(p, "a"));
}

static int setup(void **state)
{
        (void)state;
        return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
        char cmd[300];
        (void)state;
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_roundtrip_and_size),
            cmocka_unit_test(test_flushed_is_readable),
            cmocka_unit_test(test_plain_file_reads_as_is),
            cmocka_unit_test(test_errors),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
