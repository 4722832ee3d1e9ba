/* run_status.c -- the run's periodic status line on stderr: the phase,
 * changes committed, sink writes applied, how far the sink lags behind the
 * CRM, and the faults in force. On a terminal one line is rewritten in
 * place; into a file or a pipe a plain line goes out every few seconds.
 * --quiet silences it with the other progress lines. */
#include "run_int.h"

#include <sys/ioctl.h>

#define STATUS_TTY_MS 2000
#define STATUS_PLAIN_MS 5000

void run_status_clear(struct run *r)
{
        if (r->status.shown) {
                fputs("\r\033[K", stderr);
                fflush(stderr);
                r->status.shown = 0;
        }
}

static int64_t status_every_ms(struct run *r)
{
        if (r->opt->progress_s > 0)
                return (int64_t)(r->opt->progress_s * 1000);
        return r->status.tty ? STATUS_TTY_MS : STATUS_PLAIN_MS;
}

/* Read the sink writes that arrived since the last call, then move past
 * the changes the sink now holds (at their version or a newer one). */
static void scan_applies(struct run *r, size_t committed)
{
        struct run_status_state *st = &r->status;
        const struct sink_apply *a;
        size_t                   n = run_sink_applies(r, &a);

        if (n < st->ap_idx) /* the sink's log starts afresh (replay) */
                st->ap_idx = 0;
        for (; st->ap_idx < n; st->ap_idx++) {
                const struct sink_apply *ap = &a[st->ap_idx];
                uint32_t                 rec;
                if (!ap->applied)
                        continue;
                st->writes++;
                rec = run_record_index(r, ap->key);
                if (rec != UINT32_MAX && ap->version > st->held[rec])
                        st->held[rec] = ap->version;
        }
        while (st->oldest < committed) {
                const struct crm_event *ev =
                    crmsync_workload_event(r->wl, st->oldest);
                const struct crm_record *cr =
                    crmsync_workload_find(r->wl, ev->entity, ev->record_id);
                size_t rec =
                    cr ? (size_t)(cr - crmsync_workload_record(r->wl, 0)) : 0;
                if (cr && st->held[rec] < ev->version)
                        break;
                st->oldest++;
        }
}

static void active_faults(struct run *r, char *buf, size_t size)
{
        size_t len = 0;
        buf[0]     = '\0';
        for (int i = 0; i < r->sc->fault_cnt && len < size; i++) {
                const struct fault_state *fs = &r->faults[i];
                if (!fs->started || fs->ended || fs->skipped)
                        continue;
                len += (size_t)snprintf(buf + len, size - len, "%s%s",
                                        len ? "," : "", r->sc->faults[i].type);
        }
        if (!buf[0])
                snprintf(buf, size, "none");
}

static void status_print(struct run *r, int64_t now, const char *line)
{
        if (r->status.tty) {
                /* One screen line, or the next \r rewrites only its tail. */
                struct winsize ws;
                int            width = 200;
                if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 &&
                    ws.ws_col > 12)
                        width = ws.ws_col - 12; /* the time prefix */
                fprintf(stderr, "\r\033[K[%7.1fs] %.*s",
                        (double)(now - r->start_mono) / 1000.0, width, line);
                r->status.shown = 1;
        } else {
                fprintf(stderr, "[%7.1fs] %s\n",
                        (double)(now - r->start_mono) / 1000.0, line);
        }
        fflush(stderr);
}

void run_status(struct run *r, int replay, long long differing)
{
        struct run_status_state *st  = &r->status;
        int64_t                  now = crmsync_mono_ms();
        size_t committed = r->crm ? crmsync_crm_server_committed(r->crm) : 0;
        char   line[512], faults[160];
        int    len;

        if (r->opt->quiet)
                return;
        if (!st->init) {
                st->init      = 1;
                st->tty       = isatty(STDERR_FILENO);
                st->last_mono = now;
        }
        if (!st->held &&
            !(st->held = calloc(crmsync_workload_record_cnt(r->wl) + 1,
                                sizeof(*st->held))))
                return;
        scan_applies(r, replay ? 0 : committed);
        if (now - st->last_mono < status_every_ms(r))
                return;
        st->last_mono = now;
        active_faults(r, faults, sizeof(faults));

        if (replay) {
                double secs = (double)(now - r->replay_start_mono) / 1000.0;
                len         = snprintf(line, sizeof(line),
                                       "replay %.1f s: %llu writes applied (%.0f/s)",
                                       secs, (unsigned long long)st->writes,
                               secs > 0 ? (double)st->writes / secs : 0.0);
        } else {
                /* Lag: the age of the oldest committed change the sink does
                 * not hold yet; pending: the changes from that one on. */
                int64_t lag_ms = st->oldest < committed
                                     ? crmsync_wall_ms() -
                                           (r->t0_wall + crmsync_workload_event(
                                                             r->wl, st->oldest)
                                                             ->commit_ms)
                                     : 0;
                if (r->phase == PHASE_RUN && now < r->t0_mono)
                        len = snprintf(line, sizeof(line),
                                       "workload starts in %.1f s:",
                                       (double)(r->t0_mono - now) / 1000.0);
                else if (r->phase == PHASE_RUN)
                        len = snprintf(
                            line, sizeof(line), "workload %.1f/%.1f s:",
                            (double)(now - r->t0_mono) / 1000.0,
                            (double)crmsync_workload_duration_ms(r->wl) /
                                1000.0);
                else
                        len = snprintf(line, sizeof(line),
                                       "waiting for convergence %.1f s:",
                                       (double)(now - r->workload_end_mono) /
                                           1000.0);
                len += snprintf(line + len, sizeof(line) - (size_t)len,
                                " committed %zu/%zu, applied %llu writes, "
                                "lag %.1f s (%zu pending)",
                                committed, crmsync_workload_event_cnt(r->wl),
                                (unsigned long long)st->writes,
                                lag_ms > 0 ? (double)lag_ms / 1000.0 : 0.0,
                                committed - st->oldest);
        }
        if (differing >= 0 && len > 0 && (size_t)len < sizeof(line))
                len += snprintf(line + len, sizeof(line) - (size_t)len,
                                ", %lld records differ", differing);
        if (len > 0 && (size_t)len < sizeof(line))
                snprintf(line + len, sizeof(line) - (size_t)len, ", faults %s",
                         faults);
        status_print(r, now, line);
}

void run_status_wait(struct run *r, const char *what, int64_t since_mono)
{
        struct run_status_state *st  = &r->status;
        int64_t                  now = crmsync_mono_ms();
        char                     line[256];

        if (r->opt->quiet)
                return;
        if (!st->init) {
                st->init      = 1;
                st->tty       = isatty(STDERR_FILENO);
                st->last_mono = now;
        }
        if (now - st->last_mono < status_every_ms(r))
                return;
        st->last_mono = now;
        snprintf(line, sizeof(line), "%s: %.1f s", what,
                 (double)(now - since_mono) / 1000.0);
        status_print(r, now, line);
}

void run_status_replay_start(struct run *r)
{
        struct run_status_state *st = &r->status;
        const struct sink_apply *a;

        /* Count the replay's writes from here: past the sink's apply log
         * as it stands (empty after a clear). */
        st->writes = 0;
        st->ap_idx = run_sink_applies(r, &a);
}

void run_status_free(struct run *r)
{
        run_status_clear(r);
        free(r->status.held);
        r->status.held = NULL;
}
