/* test_svg_chart.c -- reports/svg_chart.c, linked with crmsync_reports
 * alone: the published x mapping, bands where the mapping puts them, hover
 * titles, gaps, escaping, bars, log axes, limits and file errors. */
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

#include "crmsync/svg_chart.h"

/* The chart as written, NUL-terminated; the caller frees it. */
static char *render(const svg_chart_t *c)
{
        char  *buf = NULL;
        size_t len = 0;
        FILE  *fp  = open_memstream(&buf, &len);
        assert_non_null(fp);
        assert_int_equal(crmsync_svg_chart_write(c, fp), 0);
        fclose(fp);
        return buf;
}

static double attr(const char *svg, const char *name)
{
        char        key[64];
        const char *p;
        snprintf(key, sizeof(key), "%s=\"", name);
        p = strstr(svg, key);
        assert_non_null(p);
        return strtod(p + strlen(key), NULL);
}

static size_t count(const char *s, const char *needle)
{
        size_t n = 0;
        for (const char *p = s; (p = strstr(p, needle)); p++)
                n++;
        return n;
}

static svg_chart_t *timeline(void)
{
        double       x[11], y[11], lat[11];
        svg_chart_t *c = crmsync_svg_chart_new("t", "Timeline", 0, 0);
        assert_non_null(c);
        for (int i = 0; i <= 10; i++) {
                x[i]   = i;
                y[i]   = 100 + i;
                lat[i] = i == 5 ? NAN : 10.0 * i;
        }
        crmsync_svg_chart_axis(c, CRMSYNC_SVG_X, "time", "s", 0, 10, 0);
        crmsync_svg_chart_axis(c, CRMSYNC_SVG_Y, "rate", "changes/s", 0, NAN,
                               0);
        crmsync_svg_chart_axis(c, CRMSYNC_SVG_Y2, "latency", "ms", 0, NAN, 0);
        assert_int_equal(crmsync_svg_chart_line(c, "commits/s", NULL,
                                                CRMSYNC_SVG_Y, x, y, 11),
                         0);
        assert_int_equal(crmsync_svg_chart_line(c, "p99", "#d62728",
                                                CRMSYNC_SVG_Y2, x, lat, 11),
                         0);
        assert_int_equal(
            crmsync_svg_chart_band(c, 2.5, 4.25, "F0 <sink> & co", NULL), 0);
        assert_int_equal(crmsync_svg_chart_band(c, 7, NAN, "F1 open", NULL), 0);
        assert_int_equal(crmsync_svg_chart_marker(c, 9, "converged", NULL), 0);
        return c;
}

/* Bands sit where the published mapping says: x = left + (v - min) /
 * (max - min) * (right - left). */
static void test_band_positions(void **state)
{
        svg_chart_t *c   = timeline();
        char        *svg = render(c);
        double       l   = attr(svg, "data-plot-left"),
               r         = attr(svg, "data-plot-right");
        double      lo = attr(svg, "data-x-min"), hi = attr(svg, "data-x-max");
        const char *band = strstr(svg, "<rect class=\"band\"");
        (void)state;

        assert_true(lo == 0 && hi == 10);
        assert_true(r > l);
        assert_non_null(band);
        double x0 = attr(band, "x"), w = attr(band, "width");
        assert_true(fabs(x0 - (l + 0.25 * (r - l))) < 0.01);
        assert_true(fabs(x0 + w - (l + 0.425 * (r - l))) < 0.01);
        assert_true(fabs(crmsync_svg_chart_px(c, 2.5) - x0) < 0.01);
        assert_true(strstr(band, "data-x0=\"2.500\" data-x1=\"4.25\""));
        /* The open band runs to the right edge. */
        band = strstr(band + 1, "<rect class=\"band\"");
        assert_non_null(band);
        assert_true(fabs(attr(band, "x") + attr(band, "width") - r) < 0.01);
        assert_true(strstr(band, "data-x1=\"open\""));
        assert_int_equal(count(svg, "class=\"band\""), 2);
        free(svg);
        crmsync_svg_chart_free(c);
}

static void test_titles_gaps_escaping(void **state)
{
        svg_chart_t *c   = timeline();
        char        *svg = render(c), *again = render(c);
        const char  *p99;
        (void)state;

        /* Every point hovers its value with units. */
        assert_non_null(
            strstr(svg, "<title>commits/s: 103 changes/s at 3 time s</title>"));
        assert_non_null(strstr(svg, "<title>p99: 40 ms at 4 time s</title>"));
        /* 11 + 10 dots (the NAN is a gap, not a dot). */
        assert_int_equal(count(svg, "<circle"), 21);
        p99 = strstr(svg, "data-name=\"p99\"");
        assert_non_null(p99);
        assert_int_equal(count(strstr(p99, " d=\""), " M") -
                             count(strstr(p99, "</g>"), " M"),
                         2);
        /* Text is escaped; the axis titles carry units. */
        assert_non_null(strstr(svg, "F0 &lt;sink&gt; &amp; co"));
        assert_null(strstr(svg, "<sink>"));
        assert_non_null(strstr(svg, "rate (changes/s)"));
        assert_non_null(strstr(svg, "latency (ms)"));
        assert_non_null(strstr(svg, "time (s)"));
        assert_non_null(strstr(svg, "class=\"marker\""));
        /* Deterministic. */
        assert_string_equal(svg, again);
        free(svg);
        free(again);
        crmsync_svg_chart_free(c);
}

static void test_bars_and_log(void **state)
{
        svg_chart_t *c    = crmsync_svg_chart_new("b", "Anomalies", 400, 200);
        double       x[3] = {1, 10, 1000}, y[3] = {5, 50, 500};
        char        *svg;
        (void)state;

        crmsync_svg_chart_axis(c, CRMSYNC_SVG_Y, "count", "anomalies", 0, NAN,
                               0);
        assert_int_equal(crmsync_svg_chart_bar(c, "stale", 3, NULL, NULL), 0);
        assert_int_equal(
            crmsync_svg_chart_bar(c, "lost", 7, "#d62728", "lost: 7 <x>"), 0);
        assert_int_equal(crmsync_svg_chart_bar(c, "run", NAN, "#000", NULL), 0);
        svg = render(c);
        assert_int_equal(count(svg, "class=\"bar\""), 3);
        /* No value: the whole height, faint, said so. */
        assert_non_null(strstr(svg, "fill-opacity=\"0.3\""));
        assert_non_null(strstr(svg, ">no value</text>"));
        assert_non_null(strstr(svg, "<title>stale: 3 anomalies</title>"));
        assert_non_null(strstr(svg, "<title>lost: 7 &lt;x&gt;</title>"));
        free(svg);
        crmsync_svg_chart_free(c);

        c = crmsync_svg_chart_new("l", "Log", 0, 0);
        crmsync_svg_chart_axis(c, CRMSYNC_SVG_X, "x", "", NAN, NAN,
                               CRMSYNC_SVG_LOG);
        crmsync_svg_chart_axis(c, CRMSYNC_SVG_Y, "y", "ms", NAN, NAN,
                               CRMSYNC_SVG_LOG);
        crmsync_svg_chart_line(c, "s", NULL, CRMSYNC_SVG_Y, x, y, 3);
        svg = render(c);
        assert_non_null(strstr(svg, "data-x-scale=\"log\""));
        assert_true(attr(svg, "data-x-min") == 1 &&
                    attr(svg, "data-x-max") == 1000);
        /* Decade ticks. */
        assert_non_null(strstr(svg, ">100</text>"));
        assert_true(
            fabs(crmsync_svg_chart_px(c, 10) -
                 (attr(svg, "data-plot-left") +
                  (attr(svg, "data-plot-right") - attr(svg, "data-plot-left")) /
                      3)) < 0.01);
        free(svg);
        crmsync_svg_chart_free(c);
}

static void test_custom_ticks_and_limits(void **state)
{
        svg_chart_t      *c      = crmsync_svg_chart_new("k", "Ticks", 0, 0);
        double            at[2]  = {0, 2};
        const char *const labs[] = {"50%", "99%"};
        double            x[1] = {1}, y[1] = {1};
        char             *svg;
        (void)state;

        crmsync_svg_chart_axis(c, CRMSYNC_SVG_X, "percentile", "", 0, 2, 0);
        assert_int_equal(crmsync_svg_chart_ticks(c, CRMSYNC_SVG_X, at, labs, 2),
                         0);
        crmsync_svg_chart_line(c, "s", NULL, CRMSYNC_SVG_Y, x, y, 1);
        {
                const char *const t[] = {"p50: 7 ms"};
                assert_int_equal(crmsync_svg_chart_point_titles(c, t, 1), 0);
                /* Once per series, and only with one title a point. */
                assert_int_equal(crmsync_svg_chart_point_titles(c, t, 1), -1);
                assert_int_equal(crmsync_svg_chart_point_titles(c, t, 2), -1);
        }
        svg = render(c);
        assert_non_null(strstr(svg, ">50%</text>"));
        assert_non_null(strstr(svg, ">99%</text>"));
        assert_non_null(strstr(svg, "<title>p50: 7 ms</title>"));
        free(svg);
        for (int i = 1; i < CRMSYNC_SVG_MAX_SERIES; i++)
                assert_int_equal(crmsync_svg_chart_line(c, "s", NULL,
                                                        CRMSYNC_SVG_Y, x, y, 1),
                                 0);
        assert_int_equal(
            crmsync_svg_chart_line(c, "s", NULL, CRMSYNC_SVG_Y, x, y, 1), -1);
        crmsync_svg_chart_free(c);
        crmsync_svg_chart_free(NULL);
}

static void test_save(void **state)
{
        svg_chart_t *c     = timeline();
        char         dir[] = "/tmp/test_svg_chartXXXXXX", path[128], err[256];
        FILE        *fp;
        char         head[64] = {0};
        (void)state;

        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/t.svg", dir);
        assert_int_equal(crmsync_svg_chart_save(c, path, err, sizeof(err)), 0);
        fp = fopen(path, "r");
        assert_non_null(fp);
        assert_true(fread(head, 1, sizeof(head) - 1, fp) > 0);
        fclose(fp);
        assert_non_null(strstr(head, "<?xml"));
        unlink(path);
        snprintf(path, sizeof(path), "%s/no/such/t.svg", dir);
        assert_int_equal(crmsync_svg_chart_save(c, path, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "no/such/t.svg"));
        rmdir(dir);
        crmsync_svg_chart_free(c);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_band_positions),
            cmocka_unit_test(test_titles_gaps_escaping),
            cmocka_unit_test(test_bars_and_log),
            cmocka_unit_test(test_custom_ticks_and_limits),
            cmocka_unit_test(test_save),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
