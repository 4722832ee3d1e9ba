/* suite.c -- run a folder of scenarios as one suite: validate all first,
 * then one child `crmsync run` per scenario, up to --jobs at a time. */
#include "harness/suite.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crmsync/bugs.h"
#include "crmsync/common.h"
#include "harness/interrupt.h"
#include "harness/scenario.h"
#include "crmsync/suite_report.h"

/* A run that outlives its own timeout by this much is killed. */
#define SUITE_GRACE_S 300

struct suite_entry {
        char            *path;
        struct scenario *sc;  /* after validation */
        pid_t            pid; /* running child, 0 otherwise */
        int64_t          start_ms, end_ms, deadline_ms;
        int              rc;     /* exit code; -1 before it ends */
        int              killed; /* past its deadline */
        char             log[1024];
};

struct suite {
        struct suite_entry *e;
        size_t              cnt;
        /* The status line (suite_status). */
        int     tty, shown;
        int64_t start_ms, status_ms;
};

static int compare_names(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static int matches(const char *path, const char *filter)
{
        const char *base = strrchr(path, '/');
        base             = base ? base + 1 : path;
        if (!filter)
                return 1;
        if (strpbrk(filter, "*?["))
                return fnmatch(filter, base, 0) == 0;
        return strstr(base, filter) != NULL;
}

static int add_path(struct suite *s, const char *path, const char *filter,
                    char *errstr, size_t errstr_size)
{
        if (!matches(path, filter))
                return 0;
        if (s->cnt == SUITE_MAX_SCENARIOS)
                return crmsync_err(errstr, errstr_size,
                                   "more than %d scenarios",
                                   SUITE_MAX_SCENARIOS);
        if (!(s->e[s->cnt].path = strdup(path)))
                return crmsync_err(errstr, errstr_size, "out of memory");
        s->e[s->cnt++].rc = -1;
        return 0;
}

/* A folder's *.json files in name order (not its subfolders). */
static int add_dir(struct suite *s, const char *dir, const char *filter,
                   char *errstr, size_t errstr_size)
{
        DIR           *d = opendir(dir);
        struct dirent *de;
        char         **names = NULL, path[4096];
        size_t         n     = 0, i;
        int            rc = 0, found = 0;

        if (!d)
                return crmsync_err(errstr, errstr_size, "%s: %s", dir,
                                   strerror(errno));
        names = calloc(SUITE_MAX_SCENARIOS, sizeof(*names));
        while (names && (de = readdir(d))) {
                size_t len = strlen(de->d_name);
                if (de->d_name[0] == '.' || len <= 5 ||
                    strcmp(de->d_name + len - 5, ".json"))
                        continue;
                if (n == SUITE_MAX_SCENARIOS ||
                    !(names[n] = strdup(de->d_name))) {
                        rc = crmsync_err(errstr, errstr_size,
                                         "%s: more than %d scenarios", dir,
                                         SUITE_MAX_SCENARIOS);
                        break;
                }
                n++;
        }
        closedir(d);
        if (!names)
                return crmsync_err(errstr, errstr_size, "out of memory");
        qsort(names, n, sizeof(*names), compare_names);
        for (i = 0; i < n && !rc; i++) {
                struct stat st;
                snprintf(path, sizeof(path), "%s%s%s", dir,
                         dir[strlen(dir) - 1] == '/' ? "" : "/", names[i]);
                if (stat(path, &st) || !S_ISREG(st.st_mode))
                        continue;
                found++;
                rc = add_path(s, path, filter, errstr, errstr_size);
        }
        for (i = 0; i < n; i++)
                free(names[i]);
        free(names);
        if (!rc && !found)
                rc = crmsync_err(errstr, errstr_size,
                                 "%s: no scenario files (*.json) in this "
                                 "folder",
                                 dir);
        return rc;
}

suite_t *crmsync_suite_new(int path_cnt, char *const *paths, const char *filter,
                           char *errstr, size_t errstr_size)
{
        struct suite *s = calloc(1, sizeof(*s));
        if (!s || !(s->e = calloc(SUITE_MAX_SCENARIOS, sizeof(*s->e)))) {
                free(s);
                crmsync_err(errstr, errstr_size, "out of memory");
                return NULL;
        }
        for (int i = 0; i < path_cnt; i++) {
                struct stat st;
                int         rc;
                if (stat(paths[i], &st)) {
                        crmsync_err(errstr, errstr_size, "%s: %s", paths[i],
                                    strerror(errno));
                        goto fail;
                }
                rc = S_ISDIR(st.st_mode)
                         ? add_dir(s, paths[i], filter, errstr, errstr_size)
                         : add_path(s, paths[i], filter, errstr, errstr_size);
                if (rc)
                        goto fail;
        }
        if (!s->cnt) {
                crmsync_err(errstr, errstr_size,
                            "no scenario file name matches --filter '%s'",
                            filter ? filter : "");
                goto fail;
        }
        return s;
fail:
        crmsync_suite_destroy(s);
        return NULL;
}

size_t crmsync_suite_size(const suite_t *s)
{
        return s->cnt;
}

int crmsync_suite_validate(suite_t *s, double timeout_s, FILE *errfp)
{
        char errstr[1024];
        int  bad = 0;
        for (size_t i = 0; i < s->cnt; i++) {
                struct suite_entry *e = &s->e[i];
                e->sc = crmsync_scenario_load(e->path, errstr, sizeof(errstr));
                if (e->sc && timeout_s > 0 &&
                    crmsync_scenario_check_timeout(e->sc, timeout_s,
                                                   "--timeout", errstr,
                                                   sizeof(errstr))) {
                        crmsync_scenario_destroy(e->sc);
                        e->sc = NULL;
                }
                if (!e->sc) {
                        fprintf(errfp, "%s\n", errstr);
                        bad++;
                }
        }
        return bad;
}

static int external(const struct suite_entry *e)
{
        return !strcmp(e->sc->target_type, "external");
}

/* The longest a run may take before the suite kills it. */
static int64_t run_limit_ms(const struct scenario *sc, double timeout_s)
{
        double t = timeout_s > 0       ? timeout_s
                   : sc->timeout_s > 0 ? sc->timeout_s
                                       : 3600;
        return (int64_t)((t + SUITE_GRACE_S) * 1000);
}

static int start(struct suite_entry *e, size_t idx, const char *dir,
                 const struct suite_options *opt, char *errstr,
                 size_t errstr_size)
{
        char  timeout[32];
        char *argv[16];
        int   argc = 0, fd;
        pid_t pid;

        snprintf(e->log, sizeof(e->log), "%s/logs/%03zu-%s.log", dir, idx + 1,
                 e->sc->name);
        if ((fd = open(e->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                       0644)) == -1)
                return crmsync_err(errstr, errstr_size, "%s: %s", e->log,
                                   strerror(errno));
        snprintf(timeout, sizeof(timeout), "%g", opt->timeout_s);
        argv[argc++] = "crmsync";
        argv[argc++] = "run";
        argv[argc++] = e->path;
        argv[argc++] = "--runs-dir";
        argv[argc++] = (char *)opt->runs_dir;
        /* The run's status lines go to its log, where the suite's status
         * line reads the latest. */
        argv[argc++] = opt->quiet ? "--quiet" : "--progress-every";
        if (!opt->quiet)
                argv[argc++] = "1";
        if (opt->compress_history)
                argv[argc++] = "--compress-history";
        if (opt->keep)
                argv[argc++] = "--keep";
        if (opt->timeout_s > 0) {
                argv[argc++] = "--timeout";
                argv[argc++] = timeout;
        }
        argv[argc] = NULL;
        fflush(NULL);
        if ((pid = fork()) == -1) {
                close(fd);
                return crmsync_err(errstr, errstr_size, "fork: %s",
                                   strerror(errno));
        }
        if (pid == 0) {
                dup2(fd, 1);
                dup2(fd, 2);
                execv(opt->self_exe, argv);
                _exit(127);
        }
        close(fd);
        e->pid         = pid;
        e->start_ms    = crmsync_mono_ms();
        e->deadline_ms = e->start_ms + run_limit_ms(e->sc, opt->timeout_s);
        return 0;
}

/* The run folder the child named in its log ("report     DIR/summary.json
 * ..."), or "" when it wrote none. */
static void run_dir_of(const struct suite_entry *e, char *out, size_t size)
{
        char  line[4096];
        FILE *fp = fopen(e->log, "r");
        *out     = '\0';
        if (!fp)
                return;
        while (fgets(line, sizeof(line), fp)) {
                char *end;
                if (strncmp(line, "report ", 7) ||
                    !(end = strstr(line, "/summary.json")))
                        continue;
                *end = '\0';
                snprintf(out, size, "%s", line + 7 + strspn(line + 7, " "));
        }
        fclose(fp);
}

static json_t *num_or_null(const json_t *v)
{
        return json_is_number(v) ? json_real(json_number_value(v))
                                 : json_null();
}

/* One row of the suite's table, from the run's summary (or its absence). */
static json_t *run_row(const struct suite_entry *e, const json_t *rs,
                       const char *run_dir)
{
        const json_t *t = json_object_get(rs, "timing");
        json_t       *v;
        json_t       *counts = json_object();
        json_int_t    total  = 0;
        const char   *k, *verdict;

        json_object_foreach((json_t *)json_object_get(rs, "anomalies"), k, v)
        {
                total += json_integer_value(v);
                if (json_integer_value(v))
                        json_object_set(counts, k, v);
        }
        verdict = json_string_value(json_object_get(rs, "verdict"));
        if (!verdict)
                verdict = e->killed ? "timed out" : "error";
        return json_pack(
            "{s:s, s:s, s:s, s:s, s:i, s:f, s:I, s:o, s:o, s:o, s:o, "
            "s:O*, s:O*, s:s}",
            "scenario", e->sc->name, "file", e->path, "run_dir", run_dir,
            "verdict", verdict, "exit_code", e->rc, "duration_s",
            (double)(e->end_ms - e->start_ms) / 1000.0, "anomalies", total,
            "anomaly_counts", counts, "freshness_p99_ms",
            num_or_null(
                json_object_get(json_object_get(t, "freshness"), "p99")),
            "convergence_s", num_or_null(json_object_get(t, "convergence_s")),
            "replay_events_per_s",
            num_or_null(
                json_object_get(json_object_get(t, "replay"), "events_per_s")),
            "run_verdict", json_object_get(rs, "run_verdict"),
            "expected_failure", json_object_get(rs, "expected_failure"), "log",
            e->log);
}

/* "stale+missing >= 1" / "fails: records keyed by account id". */
static json_t *expected_text(const struct scenario_must_fail *mf)
{
        char   buf[1024];
        size_t len = 0;
        if (!mf->enabled)
                return json_string("(none: expect.verdict is not \"fail\")");
        buf[0] = '\0';
        for (int i = 0; i < mf->at_least_cnt && len < sizeof(buf); i++)
                len += (size_t)snprintf(buf + len, sizeof(buf) - len,
                                        "%s%s >= %lld", len ? ", " : "",
                                        mf->at_least[i].classes,
                                        (long long)mf->at_least[i].n);
        for (int i = 0; i < mf->name_cnt && len < sizeof(buf); i++)
                len += (size_t)snprintf(buf + len, sizeof(buf) - len,
                                        "%sfails: %s", len ? ", " : "",
                                        mf->names[i]);
        return json_string(buf);
}

/* What the run found: the expected failure's figures, then every class
 * with a count ("stale+missing = 37; anomalies: stale=30 missing=7"). */
static json_t *found_text(const json_t *row)
{
        char        buf[1024];
        size_t      len   = 0;
        int         first = 1;
        const char *k;
        json_t     *v;
        buf[0] = '\0';
        json_object_foreach(
            json_object_get(json_object_get(row, "expected_failure"), "found"),
            k, v)
        {
                if (len >= sizeof(buf))
                        break;
                if (json_is_integer(v))
                        len +=
                            (size_t)snprintf(buf + len, sizeof(buf) - len,
                                             "%s%s = %lld", len ? ", " : "", k,
                                             (long long)json_integer_value(v));
                else
                        len += (size_t)snprintf(buf + len, sizeof(buf) - len,
                                                "%s%s: %s", len ? ", " : "", k,
                                                json_string_value(v));
        }
        json_object_foreach(json_object_get(row, "anomaly_counts"), k, v)
        {
                if (len < sizeof(buf))
                        len += (size_t)snprintf(
                            buf + len, sizeof(buf) - len, "%s%s=%lld",
                            first ? (len ? "; anomalies: " : "anomalies: ")
                                  : " ",
                            k, (long long)json_integer_value(v));
                first = 0;
        }
        return json_string(len ? buf : "nothing");
}

static void matrix_rows(json_t *matrix, const struct suite_entry *e,
                        const json_t *row)
{
        const struct scenario_process *procs[2] = {&e->sc->connector,
                                                   &e->sc->profiler};
        static const char *const       names[2] = {"connector", "profiler"};
        for (int p = 0; p < 2; p++)
                for (uint32_t bit = 1; bit; bit <<= 1) {
                        const char *sw = crmsync_bug_name(bit);
                        if (!(procs[p]->bugs & bit) || !sw)
                                continue;
                        json_array_append_new(
                            matrix,
                            json_pack(
                                "{s:s, s:s, s:s, s:s, s:o, s:o, "
                                "s:b}",
                                "switch", sw, "process", names[p], "scenario",
                                e->sc->name, "file", e->path, "expected",
                                expected_text(&e->sc->expect.must_fail),
                                "found", found_text(row), "caught",
                                e->sc->expect.must_fail.enabled && e->rc == 0));
                }
}

/* The last status line the run wrote to its log ("[    4.0s] workload
 * 2.0/6.0 s: committed ..."), newline removed, or "" when none yet. */
static void last_status(const struct suite_entry *e, char *out, size_t size)
{
        char   buf[4096];
        FILE  *fp = fopen(e->log, "r");
        size_t n;
        char  *line, *nl;

        *out = '\0';
        if (!fp)
                return;
        if (fseek(fp, -(long)(sizeof(buf) - 1), SEEK_END))
                rewind(fp);
        n      = fread(buf, 1, sizeof(buf) - 1, fp);
        buf[n] = '\0';
        fclose(fp);
        /* The last complete line that starts with "[". */
        while (n && buf[n - 1] != '\n')
                buf[--n] = '\0';
        while (n) {
                buf[--n] = '\0';
                line     = strrchr(buf, '\n');
                line     = line ? line + 1 : buf;
                if (*line == '[') {
                        if ((nl = strchr(line, '\r')))
                                *nl = '\0';
                        snprintf(out, size, "%.*s", (int)(size - 1), line);
                        return;
                }
                n = (size_t)(line - buf);
        }
}

static void status_clear(struct suite *s)
{
        if (s->shown) {
                fputs("\r\033[K", stderr);
                fflush(stderr);
                s->shown = 0;
        }
}

/* The suite's status line: for each running scenario "[k/N] name" and
 * its run's latest status. On a terminal one line rewritten in place (cut
 * to the terminal's width), else a plain line every period. */
static void suite_status(struct suite *s, const struct suite_options *opt)
{
        int64_t        now = crmsync_mono_ms();
        char           line[2048], st[1024];
        size_t         len = 0;
        struct winsize ws;
        int            width = 200;

        if (opt->quiet)
                return;
        if (!s->start_ms) {
                s->start_ms = s->status_ms = now;
                s->tty                     = isatty(STDERR_FILENO);
        }
        if (now - s->status_ms < (opt->status_s > 0
                                      ? (int64_t)(opt->status_s * 1000)
                                  : s->tty ? 2000
                                           : 5000))
                return;
        s->status_ms = now;
        line[0]      = '\0';
        for (size_t i = 0; i < s->cnt && len < sizeof(line); i++) {
                const struct suite_entry *e = &s->e[i];
                if (!e->pid)
                        continue;
                last_status(e, st, sizeof(st));
                len += (size_t)snprintf(line + len, sizeof(line) - len,
                                        "%s[%zu/%zu] %s %s", len ? " | " : "",
                                        i + 1, s->cnt, e->sc->name,
                                        *st ? st : "starting");
        }
        if (!len)
                return;
        if (s->tty && ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 &&
            ws.ws_col > 12)
                width = ws.ws_col - 12;
        fprintf(stderr, s->tty ? "\r\033[K[%7.1fs] %.*s" : "[%7.1fs] %.*s\n",
                (double)(now - s->start_ms) / 1000.0, s->tty ? width : 2048,
                line);
        s->shown = s->tty;
        fflush(stderr);
}

/* Under a failed scenario's line, why: its failed expectations, or what
 * a must-fail scenario found instead (so a CI log says why without the
 * run folder, which a test's clean-up may remove). */
static int progress_why(FILE *fp, const struct suite_entry *e)
{
        char          run_dir[4096], path[4200];
        json_t       *rs, *v;
        const json_t *ef;
        size_t        i, shown = 0;

        run_dir_of(e, run_dir, sizeof(run_dir));
        snprintf(path, sizeof(path), "%s/summary.json", run_dir);
        if (!*run_dir || !(rs = json_load_file(path, 0, NULL)))
                return 0;
        if (json_is_string(json_object_get(rs, "reason")))
                fprintf(fp, "    %s\n",
                        json_string_value(json_object_get(rs, "reason")));
        ef = json_object_get(rs, "expected_failure");
        if (ef && !json_is_true(json_object_get(ef, "caught"))) {
                char *found = json_dumps(json_object_get(ef, "found"),
                                         JSON_COMPACT | JSON_SORT_KEYS);
                fprintf(fp, "    expected to fail, not caught: found %s\n",
                        found ? found : "?");
                free(found);
        }
        json_array_foreach(json_object_get(rs, "expectations"), i, v)
        {
                if (json_is_true(json_object_get(v, "ok")) || shown++ >= 5)
                        continue;
                fprintf(fp, "    %s: %s\n",
                        json_string_value(json_object_get(v, "name")),
                        json_string_value(json_object_get(v, "detail")));
        }
        json_decref(rs);
        return 1;
}

/* A run that wrote no summary (it crashed): the last line of its output
 * that is not a status line (e.g. a failed assertion's message), else its
 * last status line (what it was doing). */
static void last_words(FILE *fp, const struct suite_entry *e)
{
        char  line[1024], last[1024] = "", status[1024] = "";
        FILE *in = fopen(e->log, "r");
        if (!in)
                return;
        while (fgets(line, sizeof(line), in))
                if (line[0] != '\n')
                        snprintf(line[0] == '[' ? status : last, sizeof(last),
                                 "%s", line);
        fclose(in);
        if (!*last)
                memcpy(last, status, sizeof(last));
        if (*last)
                fprintf(fp, "    last output: %s%s", last,
                        strchr(last, '\n') ? "" : "\n");
}

static void progress(const struct suite_options *opt, size_t k, size_t n,
                     const struct suite_entry *e)
{
        char        crashed[96];
        int         sig  = e->rc - 128;
        const char *what = e->rc == 0   ? "PASS"
                           : e->rc == 1 ? "FAIL"
                           : e->killed  ? "TIMEOUT"
                                        : "ERROR";
        /* 128 + N: killed by signal N (or exited 130 after an interrupt). */
        if (!e->killed && sig > 0) {
                snprintf(crashed, sizeof(crashed), "CRASHED (signal %d, %s)",
                         sig, strsignal(sig));
                what = sig == SIGINT || sig == SIGTERM || sig == SIGHUP
                           ? "INTERRUPTED"
                           : crashed;
        }
        if (!opt->progress)
                return;
        fprintf(opt->progress, "[%zu/%zu] %s ... %s (%.1f s)\n", k, n,
                e->sc->name, what, (double)(e->end_ms - e->start_ms) / 1000.0);
        if (e->rc != 0 && !progress_why(opt->progress, e))
                last_words(opt->progress, e);
        fflush(opt->progress);
}

/* Wait up to 100 ms for any running child; returns its index or -1. Kills
 * children past their deadline. */
static long reap_one(struct suite *s)
{
        struct timespec nap = {0, 100 * 1000 * 1000};
        for (size_t i = 0; i < s->cnt; i++) {
                struct suite_entry *e = &s->e[i];
                int                 st;
                if (!e->pid)
                        continue;
                if (waitpid(e->pid, &st, WNOHANG) == e->pid) {
                        e->pid    = 0;
                        e->end_ms = crmsync_mono_ms();
                        e->rc     = WIFEXITED(st)     ? WEXITSTATUS(st)
                                    : WIFSIGNALED(st) ? 128 + WTERMSIG(st)
                                                      : 2;
                        if (e->killed && e->rc != 0)
                                e->rc = 2;
                        return (long)i;
                }
                if (!e->killed && crmsync_mono_ms() > e->deadline_ms) {
                        e->killed = 1;
                        kill(e->pid, SIGKILL);
                }
        }
        nanosleep(&nap, NULL);
        return -1;
}

static void make_suite_dir(const struct suite_options *opt, char *id,
                           size_t id_size, char *dir, size_t dir_size)
{
        char      ts[32];
        time_t    now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(ts, sizeof(ts), "%Y%m%dT%H%M%SZ", &tm);
        snprintf(id, id_size, "suite-%s-%d", ts, (int)getpid());
        snprintf(dir, dir_size, "%s/%s", opt->runs_dir, id);
}

int crmsync_suite_run(suite_t *s, const struct suite_options *opt,
                      json_t **summary_out, char *errstr, size_t errstr_size)
{
        char    id[128], dir[600], logs[700], run_dir[4096];
        json_t *rows = json_array(), *runs = json_array();
        json_t *matrix = json_array(), *summary = NULL;
        size_t  next = 0, done = 0, running = 0, passed = 0;
        int     rc = 2, ext_running = 0, sig = 0, forwarded = 0;

        make_suite_dir(opt, id, sizeof(id), dir, sizeof(dir));
        snprintf(logs, sizeof(logs), "%s/logs", dir);
        if ((mkdir(opt->runs_dir, 0755) && errno != EEXIST) ||
            mkdir(dir, 0755) || mkdir(logs, 0755)) {
                crmsync_err(errstr, errstr_size, "%s: %s", logs,
                            strerror(errno));
                goto out;
        }
        /* Bounded: each turn starts a run, reaps one, or waits 100 ms, and
         * every run ends by its own timeout or is killed past it. */
        while (done < s->cnt) {
                long i;
                sig = crmsync_interrupt_signal();
                while (!sig && next < s->cnt && running < (size_t)opt->jobs &&
                       !(external(&s->e[next]) && ext_running)) {
                        if (start(&s->e[next], next, dir, opt, errstr,
                                  errstr_size))
                                goto out;
                        ext_running += external(&s->e[next]);
                        running++;
                        next++;
                }
                if (sig == SIGTERM && !forwarded) {
                        /* Ctrl-C reaches the children through the
                         * terminal; a SIGTERM to the suite alone does not. */
                        for (size_t j = 0; j < s->cnt; j++)
                                if (s->e[j].pid)
                                        kill(s->e[j].pid, SIGTERM);
                        forwarded = 1;
                }
                if (sig && next < s->cnt && !running)
                        break; /* interrupted: the rest never start */
                if ((i = reap_one(s)) < 0) {
                        suite_status(s, opt);
                        continue;
                }
                running--;
                ext_running -= external(&s->e[i]);
                done++;
                passed += s->e[i].rc == 0;
                status_clear(s);
                progress(opt, done, s->cnt, &s->e[i]);
        }
        status_clear(s);
        for (size_t i = 0; i < s->cnt; i++) {
                struct suite_entry *e  = &s->e[i];
                json_t             *rs = NULL, *row;
                char                path[4200];
                if (e->rc < 0)
                        continue; /* never started */
                run_dir_of(e, run_dir, sizeof(run_dir));
                snprintf(path, sizeof(path), "%s/summary.json", run_dir);
                if (*run_dir)
                        rs = json_load_file(path, 0, NULL);
                row = run_row(e, rs, run_dir);
                matrix_rows(matrix, e, row);
                json_array_append_new(rows, row);
                json_array_append_new(runs, rs ? rs : json_null());
        }
        rc      = sig ? 128 + sig : passed == s->cnt ? 0 : 1;
        summary = json_pack(
            "{s:s, s:s, s:s, s:s, s:i, s:i, s:{s:i, s:i, s:i, s:i}, "
            "s:O, s:O}",
            "schema", CRMSYNC_SUITE_SCHEMA, "suite_id", id, "suite_dir", dir,
            "verdict",
            rc == 0 ? "pass"
            : sig   ? "interrupted"
                    : "fail",
            "exit_code", rc, "jobs", opt->jobs, "counts", "scenarios",
            (int)s->cnt, "run", (int)done, "passed", (int)passed, "failed",
            (int)(done - passed), "runs", rows, "mutation_matrix", matrix);
        if (!summary || crmsync_suite_report_write(summary, runs, dir, errstr,
                                                   errstr_size)) {
                if (!summary)
                        crmsync_err(errstr, errstr_size, "out of memory");
                rc = 2;
                goto out;
        }
        if (summary_out)
                *summary_out = json_incref(summary);
out:
        /* On an error while starting, stop what already runs. */
        for (size_t i = 0; i < s->cnt; i++)
                if (s->e[i].pid) {
                        kill(s->e[i].pid, SIGTERM);
                        waitpid(s->e[i].pid, NULL, 0);
                        s->e[i].pid = 0;
                }
        json_decref(summary);
        json_decref(rows);
        json_decref(runs);
        json_decref(matrix);
        return rc;
}

void crmsync_suite_destroy(suite_t *s)
{
        if (!s)
                return;
        for (size_t i = 0; i < s->cnt; i++) {
                free(s->e[i].path);
                crmsync_scenario_destroy(s->e[i].sc);
        }
        free(s->e);
        free(s);
}
