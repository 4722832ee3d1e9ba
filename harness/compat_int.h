/* compat_int.h -- shared between compat.c (the session, clients and the
 * ApiVersions table) and compat_items.c (the checklist's items). */
#ifndef CRMSYNC_COMPAT_INT_H
#define CRMSYNC_COMPAT_INT_H

#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdint.h>

#include "crmsync/broker.h"
#include "harness/compat.h"

#define COMPAT_MAX_SENT 64

/* What the protocol log says: the requests sent (name, last version) since
 * the last reset, and the ApiVersions table of the first broker. */
struct compat_log {
        pthread_mutex_t mu;
        char            sent[COMPAT_MAX_SENT][40];
        int             sent_ver[COMPAT_MAX_SENT];
        int             nsent;
        json_t         *api; /* key (string) -> {name, min, max} */
};

struct compat {
        const struct scenario_target *t;
        crmsync_broker_t             *emb; /* an embedded target */
        char                          bootstrap[1024];
        int                           timeout_ms;
        struct compat_log             log;
        json_t                       *items;      /* the checklist */
        json_t                       *figures;    /* RTT, latency, sizes */
        char                          suffix[48]; /* unique names */
};

/* A client with the target's properties; debug logs the protocol (for
 * the API versions used). extra: NULL-terminated name, value pairs. NULL
 * + err. */
rd_kafka_t *crmsync_compat_client(struct compat *cp, rd_kafka_type_t type,
                                  int debug, const char *const *extra,
                                  char *err, size_t err_size);
/* Forget the requests sent so far. */
void crmsync_compat_log_reset(struct compat *cp);
/* "Produce v7, Metadata v4" for the requests named (NULL-terminated list)
 * that were sent since the reset; names not sent are left out. */
void crmsync_compat_api_used(struct compat *cp, const char *const *names,
                             char *out, size_t size);
/* Whether the broker lists API key in its ApiVersions answer: 1 yes, 0
 * no, -1 unknown (no table). */
int crmsync_compat_has_api(struct compat *cp, int key);
/* Append an item: status "pass" | "fail" | "unsupported". */
void crmsync_compat_item(struct compat *cp, const char *item,
                         const char *status, const char *api, const char *error,
                         const char *detail);
/* Produce one record and wait for its delivery report (bounded). Returns
 * the error (0 delivered); *offset gets the record's offset. */
rd_kafka_resp_err_t crmsync_compat_produce(struct compat *cp, rd_kafka_t *rk,
                                           const char *topic, const char *key,
                                           const void *val, size_t len,
                                           int64_t             ts_ms,
                                           rd_kafka_headers_t *hdrs,
                                           int64_t            *offset);
/* The items after the set-up ones (compat_items.c). */
void crmsync_compat_run_items(struct compat *cp);
/* On an external target with topics.create: create the probe's topics
 * (an existing one is fine) (compat_admin.c). */
void crmsync_compat_prepare(struct compat *cp);
/* The admin items, the figures and the largest message (compat_admin.c). */
void crmsync_compat_items_admin(struct compat *cp);
/* Read partition 0 of topic from offset to its end (bounded); fn sees
 * each record. extra: one name, value pair or NULL. */
rd_kafka_resp_err_t
crmsync_compat_read_back(struct compat *cp, const char *topic, int64_t from,
                         const char *const *extra,
                         void (*fn)(const rd_kafka_message_t *m, void *arg),
                         void *arg);

#endif
