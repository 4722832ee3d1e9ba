/* cmd_probe.c -- `crmsync probe TARGET`: the compatibility checklist of a
 * target file (harness/compat.c). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "crmsync/common.h"
#include "harness/compat.h"

static void usage(FILE *fp)
{
        fprintf(fp,
                "Usage: crmsync probe [options] TARGET\n\n"
                "Run the compatibility checklist against the cluster of a "
                "target file\n(docs/targets.md): ApiVersions, produce "
                "acks=all, idempotent producer,\ntransactions, consumer "
                "group, ListOffsets (earliest, latest, by timestamp),\n"
                "headers, compacted topic with tombstones, DescribeConfigs, "
                "CreateTopics,\nDeleteTopics, metadata RTT and produce "
                "p50/p99, the largest accepted\nmessage, DeleteRecords. "
                "Each item is pass, fail or unsupported, with the\nAPI "
                "version used and the broker's error. An embedded target is "
                "started\nfor the probe.\n\n"
                "Options:\n"
                "  --json FILE        also write the result as JSON ('-': "
                "stdout, no table)\n"
                "  --timeout-ms N     bound on each step (default 5000)\n\n"
                "Exit codes: 0 no item failed (unsupported is not a "
                "failure), 1 an item\nfailed, 2 bad target file or "
                "unreachable cluster.\n");
}

int crmsync_cmd_probe(int argc, char **argv)
{
        static const struct option opts[] = {
            {"json", required_argument, NULL, 'j'},
            {"timeout-ms", required_argument, NULL, 't'},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0}};
        const char             *json_path = NULL;
        uint64_t                tmo       = 5000;
        char                    errstr[1024];
        struct scenario_target *t;
        json_t                 *res;
        int                     c, fails;

        optind = 1;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                if (c == 'j') {
                        json_path = optarg;
                } else if (c == 't') {
                        if (crmsync_parse_u64(optarg, 100, 600000, &tmo)) {
                                fprintf(stderr,
                                        "crmsync probe: --timeout-ms: "
                                        "'%s' is not a number of "
                                        "milliseconds in [100, 600000]\n",
                                        optarg);
                                return 2;
                        }
                } else {
                        usage(c == 'h' ? stdout : stderr);
                        return c == 'h' ? 0 : 2;
                }
        }
        if (optind != argc - 1) {
                usage(stderr);
                return 2;
        }
        if (!(t = crmsync_target_load(argv[optind], errstr, sizeof(errstr)))) {
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
