/* capacity_model.h -- the arithmetic of capacity reports
 * (docs/capacity.md): the least-squares fit of replay time to history
 * size, the production extrapolation, retention bytes, the catch-up model
 * and the cost model of a shared-nothing and a shared-storage Kafka
 * cluster from a capacity file. Pure functions; no prices are built in:
 * every price comes from the caller's capacity file. */
#ifndef CRMSYNC_CAPACITY_MODEL_H
#define CRMSYNC_CAPACITY_MODEL_H

#include <jansson.h>
#include <stddef.h>

#define CAPACITY_MONTH_S (30.0 * 86400.0)
#define CAPACITY_GB 1e9 /* prices are per 10^9 bytes */

/* y = slope * x + intercept over n points; r2 the coefficient of
 * determination; s the residual standard error (sqrt(SSE / (n - 2)),
 * 0 when n == 2); x_mean and sxx for the prediction's spread. */
struct capacity_fit {
        double slope, intercept, r2, s, x_mean, sxx;
        int    n;
};

/* Fit n >= 2 points with at least two distinct x. Returns 0 or -1. */
int crmsync_capacity_fit(const double *x, const double *y, int n,
                         struct capacity_fit *out);
/* The fit's value at x0 and its spread: one standard error of a new
 * observation, s * sqrt(1 + 1/n + (x0 - x_mean)^2 / sxx). */
double crmsync_capacity_predict(const struct capacity_fit *f, double x0,
                                double *spread);

/* Catch-up model: drain_time = rate * down_s / (drain_rate - rate); -1
 * when drain_rate <= rate (the backlog never drains). */
double crmsync_capacity_drain_time_s(double rate_per_s, double down_s,
                                     double drain_rate_per_s);

/* Production history: changes = rate_per_s * days * 86400; retention
 * bytes = changes * record_bytes * replication factor. */
double crmsync_capacity_changes(double rate_per_s, double days);
double crmsync_capacity_retention_bytes(double changes, double record_bytes,
                                        int replication_factor);

/* The capacity file (docs/capacity.md#the-capacity-file): the cluster's
 * shape and the user's prices. */
struct capacity_inputs {
        int    replication_factor; /* >= 1 */
        int    zones;              /* >= 1 */
        double outside_share;      /* clients outside the leader's zone */
        double retention_days;
        int    consumer_groups; /* groups reading every record (1) */
        char   currency[16];
        /* Prices (per 10^9 bytes, per month where stated). */
        double disk_gb_month, object_gb_month, cross_zone_gb;
        double put_per_1000, get_per_1000;
        /* Shared storage: bytes per object-store PUT or GET, the WAL's
         * window (written data held before upload), zone-aware routing
         * (producers and consumers talk to a broker in their own zone). */
        double object_part_bytes, wal_window_s;
        int    zone_routing;
};

/* Load a capacity file (JSON). Strict: an unknown field, a wrong type or
 * a value out of range is an error "file:line:col: field: what".
 * Returns 0 or -1 + errstr. */
int crmsync_capacity_inputs_load(const char *path, struct capacity_inputs *in,
                                 char *errstr, size_t errstr_size);
/* The same from a buffer; name is used in errors. */
int crmsync_capacity_inputs_parse(const char *name, const char *buf, size_t len,
                                  struct capacity_inputs *in, char *errstr,
                                  size_t errstr_size);

/* The measured load the cost is computed for. */
struct capacity_load {
        double rate_per_s;   /* changes/s written */
        double record_bytes; /* average record (key + value) bytes */
        /* Failure window: records read again (a catch-up's backlog plus
         * a replay's history). */
        double window_records;
};

/* Shared-nothing: brokers keep RF copies on their disks and replicate
 * across zones. Bytes are per month (steady) or per window. */
struct capacity_shared_nothing {
        double write_bytes, retained_bytes, disk_bytes;
        double repl_cross_bytes, producer_cross_bytes, consumer_cross_bytes;
        double disk_cost, cross_cost, total;
        double window_cross_bytes, window_cost; /* failure window reads */
};

/* Shared storage (AutoMQ style): one copy in object storage, a WAL on
 * the brokers, brokers stateless. */
struct capacity_shared_storage {
        double object_bytes, put_requests, get_requests, wal_bytes;
        double client_cross_bytes;
        double object_cost, request_cost, wal_cost, cross_cost, total;
        double window_get_requests, window_cross_bytes, window_cost;
};

struct capacity_cost {
        struct capacity_shared_nothing sn;
        struct capacity_shared_storage ss;
        double                         cross_zone_repl_share;
};

/* Every figure of docs/capacity.md#cost-model. Returns 0, -1 on inputs
 * out of range. */
int crmsync_capacity_cost(const struct capacity_inputs *in,
                          const struct capacity_load   *load,
                          struct capacity_cost         *out);
/* The same as JSON (new reference): every figure with its formula and
 * the inputs, for capacity.json and the pilot's report. */
json_t *crmsync_capacity_cost_json(const struct capacity_inputs *in,
                                   const struct capacity_load   *load,
                                   const struct capacity_cost   *c);

#endif
