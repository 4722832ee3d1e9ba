/* cmd_probe.c -- `crmsync probe TARGET`: the compatibility checklist of a
 * target file (harness/compat.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_opt.h"
#include "crmsync/common.h"
#include "harness/compat.h"

static const char intro[] =
    "Usage: crmsync probe [options] TARGET\n\n"
    "Run the compatibility checklist against the cluster of a target file\n"
    "(docs/targets.md): ApiVersions, produce acks=all, idempotent producer,\n"
    "transactions, consumer group, ListOffsets (earliest, latest, by "
    "timestamp),\nheaders, compacted topic with tombstones, DescribeConfigs, "
    "CreateTopics,\nDeleteTopics, metadata RTT and produce p50/p99, the "
    "largest accepted\nmessage, DeleteRecords. Each item is pass, fail or "
    "unsupported, with the\nAPI version used and the broker's error. An "
    "embedded target is started\nfor the probe.\n";
static const char epilog[] =
    "Exit codes: 0 no item failed (unsupported is not a failure), 1 an "
    "item\nfailed, 2 bad target file or unreachable cluster.\n";

int crmsync_cmd_probe(int argc, char **argv)
{
        const char             *json_path = NULL;
        uint32_t                tmo       = 5000;
        char                    errstr[1024], *files[1];
        struct scenario_target *t;
        json_t                 *res;
        int                     fails, nfiles = 0, rc;
        const struct cli_opt    opts[] = {
               CLI_OPT("json", CLI_STR, &json_path, "FILE",
                       "also write the result as JSON ('-': stdout, no table)"),
               CLI_OPT("timeout-ms", CLI_U32, &tmo, "N",
                       "bound on each step (default 5000)", .unit = "ms",
                       .lo = 100, .hi = 600000),
               CLI_OPT_END,
        };
        const struct cli_cmd cmd = {"probe", intro, opts, epilog, 1};

        if ((rc = crmsync_cli_parse(&cmd, argc, argv, files, &nfiles)))
                return rc == CLI_HELP ? 0 : 2;
        if (nfiles != 1) {
                fprintf(stderr, "crmsync probe: expected one target file\n\n");
                crmsync_cli_usage(&cmd, stderr);
                return 2;
        }
        if (!(t = crmsync_target_load(files[0], errstr, sizeof(errstr)))) {
                fprintf(stderr, "crmsync probe: %s\n", errstr);
                return 2;
        }
        res = crmsync_compat_probe(t, (int)tmo, errstr, sizeof(errstr));
        crmsync_target_destroy(t);
        if (!res) {
                fprintf(stderr, "crmsync probe: %s\n", errstr);
                return 2;
        }
        if (!json_path || strcmp(json_path, "-")) {
                printf("Compatibility of target '%s' (%s, %s)\n\n",
                       json_string_value(json_object_get(res, "target")),
                       json_string_value(json_object_get(res, "type")),
                       json_string_value(
                           json_object_get(res, "bootstrap_servers")));
                crmsync_compat_markdown(res, 1, stdout);
        }
        if (json_path &&
            json_dump_file(res,
                           strcmp(json_path, "-") ? json_path : "/dev/stdout",
                           JSON_INDENT(2)) == -1) {
                fprintf(stderr, "crmsync probe: cannot write %s\n", json_path);
                json_decref(res);
                return 2;
        }
        fails = (int)json_integer_value(
            json_object_get(json_object_get(res, "counts"), "fail"));
        json_decref(res);
        return fails ? 1 : 0;
}
