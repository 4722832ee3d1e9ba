/* run_diag.c -- what went wrong with a run, said plainly: pipeline
 * processes that exited on their own (when, how, their log's last lines),
 * set-up errors, and files the run could not write. A run that ends with
 * exit 2 still leaves summary.json and junit.xml saying why. */
#include "run_int.h"

/* -- unexpected exits ----------------------------------------------------- */

/* "exited with code 2", "was killed by signal 9 (Killed)". */
static void status_text(int status, char *buf, size_t size)
{
        if (WIFEXITED(status))
                snprintf(buf, size, "exited with code %d", WEXITSTATUS(status));
        else if (WIFSIGNALED(status))
                snprintf(buf, size, "was killed by signal %d (%s)",
                         WTERMSIG(status), strsignal(WTERMSIG(status)));
        else
                snprintf(buf, size, "stopped (wait status %d)", status);
}

/* The last RUN_TAIL_LINES lines of path after offset start, at most
 * size - 1 bytes, from a line boundary; "" when it cannot be read. */
static void log_tail(const char *path, long start_at, char *out, size_t size)
{
        FILE  *fp = fopen(path, "r");
        long   end, from;
        size_t n, start;
        int    lines = 0;

        out[0] = '\0';
        if (!fp)
                return;
        if (fseek(fp, 0, SEEK_END) || (end = ftell(fp)) < 0) {
                fclose(fp);
                return;
        }
        from = end > (long)size - 1 ? end - ((long)size - 1) : 0;
        if (from < start_at && start_at <= end)
                from = start_at;
        if (fseek(fp, from, SEEK_SET)) {
                fclose(fp);
                return;
        }
        n = fread(out, 1, size - 1, fp);
        fclose(fp);
        out[n] = '\0';
        while (n && (out[n - 1] == '\n' || out[n - 1] == '\r'))
                out[--n] = '\0';
        for (start = n; start > 0; start--)
                if (out[start - 1] == '\n' && ++lines == RUN_TAIL_LINES)
                        break;
        if (start == 0 && from > start_at) { /* a partial first line */
                char *nl = strchr(out, '\n');
                if (nl)
                        start = (size_t)(nl + 1 - out);
        }
        memmove(out, out + start, n - start + 1);
        for (char *p = out; *p; p++)
                if ((unsigned char)*p < 0x20 && *p != '\n' && *p != '\t')
                        *p = '?';
}

/* Last line of a tail ("" for none): the likeliest reason. */
static const char *last_line(const char *tail)
{
        const char *nl = strrchr(tail, '\n');
        return nl ? nl + 1 : tail;
}

static int child_ready(struct run *r, const struct child *c)
{
        if (c == &r->profiler)
                return r->profiler_ready;
        if (c == &r->connector) /* it has run through its warm-up */
                return crmsync_mono_ms() >= r->t0_mono;
        return 1;
}

void run_note_exit(struct run *r, struct child *c, int pid)
{
        struct child_exit tmp,
            *e = r->exit_cnt < RUN_MAX_EXITS ? &r->exits[r->exit_cnt++] : &tmp;
        char        how[96];
        const char *last;

        memset(e, 0, sizeof(*e));
        snprintf(e->child, sizeof(e->child), "%s", c->name);
        e->pid    = pid;
        e->start  = c->starts;
        e->status = c->last_status;
        e->mono   = crmsync_mono_ms();
        e->wall   = crmsync_wall_ms();
        e->ready  = child_ready(r, c);
        log_tail(c->log_path, c->log_start, e->tail, sizeof(e->tail));
        r->unexpected_exits++;
        status_text(e->status, how, sizeof(how));
        last = last_line(e->tail);
        run_progress(r, "%s (pid %d) %s%s%s", c->name, pid, how,
                     last[0] ? ": " : "", last);
        run_history(r, "child_exit",
                    ",\"child\":\"%s\",\"pid\":%d,\"status\":%d", c->name, pid,
                    e->status);
        if (!e->ready)
                run_fail(r, "set-up",
                         "%s %s before it became ready (%s.log: %s)", c->name,
                         how, c->name, last[0] ? last : "empty");
}

/* A string member from text that may not be UTF-8 (a process's log). */
static json_t *text_json(const char *s)
{
        json_t *j = json_string(s);
        char   *copy;
        if (j || !(copy = strdup(s)))
                return j ? j : json_string("");
        for (char *p = copy; *p; p++)
                if ((unsigned char)*p >= 0x80)
                        *p = '?';
        j = json_string(copy);
        free(copy);
        return j;
}

json_t *run_exits_json(struct run *r)
{
        json_t *arr = json_array();
        for (int i = 0; i < r->exit_cnt; i++) {
                const struct child_exit *e = &r->exits[i];
                json_t                  *o = json_pack(
                                     "{s:s, s:i, s:i, s:f, s:I, s:b}", "child", e->child, "pid",
                                     e->pid, "start", e->start, "t_s",
                                     (double)(e->mono - r->t0_mono) / 1000.0, "wall_ms",
                                     (json_int_t)e->wall, "ready", e->ready);
                char how[96], log[64];
                status_text(e->status, how, sizeof(how));
                if (WIFEXITED(e->status))
                        json_object_set_new(
                            o, "exit_code",
                            json_integer(WEXITSTATUS(e->status)));
                else if (WIFSIGNALED(e->status))
                        json_object_set_new(o, "signal",
                                            json_integer(WTERMSIG(e->status)));
                json_object_set_new(o, "status", json_string(how));
                snprintf(log, sizeof(log), "%s.log", e->child);
                json_object_set_new(o, "log", json_string(log));
                json_object_set_new(o, "log_tail", text_json(e->tail));
                json_array_append_new(arr, o);
        }
        return arr;
}

/* -- errors that end a run with exit 2 ------------------------------------ */

void run_fail(struct run *r, const char *phase, const char *fmt, ...)
{
        va_list ap;
        if (r->error[0])
                return; /* the first cause is the one to tell */
        snprintf(r->error_phase, sizeof(r->error_phase), "%s", phase);
        va_start(ap, fmt);
        vsnprintf(r->error, sizeof(r->error), fmt, ap);
        va_end(ap);
        run_progress(r, "stopping: %s", r->error);
        r->phase = PHASE_DONE;
        if (r->base)
                event_base_loopexit(r->base, NULL);
}

/* -- history.jsonl -------------------------------------------------------- */

int run_history_usable(struct run *r)
{
        return r->history && !r->history_failed;
}

void run_history_check(struct run *r, int failed)
{
        int err = errno;
        if (!failed || r->history_failed)
                return;
        r->history_failed = 1;
        run_fail(r, "run", "history.jsonl: %s", strerror(err));
}

void run_history_line(struct run *r, const char *fmt, ...)
{
        va_list ap;
        int     n;
        if (!run_history_usable(r))
                return;
        va_start(ap, fmt);
        n = vfprintf(r->history, fmt, ap);
        va_end(ap);
        run_history_check(r, n < 0);
}

void run_history_flush(struct run *r)
{
        if (run_history_usable(r))
                run_history_check(r, fflush(r->history) == EOF);
}

void run_check_writes(struct run *r)
{
        int err = crmsync_kafka_log_failed();
        run_history_flush(r);
        if (err)
                run_fail(r, "run", "kafka-clients.log: %s", strerror(err));
}

void run_history_close(struct run *r)
{
        int failed;
        if (!r->history)
                return;
        failed = !r->history_failed &&
                 (fflush(r->history) == EOF || ferror(r->history));
        run_history_check(r, failed);
        failed     = fclose(r->history) == EOF;
        r->history = NULL;
        run_history_check(r, failed);
}

/* -- the run's end -------------------------------------------------------- */

static json_t *setup_error_summary(struct run *r, const char *reason)
{
        json_t *s = json_pack("{s:s, s:s, s:s, s:s, s:s}", "schema",
                              CRMSYNC_SUMMARY_SCHEMA, "scenario", r->sc->name,
                              "scenario_file", r->sc->path, "run_id", r->run_id,
                              "verdict", "error");
        json_object_set_new(
            s, "error",
            json_pack("{s:s, s:s}", "phase", "set-up", "reason", reason));
        json_object_set_new(s, "process_exits", run_exits_json(r));
        run_summary_where(r, s);
        return s;
}

static void mark_error(json_t *s, const char *phase, const char *reason)
{
        json_object_set_new(s, "verdict", json_string("error"));
        json_object_set_new(
            s, "error",
            json_pack("{s:s, s:s}", "phase", phase, "reason", reason));
}

int run_finish(struct run *r, int rc, json_t **summary, char *errstr,
               size_t errstr_size)
{
        char werr[512];

        if (r->run_dir[0])
                run_check_writes(r);
        if (r->error[0]) {
                rc = 2;
                snprintf(errstr, errstr_size, "%s", r->error);
        }
        if (rc != 2 && !*summary)
                rc = 2; /* cannot happen: a judged run has a summary */
        if (!r->run_dir[0])
                return rc; /* nowhere to write */
        if (rc == 2 && !*summary)
                *summary = setup_error_summary(r, errstr);
        else if (rc == 2)
                mark_error(*summary, r->error_phase[0] ? r->error_phase : "run",
                           errstr);
        run_add_lineage(r, *summary);
        if (crmsync_report_write(*summary, r->run_dir, werr, sizeof(werr))) {
                if (rc == 2) {
                        size_t len = strlen(errstr);
                        snprintf(errstr + len, errstr_size - len, "; %s", werr);
                } else {
                        rc = 2;
                        snprintf(errstr, errstr_size, "%s", werr);
                        mark_error(*summary, "report", werr);
                }
        }
        return rc;
}
