/* pg_sink.h -- the postgres sink (docs/sink-postgres.md): a throwaway
 * PostgreSQL per run (pg_server.c) or an existing database (sink.dsn),
 * the schema and apply-log trigger crmsync installs, the judge's own
 * reading of the store, the apply log and the side effects (pg_sink.c),
 * and the sink faults on the database.
 *
 * The judge has its own libpq connection (application_name
 * crmsync-judge) straight to the server; the pipeline gets a DSN through
 * a TCP fault proxy (fakes/tcpproxy) when crmsync started the server.
 * Everything runs on the run's event loop thread. */
#ifndef CRMSYNC_PG_SINK_H
#define CRMSYNC_PG_SINK_H

#include <event2/event.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "crmsync/sink.h"
#include "harness/supervisor.h"

/* ---- the throwaway server (pg_server.c) ---- */

struct pg_server {
        struct child child; /* the postmaster, supervised */
        char         data_dir[1024];
        char         bindir[256];
        int          port;
        int          keep; /* --keep: the data directory stays
                            * (the server is stopped anyway) */
        int dir_is_tmp;    /* not in the run folder */
};

/* initdb into run_dir/postgres (or a private folder under /tmp when the
 * postgres system user cannot reach the run folder), start the server on
 * a free 127.0.0.1 port as the postgres user when run as root, and wait
 * until it accepts connections. Returns 0, or -1 + errstr (the server is
 * then stopped again). */
int crmsync_pg_server_start(struct pg_server *s, const char *run_dir, int keep,
                            char *errstr, size_t errstr_size);
/* Fast shutdown (SIGINT, up to 10 s, then SIGKILL), then remove the data
 * directory unless keep. Accepts a server that never started. */
void crmsync_pg_server_stop(struct pg_server *s);

/* ---- the sink ---- */

typedef struct pg_sink pg_sink_t;

struct pg_sink_config {
        struct event_base *base;    /* borrowed */
        const char        *run_dir; /* the server's folder goes here */
        const char        *dsn;     /* an existing database, or NULL */
        int                keep;    /* keep the data directory */
};

/* Start (or connect to) the database, install the schema and the trigger
 * and empty crmsync's tables. NULL + errstr. Free with
 * crmsync_pg_sink_close. */
pg_sink_t *crmsync_pg_sink_open(const struct pg_sink_config *cfg, char *errstr,
                                size_t errstr_size);
/* Stop the server (when crmsync started it) and free. Accepts NULL. */
void crmsync_pg_sink_close(pg_sink_t *s);
/* The DSN the pipeline gets (CRMSYNC_PG_DSN). Borrowed. */
const char *crmsync_pg_sink_dsn(const pg_sink_t *s);
/* What to print about it ("postgres 127.0.0.1:5433 (throwaway)"). */
const char *crmsync_pg_sink_describe(const pg_sink_t *s);

/* The apply log as read so far (new rows are read on each call); the
 * array is borrowed, valid until the next call. Every entry is applied
 * (the database logs no rejected write). */
size_t crmsync_pg_sink_applies(pg_sink_t *s, const struct sink_apply **out);
/* Read the whole apply log again (call once the writers stopped: a
 * transaction that committed late may hold a lower seq). */
void crmsync_pg_sink_reload(pg_sink_t *s);
/* Rows of crmsync_profiles whose version crmsync_apply_log never
 * recorded (crmsync's trigger is missing or bypassed), with one of them
 * in example; -1 when the database cannot be read (example says why). */
long long crmsync_pg_sink_unlogged(pg_sink_t *s, char *example,
                                   size_t example_size);
/* Visit every row of crmsync_profiles (the table or the user's view).
 * The records are a snapshot, borrowed until the next foreach (as the
 * fake sink's stay valid until its next write). */
void crmsync_pg_sink_foreach(pg_sink_t *s,
                             void (*cb)(void *opaque,
                                        const struct sink_record *),
                             void *opaque);
void crmsync_pg_sink_foreach_side_effect(pg_sink_t *s,
                                         void (*cb)(void       *opaque,
                                                    const char *event_id,
                                                    const char *kind,
                                                    uint32_t    count),
                                         void *opaque);
/* Replay: empty the store (or the records pred accepts) and the logs.
 * clear_if returns how many records it removed, or -1. */
void crmsync_pg_sink_clear(pg_sink_t *s);
int  crmsync_pg_sink_clear_if(pg_sink_t *s,
                              int (*pred)(void                     *opaque,
                                         const struct sink_record *r),
                              void *opaque);
/* Self-test: change one field of a live record (no apply logged). */
int crmsync_pg_sink_corrupt(pg_sink_t *s, const char *key);
/* The sink faults: sink_outage (mode 503|hang|refuse|terminate),
 * sink_slow (latency_ms), sink_partial_failure (ratio). Returns 0, or
 * -1 + why when it cannot be done on this database. */
int crmsync_pg_sink_fault(pg_sink_t *s, const char *type, const json_t *params,
                          int on, char *why, size_t why_size);
/* The SQL crmsync installs: the apply log, side-effect and fault tables
 * and the trigger function; with_table adds crmsync_profiles with its
 * trigger (and empties it). Static storage. */
const char *crmsync_pg_sink_schema_sql(int with_table);
/* Backends terminated by the terminate outage so far. */
uint64_t crmsync_pg_sink_terminated(const pg_sink_t *s);

#endif
