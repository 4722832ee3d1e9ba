/* test_lib.c -- the lib/ primitives, linked with crmsync_lib alone: hash,
 * PRNGs, HMAC/base64, the size-capped buffer, JSON error bodies and the
 * properties-file reader. Expected values come from outside this code:
 * FNV-1a 64 from the FNV reference vectors, HMAC-SHA256 from RFC 4231
 * test case 2, splitmix64/xoshiro256** from a Python transcription of
 * the reference C (Vigna), computed when this test was written. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crmsync/common.h"
#include "crmsync/dynbuf.h"
#include "crmsync/hash.h"
#include "crmsync/hmac.h"
#include "crmsync/http_reply.h"
#include "crmsync/json_util.h"
#include "crmsync/kafka_props.h"
#include "crmsync/log.h"
#include "crmsync/rand.h"
#include "crmsync/strmap.h"

static void test_fnv1a64(void **state)
{
        (void)state;
        assert_true(crmsync_fnv1a64_str("") == 0xcbf29ce484222325ULL);
        assert_true(crmsync_fnv1a64_str("a") == 0xaf63dc4c8601ec8cULL);
        assert_true(crmsync_fnv1a64_str("foobar") == 0x85944171f73967e8ULL);
        assert_true(crmsync_fnv1a64("foobar", 6) == 0x85944171f73967e8ULL);
        assert_true(crmsync_fnv1a64(NULL, 0) == 0xcbf29ce484222325ULL);
}

static void test_rand(void **state)
{
        uint64_t           s = 0;
        struct crmsync_rng r;
        (void)state;

        assert_true(crmsync_splitmix64(&s) == 0xe220a8397b1dcdafULL);
        assert_true(crmsync_splitmix64(&s) == 0x6e789e6aa1b965f4ULL);
        crmsync_rng_seed(&r, 42);
        assert_true(crmsync_rng_next(&r) == 0x15780b2e0c2ec716ULL);
        assert_true(crmsync_rng_next(&r) == 0x6104d9866d113a7eULL);
        assert_true(crmsync_rng_next(&r) == 0xae17533239e499a1ULL);
        for (int i = 0; i < 1000; i++) {
                double u = crmsync_rng_unit(&r);
                assert_true(u >= 0.0 && u < 1.0);
                assert_true(crmsync_rng_below(&r, 7) < 7);
                u = crmsync_splitmix64_unit(&s);
                assert_true(u >= 0.0 && u < 1.0);
        }
}

static void test_hmac(void **state)
{
        static const char  want[] = "5bdcc146bf60754e6a042426089575c7"
                                    "5a003f089d2739839dec58b964ec3843";
        unsigned char      mac[CRMSYNC_SHA256_LEN];
        char               hex[2 * CRMSYNC_SHA256_LEN + 1];
        char               b64[CRMSYNC_SHA256_B64_SIZE];
        struct crmsync_iov parts[] = {
            {"what do ya ", 11}, {NULL, 0}, {"want for nothing?", 17}};
        (void)state;

        assert_int_equal(crmsync_hmac_sha256("Jefe", 4, parts, 3, mac), 0);
        for (int i = 0; i < CRMSYNC_SHA256_LEN; i++)
                snprintf(hex + 2 * i, 3, "%02x", mac[i]);
        assert_string_equal(hex, want);
        assert_int_equal(crmsync_base64_encode((const unsigned char *)"foob", 4,
                                               b64, sizeof(b64)),
                         8);
        assert_string_equal(b64, "Zm9vYg==");
        assert_int_equal(crmsync_base64_encode(mac, sizeof(mac), b64, 44), -1);
        assert_true(crmsync_ct_equal("abc", "abc", 3));
        assert_false(crmsync_ct_equal("abc", "abd", 3));
}

static void test_dynbuf(void **state)
{
        struct crmsync_dynbuf b;
        char                 *p;
        (void)state;

        crmsync_dynbuf_init(&b, 8); /* 7 bytes + NUL */
        assert_string_equal(crmsync_dynbuf_ptr(&b), "");
        assert_int_equal(crmsync_dynbuf_add(&b, "abcd", 4), 0);
        assert_int_equal(crmsync_dynbuf_add(&b, "efg", 3), 0);
        assert_string_equal(crmsync_dynbuf_ptr(&b), "abcdefg");
        /* Too large is its own error and leaves the contents alone. */
        assert_int_equal(crmsync_dynbuf_add(&b, "h", 1),
                         CRMSYNC_DYNBUF_TOO_LARGE);
        assert_int_equal(crmsync_dynbuf_add(&b, "h", SIZE_MAX),
                         CRMSYNC_DYNBUF_TOO_LARGE);
        assert_int_equal(crmsync_dynbuf_len(&b), 7);
        assert_string_equal(crmsync_dynbuf_ptr(&b), "abcdefg");
        assert_true(b.too_large);
        crmsync_dynbuf_reset(&b);
        assert_false(b.too_large);
        assert_int_equal(crmsync_dynbuf_len(&b), 0);
        /* As a libcurl write callback: all taken, or 0 to abort. */
        assert_int_equal(crmsync_dynbuf_curl_write("abc", 1, 3, &b), 3);
        assert_int_equal(crmsync_dynbuf_curl_write("defgh", 1, 5, &b), 0);
        assert_true(b.too_large);
        assert_string_equal(crmsync_dynbuf_ptr(&b), "abc");
        crmsync_dynbuf_reset(&b);
        assert_string_equal(crmsync_dynbuf_ptr(&b), "");
        assert_int_equal(crmsync_dynbuf_add(&b, "xy", 2), 0);
        p = crmsync_dynbuf_take(&b);
        assert_string_equal(p, "xy");
        free(p);
        assert_int_equal(crmsync_dynbuf_len(&b), 0);
        assert_null(crmsync_dynbuf_take(&b));
        crmsync_dynbuf_free(&b);
        crmsync_dynbuf_free(&b); /* twice is fine */
}

static void test_json_error(void **state)
{
        char *t;
        (void)state;

        t = crmsync_json_error("bad_request", "field \"x\"");
        assert_string_equal(t, "{\"error\":\"bad_request\",\"message\":"
                               "\"field \\\"x\\\"\"}");
        free(t);
        t = crmsync_json_error("not_found", NULL);
        assert_string_equal(t, "{\"error\":\"not_found\"}");
        free(t);
        assert_string_equal(crmsync_http_reason(429), "Too Many Requests");
        assert_string_equal(crmsync_http_reason(299), "Status");
}

/* Dotted paths into nested objects; anything else is NULL / NAN. */
static void test_json_path(void **state)
{
        json_t *o = json_pack("{s:{s:{s:f}, s:s}, s:i}", "a", "b", "c", 2.5,
                              "s", "x", "n", 7);
        (void)state;

        assert_non_null(o);
        assert_true(crmsync_json_num(o, "a.b.c") == 2.5);
        assert_true(crmsync_json_num(o, "n") == 7);
        assert_true(isnan(crmsync_json_num(o, "a.s")));   /* a string */
        assert_true(isnan(crmsync_json_num(o, "a.b")));   /* an object */
        assert_true(isnan(crmsync_json_num(o, "a.x.c"))); /* no such level */
        assert_true(isnan(crmsync_json_num(o, "n.c")));   /* not an object */
        assert_true(isnan(crmsync_json_num(NULL, "n")));
        assert_string_equal(json_string_value(crmsync_json_path(o, "a.s")),
                            "x");
        assert_ptr_equal(crmsync_json_path(o, "a"), json_object_get(o, "a"));
        assert_null(crmsync_json_path(
            o,
            "a.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
            "bbbbbbbbbb"));
        json_decref(o);
}

/* A Markdown cell: '|' escaped, a line break becomes a space. */
static void test_md_cell(void **state)
{
        char  *buf = NULL;
        size_t len = 0;
        FILE  *fp  = open_memstream(&buf, &len);
        (void)state;

        assert_non_null(fp);
        crmsync_md_cell(fp, "a|b\nc");
        crmsync_md_cell(fp, NULL);
        fclose(fp);
        assert_string_equal(buf, "a\\|b c");
        free(buf);
}

struct item {
        char key[16];
        int  v;
};

static const char *item_key(const void *v)
{
        return ((const struct item *)v)->key;
}

static void test_strmap(void **state)
{
        static struct item    items[1000];
        struct item           again = {"k42", -1};
        struct crmsync_strmap m;
        (void)state;

        crmsync_strmap_init(&m, item_key);
        assert_null(crmsync_strmap_get(&m, "k1"));
        for (int i = 0; i < 1000; i++) {
                snprintf(items[i].key, sizeof(items[i].key), "k%d", i);
                items[i].v = i;
                assert_int_equal(crmsync_strmap_put(&m, &items[i]), 0);
        }
        assert_int_equal(m.len, 1000);
        assert_true(m.len * 2 <= m.cap); /* load at most 1/2 */
        for (int i = 0; i < 1000; i++) {
                char k[16];
                snprintf(k, sizeof(k), "k%d", i);
                assert_ptr_equal(crmsync_strmap_get(&m, k), &items[i]);
        }
        assert_null(crmsync_strmap_get(&m, "k1000"));
        /* set replaces the value with the same key, or inserts. */
        assert_int_equal(crmsync_strmap_set(&m, &again), 0);
        assert_int_equal(m.len, 1000);
        assert_ptr_equal(crmsync_strmap_get(&m, "k42"), &again);
        crmsync_strmap_reset(&m);
        assert_int_equal(m.len, 0);
        assert_null(crmsync_strmap_get(&m, "k1"));
        crmsync_strmap_reset(&m); /* twice is fine */
}

static void progress(const char *tag, int64_t start, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        crmsync_vprogress(tag, start, fmt, ap);
        va_end(ap);
}

static void test_log(void **state)
{
        char   path[]   = "/tmp/crmsync-test-log-XXXXXX";
        char   got[256] = "", *line;
        double s1 = 0, s2 = 0;
        int    fd = mkstemp(path), saved = dup(2);
        FILE  *fp;
        (void)state;

        assert_true(fd >= 0 && saved >= 0);
        fflush(stderr);
        dup2(fd, 2);
        crmsync_log("profiler", "batch %d of %s", 3, "x");
        progress("capacity", crmsync_mono_ms() - 1500, "point %d", 2);
        progress(NULL, crmsync_mono_ms() - 12300, "%s", "done");
        fflush(stderr);
        dup2(saved, 2);
        close(saved);
        close(fd);
        fp = fopen(path, "r");
        assert_non_null(fp);
        assert_true(fread(got, 1, sizeof(got) - 1, fp) > 0);
        fclose(fp);
        unlink(path);
        /* The progress lines: "[capacity %6.1fs] " and "[%7.1fs] ". */
        line = strchr(got, '\n') + 1;
        assert_memory_equal(got, "profiler: batch 3 of x\n", line - got);
        assert_int_equal(strlen(line), strlen("[capacity    1.5s] point 2\n"
                                              "[   12.3s] done\n"));
        assert_int_equal(sscanf(line, "[capacity %lfs] point 2\n", &s1), 1);
        assert_memory_equal(line + 17, "] point 2\n[", 11);
        assert_int_equal(sscanf(line + 28, "%lfs] done\n", &s2), 1);
        assert_memory_equal(line + 35, "s] done\n", 8);
        assert_true(s1 >= 1.5 && s1 < 9.9 && s2 >= 12.3 && s2 < 99.9);
}

struct seen {
        char keys[256];
        int  n;
};

static int collect(void *opaque, const char *key, const char *val, char *err,
                   size_t err_size)
{
        struct seen *s = opaque;
        if (!strcmp(key, "refuse")) {
                snprintf(err, err_size, "no thanks");
                return -1;
        }
        s->n++;
        strncat(s->keys, key, sizeof(s->keys) - strlen(s->keys) - 1);
        strncat(s->keys, "=", sizeof(s->keys) - strlen(s->keys) - 1);
        strncat(s->keys, val, sizeof(s->keys) - strlen(s->keys) - 1);
        strncat(s->keys, ";", sizeof(s->keys) - strlen(s->keys) - 1);
        return 0;
}

static void write_file(const char *path, const char *text)
{
        FILE *fp = fopen(path, "w");
        assert_non_null(fp);
        fputs(text, fp);
        fclose(fp);
}

static void test_kafka_props(void **state)
{
        char        path[] = "/tmp/crmsync-test-lib-XXXXXX";
        char        errstr[256];
        struct seen s  = {{0}, 0};
        int         fd = mkstemp(path);
        (void)state;

        assert_true(fd >= 0);
        close(fd);
        write_file(path, "# comment\n\n a.b = 1 \nc=x=y\n");
        assert_int_equal(
            crmsync_kafka_props_read(path, collect, &s, errstr, sizeof(errstr)),
            0);
        assert_int_equal(s.n, 2);
        assert_string_equal(s.keys, "a.b=1;c=x=y;");
        write_file(path, "a=1\nrefuse=1\n");
        assert_int_equal(
            crmsync_kafka_props_read(path, collect, &s, errstr, sizeof(errstr)),
            -1);
        assert_non_null(strstr(errstr, ":2: property 'refuse': no thanks"));
        write_file(path, "a=1\n\njust-a-word\n");
        assert_int_equal(
            crmsync_kafka_props_read(path, collect, &s, errstr, sizeof(errstr)),
            -1);
        assert_non_null(strstr(errstr, ":3: expected key=value"));
        unlink(path);
        assert_int_equal(
            crmsync_kafka_props_read(path, collect, &s, errstr, sizeof(errstr)),
            -1);
        assert_non_null(strstr(errstr, path));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_fnv1a64),
            cmocka_unit_test(test_rand),
            cmocka_unit_test(test_hmac),
            cmocka_unit_test(test_dynbuf),
            cmocka_unit_test(test_strmap),
            cmocka_unit_test(test_log),
            cmocka_unit_test(test_json_error),
            cmocka_unit_test(test_json_path),
            cmocka_unit_test(test_md_cell),
            cmocka_unit_test(test_kafka_props),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
