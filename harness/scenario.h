/* scenario.h -- scenario files: strict loading and validation.
 *
 * A scenario is a JSON file (docs/scenario-format.md). Loading is strict:
 * an unknown field, a wrong type, a value out of range or two exclusive
 * faults that overlap is an error naming file:line:column and the field
 * path ("faults[2].duration_s"). */
#ifndef CRMSYNC_SCENARIO_H
#define CRMSYNC_SCENARIO_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "crmsync/workload.h"

#define SCENARIO_MAX_FAULTS 64

struct scenario_fault {
        char    type[32];
        double  at_s;
        double  duration_s; /* 0 = instantaneous */
        json_t *params;     /* the whole fault object; owned */
        int     line, column;
};

struct scenario_process {
        char    *command;     /* NULL = the reference process */
        uint32_t bugs;        /* CRMSYNC_BUG_* */
        char     mode[16];    /* connector: feed | webhook | poll */
        uint32_t page_size;   /* connector */
        uint32_t lookback_ms; /* connector, poll mode */
        uint32_t batch_size;  /* profiler */
        uint32_t linger_ms;   /* profiler */
};

#define SCENARIO_MAX_MUST_FAIL 8

/* expect.verdict "fail": a scenario that must fail in a given way (a bug
 * switch that must be caught). The run passes when it fails exactly so. */
struct scenario_must_fail {
        int enabled; /* expect.verdict is "fail" */
        int at_least_cnt;
        struct {
                char    classes[160]; /* "stale" or a sum "stale+missing" */
                int64_t n;            /* >= 1 */
        } at_least[SCENARIO_MAX_MUST_FAIL]; /* expect.anomalies_at_least */
        int  name_cnt;
        char names[SCENARIO_MAX_MUST_FAIL][128]; /* expect.failing */
        /* expect.may_also_fail: anomaly classes or expectation names that
         * may fail alongside (symptoms of the same bug). */
        int  also_cnt;
        char also[SCENARIO_MAX_MUST_FAIL][128];
};

struct scenario_expect {
        /* -1 = no bound; default 0 for every anomaly class. */
        int64_t missing, stale, zombie, divergent, unexpected;
        int64_t lost, duplicate_side_effect, reordered, dead_lettered;
        double  converge_within_s; /* after the workload and faults end */
        /* Bounds on freshness p99, whole run and steady state (0 = no
         * bound); e2e_p99_ms_max is the old name of the first. */
        double freshness_p99_ms_max;
        double freshness_steady_p99_ms_max;
        double replay_min_events_per_s;  /* 0 = no bound */
        double catch_up_within_s;        /* 0 = no bound */
        double broker_unavailable_max_s; /* 0 = no bound */
        /* API etiquette towards the CRM (expect.api); -1 = no bound. */
        int64_t api_early_retries_max;       /* default 0 */
        int64_t api_over_rate_limit_max;     /* 429s; default -1 */
        int64_t api_over_daily_quota_max;    /* 403s; default -1 */
        double  api_requests_per_change_max; /* 0 = no bound */
        struct scenario_must_fail must_fail;
};

/* An external cluster (docs/targets.md). */
struct scenario_target {
        char    name[128];
        int     embedded;       /* "type": "embedded": brokers, partitions */
        int     brokers;        /* embedded; 0 = the scenario's */
        int     partitions;     /* 0 = the scenario's */
        json_t *properties;     /* librdkafka property -> string, ${NAME}
                                 * expanded; owned */
        json_t *raw_properties; /* as written (secrets as ${NAME}); owned */
        char    bootstrap[1024];
        int     create_topics; /* create missing topics (CreateTopics) */
        int     replication;
        char   *broker_down; /* shell command, {broker} = broker id */
        char   *broker_up;
        char   *scale_out; /* shell command or NULL */
};

struct scenario_replay {
        int    enabled;
        char   from[16]; /* "earliest" | "timestamp" */
        double from_s;   /* timestamp: seconds after the CRM's clock start */
        int    clear_sink;
        char  *domain; /* bounded replay (domain.h spec) or NULL */
};

struct scenario {
        char                      *path;
        char                       name[128];
        char                      *description;
        uint64_t                   seed;
        struct crm_workload_config workload;
        /* crm */
        uint32_t crm_max_page;
        double   crm_rate_limit_per_s;
        uint32_t crm_rate_burst;
        uint64_t crm_daily_quota;
        double   crm_error_rate_5xx;
        double   crm_retention_s;
        uint32_t crm_latency_ms; /* every /v1/ answer this much later */
        /* sink */
        int   sink_blind_writes;
        char  sink_type[16]; /* "fake" (default) | "postgres" */
        char *sink_dsn;      /* postgres: an existing database, or NULL
                              * for a throwaway server per run */
        /* pipeline */
        struct scenario_process connector, profiler;
        /* target */
        char  target_type[16];          /* embedded | external */
        char *target_file;              /* external target file, as written */
        struct scenario_target *target; /* loaded external target or NULL */
        char target_name[128];          /* the target file's name, or "" */
        /* An embedded target file's client properties (librdkafka
         * property -> string, never bootstrap.servers), or NULL; owned */
        json_t *embedded_properties;
        int     brokers, partitions;
        char    topic[128];
        /* run */
        double timeout_s; /* 0 = workload duration + 120 s */
        double settle_s;  /* stop waiting after this long without writes */
        double warmup_s;  /* freshness steady state starts here; -1 = 10%
                           * of the workload's duration */
        struct scenario_fault  faults[SCENARIO_MAX_FAULTS];
        int                    fault_cnt;
        struct scenario_replay replay;
        struct scenario_expect expect;
};

/* Load and validate path. NULL + errstr ("file:line:col: field: what"). The
 * caller frees with crmsync_scenario_destroy. */
struct scenario *crmsync_scenario_load(const char *path, char *errstr,
                                       size_t errstr_size);
/* Same, from a buffer (borrowed for the call); name is used in error
 * messages. The caller frees with crmsync_scenario_destroy. */
struct scenario *crmsync_scenario_load_buffer(const char *name, const char *buf,
                                              size_t len, char *errstr,
                                              size_t errstr_size);
void crmsync_scenario_destroy(struct scenario *sc); /* accepts NULL */

/* Load an external target file (path as given). NULL + errstr naming
 * file:line:column and field. The caller frees with
 * crmsync_target_destroy. */
struct scenario_target *crmsync_target_load(const char *path, char *errstr,
                                            size_t errstr_size);
void crmsync_target_destroy(struct scenario_target *t); /* accepts NULL */
/* Whether a librdkafka property holds a secret (password, secret, private
 * key, OAUTHBEARER config): a target file gives it only as ${NAME}. */
int crmsync_target_secret_property(const char *name);

/* Every fault of sc ends before timeout_s, the run's limit as set by what
 * ("--timeout"). Returns 0, or -1 + errstr "file:line:col: faults[i]: ..."
 * (the loader checks the scenario's own timeout_s). */
int crmsync_scenario_check_timeout(const struct scenario *sc, double timeout_s,
                                   const char *what, char *errstr,
                                   size_t errstr_size);

/* Names of all fault types, comma separated (static storage). */
const char *crmsync_fault_types(void);

#endif
