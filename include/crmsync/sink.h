/* sink.h -- the fake profile store (fakes/sink).
 *
 * Records are kept per key "<type>/<id>" ("contact/C-000001") with the
 * owning account id, version, deleted flag (tombstones are kept so that
 * conditional writes stay correct) and fields. An account's profile is the
 * set of live records whose account_id is that account. HTTP API:
 * docs/sink-api.md. Runs on the caller's event_base; call from that thread. */
#ifndef CRMSYNC_SINK_H
#define CRMSYNC_SINK_H

#include <event2/event.h>
#include <jansson.h>
#include <stdint.h>

#include "crmsync/common.h"

enum sink_outage {
        SINK_OUTAGE_NONE,
        SINK_OUTAGE_503,       /* 503 + Retry-After */
        SINK_OUTAGE_HANG,      /* accept, never answer until the outage ends */
        SINK_OUTAGE_REFUSE,    /* listener closed: connection refused */
        SINK_OUTAGE_TERMINATE, /* accept, close each request's connection
                                * without an answer (a server that drops
                                * its clients mid-request) */
};

struct sink_config {
        const char *bind_host;       /* default 127.0.0.1 */
        int         port;            /* 0 = pick a free port */
        int         blind_writes;    /* 1 = ignore if_newer (last write wins) */
        size_t      max_body_bytes;  /* default 8 MiB; larger = 413 */
        size_t      max_log_entries; /* cap of the apply log, side-effect
                                      * log and record map; 0 = 4 Mi.
                                      * Beyond it: 507 log_full. */
};

struct sink_record {
        char     key[CRMSYNC_KEY_MAX];
        char     account_id[CRMSYNC_ID_MAX];
        uint32_t version;
        int      deleted;
        json_t  *fields; /* owned by the sink */
        char     last_event_id[CRMSYNC_ID_MAX];
        int64_t  applied_wall_ms;
        /* The fake sink's: key as interned for its apply log, once (NULL
         * until its first logged write). */
        const char *log_key;
};

/* One accepted write, in apply order. result: "applied" or "stale".
 * event_id and key are interned by the log's owner (one copy per distinct
 * string, shared by every entry that names it) and live as long as the
 * log: a 1,000,000-change replay run logs 2,000,000 entries. */
struct sink_apply {
        const char   *event_id;
        const char   *key;
        uint32_t      version;
        unsigned char is_delete;
        unsigned char applied; /* 0 = rejected as stale (409) */
        unsigned char full;    /* 1 = whole-record upsert (merge_fields=false):
                                * create, undelete, resolved gap/move, resync */
        int64_t wall_ms;
};

typedef struct sink_server sink_server_t;

/* Bind and start serving on base (borrowed; must outlive the server). cfg
 * is copied. NULL + errstr on failure. The caller owns the result: free
 * with crmsync_sink_server_destroy. */
sink_server_t *crmsync_sink_server_new(struct event_base        *base,
                                       const struct sink_config *cfg,
                                       char *errstr, size_t errstr_size);
void           crmsync_sink_server_destroy(sink_server_t *s); /* accepts NULL */
int            crmsync_sink_server_port(const sink_server_t *s);

/* Visit every record (tombstones included). Pointers are borrowed for the
 * duration of the callback. */
void crmsync_sink_foreach(const sink_server_t *s,
                          void (*cb)(void *opaque, const struct sink_record *),
                          void *opaque);
/* The apply log; borrowed, valid until the next write. */
size_t crmsync_sink_applies(const sink_server_t      *s,
                            const struct sink_apply **out);
/* Visit side effects: event id, kind, and how often it was requested. */
void crmsync_sink_foreach_side_effect(const sink_server_t *s,
                                      void (*cb)(void       *opaque,
                                                 const char *event_id,
                                                 const char *kind,
                                                 uint32_t    count),
                                      void *opaque);

/* Modes, switched on and off by the scenario engine (or /_admin/mode). */
int  crmsync_sink_set_outage(sink_server_t *s, enum sink_outage mode,
                             char *errstr, size_t errstr_size);
void crmsync_sink_set_latency(sink_server_t *s, uint32_t latency_ms);
void crmsync_sink_set_partial_failure(sink_server_t *s, double ratio);

/* Fault hooks, called by the scenario engine (harness/fault.c) with every
 * parameter given: sink_outage (mode 503|hang|refuse|terminate), sink_slow
 * (latency_ms), sink_partial_failure (ratio); on=0 ends the fault.
 * Returns 0, or -1 + errstr for an unknown type or a bad parameter. */
int crmsync_sink_fault(sink_server_t *s, const char *type, const json_t *params,
                       int on, char *errstr, size_t errstr_size);

/* Harness self-test: overwrite one field of a live record so that the
 * checker must report it divergent. Returns 0, or -1 if no such record. */
int crmsync_sink_corrupt(sink_server_t *s, const char *key);

/* Remove every record (replay into an empty store). */
void crmsync_sink_clear(sink_server_t *s);
/* Remove the records pred accepts (a bounded-domain replay) and start the
 * apply and side-effect logs afresh. Returns how many were removed, or -1
 * on allocation failure. */
int crmsync_sink_clear_if(sink_server_t *s,
                          int (*pred)(void                     *opaque,
                                      const struct sink_record *r),
                          void *opaque);

#endif
