/* sink_int.h -- internals shared by the fake sink's store (sink_store.c)
 * and its HTTP front end (sink_http.c). Not part of the public API.
 * Everything here is owned by the thread that runs the sink's event_base. */
#ifndef CRMSYNC_SINK_INT_H
#define CRMSYNC_SINK_INT_H

#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "crmsync/http_guard.h"
#include "crmsync/strmap.h"
#include "crmsync/strpool.h"
#include "crmsync/sink.h"

#define SINK_DEFAULT_MAX_BODY (8u * 1024 * 1024)
#define SINK_DEFAULT_MAX_LOG (4u * 1024 * 1024)
#define SINK_KIND_MAX 32

struct side_effect {
        char     event_id[CRMSYNC_ID_MAX];
        char     kind[SINK_KIND_MAX];
        char     key[CRMSYNC_KEY_MAX];
        uint32_t count;
};

struct sink_counters {
        uint64_t ops_applied;
        uint64_t ops_stale;
        uint64_t ops_failed; /* injected partial failures (500) */
        uint64_t ops_bad;    /* malformed ops (400) */
        uint64_t ops_full;   /* store full (507) */
        uint64_t ops_gap;    /* if_version precondition failed (409) */
        uint64_t side_effects;
        uint64_t side_effect_duplicates;
};

struct sink_store {
        struct crmsync_strmap recmap;
        struct sink_record  **recs; /* insertion order */
        size_t                nrecs, recs_cap;

        struct sink_apply     *applies;
        size_t                 napplies, applies_cap;
        struct crmsync_strpool ids; /* event ids and keys of applies */

        struct crmsync_strmap sefmap;
        struct side_effect  **sefs; /* first-seen order */
        size_t                nsefs, sefs_cap;

        size_t max_entries; /* hard cap per log / map */

        struct sink_counters c;
};

int  sink_store_init(struct sink_store *st, size_t max_entries);
void sink_store_fini(struct sink_store *st);
void sink_store_reset(struct sink_store *st);

/* The record stored under key, or NULL. Borrowed: owned by st, valid
 * until the next apply, reset or fini. */
struct sink_record *sink_store_get(const struct sink_store *st,
                                   const char              *key);

/* The per-op result of a bulk op. */
struct sink_result {
        int         status;         /* 200, 400, 409, 500, 507 */
        const char *result;         /* static: "applied", "stale", ... */
        const char *message;        /* static, or NULL */
        int64_t     stored_version; /* -1 when not part of the result */
};

/* One bulk op as the store reads it: its known members (kind and value)
 * and its "fields" (sink_op.c). A string points into the request body
 * or into tree; valid while either lives. */
enum sink_vkind {
        SV_ABSENT = 0,
        SV_STR,
        SV_INT,
        SV_TRUE,
        SV_FALSE,
        SV_NULL,
        SV_OTHER
};
enum sink_key {
        SK_OP,
        SK_TYPE,
        SK_ID,
        SK_EVENT_ID,
        SK_ACCOUNT_ID,
        SK_VERSION,
        SK_MERGE,
        SK_IF_NEWER,
        SK_IF_VERSION,
        SK_NKEYS
};
struct sink_val {
        int         kind; /* enum sink_vkind */
        const char *s;    /* SV_STR: not NUL-terminated */
        size_t      len;
        json_int_t  i; /* SV_INT */
};
struct sink_op {
        int             is_object;
        struct sink_val v[SK_NKEYS];
        json_t         *fields; /* a reference, or NULL when absent */
        json_t         *tree;   /* the op as jansson parsed it, or NULL */
};
struct sink_ops {
        struct sink_op *v;
        size_t          n, cap;
};

/* j (any JSON value) as an op; takes references to j and its fields. */
void sink_op_from_json(struct sink_op *op, json_t *j);
/* Scan one NDJSON line; 0, or -1 when jansson must parse it instead
 * (op then empty). */
int  sink_op_scan(const char *line, size_t n, struct sink_op *op);
void sink_op_clear(struct sink_op *op);
void sink_ops_free(struct sink_ops *ops);

/* Validate and apply one bulk op. fail = the partial-failure draw for this
 * op (a valid op is then answered 500 and not applied). Fills *res;
 * returns 0. A whole-record upsert keeps a reference to op's "fields". */
int sink_store_apply(struct sink_store *st, const struct sink_op *op,
                     int blind_writes, int fail, struct sink_result *res);
/* The same for a JSON op, with the result as a JSON object (new
 * reference). */
json_t *sink_store_apply_op(struct sink_store *st, const json_t *op,
                            int blind_writes, int fail);
/* res as the JSON object of the bulk reply (new reference). */
json_t *sink_result_json(const struct sink_result *res);

/* Parse a /v1/bulk body, a JSON array or NDJSON, into *ops (0; free
 * with sink_ops_free), or -1 with msg filled (line and column). Outside
 * input: tests/fuzz/fuzz_sink_bulk.c fuzzes it with sink_store_apply. */
int sink_parse_ops(const char *data, size_t len, struct sink_ops *ops,
                   char *msg, size_t msgsize);
/* The same, every op parsed by jansson (op->tree always set). */
int sink_parse_json_ops(const char *data, size_t len, struct sink_ops *ops,
                        char *msg, size_t msgsize);

/* Room for n more apply-log entries? */
int sink_store_log_has_room(const struct sink_store *st, size_t n);

/* Count one side-effect request; returns the new count, 0 if the log is
 * full, -1 if an argument is too long. */
int64_t sink_store_side_effect(struct sink_store *st, const char *event_id,
                               const char *kind, const char *key);

/* JSON renderings (new references). */
json_t *sink_store_record_json(const struct sink_record *r);
json_t *sink_store_profile_json(const struct sink_store *st,
                                const char              *account_id);
json_t *sink_store_apply_json(const struct sink_apply *a, size_t seq);

struct pending;

struct req_stat {
        const char *endpoint;
        int         status;
        uint64_t    count;
};

#define SINK_MAX_REQ_STATS 64

struct sink_server {
        struct event_base          *base;
        struct evhttp              *http;
        http_guard_t               *guard; /* limits, JSON errors */
        struct evhttp_bound_socket *bound;
        char                        host[64];
        int                         port;
        int                         blind_writes;
        size_t                      max_body_bytes;

        enum sink_outage outage;
        struct event    *outage_timer; /* ends a timed outage */
        uint32_t         latency_ms;
        double           partial_failure;
        uint64_t         prng;

        struct pending *pending; /* held, delayed or to-drop requests */

        struct sink_store store;

        struct req_stat reqs[SINK_MAX_REQ_STATS];
        size_t          nreqs;
};

#endif
