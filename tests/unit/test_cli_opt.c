/* test_cli_opt.c -- the subcommands' shared option table: values, ranges,
 * operands, errors that name the option, and --help from the same rows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crmsync/bugs.h"
#include "harness/cli/cli_opt.h"

struct vals {
        uint32_t    n;
        uint64_t    big;
        int         port, flag;
        double      rate;
        const char *name, *mode;
        uint32_t    bugs;
        double      pos;
        const char *tags[2]; /* --tag, repeatable up to twice */
};

/* CLI_CALL: a repeatable option that keeps at most two values. */
static int add_tag(void *dest, const char *value, char *why, size_t n)
{
        struct vals *v = dest;
        int          i = v->tags[0] ? 1 : 0;

        if (v->tags[i] || !*value) {
                snprintf(why, n, "%s", *value ? "more than two" : "empty");
                return -1;
        }
        v->tags[i] = value;
        return 0;
}

/* Run the parser on a NULL-terminated list; what it printed on stdout and
 * stderr goes to out (one buffer). */
static int parse(struct vals *v, char *out, size_t out_size, char **ops,
                 int *nops, int max_operands, ...)
{
        char   *argv[32] = {"crmsync"};
        int     argc     = 1, rc, saved_out, saved_err;
        va_list ap;
        FILE   *tmp = tmpfile();
        size_t  n;

        va_start(ap, max_operands);
        while ((argv[argc] = va_arg(ap, char *)))
                argc++;
        va_end(ap);
        const struct cli_opt opts[] = {
            CLI_OPT("count", CLI_U32, &v->n, "N", "how many", .lo = 1,
                    .hi = 10),
            CLI_OPT("count-max", CLI_U64, &v->big, "N", "a large one",
                    .hi = UINT64_MAX),
            CLI_OPT("port", CLI_INT, &v->port, "PORT", "a port", .hi = 65535),
            CLI_OPT("rate", CLI_DOUBLE, &v->rate, "R", "per second",
                    .unit = "/s", .min = 0.5, .max = 2),
            CLI_OPT("name", CLI_STR, &v->name, "NAME", "a name"),
            CLI_OPT("mode", CLI_CHOICE, &v->mode, "MODE", "how",
                    .choices = "feed|poll"),
            CLI_OPT("flag", CLI_FLAG, &v->flag, NULL, "a switch"),
            CLI_OPT("bug", CLI_BUG, &v->bugs, "NAME", "a deliberate bug"),
            CLI_HEAD("More"),
            CLI_OPT("pos", CLI_DOUBLE, &v->pos, "S", "positive", .unit = "s",
                    .above = 1, .max = 60),
            CLI_OPT("tag", CLI_CALL, v, "T", "a tag (twice at most)",
                    .call = add_tag),
            CLI_OPT_END,
        };
        const struct cli_cmd cmd = {"t", "Usage: crmsync t\n", opts,
                                    "The end.\n", max_operands};
        fflush(stdout);
        fflush(stderr);
        saved_out = dup(1);
        saved_err = dup(2);
        dup2(fileno(tmp), 1);
        dup2(fileno(tmp), 2);
        rc = crmsync_cli_parse(&cmd, argc, argv, ops, nops);
        fflush(stdout);
        fflush(stderr);
        dup2(saved_out, 1);
        dup2(saved_err, 2);
        close(saved_out);
        close(saved_err);
        rewind(tmp);
        n      = fread(out, 1, out_size - 1, tmp);
        out[n] = '\0';
        fclose(tmp);
        return rc;
}

static void test_values_and_operands(void **state)
{
        struct vals v = {0};
        char        out[4096], *ops[32];
        int         nops = -1;
        (void)state;

        assert_int_equal(parse(&v, out, sizeof(out), ops, &nops, -1, "a",
                               "--count", "3", "--rate=0.5", "--name", "x", "b",
                               "--flag", "--mode", "poll", "--port=0",
                               "--count-m", "18446744073709551615", "--bug",
                               "no-dedupe", "--pos", "0.001", "--tag", "t1",
                               "--tag=t2", "--", "--count", NULL),
                         CLI_OK);
        assert_string_equal(out, "");
        assert_int_equal(v.n, 3);
        assert_true(v.rate == 0.5);
        assert_string_equal(v.name, "x");
        assert_string_equal(v.mode, "poll");
        assert_int_equal(v.flag, 1);
        assert_int_equal(v.port, 0);
        assert_true(v.big == UINT64_MAX);
        assert_int_equal(v.bugs, crmsync_bug_parse("no-dedupe"));
        assert_true(v.pos == 0.001);
        assert_string_equal(v.tags[0], "t1");
        assert_string_equal(v.tags[1], "t2");
        assert_int_equal(nops, 3);
        assert_string_equal(ops[0], "a");
        assert_string_equal(ops[1], "b");
        assert_string_equal(ops[2], "--count"); /* after "--" */
}

/* Each error names the option (or argument) and the rule it broke. */
static void test_errors_name_the_option(void **state)
{
        static const struct {
                const char *args[4];
                const char *want;
        } cases[] = {
            {{"--count", "0"}, "t: --count: '0' is not an integer in 1..10"},
            {{"--count", "11"}, "--count: '11' is not an integer in 1..10"},
            {{"--count", "3x"}, "--count: '3x' is not an integer"},
            {{"--count", "-1"}, "--count: '-1' is not an integer"},
            {{"--rate", "3"}, "--rate: '3' is not a number in 0.5..2 /s"},
            {{"--rate", "nan"}, "--rate: 'nan' is not a number"},
            {{"--rate="}, "--rate: '' is not a number"},
            {{"--port", "65536"},
             "--port: '65536' is not an integer in 0..65535"},
            {{"--mode", "push"}, "--mode: 'push' is not one of feed|poll"},
            {{"--bug", "nope"}, "--bug: unknown bug 'nope'; known: "},
            {{"--count"}, "--count needs a value (N)"},
            {{"--flag=1"}, "--flag takes no value"},
            {{"--nope"}, "unknown option '--nope'"},
            {{"--co", "1"}, "option '--co' is ambiguous"},
            {{"-x"}, "unknown option '-x'"},
            {{"a", "b"}, "unexpected argument 'b'"},
            {{"--pos", "0"}, "--pos: '0' is not a number above 0, up to 60 s"},
            {{"--pos", "61"}, "--pos: '61' is not a number above 0"},
            {{"--tag="}, "t: --tag: '': empty (see crmsync t --help)"},
            {{"--tag", "a", "--tag=b", "--tag=c"}, "--tag: 'c': more than two"},
            {{"--More", "1"}, "unknown option '--More'"},
            {{"--=1"}, "option '--' is ambiguous"},
        };
        (void)state;

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct vals v = {.n = 7};
                char        out[4096], *ops[32];
                int         rc = parse(&v, out, sizeof(out), ops, NULL, 1,
                                       cases[i].args[0], cases[i].args[1],
                                       cases[i].args[2], cases[i].args[3], NULL);
                if (rc != CLI_ERROR || !strstr(out, cases[i].want))
                        fail_msg("case %zu: rc %d, printed '%s', want '%s'", i,
                                 rc, out, cases[i].want);
                assert_int_equal(v.n, 7); /* untouched by a bad value */
        }
}

/* --help lists every row with its range, unit and choices; it wins over
 * an error elsewhere on the line. */
static void test_help(void **state)
{
        struct vals v = {0};
        char        out[8192], bug[1024];
        (void)state;

        assert_int_equal(parse(&v, out, sizeof(out), NULL, NULL, 0, "--count",
                               "0", "--help", NULL),
                         CLI_HELP);
        assert_non_null(strstr(out, "Usage: crmsync t\n\nOptions:\n"));
        assert_non_null(
            strstr(out, "  --count N             how many [1..10]\n"));
        assert_non_null(
            strstr(out, "--rate R              per second [0.5..2 /s]"));
        assert_non_null(strstr(out, "--mode MODE           how [feed|poll]"));
        assert_non_null(strstr(out, "--flag                a switch\n"));
        snprintf(bug, sizeof(bug),
                 "--bug NAME            a deliberate bug (repeatable): %s\n",
                 crmsync_bug_names());
        assert_non_null(strstr(out, bug));
        assert_non_null(strstr(out, "\nMore:\n  --pos S               positive "
                                    "(0..60 s]\n"));
        assert_non_null(strstr(out, "  --tag T               a tag (twice at "
                                    "most)\n"));
        assert_non_null(strstr(out, "  -h, --help            this text\n"));
        assert_non_null(strstr(out, "\nThe end.\n"));
        assert_int_equal(parse(&v, out, sizeof(out), NULL, NULL, 0, "-h", NULL),
                         CLI_HELP);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_values_and_operands),
            cmocka_unit_test(test_errors_name_the_option),
            cmocka_unit_test(test_help),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
