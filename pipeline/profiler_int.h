/* profiler_int.h -- internals of the reference profiler shared by its files
 * (profiler*.c) and its unit test. Not a public API.
 *
 * Threads: crmsync_profiler_run() polls and parses on the caller's thread
 * (the consumer poll, the rebalance callback it serves, the DLQ producer)
 * and hands each due batch to one writer thread (profiler_writer.c),
 * which writes it to the sink, sends its side effects and commits its
 * offsets, while the caller reads and parses the next batch. The writer
 * works on its own struct profiler (the batch, its stats) and the shared
 * sink client; the caller touches neither while a batch is in flight and
 * waits for the writer before it writes anything itself (rebalance,
 * shutdown). One batch in flight at a time, so the sink sees the batches
 * in the order they were read. */
#ifndef CRMSYNC_PROFILER_INT_H
#define CRMSYNC_PROFILER_INT_H

#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "crmsync/common.h"
#include "crmsync/domain.h"
#include "crmsync/dynbuf.h"
#include "crmsync/pipeline.h"

#define PROFILER_DEDUPE_CAP (1u << 20) /* recent event ids remembered */
#define PROFILER_BACKOFF_MIN_MS 100
#define PROFILER_BACKOFF_MAX_MS 2000
#define PROFILER_RETRY_AFTER_MAX_MS 30000
#define PROFILER_HTTP_TIMEOUT_MS 5000
#define PROFILER_BODY_MAX (64u << 20) /* largest sink reply read */
#define PROFILER_STATS_EVERY_MS 5000
/* While the writer thread writes a batch, the loop reads on up to this
 * many batches' worth (they then go out as one request). */
#define PROFILER_READ_AHEAD 1
#define PROFILER_BUSY_POLL_MS 5 /* poll wait while a due batch waits */
/* A partial update parked for its predecessor (see profiler_pick_round)
 * is forced through after this long, or when this many are parked. */
#define PROFILER_PARK_MAX_MS 10000
#define PROFILER_PARK_CAP 100000

/* ---- event -> sink op mapping (profiler_map.c) ---- */

enum prof_action {
        PROF_UPSERT,
        PROF_DELETE,
        PROF_SKIP, /* valid, deliberately not applied (bug switches) */
};

struct prof_op {
        enum prof_action action;
        char             event_id[CRMSYNC_ID_MAX];
        char             entity[16];
        char             record_id[CRMSYNC_ID_MAX];
        char             account_id[CRMSYNC_ID_MAX];
        uint32_t         version;
        int              merge_fields;
        int              if_newer;
        /* A partial update (merge) applies only on top of its direct
         * predecessor: sent as "if_version": version - 1. -1 = none. */
        int64_t if_version;
        /* "welcome_email", "entitlement_notice" or NULL: the side effect
         * due when the sink applies this op. Static string. */
        const char *side_effect;
        /* The record's fields as compact JSON text of an object (owned,
         * malloc'd, not NUL-terminated); NULL for deletes. */
        char  *fields;
        size_t fields_len;
};

/* The envelope's members the mapping reads, from either parse: the
 * scanner's (profiler_scan.c: strings point into the value) or
 * jansson's tree (profiler_env_from_json: they point into the tree). */
enum prof_env_key {
        PE_EVENT_ID,
        PE_ENTITY,
        PE_RECORD_ID,
        PE_ACCOUNT_ID,
        PE_CHANGE_TYPE,
        PE_VERSION,
        PE_FIELDS,
        PE_MERGED_INTO,
        PE_FULL_STATE,
        PE_RESOLVED_GAP,
        PE_RESOLVED_MOVE,
        PE_RESYNC,
        PE_PREV_ACCOUNT,
        PE_NKEYS
};
enum prof_val_kind {
        PV_ABSENT = 0,
        PV_STR,
        PV_INT,
        PV_TRUE,
        PV_FALSE,
        PV_NULL,
        PV_OBJECT,
        PV_OTHER
};
struct pe_val {
        int         kind; /* enum prof_val_kind */
        const char *s;    /* PV_STR: not NUL-terminated; PV_OBJECT from
                           * the scanner: the object's JSON text */
        size_t        len;
        json_int_t    i;     /* PV_INT */
        int           empty; /* PV_OBJECT without members */
        const json_t *tree;  /* PV_OBJECT from jansson */
};
struct prof_env {
        struct pe_val v[PE_NKEYS];
};

/* Scan value (len bytes) into env: 0, or -1 when jansson must parse it
 * (anything outside the scanner's subset, or malformed). */
int profiler_env_scan(const char *value, size_t len, struct prof_env *env);
/* The member's name in the envelope ("event_id", ...); static. */
const char *profiler_env_name(int k);
/* env from jansson's parse of the envelope (ev stays the owner). */
void profiler_env_from_json(struct prof_env *env, const json_t *ev);

/* Parse and validate one Kafka value (the envelope of wire-contracts.md)
 * and map it to a sink op under the bug switches. Returns 0 (op filled;
 * release it with profiler_op_clear), or -1 with reason filled: the
 * record is unreadable and belongs in the DLQ. */
int profiler_map_event(const char *value, size_t len, uint32_t bugs,
                       struct prof_op *op, char *reason, size_t reason_size);
/* The same, the value always parsed by jansson (the reference the
 * scanner is tested and fuzzed against). */
int profiler_map_event_json(const char *value, size_t len, uint32_t bugs,
                            struct prof_op *op, char *reason,
                            size_t reason_size);

/* Release op->fields; accepts a zeroed op. */
void profiler_op_clear(struct prof_op *op);

/* Append op's bulk-op line (compact JSON and a newline) to b. 0, or -1 /
 * CRMSYNC_DYNBUF_TOO_LARGE (b then holds part of it). */
int profiler_op_write(const struct prof_op *op, struct crmsync_dynbuf *b);
/* The bulk-op JSON for op (new reference, parsed from its line). */
json_t *profiler_op_json(const struct prof_op *op);

/* One per-op result of a sink bulk reply, as the profiler reads it. */
struct prof_result {
        int         status; /* (int) of "status"; 0 when not an integer */
        int         is_gap; /* "result" is the string "gap" */
        const char *msg;    /* "message" when a string (not NUL-terminated
                             * from the scanner), else NULL */
        int msg_len;        /* up to a NUL */
};

/* Scan a bulk reply (len bytes) for exactly want results into out: 0, or
 * -1 when jansson must read it (outside the scanner's subset, malformed,
 * or another count). Strings point into p. */
int profiler_reply_scan(const char *p, size_t len, struct prof_result *out,
                        size_t want);
/* The same by jansson (buf NUL-terminated): 0, or -1 when the reply is
 * unreadable or does not hold exactly want results. Strings point into
 * *tree (set either way; the caller json_decref's it). */
int profiler_reply_json(const char *buf, struct prof_result *out, size_t want,
                        json_t **tree);

/* One op of the batch waiting for its final sink result. */
struct prof_pending {
        struct prof_op op;
        int            done;   /* final result received */
        int            status; /* last per-op status */
        /* The sink answered 409 "gap": the predecessor version is not
         * there yet (it is late, typically on another partition after a
         * merge moved the record to another account). Retried once some
         * op was applied, forced after PROFILER_PARK_MAX_MS. */
        int     parked;
        int64_t parked_since_ms;
        int32_t partition;
        int64_t offset;
};

/* Choose the ops of the next bulk request: for each record, its not-done,
 * not-parked op with the lowest version (the earliest in batch order on a
 * tie). A record's later ops wait for the earlier one, so a per-op failure
 * (retried) never lets a newer version land first and turn the retry
 * stale. Writes indices to idx (room for n); returns how many, or
 * (size_t)-1 on ENOMEM. */
size_t profiler_pick_round(const struct prof_pending *ents, size_t n,
                           size_t *idx);

/* ---- dedupe: bounded set of recent event ids (profiler_map.c) ---- */

struct prof_dedupe;

/* cap ids remembered (copied in); the oldest is forgotten first. NULL on
 * ENOMEM. The caller owns the result: free with profiler_dedupe_free. */
struct prof_dedupe *profiler_dedupe_new(size_t cap);
void                profiler_dedupe_free(struct prof_dedupe *d); /* NULL ok */
/* 1 if id was seen (and is still remembered), else 0. */
int profiler_dedupe_has(const struct prof_dedupe *d, const char *id);
/* Remember id. Returns 1 if it was new, 0 if already present. */
int profiler_dedupe_add(struct prof_dedupe *d, const char *id);
/* Forget id (its record was dropped unwritten and will be redelivered). */
void   profiler_dedupe_forget(struct prof_dedupe *d, const char *id);
size_t profiler_dedupe_len(const struct prof_dedupe *d);

/* ---- sink client (profiler_sink.c) ---- */

/* One keep-alive libcurl handle to the sink. */
struct prof_http {
        void *curl; /* CURL * */
        char  base_url[256];
        /* Last reply body, NUL-terminated ("" when empty), borrowed from
         * body: valid until the next profiler_http_post or _fini. */
        const char           *buf;
        struct crmsync_dynbuf body; /* up to PROFILER_BODY_MAX */
        int64_t retry_after_ms;     /* from the last reply, -1 when absent */
        /* A postgres sink (base_url is a postgres:// or postgresql://
         * DSN): the requests are done as SQL (profiler_pg.c) and answered
         * with the HTTP sink's replies. NULL for the HTTP sink. */
        struct prof_pg *pg;
        /* The postgres sink inserts a side effect only when its row is not
         * there yet (a retry after a commit whose answer was cut); the
         * no-dedupe bug inserts it again. */
        int fx_repeat;
};

int  profiler_http_init(struct prof_http *c, const char *base_url, char *errstr,
                        size_t errstr_size);
void profiler_http_fini(struct prof_http *c); /* accepts a zeroed c */

/* POST body to base_url + path. Returns the HTTP status, or 0 on a
 * transport error (errstr filled). The reply stays in c->buf until the
 * next call. */
long profiler_http_post(struct prof_http *c, const char *path,
                        const char *content_type, const char *body, size_t len,
                        char *errstr, size_t errstr_size);

/* profiler_pg.c: the postgres writer behind profiler_http_post. */
int  profiler_pg_init(struct prof_http *c, const char *dsn, char *errstr,
                      size_t errstr_size);
void profiler_pg_fini(struct prof_http *c); /* accepts c without pg */
/* The bulk or side-effect request on the database, one transaction;
 * 200 with the sink's reply in c->buf, or 0 + errstr (retry). */
long profiler_pg_post(struct prof_http *c, const char *path, const char *body,
                      size_t len, char *errstr, size_t errstr_size);

/* Milliseconds to wait before retry number attempt (0-based): 100 ms
 * doubling to 2 s; a Retry-After (ms, <0 = none) lengthens it, capped at
 * PROFILER_RETRY_AFTER_MAX_MS. */
int64_t profiler_backoff_ms(unsigned attempt, int64_t retry_after_ms);

/* ---- the profiler's state (profiler.c, profiler_kafka.c) ---- */

struct part_off {
        int32_t partition;
        int64_t next_offset;
};

struct side_fx {
        char        event_id[CRMSYNC_ID_MAX];
        char        key[CRMSYNC_KEY_MAX];
        const char *kind;
        int         sent; /* the sink answered 200 for it */
};

struct stats {
        /* Wall ms spent waiting in each phase (profiling aid). */
        int64_t  ms_poll, ms_sink, ms_fx, ms_commit;
        int64_t  ms_wait; /* the loop waiting for the writer thread */
        uint64_t consumed, applied, stale, dup, dlq, skipped, failed, committed,
            retries, side_effects, kafka_errors, parked, forced;
};

struct profiler {
        const struct profiler_config *cfg;
        volatile sig_atomic_t        *stop;
        rd_kafka_t                   *rk;  /* consumer */
        rd_kafka_t                   *dlq; /* producer */
        struct prof_http              http;
        struct prof_http *sink; /* the client the flush uses: &http, or
                                 * the reader's for the writer thread */
        struct prof_dedupe *dedupe;
        int                 is_writer; /* this is the writer thread's */
        struct prof_writer *writer;    /* the reader's; NULL = none */

        /* The batch: ops waiting for the sink and the offsets they cover
         * (messages that need no op still count for the offsets). */
        struct prof_pending *ents;
        size_t               nents, ents_cap;
        struct part_off     *offs;
        size_t               noffs, offs_cap;
        size_t               nmsgs;    /* new messages since the last flush */
        int64_t              first_ms; /* when the first of them came */
        int64_t              last_flush_ms;
        size_t bug_committed_msgs; /* nmsgs the bug committed on read */

        struct side_fx *fx;
        size_t          nfx, fx_cap;

        struct stats st;
        int64_t      last_stats_ms;
        int64_t      last_err_log_ms;
        int64_t      drain_until_ms; /* set at shutdown: last flush */
        FILE        *reads; /* $CRMSYNC_READ_LOG, for lineage; may be NULL */
        struct account_domain domain;
        int                   has_domain;
        int                   from_ts_done;
        int64_t              *start_offs; /* [CRMSYNC_START_OFFSETS_MAX],
                                           * -1 = none; NULL = no spec */
};

/* Log a line as "profiler: ..." (crmsync_vlog). */
void profiler_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Write the batch to the sink, send its side effects and commit its
 * offsets. Returns -1 only when stopping with the batch unwritten. */
int profiler_flush_batch(struct profiler *p);
/* Drop the batch (ops, offsets and side effects) uncommitted. */
void profiler_batch_reset(struct profiler *p);
/* Wait until the DLQ producer delivered everything (so that the offsets
 * of dead-lettered records may be committed). 0, or -1 when stopping. */
int profiler_flush_dlq(struct profiler *p);

/* ---- the writer thread (profiler_writer.c) ---- */

/* Start the writer thread. 0, or -1 with errstr filled. */
int profiler_writer_start(struct profiler *p, char *errstr, size_t errstr_size);
/* Hand the batch to the writer when it is free (after taking back what
 * is left of its previous batch); with wait, wait for it first. Returns
 * 1 when handed over, 0 when the writer is busy (or the DLQ flush gave
 * up). A batch goes over only after the DLQ producer's flush. */
int profiler_writer_submit(struct profiler *p, int wait);
/* Wait for the batch in flight, then take back what is left of it
 * (parked ops; everything when it gave up) into the batch in front of
 * the newer records, with its stats. No-op without a writer. */
void profiler_writer_wait(struct profiler *p);
/* Take back a finished batch without waiting; 1 if a batch is still in
 * flight, else 0. */
int profiler_writer_busy(struct profiler *p);
/* Wait for the batch in flight and end the thread (accepts none). */
void profiler_writer_stop(struct profiler *p);

/* Create the consumer (subscribed to cfg->topic, its rebalances served by
 * profiler_kafka.c) and the DLQ producer into p->rk and p->dlq; the
 * caller destroys them. Returns 0 or -1 with errstr filled. */
int profiler_open_kafka(struct profiler *p, char *errstr, size_t errstr_size);
/* librdkafka's error callback (opaque = p): counts the error, logs at
 * most one a second. */
void profiler_error_cb(rd_kafka_t *rk, int err, const char *reason,
                       void *opaque);

#endif
