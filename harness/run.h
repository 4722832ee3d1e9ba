/* run.h -- run one scenario end to end: start the embedded broker, the mock
 * CRM and the sink in-process, supervise the pipeline's processes, play the
 * fault timeline, wait for convergence, check, and write the run folder. */
#ifndef CRMSYNC_RUN_H
#define CRMSYNC_RUN_H

#include <jansson.h>
#include <stddef.h>

#include "harness/scenario.h"

struct run_options {
        const char *runs_dir;   /* default "runs" */
        const char *self_exe;   /* this binary, for the pipeline children */
        double      timeout_s;  /* 0 = the scenario's */
        int         quiet;      /* no progress lines */
        double      progress_s; /* status line period; 0 = 2 s on a
                                 * terminal, 5 s otherwise */
        /* Benchmark only (bench_overhead.sh): no recording by the judge
         * (no auditor reading the topic, no probes, no served-event
         * lines, no history checks); the verdict is the end state alone
         * and the summary says "recording": false. */
        int no_record;
        /* history.jsonl.gz instead of history.jsonl (lib/gzfile.h): about
         * 30 bytes a change instead of 525, for long runs. */
        int compress_history;
        /* postgres sink: keep the throwaway server's data directory
         * (the server is stopped all the same). */
        int keep;
        /* `crmsync capacity --history`: produce the workload straight to
         * the topic in the connector's envelope (no CRM polling, no
         * connector, no main-phase profiler), then run the scenario's
         * replay and judge it (run_preload.c). Needs a replay phase and
         * no faults. */
        int preload;
};

/* Run sc. Returns the process exit code: 0 every expectation met, 1 some
 * expectation failed, 2 the run could not be set up (errstr says why).
 * *summary (may be NULL) receives a new reference to summary.json. */
int crmsync_run(const struct scenario *sc, const struct run_options *opt,
                json_t **summary, char *errstr, size_t errstr_size);

/* Shadow mode (run_shadow.c): one mock CRM serving sc[0]'s workload to
 * two pipelines at once, sc[0]'s (side A) and sc[1]'s (side B), each with
 * its own connector, target, profiler and sink, and each judged against
 * that CRM as a run of its own (two run folders under opt->runs_dir).
 * The scenarios need different names, the same seed, and no faults or
 * replay phase. summary[i] receives each side's summary (new references,
 * may be NULL); *crm the CRM's description: URL, events, commit log
 * SHA-256, and how many events it served to each connector (their
 * X-Client-Id), logged in crm-served.jsonl under opt->runs_dir. Returns
 * the worse of the two exit codes (as crmsync_run). */
int crmsync_run_shadow(const struct scenario *const sc[2],
                       const struct run_options *opt, json_t *summary[2],
                       json_t **crm, char *errstr, size_t errstr_size);

#endif
