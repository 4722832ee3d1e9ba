/* cli_opt.h -- one option table for the subcommands (harness/cli/cmd_*.c).
 *
 * Each option is a row: its long name, type, destination, unit, range and
 * help. crmsync_cli_parse() fills the destinations from argv and names the
 * option in every error ("crmsync connector: --page-size: '0' is not an
 * integer in 1..100000"); crmsync_cli_usage() prints --help from the same
 * rows, so the two cannot disagree. */
#ifndef CRMSYNC_CLI_OPT_H
#define CRMSYNC_CLI_OPT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum cli_type {
        CLI_END = 0, /* ends a table */
        CLI_STR,     /* const char **dest = the argument (borrowed from argv) */
        CLI_FLAG,    /* int *dest = 1; takes no argument */
        CLI_INT,     /* int *dest: an integer in [lo, hi] */
        CLI_U32,     /* uint32_t *dest: an integer in [lo, hi] */
        CLI_U64,     /* uint64_t *dest: an integer in [lo, hi] */
        CLI_DOUBLE,  /* double *dest: a finite number in [min, max] */
        CLI_CHOICE,  /* const char **dest: one of choices, "a|b|c" */
        CLI_BUG,     /* uint32_t *dest |= the named bug switch; repeatable */
        CLI_CALL,    /* call(dest, value, why, why_size): 0, or -1 with why */
        CLI_HEAD,    /* not an option: a heading "help:" in --help */
};

struct cli_opt {
        const char   *name; /* long name without "--" */
        enum cli_type type;
        void         *dest;
        const char   *arg;      /* the argument in --help: "N", "URL" */
        const char   *help;     /* lines separated by '\n', no final one */
        const char   *unit;     /* "ms", "s", ... or NULL */
        uint64_t      lo, hi;   /* CLI_INT, CLI_U32, CLI_U64 */
        double        min, max; /* CLI_DOUBLE */
        int           above;    /* CLI_DOUBLE: more than min, not equal */
        const char   *choices;  /* CLI_CHOICE */
        /* CLI_CALL: parse value into dest (repeatable options, lists);
         * on error write why (the error then reads "--name: 'value':
         * why") and return -1. */
        int (*call)(void *dest, const char *value, char *why, size_t why_size);
};

/* A row: CLI_OPT("page-size", CLI_U32, &cfg.page_size, "N", "events per
 * request (500)", .lo = 1, .hi = 100000); the table ends with CLI_OPT_END. */
#define CLI_OPT(name_, type_, dest_, arg_, help_, ...)                         \
        {                                                                      \
                .name = (name_), .type = (type_), .dest = (dest_),             \
                .arg = (arg_), .help = (help_), __VA_ARGS__                    \
        }
/* A heading between rows: CLI_HEAD("Catch-up") prints "Catch-up:". */
#define CLI_HEAD(help_)                                                        \
        {                                                                      \
                .name = "", .type = CLI_HEAD, .help = (help_)                  \
        }
#define CLI_OPT_END                                                            \
        {                                                                      \
                .type = CLI_END                                                \
        }

struct cli_cmd {
        const char *name;             /* "connector": errors start "crmsync
                                       * connector: " */
        const char           *intro;  /* --help text before the options */
        const struct cli_opt *opts;   /* ends with a CLI_END row */
        const char           *epilog; /* --help text after them, or NULL */
        int                   max_operands; /* arguments that are not
                                             * options; -1 = any */
};

enum cli_result { CLI_OK = 0, CLI_HELP = 1, CLI_ERROR = 2 };

/* Parse argv[1..argc-1]. Options may come before, between or after the
 * operands; "--" ends them; "--name=value" and "--name value" both work,
 * as does an unambiguous prefix of a name. The operands are stored, in
 * order, into operands (room for argc entries; may be NULL when
 * max_operands is 0) and counted in *operand_cnt (may be NULL).
 * -h or --help anywhere before "--" wins over any error in the others.
 * Returns CLI_OK; CLI_HELP after printing --help on stdout (-h, --help);
 * CLI_ERROR after printing an error naming the option on stderr. */
int crmsync_cli_parse(const struct cli_cmd *cmd, int argc, char **argv,
                      char **operands, int *operand_cnt);

/* The --help text: intro, one row per option (with its range and unit),
 * "-h, --help", epilog. */
void crmsync_cli_usage(const struct cli_cmd *cmd, FILE *fp);

#endif
