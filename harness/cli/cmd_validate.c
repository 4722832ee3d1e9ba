/* cmd_validate.c -- `crmsync validate PATH...`: check scenario files. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "harness/scenario.h"

#define VALIDATE_MAX_DEPTH 8

/* A target file (docs/targets.md) has fields no scenario has at its top
 * level; anything else is checked as a scenario. */
static int is_target_file(const char *path)
{
        static const char *const marks[] = {"properties", "type", "brokers",
                                            "commands", "topics"};
        json_t                  *root    = json_load_file(path, 0, NULL);
        int                      yes     = 0;
        for (size_t i = 0; json_is_object(root) && i < 5; i++)
                if (json_object_get(root, marks[i]))
                        yes = 1;
        json_decref(root);
        return yes;
}

static int validate_target(const char *path)
{
        char                    errstr[1024];
        struct scenario_target *t =
            crmsync_target_load(path, errstr, sizeof(errstr));
        if (!t) {
                fprintf(stderr, "%s\n", errstr);
                return 1;
        }
        printf("ok %s (target %s, %s)\n", path, t->name,
               t->embedded ? "embedded" : "external");
        crmsync_target_destroy(t);
        return 0;
}

static int validate_file(const char *path, int *files)
{
        char             errstr[1024];
        struct scenario *sc;
        (*files)++;
        if (is_target_file(path))
                return validate_target(path);
        sc = crmsync_scenario_load(path, errstr, sizeof(errstr));
        if (!sc) {
                fprintf(stderr, "%s\n", errstr);
                return 1;
        }
        printf("ok %s (%s, %d faults)\n", path, sc->name, sc->fault_cnt);
        crmsync_scenario_destroy(sc);
        return 0;
}

static int compare_names(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Validates every *.json under dir, in name order; returns error count. */
static int validate_dir(const char *dir, int depth, int *files)
{
        DIR           *d = opendir(dir);
        struct dirent *de;
        char         **names = NULL;
        size_t         n = 0, size = 0;
        int            errors = 0;

        if (!d) {
                fprintf(stderr, "%s: cannot open folder\n", dir);
                return 1;
        }
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                if (n == size) {
                        size      = size ? size * 2 : 32;
                        char **nn = realloc(names, size * sizeof(*nn));
                        if (!nn)
                                break;
                        names = nn;
                }
                names[n++] = strdup(de->d_name);
        }
        closedir(d);
        qsort(names, n, sizeof(*names), compare_names);
        for (size_t i = 0; i < n; i++) {
                char        path[4096];
                struct stat st;
                size_t      len = strlen(names[i]);
                snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
                if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
                        if (depth < VALIDATE_MAX_DEPTH)
                                errors += validate_dir(path, depth + 1, files);
                } else if (len > 5 && !strcmp(names[i] + len - 5, ".json")) {
                        errors += validate_file(path, files);
                }
                free(names[i]);
        }
        free(names);
        return errors;
}

int crmsync_cmd_validate(int argc, char **argv)
{
        int errors = 0, files = 0;
        if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
                fprintf(argc < 2 ? stderr : stdout,
                        "Usage: crmsync validate FILE|FOLDER...\n\n"
                        "Check scenario and target files strictly: unknown "
                        "fields, wrong "
                        "types, out-of-range\nvalues and overlapping exclusive "
                        "faults are errors reported as\nfile:line:column: "
                        "field: message. Folders are searched for *.json.\n"
                        "Exit codes: 0 all valid, 2 any invalid.\n");
                return argc < 2 ? 2 : 0;
        }
        for (int i = 1; i < argc; i++) {
                struct stat st;
                if (stat(argv[i], &st) == -1) {
                        fprintf(stderr, "%s: no such file or folder\n",
                                argv[i]);
                        errors++;
                } else if (S_ISDIR(st.st_mode)) {
                        errors += validate_dir(argv[i], 0, &files);
                } else {
                        errors += validate_file(argv[i], &files);
                }
        }
        if (!errors && !files) {
                fprintf(stderr, "no scenario files found\n");
                return 2;
        }
        printf("%d file(s), %d invalid\n", files, errors);
        return errors ? 2 : 0;
}
