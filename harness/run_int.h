/* run_int.h -- internals shared by run.c (orchestration, faults,
 * convergence), run_summary.c (timing, history checks, the summary) and
 * run_replay.c (the replay phase): the state of one run. Everything runs
 * on the run's event loop thread. */
#ifndef CRMSYNC_RUN_INT_H
#define CRMSYNC_RUN_INT_H

#include "harness/run.h"

#include <errno.h>
#include <stdarg.h>
#include <event2/event.h>
#include <librdkafka/rdkafka.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness/auditor.h"
#include "harness/cluster.h"
#include "crmsync/bugs.h"
#include "harness/checker.h"
#include "crmsync/common.h"
#include "crmsync/crm.h"
#include "crmsync/domain.h"
#include "harness/histogram.h"
#include "harness/interrupt.h"
#include "harness/kafka_log.h"
#include "harness/history.h"
#include "harness/kafka_log.h"
#include "harness/pg_sink.h"
#include "harness/probe.h"
#include "crmsync/report.h"
#include "crmsync/sink.h"
#include "harness/supervisor.h"
#include "harness/timing.h"
#include "harness/verdict.h"
#include "crmsync/workload.h"

#define TICK_MS 250
#define CHECK_EVERY_MS 250
/* While the sink is being written (a write since the last tick), the
 * end-state check -- a comparison of every record, which shares the event
 * loop with the sink and the CRM -- runs at most this often; once writes
 * stop it runs on the next tick. */
#define CHECK_BUSY_EVERY_MS 1000
/* Time the connector gets to start before the CRM's first commit. */
#define CONNECTOR_WARMUP_MS 1500
#define PROBE_INTERVAL_MS 200
/* A clean stop (flush, commit, leave the group) before SIGKILL. */
#define STOP_GRACE_MS 10000

enum phase { PHASE_RUN, PHASE_WAIT, PHASE_DONE };

struct fault_state {
        int     started, ended, skipped;
        char    reason[256];
        int64_t start_mono, end_mono, start_wall, end_wall;
};

/* A pipeline process that exited on its own (run_diag.c). */
#define RUN_MAX_EXITS 16
#define RUN_TAIL_LINES 10
struct child_exit {
        char    child[32];
        int     pid, start, status, ready;
        int64_t mono, wall;
        char    tail[2048]; /* the last lines of its log */
};

/* The periodic status line (run_status.c). */
struct run_status_state {
        int       init, tty, shown; /* shown: a TTY line awaits clearing */
        int64_t   last_mono;
        size_t    ap_idx; /* sink writes read so far */
        uint32_t *held;   /* per record: newest version applied */
        size_t    oldest; /* first change the sink lacks (index) */
        uint64_t  writes; /* applied writes (of the phase) */
};

struct run {
        const struct scenario    *sc;
        const struct run_options *opt;
        struct event_base        *base;
        cluster_t                *cluster;
        crm_workload_t           *wl;
        auditor_t                *auditor;
        probe_t                  *probe;
        crm_server_t             *crm;
        sink_server_t            *sink; /* the fake sink, or NULL */
        struct pg_sink           *pg;   /* the postgres sink, or NULL */
        struct child              connector, profiler, replayer;
        char                      run_id[200];
        char                      run_dir[512];
        char                      crm_url[64], sink_url[600];
        char                      group_id[240];
        FILE                     *history;
        int64_t                   t0_mono, t0_wall; /* the CRM's clock */
        int64_t                   start_mono;       /* the harness's */
        int64_t                   workload_end_mono, faults_end_mono;
        int64_t                   deadline_mono;
        struct fault_state        faults[SCENARIO_MAX_FAULTS];
        struct event             *tick;
        enum phase                phase;
        int                       converged, interrupted, timed_out, settled;
        /* Set by run_interrupted: the first signal, where and when. */
        int         interrupt_sig;
        const char *interrupt_phase;
        int64_t     interrupt_mono;
        int64_t     converged_mono;
        int64_t     last_check_mono;
        int64_t     last_check_cost_ms; /* what run_check_now took */
        size_t      last_apply_cnt;
        int64_t     last_progress_mono;
        int         unexpected_exits;
        /* Diagnoses (run_diag.c): unexpected exits, and the first error
         * that ends the run with exit 2 (set-up, or a file it cannot
         * write). */
        struct child_exit exits[RUN_MAX_EXITS];
        int               exit_cnt, profiler_ready, history_failed;
        char              error[1024], error_phase[16];
        /* Convergence waits while the profiler's group has lag
         * (run_group_lagging). */
        int64_t            lag_checked_mono, lag_wait_start_mono;
        int                lagging, lag_warned;
        struct cluster_lag lag;           /* the last reading */
        char               lag_note[640]; /* stalled group, or "" */
        /* Replay phase. */
        int64_t replay_start_mono, replay_done_mono;
        int     replay_matched;
        /* The replay profiler's ready file (it exists once its partitions
         * are assigned): until then, no write is no inactivity. */
        const char *replay_ready_path;
        int         replay_assigned;
        /* Record index of every committed change and of every sink write
         * of the main phase, computed once for the checks (run_indexes). */
        uint32_t               *ev_rec, *ap_rec;
        size_t                  ap_cnt;
        struct run_status_state status;
        /* Shadow mode (run_shadow.c): "A" or "B", the connector's client
         * id suffix; shared: base, crm and wl belong to side A. */
        const char *shadow_label;
        int         shadow_shared;
};

/* What a phase of a run ends with. */
enum phase_rc { PHASE_OK = 0, PHASE_ERROR = -1, PHASE_INTERRUPTED = 1 };

/* run.c's phases, for run_shadow.c: the run folder and history; the
 * event loop (kept when r->base is set) and the Kafka target; the judge's
 * clients; the sink and the profiler (waited for); the mock CRM; the
 * fault timers and deadline; the tick (convergence); the judging; the
 * summary of an interrupted run; the teardown. */
enum phase_rc run_setup_files(struct run *r, char *errstr, size_t errstr_size);
enum phase_rc run_setup_cluster(struct run *r, char *errstr,
                                size_t errstr_size);
enum phase_rc run_setup_judge(struct run *r, char *errstr, size_t errstr_size);
enum phase_rc run_setup_sink_and_profiler(struct run *r, char *errstr,
                                          size_t errstr_size);
/* In shadow mode (r->shadow_label) the profiler is started, not waited
 * for: run_wait_profiler waits until it joined its group. */
enum phase_rc run_wait_profiler(struct run *r);
enum phase_rc run_setup_crm(struct run *r, char *errstr, size_t errstr_size);
void          run_schedule_faults(struct run *r);
void          run_tick_cb(evutil_socket_t fd, short what, void *arg);
enum phase_rc run_judge(struct run *r, json_t **summary, int *failed);
int  run_stop_interrupted(struct run *r, json_t **summary, char *errstr,
                          size_t errstr_size);
void run_free(struct run *r);

/* history.jsonl: one JSON object a line with t_ms (since the CRM's clock
 * started) and wall_ms; fmt adds members (",\"k\":v"). */
void run_history(struct run *r, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A progress line on stderr (unless --quiet). */
void run_progress(struct run *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* run_status.c: the periodic status line on stderr (unless --quiet), at
 * most every few seconds however often it is called. replay: the replay
 * phase; differing: records that differ now, or -1 when not known. */
void run_status(struct run *r, int replay, long long differing);
/* The same for a wait outside the phases (what, since since_mono). */
void run_status_wait(struct run *r, const char *what, int64_t since_mono);
/* The replay starts: count its writes from here. */
void run_status_replay_start(struct run *r);
/* Erase a status line left on the terminal (before other output). */
void run_status_clear(struct run *r);
void run_status_free(struct run *r);
/* Record index of "contact/C-000001" in the workload, or UINT32_MAX. */
uint32_t run_record_index(struct run *r, const char *key);
/* End-state check of the sink as it is now; adds to res. */
int run_check_now(struct run *r, struct check_result *res);
/* Start c again after after_s seconds (a crash fault's restart). */
void run_schedule_restart(struct run *r, struct child *c, double after_s);
/* SIGTERM c and keep serving the CRM and the sink (the event loop) until
 * it exits or grace_ms passed; then SIGKILL. */
void run_stop_child_serving(struct run *r, struct child *c, int grace_ms);
/* "e-00000042" -> 42; 0 for ids that are not CRM changes (snapshots). */
uint64_t run_event_seq(const char *id);
/* Whether consumer group `group` still has lag on the changes topic
 * (read at most once a second; the last reading is in r->lag). 0 when it
 * has none, or when it cannot be told (lag unreadable, or the group has
 * committed nothing: a pipeline that does not commit in its group). */
int run_group_lagging(struct run *r, const char *group, int64_t now);
/* Prepare (not start) a pipeline process: connector, profiler or replay. */
void run_setup_child(struct run *r, struct child *c, const char *name,
                     const struct scenario_process *p, const char *group);
int  run_start_child(struct run *r, struct child *c);
/* Has the run been interrupted (SIGINT, SIGTERM)? The first time it sees
 * a signal, it records it with phase (setup, workload, ...), ends the main
 * phase and says so. */
int run_interrupted(struct run *r, const char *phase);

/* run_sink.c: the run's sink, fake or postgres (harness/pg_sink.h). */
int    run_sink_open(struct run *r, char *errstr, size_t errstr_size);
void   run_sink_close(struct run *r);
size_t run_sink_applies(struct run *r, const struct sink_apply **out);
void   run_sink_foreach(struct run *r,
                        void (*cb)(void *opaque, const struct sink_record *),
                        void *opaque);
void   run_sink_foreach_side_effect(struct run *r,
                                    void (*cb)(void *opaque, const char *id,
                                             const char *kind, uint32_t n),
                                    void *opaque);
void   run_sink_clear(struct run *r);
int    run_sink_clear_if(struct run *r,
                         int (*pred)(void *opaque, const struct sink_record *),
                         void *opaque);
int    run_sink_corrupt(struct run *r, const char *key);
int    run_sink_fault(struct run *r, const char *type, const json_t *params,
                      int on, char *why, size_t why_size);
void   run_sink_settle(struct run *r);

/* run_diag.c */
/* A pipeline process exited without being told to: record it (time,
 * status, its log's last lines), say so, and fail the set-up when it never
 * became ready. pid is the one it had. */
void run_note_exit(struct run *r, struct child *c, int pid);
/* process_exits for summary.json (new reference). */
json_t *run_exits_json(struct run *r);
/* End the run with exit 2 for this reason (the first one is kept);
 * phase is "set-up" or "run". Stops the event loop. */
void run_fail(struct run *r, const char *phase, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* history.jsonl: 1 while it can be written. */
int run_history_usable(struct run *r);
/* Call right after a write to history.jsonl; failed != 0 fails the run
 * with errno's reason. */
void run_history_check(struct run *r, int failed);
/* A raw line (or part) for history.jsonl, checked. */
void run_history_line(struct run *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void run_history_flush(struct run *r);
/* Each tick: flush history.jsonl and check the harness's other files
 * (kafka-clients.log); a failed write fails the run. */
void run_check_writes(struct run *r);
void run_history_close(struct run *r);
/* Write the run folder's reports for summary (created for a set-up error
 * when NULL) and settle the exit code: 2 with errstr when r failed or a
 * report could not be written. */
int run_finish(struct run *r, int rc, json_t **summary, char *errstr,
               size_t errstr_size);

/* run_summary.c */
/* Fill r->ev_rec and r->ap_rec (once; the sink's apply log must be final).
 * Returns 0 or -1 on allocation failure. */
int run_indexes(struct run *r);
/* The json_t * builders below return new references the caller owns
 * (json_decref). */
json_t *run_timing_json(struct run *r);
/* The per-second series of the run (run_series.c): summary's "series".
 * Before a replay clears the sink. New reference (null when out of
 * memory). */
json_t *run_series_json(struct run *r);
/* Add the lineage (`crmsync trace`) of the first examples of each anomaly
 * class to summary's anomaly_examples, once history.jsonl is closed
 * (run_lineage.c). */
void    run_add_lineage(struct run *r, json_t *summary);
json_t *run_history_checks(struct run *r, struct check_result *res);
void    run_write_applies(struct run *r);
/* The summary of an interrupted run: no checks, no anomaly counts (they
 * would only reflect the changes still in flight), verdict interrupted. */
json_t *run_interrupted_summary(struct run *r);
/* Where a run's files are, into summary s: "target" (when the cluster was
 * opened), "run_dir" and "history_file". */
void run_summary_where(struct run *r, json_t *s);
/* summary.json of a judged run; its expectations also into exp (typed,
 * for crmsync_verdict_apply; the caller clears it). */
json_t *run_build_summary(struct run *r, struct check_result *res,
                          json_t *timing, json_t *log, json_t *replay,
                          struct expectations *exp, int *failed);

/* run_offsets.c: the summary's "offsets" (offsets.h: per partition the
 * log end read now against the highest offset the sink applied) and
 * "dlq_drain" (the DLQ topic read back to its end by the judge: records
 * and seconds, next to what the auditor saw dead-lettered). Call after the
 * pipeline stopped and the auditor finished. New references. */
json_t *run_offsets_json(struct run *r);
json_t *run_dlq_drain_json(struct run *r);

/* run_api.c: the summary's "api" object (new reference) from the CRM's
 * per-client counts, and the expect.api checks appended to exp. */
json_t *run_api_json(struct run *r);
void run_api_expect(struct run *r, const json_t *api, struct expectations *exp,
                    int *failed);
/* The run's expectations from the scenario's expect section, in summary
 * order (run_expect.c), appended to exp; *failed is set when one fails.
 * Returns a new object of every anomaly class's count. */
json_t *run_expectations(struct run *r, const struct check_result *res,
                         const json_t *timing, const json_t *log,
                         const json_t *replay, struct expectations *exp,
                         int *failed);

/* run_preload.c: the --preload path after set-up (the changes produced
 * straight to the topic, then the replay judged); the summary (new
 * reference) or NULL when it failed (r->error says why). */
json_t *run_preload(struct run *r, int *failed);

/* run_replay.c: rebuild the sink from the earliest offset; the replay's
 * part of summary.json (new reference). */
json_t *run_replay(struct run *r, struct check_result *res);

#endif
