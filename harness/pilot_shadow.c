/* pilot_shadow.c -- shadow mode (pilot_int.h). The first scenario runs
 * once as `crmsync run A --shadow-with B` (harness/run_shadow.c): one mock
 * CRM, one ground truth, serving its stream to two pipelines at once, each
 * with its own connector, target, profiler and sink, and each judged
 * against that CRM in its own run folder. Then the two sinks' final
 * states, rebuilt from each run's history (the last applied write of
 * every record), are compared record by record; every divergence is
 * listed in shadow.md with the lineage of the record's last change on
 * both sides (crmsync trace). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crmsync/common.h"
#include "harness/pilot_int.h"
#include "harness/trace.h"

#define SHADOW_LINEAGES 10       /* divergences traced in shadow.md */
#define SHADOW_EXTRA_S 300       /* beyond the runs' own timeouts */
#define SHADOW_MAX_LINES 5000000 /* history lines read per run */

/* The scenario for one side: B's pipeline gets the planted bugs. */
static int shadow_scenario(const char *src, const char *out, const char *label,
                           const char *bugs, char *errstr, size_t errstr_size)
{
        json_t *root = json_load_file(src, 0, NULL);
        json_t *pip, *arr;
        char    buf[512], *save = NULL;
        if (!root)
                return crmsync_err(errstr, errstr_size, "%s: unreadable", src);
        /* Two run folders of one process: two names. */
        snprintf(buf, sizeof(buf), "%s-%s",
                 json_string_value(json_object_get(root, "name"))
                     ? json_string_value(json_object_get(root, "name"))
                     : "shadow",
                 label);
        json_object_set_new(root, "name", json_string(buf));
        if (bugs) {
                arr = json_array();
                snprintf(buf, sizeof(buf), "%s", bugs);
                for (char *b = strtok_r(buf, ",", &save); b;
                     b       = strtok_r(NULL, ",", &save))
                        json_array_append_new(arr, json_string(b));
                if (!(pip = json_object_get(root, "pipeline"))) {
                        pip = json_object();
                        json_object_set_new(root, "pipeline", pip);
                }
                /* Each process acts on its own switches only. */
                json_object_set_new(pip, "connector",
                                    json_pack("{s:O}", "bugs", arr));
                json_object_set_new(pip, "profiler",
                                    json_pack("{s:o}", "bugs", arr));
        }
        if (json_dump_file(root, out, JSON_INDENT(2))) {
                json_decref(root);
                return crmsync_err(errstr, errstr_size, "%s: %s", out,
                                   strerror(errno));
        }
        json_decref(root);
        return 0;
}

static pid_t spawn(const char *self, char scen[2][4300], const char *runs,
                   double timeout_s)
{
        pid_t pid = fork();
        char  tmo[32];
        snprintf(tmo, sizeof(tmo), "%g", timeout_s);
        if (pid == 0) {
                int fd = open("/dev/null", O_WRONLY);
                if (fd >= 0) {
                        dup2(fd, 1);
                        dup2(fd, 2);
                }
                if (timeout_s > 0)
                        execl(self, self, "run", scen[0], "--shadow-with",
                              scen[1], "--runs-dir", runs, "--quiet",
                              "--timeout", tmo, (char *)NULL);
                else
                        execl(self, self, "run", scen[0], "--shadow-with",
                              scen[1], "--runs-dir", runs, "--quiet",
                              (char *)NULL);
                _exit(127);
        }
        return pid;
}

/* key -> {"event_id", "version", "delete"}: the last applied write of
 * each record, as the run's history tells it; and key -> the event id of
 * its last CRM commit into last_commit. */
static json_t *sink_state(const char *run_dir, json_t *last_commit)
{
        char    path[4096], line[2048];
        FILE   *fp;
        json_t *st = json_object();
        snprintf(path, sizeof(path), "%s/history.jsonl", run_dir);
        if (!(fp = fopen(path, "r")))
                return st;
        for (int n = 0; n < SHADOW_MAX_LINES && fgets(line, sizeof(line), fp);
             n++) {
                json_t     *e;
                const char *kind, *key;
                if (!strstr(line, "\"sink_apply\"") &&
                    !strstr(line, "\"crm_commit\""))
                        continue;
                if (!(e = json_loads(line, 0, NULL)))
                        continue;
                kind = json_string_value(json_object_get(e, "kind"));
                key  = json_string_value(json_object_get(e, "key"));
                if (key && !strcmp(kind, "crm_commit") && last_commit)
                        json_object_set(last_commit, key,
                                        json_object_get(e, "event_id"));
                else if (key && !strcmp(kind, "sink_apply") &&
                         json_is_true(json_object_get(e, "applied")))
                        json_object_set_new(
                            st, key,
                            json_pack("{s:O, s:O, s:O}", "event_id",
                                      json_object_get(e, "event_id"), "version",
                                      json_object_get(e, "version"), "delete",
                                      json_object_get(e, "delete")));
                json_decref(e);
        }
        fclose(fp);
        return st;
}

static int same_state(const json_t *a, const json_t *b)
{
        if (!a || !b)
                return !a && !b;
        return json_integer_value(json_object_get(a, "version")) ==
                   json_integer_value(json_object_get(b, "version")) &&
               json_is_true(json_object_get(a, "delete")) ==
                   json_is_true(json_object_get(b, "delete"));
}

/* Every record whose final state differs between the sinks, in key
 * order. */
static json_t *diverge(const json_t *sa, const json_t *sb)
{
        json_t     *keys = json_object(), *out = json_array(), *v;
        const char *k;
        json_object_foreach((json_t *)sa, k, v) json_object_set(keys, k, v);
        json_object_foreach((json_t *)sb, k, v) json_object_set(keys, k, v);
        json_object_foreach(keys, k, v)
        {
                const json_t *a = json_object_get(sa, k);
                const json_t *b = json_object_get(sb, k);
                if (!same_state(a, b))
                        json_array_append_new(
                            out, json_pack("{s:s, s:O, s:O}", "key", k, "a",
                                           a ? a : json_null(), "b",
                                           b ? b : json_null()));
        }
        json_decref(keys);
        return out;
}

static void state_text(char *buf, size_t size, const json_t *st)
{
        if (!st)
                snprintf(buf, size, "absent");
        else
                snprintf(buf, size, "%s v%lld (event %s)",
                         json_is_true(json_object_get(st, "delete")) ? "deleted"
                                                                     : "live",
                         (long long)json_integer_value(
                             json_object_get(st, "version")),
                         json_string_value(json_object_get(st, "event_id")));
}

/* One side of the result: its run judged against its own CRM. */
static json_t *side(const char *label, const char *name, const char *run_dir)
{
        char        path[4096];
        json_t     *s, *v;
        const char *k;
        json_int_t  n = 0;
        snprintf(path, sizeof(path), "%s/summary.json", run_dir);
        s = json_load_file(path, 0, NULL);
        json_object_foreach(json_object_get(s, "anomalies"), k, v) n +=
            json_integer_value(v);
        v = json_pack(
            "{s:s, s:s, s:s, s:s, s:b, s:I, s:s, s:O}", "label", label, "name",
            name, "run_dir", run_dir, "verdict",
            json_string_value(json_object_get(s, "verdict"))
                ? json_string_value(json_object_get(s, "verdict"))
                : "error",
            "matches_crm", s && n == 0, "anomalies", n, "commit_log_sha256",
            json_string_value(json_object_get(json_object_get(s, "workload"),
                                              "commit_log_sha256"))
                ? json_string_value(json_object_get(
                      json_object_get(s, "workload"), "commit_log_sha256"))
                : "",
            "offsets",
            json_object_get(s, "offsets") ? json_object_get(s, "offsets")
                                          : json_null());
        json_decref(s);
        return v;
}

static const json_t *at2(const json_t *o, const char *a, const char *b)
{
        return json_object_get(json_object_get(o, a), b);
}

static json_int_t served(const json_t *crm, const char *client)
{
        return json_integer_value(
            json_object_get(json_object_get(crm, "served"), client));
}

static void write_md(const char *dir, const json_t *res, const json_t *divs,
                     const json_t *last)
{
        char          path[4096], a[160], b[160], err[256];
        FILE         *fp;
        const json_t *d, *sd;
        size_t        i;
        snprintf(path, sizeof(path), "%s/shadow.md", dir);
        if (!(fp = fopen(path, "w")))
                return;
        fprintf(fp,
                "# Shadow mode\n\nOne mock CRM (%s: one ground truth, "
                "commit log SHA-256 %s, %lld events) served its stream to "
                "two pipelines at the same time, each with its own "
                "connector, target, profiler and sink: %lld events to "
                "connector A, %lld to connector B (every one in "
                "`shadow/crm-served.jsonl` with the client that read it). "
                "The runs' commit logs %s.\n\n| side | target | run | "
                "verdict | sink against the CRM |\n|---|---|---|---|---|\n",
                json_string_value(at2(res, "crm", "url"))
                    ? json_string_value(at2(res, "crm", "url"))
                    : "?",
                json_string_value(at2(res, "crm", "commit_log_sha256"))
                    ? json_string_value(at2(res, "crm", "commit_log_sha256"))
                    : "?",
                (long long)json_integer_value(at2(res, "crm", "events")),
                (long long)served(json_object_get(res, "crm"),
                                  "crmsync-connector-A"),
                (long long)served(json_object_get(res, "crm"),
                                  "crmsync-connector-B"),
                json_is_true(json_object_get(res, "same_stream"))
                    ? "are the CRM's"
                    : "DIFFER from the CRM's");
        json_array_foreach(json_object_get(res, "sides"), i, sd) fprintf(
            fp, "| %s | %s | %s | %s | %s (%lld anomalies) |\n",
            json_string_value(json_object_get(sd, "label")),
            json_string_value(json_object_get(sd, "name")),
            json_string_value(json_object_get(sd, "run_dir")),
            json_string_value(json_object_get(sd, "verdict")),
            json_is_true(json_object_get(sd, "matches_crm")) ? "matches"
                                                             : "differs",
            (long long)json_integer_value(json_object_get(sd, "anomalies")));
        fprintf(fp, "\n## Records that differ between the two sinks: %zu\n\n",
                json_array_size(divs));
        json_array_foreach(divs, i, d)
        {
                const char *key = json_string_value(json_object_get(d, "key"));
                const char *ev  = json_string_value(json_object_get(last, key));
                state_text(a, sizeof(a), json_object_get(d, "a"));
                state_text(b, sizeof(b), json_object_get(d, "b"));
                fprintf(fp, "- `%s`: A %s; B %s\n", key, a, b);
                if (i >= SHADOW_LINEAGES || !ev)
                        continue;
                for (int s = 0; s < 2; s++) {
                        fprintf(fp,
                                "\n  Lineage on %s of its last change "
                                "%s:\n\n```\n",
                                s ? "B" : "A", ev);
                        fflush(fp);
                        if (crmsync_trace(json_string_value(json_object_get(
                                              json_array_get(
                                                  json_object_get(res, "sides"),
                                                  (size_t)s),
                                              "run_dir")),
                                          ev, NULL, fp, err, sizeof(err)) < 0)
                                fprintf(fp, "(%s)\n", err);
                        fprintf(fp, "```\n\n");
                }
        }
        fclose(fp);
}

/* Run the pair as one process; wait for it, bounded. */
static int run_pair(const char *runs, char scen[2][4300],
                    const struct pilot_options *opt)
{
        int     st;
        pid_t   pid = spawn(opt->self_exe, scen, runs, opt->timeout_s);
        int64_t end = crmsync_mono_ms() +
                      (int64_t)((opt->timeout_s > 0 ? opt->timeout_s : 600) +
                                SHADOW_EXTRA_S) *
                          1000;
        while (pid > 0 && crmsync_mono_ms() < end) {
                if (waitpid(pid, &st, WNOHANG) == pid)
                        return 0;
                usleep(100000);
        }
        if (pid > 0) {
                kill(pid, SIGTERM);
                waitpid(pid, &st, 0);
        }
        return -1;
}

/* shadow/shadow.json of the pair's process: its two run folders and the
 * one CRM. NULL + errstr when it is not there. */
static json_t *pair_result(const char *sdir, char rd[2][4096], char *errstr,
                           size_t errstr_size)
{
        char    path[4200];
        json_t *j;
        snprintf(path, sizeof(path), "%s/shadow.json", sdir);
        j = json_load_file(path, 0, NULL);
        for (int i = 0; j && i < 2; i++) {
                const char *d = json_string_value(
                    json_array_get(json_object_get(j, "run_dirs"), (size_t)i));
                if (!d) {
                        json_decref(j);
                        j = NULL;
                        break;
                }
                snprintf(rd[i], 4096, "%s", d);
        }
        if (!j)
                crmsync_err(errstr, errstr_size,
                            "shadow mode: the run did not finish or left no "
                            "run folders (see %s)",
                            sdir);
        return j;
}

/* ok, same_stream and one_crm into res. */
static void shadow_verdict(json_t *res, const json_t *pair, size_t ndivs)
{
        const json_t *sa  = json_array_get(json_object_get(res, "sides"), 0);
        const json_t *sb  = json_array_get(json_object_get(res, "sides"), 1);
        const json_t *crm = json_object_get(pair, "crm");
        const char   *ha =
            json_string_value(json_object_get(sa, "commit_log_sha256"));
        const char *hb =
            json_string_value(json_object_get(sb, "commit_log_sha256"));
        const char *hc =
            json_string_value(json_object_get(crm, "commit_log_sha256"));
        int same = ha && hb && hc && *ha && !strcmp(ha, hb) && !strcmp(ha, hc);
        /* One CRM: it served its stream to both connectors. */
        int one = served(crm, "crmsync-connector-A") > 0 &&
                  served(crm, "crmsync-connector-B") > 0;
        json_object_set_new(res, "crm",
                            crm ? json_deep_copy(crm) : json_null());
        json_object_set_new(res, "same_stream", json_boolean(same));
        json_object_set_new(res, "one_crm", json_boolean(one));
        json_object_set_new(
            res, "ok",
            json_boolean(same && one && !ndivs &&
                         json_is_true(json_object_get(sa, "matches_crm")) &&
                         json_is_true(json_object_get(sb, "matches_crm"))));
}

json_t *crmsync_pilot_shadow(struct pilot_target *pt, const char *scenario,
                             const char *dir, const struct pilot_options *opt,
                             char *errstr, size_t errstr_size)
{
        char    scen[2][4300], sdir[4096], rd[2][4096];
        json_t *st[2], *last = json_object(), *divs, *res, *pair = NULL;
        (void)scenario;
        snprintf(sdir, sizeof(sdir), "%s/shadow", dir);
        if (mkdir(sdir, 0755) && errno != EEXIST) {
                json_decref(last);
                crmsync_err(errstr, errstr_size, "%s: %s", sdir,
                            strerror(errno));
                return NULL;
        }
        if (opt->progress)
                fprintf(opt->progress,
                        "pilot: shadow mode: one CRM, its stream to A and B "
                        "at once%s%s\n",
                        opt->shadow_bugs_b ? ", B with bug switch " : "",
                        opt->shadow_bugs_b ? opt->shadow_bugs_b : "");
        for (int i = 0; i < 2; i++) {
                snprintf(scen[i], sizeof(scen[i]), "%s/scenario-%s.json", sdir,
                         pt[i].label);
                if (shadow_scenario(pt[i].derived[0], scen[i], pt[i].label,
                                    i ? opt->shadow_bugs_b : NULL, errstr,
                                    errstr_size)) {
                        json_decref(last);
                        return NULL;
                }
        }
        if (run_pair(sdir, scen, opt) ||
            !(pair = pair_result(sdir, rd, errstr, errstr_size))) {
                if (!*errstr)
                        crmsync_err(errstr, errstr_size,
                                    "shadow mode: the run did not finish "
                                    "(under %s)",
                                    sdir);
                json_decref(last);
                return NULL;
        }
        st[0] = sink_state(rd[0], last);
        st[1] = sink_state(rd[1], NULL);
        divs  = diverge(st[0], st[1]);
        res   = json_pack(
              "{s:[o,o], s:I, s:s*}", "sides", side("A", pt[0].t->name, rd[0]),
              side("B", pt[1].t->name, rd[1]), "divergences",
              (json_int_t)json_array_size(divs), "bugs_b", opt->shadow_bugs_b);
        shadow_verdict(res, pair, json_array_size(divs));
        json_object_set_new(res, "examples", json_copy(divs));
        while (json_array_size(json_object_get(res, "examples")) > 50)
                json_array_remove(json_object_get(res, "examples"), 50);
        write_md(dir, res, divs, last);
        json_decref(pair);
        json_decref(st[0]);
        json_decref(st[1]);
        json_decref(divs);
        json_decref(last);
        return res;
}
