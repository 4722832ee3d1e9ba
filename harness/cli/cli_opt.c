/* cli_opt.c -- the subcommands' shared option table: parse and --help. */
#include "cli_opt.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "crmsync/bugs.h"
#include "crmsync/common.h"

#define HELP_COLUMN 24

__attribute__((format(printf, 2, 3))) static int fail(const struct cli_cmd *cmd,
                                                      const char *fmt, ...)
{
        va_list ap;
        fprintf(stderr, "crmsync %s: ", cmd->name);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, " (see crmsync %s --help)\n", cmd->name);
        return CLI_ERROR;
}

/* The option named name (its first n characters): an exact match, else
 * the only option it is a prefix of. *ambiguous when several are. */
static const struct cli_opt *find(const struct cli_opt *opts, const char *name,
                                  size_t n, int *ambiguous)
{
        const struct cli_opt *hit = NULL;
        int                   cnt = 0;

        *ambiguous = 0;
        for (const struct cli_opt *o = opts; o->type != CLI_END; o++) {
                if (o->type == CLI_HEAD || strncmp(o->name, name, n))
                        continue;
                if (strlen(o->name) == n)
                        return o;
                hit = o;
                cnt++;
        }
        if (cnt > 1)
                *ambiguous = 1;
        return cnt == 1 ? hit : NULL;
}

static int choice_ok(const char *choices, const char *v)
{
        size_t n = strlen(v);
        for (const char *at = choices; n && *at;) {
                size_t m = strcspn(at, "|");
                if (m == n && !strncmp(at, v, n))
                        return 1;
                at += m + (at[m] == '|');
        }
        return 0;
}

static int set_number(const struct cli_cmd *cmd, const struct cli_opt *o,
                      const char *v)
{
        const char *unit = o->unit ? o->unit : "";
        const char *sp   = o->unit ? " " : "";
        uint64_t    u;
        double      d;
        char       *end;

        if (o->type == CLI_DOUBLE) {
                errno = 0;
                d     = *v ? strtod(v, &end) : NAN;
                if (!*v || errno || *end || !isfinite(d) || d < o->min ||
                    (o->above && d == o->min) || d > o->max)
                        return fail(cmd,
                                    o->above ? "--%s: '%s' is not a number "
                                               "above %g, up to %g%s%s"
                                             : "--%s: '%s' is not a number in "
                                               "%g..%g%s%s",
                                    o->name, v, o->min, o->max, sp, unit);
                *(double *)o->dest = d;
                return CLI_OK;
        }
        if (crmsync_parse_u64(v, o->lo, o->hi, &u))
                return fail(cmd,
                            "--%s: '%s' is not an integer in %llu..%llu%s%s",
                            o->name, v, (unsigned long long)o->lo,
                            (unsigned long long)o->hi, sp, unit);
        if (o->type == CLI_INT)
                *(int *)o->dest = (int)u;
        else if (o->type == CLI_U32)
                *(uint32_t *)o->dest = (uint32_t)u;
        else
                *(uint64_t *)o->dest = u;
        return CLI_OK;
}

/* Store the value v of option o. */
static int set(const struct cli_cmd *cmd, const struct cli_opt *o,
               const char *v)
{
        uint32_t bit;
        char     why[256] = "";

        switch (o->type) {
        case CLI_STR:
                *(const char **)o->dest = v;
                return CLI_OK;
        case CLI_CHOICE:
                if (!choice_ok(o->choices, v))
                        return fail(cmd, "--%s: '%s' is not one of %s", o->name,
                                    v, o->choices);
                *(const char **)o->dest = v;
                return CLI_OK;
        case CLI_BUG:
                if (!(bit = crmsync_bug_parse(v)))
                        return fail(cmd, "--%s: unknown bug '%s'; known: %s",
                                    o->name, v, crmsync_bug_names());
                *(uint32_t *)o->dest |= bit;
                return CLI_OK;
        case CLI_FLAG:
                *(int *)o->dest = 1;
                return CLI_OK;
        case CLI_CALL:
                if (o->call(o->dest, v, why, sizeof(why)))
                        return fail(cmd, "--%s: '%s': %s", o->name, v,
                                    *why ? why : "bad value");
                return CLI_OK;
        default:
                return set_number(cmd, o, v);
        }
}

/* One "--name[=value]" at argv[*i]; consumes the next argument as its
 * value when it needs one. */
static int parse_long(const struct cli_cmd *cmd, int argc, char **argv, int *i)
{
        const char           *name = argv[*i] + 2;
        const char           *eq   = strchr(name, '=');
        size_t                n    = eq ? (size_t)(eq - name) : strlen(name);
        int                   ambiguous;
        const struct cli_opt *o = find(cmd->opts, name, n, &ambiguous);

        if (!o && ambiguous)
                return fail(cmd, "option '--%.*s' is ambiguous", (int)n, name);
        if (!o)
                return fail(cmd, "unknown option '--%.*s'", (int)n, name);
        if (o->type == CLI_FLAG) {
                if (eq)
                        return fail(cmd, "--%s takes no value", o->name);
                return set(cmd, o, NULL);
        }
        if (eq)
                return set(cmd, o, eq + 1);
        if (*i + 1 >= argc)
                return fail(cmd, "--%s needs a value (%s)", o->name,
                            o->arg ? o->arg : "an argument");
        return set(cmd, o, argv[++*i]);
}

static int wants_help(int argc, char **argv)
{
        for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
                if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
                        return 1;
        return 0;
}

int crmsync_cli_parse(const struct cli_cmd *cmd, int argc, char **argv,
                      char **operands, int *operand_cnt)
{
        int nops = 0, only_operands = 0, rc;

        if (wants_help(argc, argv)) {
                crmsync_cli_usage(cmd, stdout);
                return CLI_HELP;
        }

        for (int i = 1; i < argc; i++) {
                const char *a = argv[i];
                if (!only_operands && !strcmp(a, "--")) {
                        only_operands = 1;
                        continue;
                }
                if (!only_operands && a[0] == '-' && a[1] == '-') {
                        if ((rc = parse_long(cmd, argc, argv, &i)))
                                return rc;
                        continue;
                }
                if (!only_operands && a[0] == '-' && a[1])
                        return fail(cmd, "unknown option '%s'", a);
                if (cmd->max_operands >= 0 && nops >= cmd->max_operands)
                        return fail(cmd, "unexpected argument '%s'", a);
                if (operands)
                        operands[nops] = argv[i];
                nops++;
        }
        if (operand_cnt)
                *operand_cnt = nops;
        return CLI_OK;
}

/* Print text, its lines after the first indented to the help column. */
static void print_help_text(FILE *fp, const char *text)
{
        for (const char *at = text; *at;) {
                size_t n = strcspn(at, "\n");
                fprintf(fp, "%.*s", (int)n, at);
                at += n;
                if (*at == '\n') {
                        at++;
                        fprintf(fp, "\n%*s", HELP_COLUMN, "");
                }
        }
}

static void print_range(FILE *fp, const struct cli_opt *o)
{
        const char *unit = o->unit ? o->unit : "";
        const char *sp   = o->unit ? " " : "";

        if (o->type == CLI_DOUBLE)
                fprintf(fp, " %s%g..%g%s%s]", o->above ? "(" : "[", o->min,
                        o->max, sp, unit);
        else if (o->type == CLI_INT || o->type == CLI_U32 || o->type == CLI_U64)
                fprintf(fp, " [%llu..%llu%s%s]", (unsigned long long)o->lo,
                        (unsigned long long)o->hi, sp, unit);
        else if (o->type == CLI_CHOICE)
                fprintf(fp, " [%s]", o->choices);
}

void crmsync_cli_usage(const struct cli_cmd *cmd, FILE *fp)
{
        fprintf(fp, "%s\nOptions:\n", cmd->intro);
        for (const struct cli_opt *o = cmd->opts; o->type != CLI_END; o++) {
                if (o->type == CLI_HEAD) {
                        fprintf(fp, "%s:\n", o->help);
                        continue;
                }
                int w = fprintf(fp, "  --%s%s%s", o->name, o->arg ? " " : "",
                                o->arg ? o->arg : "");
                if (w >= HELP_COLUMN)
                        fprintf(fp, "\n%*s", HELP_COLUMN, "");
                else
                        fprintf(fp, "%*s", HELP_COLUMN - w, "");
                print_help_text(fp, o->help ? o->help : "");
                print_range(fp, o);
                if (o->type == CLI_BUG)
                        fprintf(fp, " (repeatable): %s", crmsync_bug_names());
                fputc('\n', fp);
        }
        fprintf(fp, "  -h, --help%*sthis text\n", HELP_COLUMN - 12, "");
        if (cmd->epilog)
                fprintf(fp, "\n%s", cmd->epilog);
}
