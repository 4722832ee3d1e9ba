/* capacity.c -- `crmsync capacity` (capacity.h): each point of a sweep is
 * a scenario derived from the user's (written to scenarios/ in the
 * capacity folder, so any point can be run again by hand) and run as a
 * child `crmsync run`, bounded by the budget; the figures come from its
 * summary.json. */
#include "capacity_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crmsync/common.h"
#include "crmsync/log.h"
#include "crmsync/workload.h"
#include "harness/interrupt.h"

/* Set-up, convergence and teardown of one run beyond its workload. */
#define POINT_OVERHEAD_S 12.0

void cap_progress(struct cap *c, const char *fmt, ...)
{
        va_list ap;
        if (c->o->quiet)
                return;
        va_start(ap, fmt);
        crmsync_vprogress("capacity", c->start_mono, fmt, ap);
        va_end(ap);
}

void cap_skip(struct cap *c, const char *what, const char *fmt, ...)
{
        char    why[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, sizeof(why), fmt, ap);
        va_end(ap);
        cap_progress(c, "%s skipped: %s", what, why);
        json_array_append_new(
            c->skipped, json_pack("{s:s, s:s}", "what", what, "reason", why));
}

static double budget_left_s(struct cap *c)
{
        double el = (double)(crmsync_mono_ms() - c->start_mono) / 1000.0;
        return c->o->budget_s > 0 ? c->o->budget_s - el : 1e12;
}

/* -- one point: a child `crmsync run` ------------------------------------ */

/* Busy and total jiffies of all CPUs (/proc/stat), 0 when unreadable. */
static void cpu_jiffies(double *busy, double *total)
{
        FILE              *fp   = fopen("/proc/stat", "r");
        unsigned long long v[8] = {0};
        *busy = *total = 0;
        if (!fp)
                return;
        if (fscanf(fp, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
                   &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 8) {
                for (int i = 0; i < 8; i++)
                        *total += (double)v[i];
                *busy = *total - (double)v[3] - (double)v[4];
        }
        fclose(fp);
}

static double children_cpu_s(void)
{
        struct rusage ru;
        getrusage(RUSAGE_CHILDREN, &ru);
        return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
               (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* The run folder the child made under dir (the one with a summary). */
static json_t *find_summary(const char *dir, char *run_dir, size_t size)
{
        DIR           *d = opendir(dir);
        struct dirent *de;
        json_t        *s = NULL;
        char           path[1200];
        run_dir[0] = '\0';
        while (d && !s && (de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                snprintf(path, sizeof(path), "%s/%s/summary.json", dir,
                         de->d_name);
                if ((s = json_load_file(path, 0, NULL)))
                        snprintf(run_dir, size, "%s/%s", dir, de->d_name);
        }
        if (d)
                closedir(d);
        return s;
}

static pid_t spawn(struct cap *c, const char *file, const char *runs,
                   const char *log, double timeout_s, int preload)
{
        char  t[32];
        char *argv[12];
        int   n = 0, fd;
        pid_t pid;

        if ((fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) ==
            -1)
                return -1;
        snprintf(t, sizeof(t), "%.0f", ceil(timeout_s));
        argv[n++] = "crmsync";
        argv[n++] = "run";
        argv[n++] = (char *)file;
        argv[n++] = "--runs-dir";
        argv[n++] = (char *)runs;
        argv[n++] = "--quiet";
        argv[n++] = "--timeout";
        argv[n++] = t;
        if (preload)
                argv[n++] = "--preload";
        argv[n] = NULL;
        fflush(NULL);
        if ((pid = fork()) == 0) {
                dup2(fd, 1);
                dup2(fd, 2);
                execv(c->o->self_exe, argv);
                _exit(127);
        }
        close(fd);
        return pid;
}

/* Wait for pid, at most limit_ms; a signal to us stops it (SIGTERM: it
 * writes an interrupted summary). Returns its exit code or -1. */
static int wait_child(struct cap *c, pid_t pid, int64_t limit_ms)
{
        int64_t until = crmsync_mono_ms() + limit_ms;
        int     st, sent = 0;
        for (;;) {
                struct timespec ts = {0, 100 * 1000000};
                pid_t           w  = waitpid(pid, &st, WNOHANG);
                if (w == pid)
                        return WIFEXITED(st) ? WEXITSTATUS(st)
                                             : 128 + WTERMSIG(st);
                if (w == -1 && errno != EINTR)
                        return -1;
                if (!sent && crmsync_interrupt_count()) {
                        c->stop = 1;
                        kill(pid, SIGTERM);
                        sent  = 1;
                        until = crmsync_mono_ms() + 20000;
                }
                if (crmsync_mono_ms() > until) {
                        kill(pid, SIGKILL);
                        waitpid(pid, &st, 0);
                        return -1;
                }
                nanosleep(&ts, NULL);
        }
}

/* Run scenario s (stolen) as point `name`, expected to take est_s.
 * Returns its summary (new reference) and fills pt with run_dir,
 * exit_code, verdict and cpu; NULL when skipped or it wrote none. */
static json_t *run_point(struct cap *c, const char *name, json_t *s,
                         double est_s, int preload, json_t *pt)
{
        char    file[800], runs[800], log[800], run_dir[1200];
        double  b0, t0, b1, t1, cpu0, wall;
        int64_t m0;
        pid_t   pid;
        int     rc;
        json_t *sum;

        if (c->stop || est_s > budget_left_s(c)) {
                if (!c->stop)
                        cap_skip(c, name,
                                 "needs about %.0f s, %.0f s of the budget "
                                 "left",
                                 est_s, budget_left_s(c));
                json_decref(s);
                return NULL;
        }
        snprintf(file, sizeof(file), "%s/scenarios/%s.json", c->dir, name);
        snprintf(runs, sizeof(runs), "%s/runs/%s", c->dir, name);
        snprintf(log, sizeof(log), "%s/runs/%s.log", c->dir, name);
        rc = json_dump_file(s, file, JSON_INDENT(2));
        json_decref(s);
        if (rc || (mkdir(runs, 0755) && errno != EEXIST)) {
                cap_skip(c, name, "cannot write %s: %s", rc ? file : runs,
                         strerror(errno));
                return NULL;
        }
        cap_progress(c, "%s: running (about %.0f s)", name, est_s);
        cpu_jiffies(&b0, &t0);
        cpu0 = children_cpu_s();
        m0   = crmsync_mono_ms();
        if ((pid = spawn(c, file, runs, log, est_s + 60, preload)) <= 0) {
                cap_skip(c, name, "cannot start crmsync run: %s",
                         strerror(errno));
                return NULL;
        }
        rc   = wait_child(c, pid, (int64_t)((est_s + 120) * 1000));
        wall = (double)(crmsync_mono_ms() - m0) / 1000.0;
        cpu_jiffies(&b1, &t1);
        sum = find_summary(runs, run_dir, sizeof(run_dir));
        json_object_set_new(pt, "run_dir", json_string(run_dir));
        json_object_set_new(pt, "exit_code", json_integer(rc));
        json_object_set_new(
            pt, "verdict",
            json_string(sum ? json_string_value(json_object_get(sum, "verdict"))
                            : "none"));
        json_object_set_new(
            pt, "cpu",
            json_pack("{s:f, s:o, s:f, s:i}", "wall_s", wall, "machine_busy",
                      t1 > t0 ? json_real((b1 - b0) / (t1 - t0)) : json_null(),
                      "crmsync_cpu_s", children_cpu_s() - cpu0, "cores",
                      (int)sysconf(_SC_NPROCESSORS_ONLN)));
        if (!sum)
                cap_skip(c, name, "the run wrote no summary (exit %d, see %s)",
                         rc, log);
        return sum;
}

/* The user's scenario with this rate and size, no faults, no replay, no
 * expectations but the default (zero anomalies). */
static json_t *derive(struct cap *c, const char *name, double rate,
                      double changes, double warmup_s)
{
        json_t *s = json_deep_copy(c->base), *w;
        w         = json_object_get(s, "workload");
        if (!json_is_object(w)) {
                w = json_object();
                json_object_set_new(s, "workload", w);
        }
        json_object_set_new(s, "name", json_string(name));
        json_object_set_new(w, "rate_per_s", json_real(rate));
        json_object_set_new(w, "changes", json_integer((json_int_t)changes));
        json_object_set_new(s, "warmup_s", json_real(warmup_s));
        json_object_del(s, "faults");
        json_object_del(s, "replay");
        json_object_del(s, "expect");
        json_object_del(s, "timeout_s");
        return s;
}

/* -- rate sweep ----------------------------------------------------------- */

static json_t *rate_point(struct cap *c, double rate)
{
        char    name[200];
        double  changes = fmax(ceil(rate * c->o->run_s), c->min_changes);
        double  dur     = changes / rate;
        double  warm    = fmax(1.0, 0.2 * dur);
        json_t *pt, *sum, *st;

        snprintf(name, sizeof(name), "%s-rate-%.0f", c->sc->name, rate);
        pt  = json_pack("{s:f, s:f, s:f}", "rate_per_s", rate, "changes",
                        changes, "warmup_s", warm);
        sum = run_point(c, name, derive(c, name, rate, changes, warm),
                        dur + POINT_OVERHEAD_S, 0, pt);
        if (!sum) {
                json_object_set_new(pt, "measured", json_false());
                return pt;
        }
        st = json_object_get(
            json_object_get(json_object_get(sum, "timing"), "freshness"),
            "steady_state");
        json_object_set_new(pt, "measured", json_true());
        json_object_set_new(pt, "freshness_ms",
                            json_pack("{s:O, s:O, s:O, s:O, s:O, s:O}", "count",
                                      json_object_get(st, "count"), "p50",
                                      json_object_get(st, "p50"), "p95",
                                      json_object_get(st, "p95"), "p99",
                                      json_object_get(st, "p99"), "max",
                                      json_object_get(st, "max"), "unseen",
                                      json_object_get(st, "unseen")));
        json_object_set(pt, "peak_lag", json_object_get(st, "peak_lag"));
        json_object_set_new(
            pt, "record_bytes",
            crmsync_json_num(sum, "log.records_read") > 0
                ? json_real(crmsync_json_num(sum, "log.bytes") /
                            crmsync_json_num(sum, "log.records_read"))
                : json_null());
        json_object_set_new(
            pt, "applies_per_s",
            json_real(crmsync_json_num(sum, "timing.drain.events_per_s")));
        if (c->o->slo_p99_ms > 0)
                json_object_set_new(
                    pt, "slo_met",
                    json_boolean(json_is_integer(json_object_get(st, "p99")) &&
                                 json_integer_value(json_object_get(
                                     st, "p99")) <= c->o->slo_p99_ms));
        cap_progress(c,
                     "rate %.0f/s: steady p50 %.0f p95 %.0f p99 %.0f ms, "
                     "peak lag %.0f ms, %.0f applies/s, machine CPU %.0f%%",
                     rate, crmsync_json_num(pt, "freshness_ms.p50"),
                     crmsync_json_num(pt, "freshness_ms.p95"),
                     crmsync_json_num(pt, "freshness_ms.p99"),
                     crmsync_json_num(pt, "peak_lag.age_ms"),
                     crmsync_json_num(pt, "applies_per_s"),
                     100 * crmsync_json_num(pt, "cpu.machine_busy"));
        json_decref(sum);
        return pt;
}

static int slo_met(const json_t *pt)
{
        return json_is_true(json_object_get(pt, "slo_met"));
}

/* --find-max: from the sweep's highest passing and lowest failing rate
 * above it (doubling or halving when the sweep has none), bisect up to
 * search_runs runs or until the bracket is within 10%. */
static void find_max(struct cap *c, json_t *points)
{
        double  pass = 0, fail = 0, pass_p99 = NAN, fail_p99 = NAN;
        int     runs = 0;
        size_t  i;
        json_t *pt;

        json_array_foreach(points, i, pt)
        {
                double r = crmsync_json_num(pt, "rate_per_s");
                if (!json_is_true(json_object_get(pt, "measured")))
                        continue;
                if (slo_met(pt) && r > pass)
                        pass     = r,
                        pass_p99 = crmsync_json_num(pt, "freshness_ms.p99");
        }
        json_array_foreach(points, i, pt)
        {
                double r = crmsync_json_num(pt, "rate_per_s");
                if (json_is_true(json_object_get(pt, "measured")) &&
                    !slo_met(pt) && r > pass && (fail == 0 || r < fail))
                        fail     = r,
                        fail_p99 = crmsync_json_num(pt, "freshness_ms.p99");
        }
        while (runs < c->o->search_runs && !c->stop &&
               (pass == 0 || fail == 0 || (fail - pass) / pass > 0.10)) {
                double r = pass == 0   ? (fail > 0 ? fail / 2 : 100)
                           : fail == 0 ? pass * 2
                                       : (pass + fail) / 2;
                if (r < 1)
                        break;
                r  = round(r);
                pt = rate_point(c, r);
                json_object_set_new(pt, "search", json_true());
                json_array_append(points, pt);
                runs++;
                if (!json_is_true(json_object_get(pt, "measured"))) {
                        json_decref(pt);
                        break;
                }
                if (slo_met(pt))
                        pass     = r,
                        pass_p99 = crmsync_json_num(pt, "freshness_ms.p99");
                else
                        fail     = r,
                        fail_p99 = crmsync_json_num(pt, "freshness_ms.p99");
                json_decref(pt);
        }
        json_object_set_new(
            json_object_get(c->out, "rate_sweep"), "find_max",
            json_pack("{s:o, s:o, s:o, s:o, s:i, s:i, s:b}", "pass_rate_per_s",
                      pass > 0 ? json_real(pass) : json_null(), "pass_p99_ms",
                      isnan(pass_p99) ? json_null() : json_real(pass_p99),
                      "fail_rate_per_s",
                      fail > 0 ? json_real(fail) : json_null(), "fail_p99_ms",
                      isnan(fail_p99) ? json_null() : json_real(fail_p99),
                      "search_runs", runs, "search_runs_max", c->o->search_runs,
                      "bracketed", pass > 0 && fail > 0));
        cap_progress(c,
                     "find-max: bracket [%.0f, %.0f] changes/s after %d "
                     "search runs",
                     pass, fail, runs);
}

static void rate_sweep(struct cap *c)
{
        json_t *points = json_array();
        json_object_set_new(c->out, "rate_sweep",
                            json_pack("{s:o, s:f, s:o}", "points", points,
                                      "run_s", c->o->run_s, "slo_p99_ms",
                                      c->o->slo_p99_ms > 0
                                          ? json_real(c->o->slo_p99_ms)
                                          : json_null()));
        for (int i = 0; i < c->o->rate_cnt; i++)
                json_array_append_new(points, rate_point(c, c->o->rates[i]));
        if (c->o->find_max)
                find_max(c, points);
}

/* -- catch-up ------------------------------------------------------------- */

static json_t *catch_up_point(struct cap *c, double rate, double down)
{
        char    name[200];
        double  lead    = fmax(3.0, c->min_changes / rate + 1.0);
        double  tail    = down + 4;
        double  changes = ceil(rate * (lead + down + tail));
        json_t *s, *pt, *sum, *cu = NULL, *e;
        size_t  k;

        snprintf(name, sizeof(name), "%s-down-%g", c->sc->name, down);
        s = derive(c, name, rate, changes, 1.0);
        json_object_set_new(s, "faults", json_array());
        for (int k = 0; k < 2; k++) {
                const char *who = k ? "profiler" : "connector";
                if (strcmp(c->o->stop, who) && strcmp(c->o->stop, "both"))
                        continue;
                json_array_append_new(
                    json_object_get(s, "faults"),
                    json_pack("{s:f, s:s, s:f, s:s}", "at_s", lead, "type",
                              k ? "profiler_pause" : "connector_pause",
                              "duration_s", down, "note",
                              "capacity catch-up: stopped (SIGSTOP) for the "
                              "downtime"));
        }
        pt = json_pack("{s:f, s:f, s:f}", "down_s", down, "rate_per_s", rate,
                       "changes", changes);
        sum =
            run_point(c, name, s, lead + down + tail + POINT_OVERHEAD_S, 0, pt);
        /* Both stopped: the one that caught up last. */
        json_array_foreach(
            json_object_get(json_object_get(sum, "timing"), "catch_up"), k, e)
        {
                if (!cu || crmsync_json_num(e, "drain_s") >
                               crmsync_json_num(cu, "drain_s"))
                        cu = e;
        }
        json_object_set_new(pt, "measured",
                            json_boolean(json_is_number(
                                json_object_get(cu, "drain_events_per_s"))));
        if (cu) {
                const char *keys[] = {
                    "stopped_s",          "backlog",      "outage_commits",
                    "commit_rate_per_s",  "drain_s",      "drained",
                    "drain_events_per_s", "caught_up_ms", "catch_up_s"};
                for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
                        json_object_set(pt, keys[k],
                                        json_object_get(cu, keys[k]));
                cap_progress(c,
                             "down %g s at %.0f/s: backlog %.0f, drained in "
                             "%.2f s at %.0f changes/s",
                             down, rate, crmsync_json_num(pt, "backlog"),
                             crmsync_json_num(pt, "drain_s"),
                             crmsync_json_num(pt, "drain_events_per_s"));
        }
        json_decref(sum);
        return pt;
}

static void catch_up(struct cap *c)
{
        double  rate = c->o->catch_up_rate;
        json_t *cu, *points = json_array();
        if (rate <= 0)
                rate = c->o->rate_cnt ? c->o->rates[c->o->rate_cnt / 2]
                                      : c->sc->workload.rate_per_s;
        if (rate <= 0)
                rate = 2000;
        cu = json_pack(
            "{s:f, s:s, s:s, s:o}", "rate_per_s", rate, "stopped", c->o->stop,
            "how",
            !strcmp(c->o->stop, "connector")
                ? "connector_pause: SIGSTOP, SIGCONT after the downtime; the "
                  "backlog waits in the CRM"
            : !strcmp(c->o->stop, "profiler")
                ? "profiler_pause: SIGSTOP, SIGCONT after the downtime; the "
                  "backlog waits in the topic"
                : "connector_pause and profiler_pause together: the backlog "
                  "waits in the CRM",
            "points", points);
        json_object_set_new(c->out, "catch_up", cu);
        for (int i = 0; i < c->o->down_cnt; i++)
                json_array_append_new(points,
                                      catch_up_point(c, rate, c->o->down_s[i]));
        cap_catch_up_validation(c, cu);
}

/* -- replay against history ----------------------------------------------- */

static json_t *history_point(struct cap *c, double n)
{
        char    name[200];
        double  rate = c->o->preload ? fmax(c->sc->workload.rate_per_s, 1)
                                     : fmax(c->sc->workload.rate_per_s, n / 4);
        json_t *s, *pt, *sum, *rp;
        double  est = (c->o->preload ? 0 : n / rate) + n / 5000.0 + 15;

        snprintf(name, sizeof(name), "%s-history-%.0f", c->sc->name, n);
        pt = json_pack("{s:f, s:b}", "changes", n, "preload", c->o->preload);
        if (n < c->min_changes) {
                cap_skip(c, name,
                         "%.0f changes is below the workload's %.0f initial "
                         "creates (lower workload.accounts)",
                         n, c->min_changes);
                json_object_set_new(pt, "measured", json_false());
                return pt;
        }
        s = derive(c, name, rate, n, 1.0);
        json_object_set_new(s, "replay", json_pack("{s:b}", "clear_sink", 1));
        sum = run_point(c, name, s, est, c->o->preload, pt);
        rp  = json_object_get(json_object_get(sum, "timing"), "replay");
        json_object_set_new(
            pt, "measured",
            json_boolean(json_is_true(json_object_get(rp, "matches_oracle")) &&
                         json_is_true(json_object_get(rp, "complete")) &&
                         !isnan(crmsync_json_num(rp, "drain_s")) &&
                         !isnan(crmsync_json_num(rp, "broker.seconds"))));
        if (rp) {
                json_object_set(pt, "records", json_object_get(rp, "events"));
                json_object_set(pt, "pipeline_s",
                                json_object_get(rp, "drain_s"));
                json_object_set(pt, "join_s", json_object_get(rp, "join_s"));
                json_object_set(pt, "phase_s", json_object_get(rp, "seconds"));
                json_object_set(pt, "pipeline_events_per_s",
                                json_object_get(rp, "drain_events_per_s"));
                json_object_set(pt, "matches_oracle",
                                json_object_get(rp, "matches_oracle"));
                json_object_set(pt, "complete",
                                json_object_get(rp, "complete"));
                json_object_set(pt, "broker", json_object_get(rp, "broker"));
                json_object_set(
                    pt, "preload_stats",
                    json_object_get(json_object_get(sum, "timing"), "preload"));
                cap_progress(c,
                             "history %.0f: pipeline %.2f s (join %.2f s "
                             "apart), broker %.3f s, %s",
                             n, crmsync_json_num(pt, "pipeline_s"),
                             crmsync_json_num(pt, "join_s"),
                             crmsync_json_num(pt, "broker.seconds"),
                             json_is_true(json_object_get(rp, "matches_oracle"))
                                 ? "rebuilt the CRM's state"
                                 : "did NOT rebuild the CRM's state");
        }
        json_decref(sum);
        return pt;
}

static void history(struct cap *c)
{
        json_t *h =
            json_pack("{s:b, s:[]}", "preload", c->o->preload, "points");
        json_object_set_new(c->out, "history", h);
        for (int i = 0; i < c->o->history_cnt; i++)
                json_array_append_new(json_object_get(h, "points"),
                                      history_point(c, c->o->history[i]));
        cap_history_fit(c, h);
}

/* -- the whole ------------------------------------------------------------ */

static int setup(struct cap *c, char *out_dir, size_t size, char *errstr,
                 size_t errstr_size)
{
        struct crm_workload_config w;
        json_error_t               jerr;
        char                       ts[32], sub[700];
        time_t                     now = time(NULL);
        struct tm                  tm;

        if (!(c->sc =
                  crmsync_scenario_load(c->o->scenario, errstr, errstr_size)))
                return -1;
        if (!(c->base = json_load_file(c->o->scenario, 0, &jerr)))
                return crmsync_err(errstr, errstr_size, "%s:%d:%d: %s",
                                   c->o->scenario, jerr.line, jerr.column,
                                   jerr.text);
        if (crmsync_workload_resolve(&c->sc->workload, &w, errstr, errstr_size))
                return -1;
        c->min_changes =
            (double)w.accounts *
            (1.0 +
             (w.contacts_per_account == CRM_WORKLOAD_NONE
                  ? 0
                  : w.contacts_per_account) +
             w.opportunities_per_account + w.entitlements_per_account);
        if (c->o->capacity_file) {
                if (crmsync_capacity_inputs_load(c->o->capacity_file, &c->in,
                                                 errstr, errstr_size))
                        return -1;
                c->have_in = 1;
        }
        gmtime_r(&now, &tm);
        strftime(ts, sizeof(ts), "%Y%m%dT%H%M%SZ", &tm);
        if (mkdir(c->o->runs_dir, 0755) && errno != EEXIST)
                return crmsync_err(errstr, errstr_size, "%s: %s",
                                   c->o->runs_dir, strerror(errno));
        snprintf(c->dir, sizeof(c->dir), "%s/capacity-%s-%s-%d", c->o->runs_dir,
                 c->sc->name, ts, (int)getpid());
        snprintf(out_dir, size, "%s", c->dir);
        if (mkdir(c->dir, 0755))
                return crmsync_err(errstr, errstr_size, "%s: %s", c->dir,
                                   strerror(errno));
        snprintf(sub, sizeof(sub), "%s/scenarios", c->dir);
        if (mkdir(sub, 0755))
                return crmsync_err(errstr, errstr_size, "%s: %s", sub,
                                   strerror(errno));
        snprintf(sub, sizeof(sub), "%s/runs", c->dir);
        if (mkdir(sub, 0755))
                return crmsync_err(errstr, errstr_size, "%s: %s", sub,
                                   strerror(errno));
        c->skipped = json_array();
        c->out     = json_pack(
                "{s:s, s:s, s:s, s:s, s:o, s:o, s:f, s:{s:s, s:i, s:i}}", "schema",
                "crmsync.capacity/1", "id", c->dir + strlen(c->o->runs_dir) + 1,
                "scenario", c->sc->name, "scenario_file", c->o->scenario,
                "budget_s",
            c->o->budget_s > 0 ? json_real(c->o->budget_s) : json_null(),
                "skipped", c->skipped, "started_wall_ms", (double)crmsync_wall_ms(),
                "target", "type", c->sc->target_type, "brokers", c->sc->brokers,
                "partitions", c->sc->partitions);
        return 0;
}

/* Points that ran but gave no figure (a catch-up that never caught up, a
 * replay that did not rebuild the CRM's state). */
static int unmeasured(struct cap *c)
{
        static const char *sweeps[] = {"rate_sweep", "catch_up", "history"};
        json_t            *pt;
        size_t             i;
        int                n = 0;
        for (size_t s = 0; s < 3; s++)
                json_array_foreach(
                    json_object_get(json_object_get(c->out, sweeps[s]),
                                    "points"),
                    i, pt) if (!json_is_true(json_object_get(pt, "measured")))
                    n++;
        return n;
}

int crmsync_capacity(const struct capacity_options *o, char *out_dir,
                     size_t out_dir_size, json_t **result, char *errstr,
                     size_t errstr_size)
{
        struct cap c = {.o = o, .start_mono = crmsync_mono_ms()};
        char       path[700];
        int        rc = 2;

        out_dir[0] = '\0';
        if (setup(&c, out_dir, out_dir_size, errstr, errstr_size))
                goto out;
        cap_progress(&c, "writing %s", c.dir);
        if (o->rate_cnt || o->find_max)
                rate_sweep(&c);
        if (o->down_cnt)
                catch_up(&c);
        if (o->history_cnt)
                history(&c);
        if (cap_production(&c, errstr, errstr_size))
                goto out;
        cap_limits(&c);
        json_object_set_new(
            c.out, "elapsed_s",
            json_real((double)(crmsync_mono_ms() - c.start_mono) / 1000.0));
        json_object_set_new(c.out, "interrupted", json_boolean(c.stop));
        snprintf(path, sizeof(path), "%s/capacity.json", c.dir);
        if (json_dump_file(c.out, path, JSON_INDENT(2))) {
                crmsync_err(errstr, errstr_size, "%s: %s", path,
                            strerror(errno));
                goto out;
        }
        rc = c.stop                                         ? 130
             : json_array_size(c.skipped) || unmeasured(&c) ? 1
                                                            : 0;
        if (result)
                *result = json_incref(c.out);
out:
        json_decref(c.out);
        json_decref(c.base);
        crmsync_scenario_destroy(c.sc);
        return rc;
}
