/* pilot.c -- `crmsync pilot` (pilot.h): probe two targets, run the same
 * scenarios on each as a suite, gather the evidence into pilot.json and
 * write the scorecard (crmsync/pilot_report.h). */
#include "harness/pilot.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crmsync/common.h"
#include "crmsync/compare.h"
#include "crmsync/pilot_report.h"
#include "harness/capacity_model.h"
#include "harness/compat.h"
#include "harness/pilot_int.h"
#include "harness/scenario.h"
#include "harness/suite.h"

#define PILOT_MAX_FILES 64
#define PILOT_SCALE_OUT_MAX_S 600

static int by_name(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The scenario files of paths: a file itself, a folder its *.json in
 * name order. Returns the count, or -1 + errstr. */
static int collect(int n, char *const *paths, char **files, char *errstr,
                   size_t errstr_size)
{
        int cnt = 0;
        for (int i = 0; i < n; i++) {
                struct stat    st;
                DIR           *d;
                struct dirent *de;
                int            first = cnt;
                if (stat(paths[i], &st))
                        return crmsync_err(errstr, errstr_size,
                                           "%s: no such file or folder",
                                           paths[i]);
                if (!S_ISDIR(st.st_mode)) {
                        if (cnt == PILOT_MAX_FILES)
                                return crmsync_err(errstr, errstr_size,
                                                   "more than %d scenarios",
                                                   PILOT_MAX_FILES);
                        files[cnt++] = strdup(paths[i]);
                        continue;
                }
                if (!(d = opendir(paths[i])))
                        return crmsync_err(errstr, errstr_size,
                                           "%s: cannot open folder", paths[i]);
                while ((de = readdir(d)) && cnt < PILOT_MAX_FILES) {
                        size_t len = strlen(de->d_name);
                        char   p[PATH_MAX];
                        if (de->d_name[0] == '.' || len < 6 ||
                            strcmp(de->d_name + len - 5, ".json"))
                                continue;
                        snprintf(p, sizeof(p), "%s/%s", paths[i], de->d_name);
                        files[cnt++] = strdup(p);
                }
                closedir(d);
                qsort(files + first, (size_t)(cnt - first), sizeof(*files),
                      by_name);
        }
        if (!cnt)
                return crmsync_err(errstr, errstr_size,
                                   "no scenario files found");
        return cnt;
}

/* The scenario of file, on target (an absolute path): its target section
 * keeps the topic and partitions and names the target file, which
 * decides the cluster. Written to out. */
static int derive(const char *file, const char *target, const char *out,
                  char *errstr, size_t errstr_size)
{
        json_error_t jerr;
        json_t      *root = json_load_file(file, JSON_REJECT_DUPLICATES, &jerr);
        json_t      *old, *tgt;
        int          rc;
        if (!root)
                return crmsync_err(errstr, errstr_size, "%s:%d:%d: %s", file,
                                   jerr.line, jerr.column, jerr.text);
        old = json_object_get(root, "target");
        tgt = json_pack("{s:s}", "file", target);
        if (json_object_get(old, "topic"))
                json_object_set(tgt, "topic", json_object_get(old, "topic"));
        if (json_object_get(old, "partitions"))
                json_object_set(tgt, "partitions",
                                json_object_get(old, "partitions"));
        json_object_set_new(root, "target", tgt);
        rc = json_dump_file(root, out, JSON_INDENT(2));
        json_decref(root);
        if (rc)
                return crmsync_err(errstr, errstr_size, "%s: %s", out,
                                   strerror(errno));
        return 0;
}

/* commands.scale_out, bounded, its output in log; the seconds it took
 * and its exit code. */
static json_t *scale_out(const struct scenario_target *t, const char *log)
{
        int64_t t0     = crmsync_mono_ms();
        int     status = -1, fd;
        pid_t   pid;

        if (!t->scale_out)
                return json_null();
        if ((pid = fork()) == 0) {
                fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
                if (fd >= 0) {
                        dup2(fd, 1);
                        dup2(fd, 2);
                }
                setpgid(0, 0);
                execl("/bin/sh", "sh", "-c", t->scale_out, (char *)NULL);
                _exit(127);
        }
        while (pid > 0 &&
               crmsync_mono_ms() - t0 < PILOT_SCALE_OUT_MAX_S * 1000) {
                if (waitpid(pid, &status, WNOHANG) == pid)
                        break;
                usleep(100000);
        }
        if (pid > 0 && crmsync_mono_ms() - t0 >= PILOT_SCALE_OUT_MAX_S * 1000) {
                kill(-pid, SIGKILL);
                waitpid(pid, &status, 0);
                status = -1;
        }
        return json_pack(
            "{s:s, s:f, s:i, s:s}", "command", t->scale_out, "seconds",
            (double)(crmsync_mono_ms() - t0) / 1000.0, "exit_code",
            status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1, "log",
            log);
}

/* One target's runs: the run summaries of its suite (each with its
 * sink's "offsets" and the "dlq_drain" the judge recorded). */
static json_t *target_runs(const char *suite_dir, char *errstr,
                           size_t errstr_size)
{
        return crmsync_compare_load(suite_dir, errstr, errstr_size);
}

static const char *security_of(const struct scenario_target *t)
{
        const char *s;
        if (t->embedded)
                return "plaintext (embedded broker)";
        s = json_string_value(
            json_object_get(t->properties, "security.protocol"));
        return s ? s : "plaintext (librdkafka default)";
}

static int prepare_target(struct pilot_target *pt, int idx, int nfiles,
                          char **files, const struct pilot_options *opt,
                          char *errstr, size_t errstr_size)
{
        char abs[PATH_MAX], dir[PATH_MAX + 32];
        pt->label = idx ? "B" : "A";
        if (!realpath(opt->targets[idx], abs))
                return crmsync_err(errstr, errstr_size, "%s: %s",
                                   opt->targets[idx], strerror(errno));
        if (!(pt->t = crmsync_target_load(abs, errstr, errstr_size)))
                return -1;
        snprintf(pt->file, sizeof(pt->file), "%s", abs);
        snprintf(dir, sizeof(dir), "%s/scenarios-%s", pt->dir, pt->label);
        if (mkdir(dir, 0755) && errno != EEXIST)
                return crmsync_err(errstr, errstr_size, "%s: %s", dir,
                                   strerror(errno));
        for (int i = 0; i < nfiles; i++) {
                const char *base = strrchr(files[i], '/');
                char        out[PATH_MAX + 64];
                snprintf(out, sizeof(out), "%s/%s", dir,
                         base ? base + 1 : files[i]);
                if (derive(files[i], abs, out, errstr, errstr_size))
                        return -1;
                pt->derived[pt->nderived++] = strdup(out);
        }
        if (!(pt->suite = crmsync_suite_new(pt->nderived, pt->derived, NULL,
                                            errstr, errstr_size)))
                return -1;
        if (crmsync_suite_validate(pt->suite, opt->timeout_s, stderr))
                return crmsync_err(errstr, errstr_size,
                                   "the scenarios cannot run on target %s "
                                   "'%s' (above)",
                                   pt->label, pt->t->name);
        return 0;
}

static int probe_target(struct pilot_target        *pt,
                        const struct pilot_options *opt, char *errstr,
                        size_t errstr_size)
{
        char  path[PATH_MAX + 32];
        FILE *fp;
        if (opt->progress)
                fprintf(opt->progress, "pilot: probing %s (%s)\n", pt->label,
                        pt->t->name);
        if (!(pt->probe = crmsync_compat_probe(pt->t, opt->probe_timeout_ms,
                                               errstr, errstr_size)))
                return -1;
        snprintf(path, sizeof(path), "%s/probe-%s.json", pt->dir, pt->label);
        json_dump_file(pt->probe, path, JSON_INDENT(2));
        snprintf(path, sizeof(path), "%s/probe-%s.md", pt->dir, pt->label);
        if ((fp = fopen(path, "w"))) {
                crmsync_compat_markdown(pt->probe, 1, fp);
                fclose(fp);
        }
        return 0;
}

static int run_target(struct pilot_target *pt, const struct pilot_options *opt,
                      char *errstr, size_t errstr_size)
{
        char                 runs[PATH_MAX + 8], log[PATH_MAX + 32];
        json_t              *sum = NULL;
        struct suite_options so  = {.runs_dir  = runs,
                                    .self_exe  = opt->self_exe,
                                    .jobs      = opt->jobs > 1 ? opt->jobs : 1,
                                    .timeout_s = opt->timeout_s,
                                    .progress  = opt->progress};
        snprintf(runs, sizeof(runs), "%s/%s", pt->dir, pt->label);
        if (opt->progress)
                fprintf(opt->progress, "pilot: %zu scenario(s) on %s (%s)\n",
                        crmsync_suite_size(pt->suite), pt->label, pt->t->name);
        pt->suite_rc =
            crmsync_suite_run(pt->suite, &so, &sum, errstr, errstr_size);
        if (pt->suite_rc == 2 || pt->suite_rc > 100 || !sum) {
                json_decref(sum);
                return -1;
        }
        snprintf(pt->suite_dir, sizeof(pt->suite_dir), "%s",
                 json_string_value(json_object_get(sum, "suite_dir")));
        json_decref(sum);
        if (!(pt->runs = target_runs(pt->suite_dir, errstr, errstr_size)))
                return -1;
        snprintf(log, sizeof(log), "%s/scale-out-%s.log", pt->dir, pt->label);
        pt->scale_out = scale_out(pt->t, log);
        return 0;
}

/* --jobs 2 or more: target pt probed and run in a child process of its
 * own, side by side with the other target's; what the parent needs back
 * goes to target-<label>.json in the pilot folder. */
static pid_t target_child(struct pilot_target        *pt,
                          const struct pilot_options *opt)
{
        char    errstr[1024] = "", path[PATH_MAX + 32];
        int     rc;
        json_t *j;
        pid_t   pid;

        fflush(NULL);
        if ((pid = fork()) != 0)
                return pid;
        rc = probe_target(pt, opt, errstr, sizeof(errstr)) ||
                     run_target(pt, opt, errstr, sizeof(errstr))
                 ? 2
                 : 0;
        j  = json_pack("{s:i, s:s, s:s, s:i, s:O}", "rc", rc, "error", errstr,
                       "suite_dir", pt->suite_dir, "suite_rc", pt->suite_rc,
                       "scale_out", pt->scale_out ? pt->scale_out : json_null());
        snprintf(path, sizeof(path), "%s/target-%s.json", pt->dir, pt->label);
        if (!j || json_dump_file(j, path, JSON_INDENT(2)))
                rc = 2;
        fflush(NULL);
        _exit(rc);
}

/* The child's result into pt: the probe, the suite and its runs. */
static int target_collect(struct pilot_target *pt, pid_t pid, char *errstr,
                          size_t errstr_size)
{
        char    path[PATH_MAX + 32];
        int     st = 0;
        json_t *j;
        if (pid < 0 || waitpid(pid, &st, 0) != pid)
                return crmsync_err(errstr, errstr_size,
                                   "target %s: could not run its process",
                                   pt->label);
        snprintf(path, sizeof(path), "%s/target-%s.json", pt->dir, pt->label);
        if (!(j = json_load_file(path, 0, NULL)))
                return crmsync_err(errstr, errstr_size,
                                   "target %s: its process left no result "
                                   "(%s)",
                                   pt->label, path);
        if (json_integer_value(json_object_get(j, "rc"))) {
                crmsync_err(errstr, errstr_size, "%s",
                            json_string_value(json_object_get(j, "error")));
                json_decref(j);
                return -1;
        }
        snprintf(pt->suite_dir, sizeof(pt->suite_dir), "%s",
                 json_string_value(json_object_get(j, "suite_dir")));
        pt->suite_rc = (int)json_integer_value(json_object_get(j, "suite_rc"));
        if (!json_is_null(json_object_get(j, "scale_out")))
                pt->scale_out = json_incref(json_object_get(j, "scale_out"));
        json_decref(j);
        snprintf(path, sizeof(path), "%s/probe-%s.json", pt->dir, pt->label);
        if (!(pt->probe = json_load_file(path, 0, NULL)) ||
            !(pt->runs = target_runs(pt->suite_dir, errstr, errstr_size)))
                return *errstr ? -1
                               : crmsync_err(errstr, errstr_size,
                                             "%s: unreadable", path);
        return 0;
}

/* Probe both targets and run their suites: one after the other, or with
 * --jobs 2 or more side by side (each target in its own process, its
 * suite --jobs / 2 runs at a time). */
static int probe_and_run(struct pilot_target        *pt,
                         const struct pilot_options *opt, char *errstr,
                         size_t errstr_size)
{
        struct pilot_options half = *opt;
        pid_t                pid[2];
        int                  bad = 0;
        if (opt->jobs < 2) {
                for (int i = 0; i < 2; i++)
                        if (probe_target(&pt[i], opt, errstr, errstr_size))
                                return -1;
                for (int i = 0; i < 2; i++)
                        if (run_target(&pt[i], opt, errstr, errstr_size))
                                return -1;
                return 0;
        }
        half.jobs = opt->jobs / 2;
        for (int i = 0; i < 2; i++)
                pid[i] = target_child(&pt[i], &half);
        for (int i = 0; i < 2; i++) {
                char err[1024] = "";
                if (target_collect(&pt[i], pid[i], err, sizeof(err)) && !bad++)
                        snprintf(errstr, errstr_size, "%s", err);
        }
        return bad ? -1 : 0;
}

static json_t *target_json(const struct pilot_target *pt)
{
        return json_pack(
            "{s:s, s:s, s:s, s:s, s:s, s:O, s:s, s:i, s:O, s:O}", "label",
            pt->label, "name", pt->t->name, "file", pt->file, "type",
            pt->t->embedded ? "embedded" : "external", "security_protocol",
            security_of(pt->t), "probe", pt->probe, "suite_dir", pt->suite_dir,
            "suite_exit", pt->suite_rc, "runs", pt->runs, "scale_out",
            pt->scale_out ? pt->scale_out : json_null());
}

static void target_free(struct pilot_target *pt)
{
        for (int i = 0; i < pt->nderived; i++)
                free(pt->derived[i]);
        crmsync_suite_destroy(pt->suite);
        crmsync_target_destroy(pt->t);
        json_decref(pt->probe);
        json_decref(pt->runs);
        json_decref(pt->scale_out);
}

/* runs/pilot-<time>-<pid>, created. */
static int make_dir(const struct pilot_options *opt, char *dir, size_t size,
                    char *errstr, size_t errstr_size)
{
        char      ts[32];
        time_t    now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(ts, sizeof(ts), "%Y%m%dT%H%M%SZ", &tm);
        snprintf(dir, size, "%s/pilot-%s-%d", opt->runs_dir, ts, (int)getpid());
        if ((mkdir(opt->runs_dir, 0755) && errno != EEXIST) || mkdir(dir, 0755))
                return crmsync_err(errstr, errstr_size, "%s: %s", dir,
                                   strerror(errno));
        return 0;
}

/* Everything the report needs, written to pilot.json; the exit code. */
static int finish(struct pilot_target *pt, json_t *shadow, json_t *cost,
                  const char *dir, char *errstr, size_t errstr_size)
{
        json_t *cols  = json_pack("[O,O]", pt[0].runs, pt[1].runs);
        json_t *table = crmsync_compare_table(cols);
        int     rc    = pt[0].suite_rc || pt[1].suite_rc ? 1 : 0;
        json_t *p;
        char    path[PATH_MAX + 32];

        if (shadow && !json_is_true(json_object_get(shadow, "ok")))
                rc = 1;
        p = json_pack("{s:s, s:s, s:[o,o], s:o, s:O, s:O, s:i}", "schema",
                      "crmsync.pilot/1", "pilot_dir", dir, "targets",
                      target_json(&pt[0]), target_json(&pt[1]), "table",
                      table ? table : json_array(), "shadow",
                      shadow ? shadow : json_null(), "capacity",
                      cost ? cost : json_null(), "exit_code", rc);
        json_decref(cols);
        snprintf(path, sizeof(path), "%s/pilot.json", dir);
        if (!p || json_dump_file(p, path, JSON_INDENT(2)) ||
            crmsync_pilot_report_write(p, dir, errstr, errstr_size)) {
                if (p && !*errstr)
                        crmsync_err(errstr, errstr_size, "%s: %s", path,
                                    strerror(errno));
                json_decref(p);
                return 2;
        }
        json_decref(p);
        return rc;
}

int crmsync_pilot_run(int path_cnt, char *const *paths,
                      const struct pilot_options *opt, char *dir_out,
                      size_t dir_size, char *errstr, size_t errstr_size)
{
        struct pilot_target    pt[2];
        struct capacity_inputs cap;
        char                  *files[PILOT_MAX_FILES];
        char                   dir[PATH_MAX];
        json_t                *shadow = NULL, *cost = NULL;
        int                    n, rc                = 2;

        memset(pt, 0, sizeof(pt));
        *errstr = '\0';
        if ((n = collect(path_cnt, paths, files, errstr, errstr_size)) < 0)
                return 2;
        for (int i = 0; i < n; i++) {
                struct scenario *sc =
                    crmsync_scenario_load(files[i], errstr, errstr_size);
                if (!sc)
                        goto out;
                crmsync_scenario_destroy(sc);
        }
        if (opt->capacity_file &&
            crmsync_capacity_inputs_load(opt->capacity_file, &cap, errstr,
                                         errstr_size))
                goto out;
        if (make_dir(opt, dir, sizeof(dir), errstr, errstr_size))
                goto out;
        if (dir_out)
                snprintf(dir_out, dir_size, "%s", dir);
        for (int i = 0; i < 2; i++) {
                snprintf(pt[i].dir, sizeof(pt[i].dir), "%s", dir);
                if (prepare_target(&pt[i], i, n, files, opt, errstr,
                                   errstr_size))
                        goto out;
        }
        if (probe_and_run(pt, opt, errstr, errstr_size))
                goto out;
        if (opt->shadow && !(shadow = crmsync_pilot_shadow(
                                 pt, files[0], dir, opt, errstr, errstr_size)))
                goto out;
        if (opt->capacity_file)
                cost = crmsync_pilot_cost(opt->capacity_file, &cap, pt);
        rc = finish(pt, shadow, cost, dir, errstr, errstr_size);
out:
        json_decref(shadow);
        json_decref(cost);
        for (int i = 0; i < 2; i++)
                target_free(&pt[i]);
        for (int i = 0; i < n; i++)
                free(files[i]);
        return rc;
}
