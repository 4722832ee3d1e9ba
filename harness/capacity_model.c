/* capacity_model.c -- fit, extrapolation, retention, the catch-up model
 * and the cost model of capacity reports (see capacity_model.h and
 * docs/capacity.md, which gives every formula used here). */
#include "harness/capacity_model.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crmsync/common.h"
#include "crmsync/json_util.h"
#include "harness/jsonpos.h"

int crmsync_capacity_fit(const double *x, const double *y, int n,
                         struct capacity_fit *out)
{
        double sx = 0, sy = 0, sxy = 0, syy = 0, sse = 0;

        memset(out, 0, sizeof(*out));
        if (n < 2)
                return -1;
        for (int i = 0; i < n; i++) {
                sx += x[i];
                sy += y[i];
        }
        out->x_mean = sx / n;
        for (int i = 0; i < n; i++) {
                double dx = x[i] - out->x_mean, dy = y[i] - sy / n;
                out->sxx += dx * dx;
                sxy += dx * dy;
                syy += dy * dy;
        }
        if (out->sxx <= 0)
                return -1;
        out->n         = n;
        out->slope     = sxy / out->sxx;
        out->intercept = sy / n - out->slope * out->x_mean;
        for (int i = 0; i < n; i++) {
                double e = y[i] - (out->slope * x[i] + out->intercept);
                sse += e * e;
        }
        out->r2 = syy > 0 ? 1.0 - sse / syy : 1.0;
        out->s  = n > 2 ? sqrt(sse / (n - 2)) : 0;
        return 0;
}

double crmsync_capacity_predict(const struct capacity_fit *f, double x0,
                                double *spread)
{
        if (spread) {
                double d = x0 - f->x_mean;
                *spread  = f->n > 0 && f->sxx > 0
                               ? f->s * sqrt(1.0 + 1.0 / f->n + d * d / f->sxx)
                               : 0;
        }
        return f->slope * x0 + f->intercept;
}

double crmsync_capacity_drain_time_s(double rate_per_s, double down_s,
                                     double drain_rate_per_s)
{
        if (drain_rate_per_s <= rate_per_s)
                return -1;
        return rate_per_s * down_s / (drain_rate_per_s - rate_per_s);
}

double crmsync_capacity_changes(double rate_per_s, double days)
{
        return rate_per_s * days * 86400.0;
}

double crmsync_capacity_retention_bytes(double changes, double record_bytes,
                                        int replication_factor)
{
        return changes * record_bytes * replication_factor;
}

/* -- the capacity file ---------------------------------------------------- */

struct field {
        const char *path; /* "prices.disk_gb_month" */
        char        kind; /* 'n' number, 'i' integer, 'b' bool, 's' string */
        double      lo, hi;
        int         required;
        size_t      off; /* where it goes in struct capacity_inputs: a
                          * double ('n'), an int ('i', 'b') or char[16] */
};

#define IN(member) offsetof(struct capacity_inputs, member)

static const struct field fields[] = {
    {"replication_factor", 'i', 1, 16, 1, IN(replication_factor)},
    {"zones", 'i', 1, 16, 1, IN(zones)},
    {"clients_outside_leader_zone", 'n', 0, 1, 1, IN(outside_share)},
    {"retention_days", 'n', 0, 36500, 1, IN(retention_days)},
    {"consumer_groups", 'i', 1, 1000, 0, IN(consumer_groups)},
    {"currency", 's', 0, 0, 0, IN(currency)},
    {"prices.disk_gb_month", 'n', 0, 1e6, 1, IN(disk_gb_month)},
    {"prices.object_gb_month", 'n', 0, 1e6, 1, IN(object_gb_month)},
    {"prices.cross_zone_gb", 'n', 0, 1e6, 1, IN(cross_zone_gb)},
    {"prices.put_per_1000", 'n', 0, 1e6, 1, IN(put_per_1000)},
    {"prices.get_per_1000", 'n', 0, 1e6, 1, IN(get_per_1000)},
    {"shared_storage.object_part_bytes", 'n', 1, 1e12, 1,
     IN(object_part_bytes)},
    {"shared_storage.wal_window_s", 'n', 0, 1e7, 1, IN(wal_window_s)},
    {"shared_storage.zone_routing", 'b', 0, 0, 1, IN(zone_routing)},
};

static int pos_err(const char *name, jsonpos_t *jp, const char *path,
                   int want_key, char *errstr, size_t errstr_size,
                   const char *what)
{
        int line = 0, col = 0;
        crmsync_jsonpos_find(jp, path, want_key, &line, &col);
        return crmsync_err(errstr, errstr_size, "%s:%d:%d: %s: %s", name, line,
                           col, path, what);
}

/* Every key of o (at prefix) must be a known field or group. */
static int check_unknown(const char *name, jsonpos_t *jp, json_t *o,
                         const char *prefix, char *errstr, size_t errstr_size)
{
        const char *k;
        json_t     *v;
        json_object_foreach(o, k, v)
        {
                char   path[128];
                int    known = 0;
                size_t kl;
                snprintf(path, sizeof(path), "%s%s%s", prefix,
                         prefix[0] ? "." : "", k);
                kl = strlen(path);
                for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
                        if (!strcmp(fields[i].path, path) ||
                            (!strncmp(fields[i].path, path, kl) &&
                             fields[i].path[kl] == '.'))
                                known = 1;
                if (!known)
                        return pos_err(name, jp, path, 1, errstr, errstr_size,
                                       "unknown field");
                if (json_is_object(v) && !prefix[0] &&
                    check_unknown(name, jp, v, path, errstr, errstr_size))
                        return -1;
        }
        return 0;
}

/* The checked value v of field f into its member of in. */
static void store(struct capacity_inputs *in, const struct field *f,
                  const json_t *v)
{
        char *at = (char *)in + f->off;

        if (f->kind == 'n')
                *(double *)at = json_number_value(v);
        else if (f->kind == 'i')
                *(int *)at = (int)json_number_value(v);
        else if (f->kind == 'b')
                *(int *)at = json_is_true(v);
        else
                snprintf(at, sizeof(in->currency), "%s", json_string_value(v));
}

static int check_field(const char *name, jsonpos_t *jp, const struct field *f,
                       json_t *v, char *errstr, size_t errstr_size)
{
        char what[128];
        int  ok;
        switch (f->kind) {
        case 'i':
                ok = json_is_integer(v);
                break;
        case 'n':
                ok = json_is_number(v);
                break;
        case 'b':
                ok = json_is_boolean(v);
                break;
        default:
                ok = json_is_string(v) && json_string_length(v) < 16;
        }
        if (!ok)
                return pos_err(name, jp, f->path, 0, errstr, errstr_size,
                               f->kind == 'i'   ? "expected an integer"
                               : f->kind == 'n' ? "expected a number"
                               : f->kind == 'b' ? "expected true or false"
                                                : "expected a string of at "
                                                  "most 15 characters");
        if ((f->kind == 'i' || f->kind == 'n') &&
            (json_number_value(v) < f->lo || json_number_value(v) > f->hi)) {
                snprintf(what, sizeof(what), "%g is out of range %g..%g",
                         json_number_value(v), f->lo, f->hi);
                return pos_err(name, jp, f->path, 0, errstr, errstr_size, what);
        }
        return 0;
}

int crmsync_capacity_inputs_parse(const char *name, const char *buf, size_t len,
                                  struct capacity_inputs *in, char *errstr,
                                  size_t errstr_size)
{
        json_error_t jerr;
        json_t      *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
        jsonpos_t   *jp   = NULL;
        int          rc   = -1;

        memset(in, 0, sizeof(*in));
        in->consumer_groups = 1;
        if (!root)
                return crmsync_err(errstr, errstr_size, "%s:%d:%d: %s", name,
                                   jerr.line, jerr.column, jerr.text);
        if (!json_is_object(root)) {
                crmsync_err(errstr, errstr_size,
                            "%s:1:1: expected a JSON object", name);
                goto out;
        }
        if (!(jp = crmsync_jsonpos_index(buf, len))) {
                crmsync_err(errstr, errstr_size, "%s: out of memory", name);
                goto out;
        }
        if (check_unknown(name, jp, root, "", errstr, errstr_size))
                goto out;
        for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
                json_t *v = crmsync_json_path(root, fields[i].path);
                if (!v) {
                        if (!fields[i].required)
                                continue;
                        crmsync_err(errstr, errstr_size,
                                    "%s: %s: missing (required: prices are "
                                    "always the user's input, "
                                    "docs/capacity.md)",
                                    name, fields[i].path);
                        goto out;
                }
                if (check_field(name, jp, &fields[i], v, errstr, errstr_size))
                        goto out;
                store(in, &fields[i], v);
        }
        rc = 0;
out:
        crmsync_jsonpos_destroy(jp);
        json_decref(root);
        return rc;
}

int crmsync_capacity_inputs_load(const char *path, struct capacity_inputs *in,
                                 char *errstr, size_t errstr_size)
{
        FILE  *fp = fopen(path, "r");
        char  *buf;
        size_t n;
        int    rc;

        if (!fp)
                return crmsync_err(errstr, errstr_size, "%s: %s", path,
                                   strerror(errno));
        buf = malloc(1 << 20);
        if (!buf) {
                fclose(fp);
                return crmsync_err(errstr, errstr_size, "out of memory");
        }
        n = fread(buf, 1, (1 << 20) - 1, fp);
        if (!feof(fp)) {
                free(buf);
                fclose(fp);
                return crmsync_err(errstr, errstr_size, "%s: larger than 1 MiB",
                                   path);
        }
        fclose(fp);
        rc = crmsync_capacity_inputs_parse(path, buf, n, in, errstr,
                                           errstr_size);
        free(buf);
        return rc;
}

/* -- cost ----------------------------------------------------------------- */

int crmsync_capacity_cost(const struct capacity_inputs *in,
                          const struct capacity_load   *load,
                          struct capacity_cost         *out)
{
        struct capacity_shared_nothing *sn = &out->sn;
        struct capacity_shared_storage *ss = &out->ss;
        double                          w, wb, rf1 = in->replication_factor - 1;

        memset(out, 0, sizeof(*out));
        if (in->replication_factor < 1 || in->zones < 1 ||
            in->object_part_bytes <= 0 || load->rate_per_s < 0 ||
            load->record_bytes < 0)
                return -1;
        wb = load->rate_per_s * load->record_bytes; /* bytes/s written */
        w  = wb * CAPACITY_MONTH_S;
        /* Rack-aware placement: each follower in another zone while there
         * are zones left. */
        out->cross_zone_repl_share =
            rf1 > 0 ? fmin(rf1, in->zones - 1) / rf1 : 0;

        sn->write_bytes          = w;
        sn->retained_bytes       = wb * in->retention_days * 86400.0;
        sn->disk_bytes           = sn->retained_bytes * in->replication_factor;
        sn->repl_cross_bytes     = w * rf1 * out->cross_zone_repl_share;
        sn->producer_cross_bytes = w * in->outside_share;
        sn->consumer_cross_bytes = w * in->consumer_groups * in->outside_share;
        sn->disk_cost  = sn->disk_bytes / CAPACITY_GB * in->disk_gb_month;
        sn->cross_cost = (sn->repl_cross_bytes + sn->producer_cross_bytes +
                          sn->consumer_cross_bytes) /
                         CAPACITY_GB * in->cross_zone_gb;
        sn->total = sn->disk_cost + sn->cross_cost;
        sn->window_cross_bytes =
            load->window_records * load->record_bytes * in->outside_share;
        sn->window_cost =
            sn->window_cross_bytes / CAPACITY_GB * in->cross_zone_gb;

        ss->object_bytes = sn->retained_bytes;
        ss->put_requests = w / in->object_part_bytes;
        ss->get_requests = 0; /* tail reads come from the brokers' cache */
        ss->wal_bytes    = wb * in->wal_window_s;
        ss->client_cross_bytes =
            in->zone_routing
                ? 0
                : sn->producer_cross_bytes + sn->consumer_cross_bytes;
        ss->object_cost  = ss->object_bytes / CAPACITY_GB * in->object_gb_month;
        ss->request_cost = ss->put_requests / 1000.0 * in->put_per_1000 +
                           ss->get_requests / 1000.0 * in->get_per_1000;
        ss->wal_cost = ss->wal_bytes / CAPACITY_GB * in->disk_gb_month;
        ss->cross_cost =
            ss->client_cross_bytes / CAPACITY_GB * in->cross_zone_gb;
        ss->total =
            ss->object_cost + ss->request_cost + ss->wal_cost + ss->cross_cost;
        ss->window_get_requests =
            load->window_records * load->record_bytes / in->object_part_bytes;
        ss->window_cross_bytes = in->zone_routing ? 0 : sn->window_cross_bytes;
        ss->window_cost =
            ss->window_get_requests / 1000.0 * in->get_per_1000 +
            ss->window_cross_bytes / CAPACITY_GB * in->cross_zone_gb;
        return 0;
}

static json_t *fig(double value, const char *unit, const char *formula)
{
        return json_pack("{s:f, s:s, s:s}", "value", value, "unit", unit,
                         "formula", formula);
}

json_t *crmsync_capacity_cost_json(const struct capacity_inputs *in,
                                   const struct capacity_load   *load,
                                   const struct capacity_cost   *c)
{
        const char *cur = in->currency[0] ? in->currency : "price units";
        json_t     *sn, *ss, *o;

        sn = json_pack(
            "{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
            "write_bytes_month",
            fig(c->sn.write_bytes, "bytes", "rate x record_bytes x 30 d"),
            "retained_bytes",
            fig(c->sn.retained_bytes, "bytes",
                "rate x record_bytes x retention"),
            "broker_disk_bytes",
            fig(c->sn.disk_bytes, "bytes", "retained_bytes x RF"),
            "replication_cross_zone_bytes_month",
            fig(c->sn.repl_cross_bytes, "bytes",
                "write_bytes x (RF - 1) x cross-zone share of followers"),
            "producer_cross_zone_bytes_month",
            fig(c->sn.producer_cross_bytes, "bytes",
                "write_bytes x clients_outside_leader_zone"),
            "consumer_cross_zone_bytes_month",
            fig(c->sn.consumer_cross_bytes, "bytes",
                "write_bytes x consumer_groups x "
                "clients_outside_leader_zone"),
            "disk_cost_month",
            fig(c->sn.disk_cost, cur,
                "broker_disk_bytes / 1e9 x disk_gb_month"),
            "cross_zone_cost_month",
            fig(c->sn.cross_cost, cur,
                "(replication + producer + consumer cross-zone bytes) / 1e9 "
                "x cross_zone_gb"),
            "total_month", fig(c->sn.total, cur, "disk + cross-zone"),
            "window_cross_zone_bytes",
            fig(c->sn.window_cross_bytes, "bytes",
                "window_records x record_bytes x clients_outside_leader_zone"),
            "window_cost",
            fig(c->sn.window_cost, cur,
                "window_cross_zone_bytes / 1e9 x cross_zone_gb"));
        ss = json_pack(
            "{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, "
            "s:o, s:s}",
            "object_store_bytes",
            fig(c->ss.object_bytes, "bytes",
                "retained_bytes (one copy; the object store's own "
                "redundancy is in its price)"),
            "put_requests_month",
            fig(c->ss.put_requests, "requests",
                "write_bytes / object_part_bytes"),
            "get_requests_month",
            fig(c->ss.get_requests, "requests",
                "0: tail reads are served from the brokers' cache"),
            "wal_bytes",
            fig(c->ss.wal_bytes, "bytes", "rate x record_bytes x wal_window_s"),
            "client_cross_zone_bytes_month",
            fig(c->ss.client_cross_bytes, "bytes",
                in->zone_routing
                    ? "0: zone-aware routing (every client talks to a "
                      "broker in its own zone)"
                    : "(producer + consumer) cross-zone bytes as in "
                      "shared-nothing"),
            "object_cost_month",
            fig(c->ss.object_cost, cur,
                "object_store_bytes / 1e9 x object_gb_month"),
            "request_cost_month",
            fig(c->ss.request_cost, cur,
                "put / 1000 x put_per_1000 + get / 1000 x get_per_1000"),
            "wal_cost_month",
            fig(c->ss.wal_cost, cur, "wal_bytes / 1e9 x disk_gb_month"),
            "cross_zone_cost_month",
            fig(c->ss.cross_cost, cur,
                "client_cross_zone_bytes / 1e9 x cross_zone_gb"),
            "total_month",
            fig(c->ss.total, cur, "object + requests + WAL + cross-zone"),
            "window_get_requests",
            fig(c->ss.window_get_requests, "requests",
                "window_records x record_bytes / object_part_bytes"),
            "window_cross_zone_bytes",
            fig(c->ss.window_cross_bytes, "bytes",
                in->zone_routing ? "0: zone-aware routing"
                                 : "as shared-nothing's"),
            "window_cost",
            fig(c->ss.window_cost, cur,
                "window_get / 1000 x get_per_1000 + window cross-zone "
                "bytes / 1e9 x cross_zone_gb"),
            "routing",
            in->zone_routing ? "zone-aware: producers and consumers use a "
                               "broker in their own zone"
                             : "none: clients outside the leader's zone "
                               "cross zones as in shared-nothing");
        o = json_pack(
            "{s:{s:i, s:i, s:f, s:f, s:i, s:s, s:f, s:f, s:f, s:f, s:f, s:f, "
            "s:f, s:b},"
            " s:{s:f, s:f, s:f}, s:f, s:o, s:o, s:s}",
            "inputs", "replication_factor", in->replication_factor, "zones",
            in->zones, "clients_outside_leader_zone", in->outside_share,
            "retention_days", in->retention_days, "consumer_groups",
            in->consumer_groups, "currency", cur, "disk_gb_month",
            in->disk_gb_month, "object_gb_month", in->object_gb_month,
            "cross_zone_gb", in->cross_zone_gb, "put_per_1000",
            in->put_per_1000, "get_per_1000", in->get_per_1000,
            "object_part_bytes", in->object_part_bytes, "wal_window_s",
            in->wal_window_s, "zone_routing", in->zone_routing, "load",
            "rate_per_s", load->rate_per_s, "record_bytes", load->record_bytes,
            "window_records", load->window_records, "cross_zone_repl_share",
            c->cross_zone_repl_share, "shared_nothing", sn, "shared_storage",
            ss, "prices_note",
            "every price is the capacity file's: crmsync has no price list");
        return o;
}
