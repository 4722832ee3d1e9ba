/* pilot_cost.c -- the pilot's Cost line: the capacity model
 * (capacity_model.h, docs/capacity.md#cost-model) for each target, with
 * the load measured on that target's own pilot runs and the prices of the
 * user's capacity file (`crmsync pilot --capacity-file FILE`). */
#include "harness/pilot_int.h"

#include <string.h>

#include "harness/capacity_model.h"

/* The run of scenario "<prefix>..." in a target's runs, or NULL. */
static const json_t *run_of(const json_t *runs, const char *prefix)
{
        const json_t *r;
        size_t        i;
        json_array_foreach(runs, i, r)
        {
                const char *n =
                    json_string_value(json_object_get(r, "scenario"));
                if (n && !strncmp(n, prefix, strlen(prefix)))
                        return r;
        }
        return NULL;
}

static double num(const json_t *o, const char *a, const char *b)
{
        const json_t *v = json_object_get(json_object_get(o, a), b);
        return json_is_number(v) ? json_number_value(v) : 0;
}

/* What the model is computed for, from the target's runs:
 *   rate_per_s     the mirrored stream's (01-) changes over its drain,
 *                  first CRM commit to last sink write;
 *   record_bytes   its topic records' average size (log.bytes / records);
 *   window_records the catch-up's backlog (03-, every fault) plus the
 *                  replayed range (05-): the records read again. */
static int measure(const json_t *runs, struct capacity_load *load, json_t *m)
{
        const json_t *s  = run_of(runs, "01-");
        const json_t *cu = run_of(runs, "03-");
        const json_t *rp = run_of(runs, "05-");
        const json_t *f;
        size_t        i;
        double        backlog = 0, records;

        memset(load, 0, sizeof(*load));
        if (!s)
                return -1;
        load->rate_per_s =
            num(json_object_get(s, "timing"), "drain", "events_per_s");
        records            = num(s, "log", "records_read");
        load->record_bytes = records > 0 ? num(s, "log", "bytes") / records : 0;
        json_array_foreach(
            json_object_get(json_object_get(cu, "timing"), "catch_up"), i, f)
            backlog += json_number_value(json_object_get(f, "backlog"));
        load->window_records =
            backlog + num(json_object_get(rp, "timing"), "replay", "events");
        json_object_set_new(m, "rate_per_s", json_real(load->rate_per_s));
        json_object_set_new(m, "record_bytes", json_real(load->record_bytes));
        json_object_set_new(m, "window_records",
                            json_real(load->window_records));
        json_object_set_new(m, "catch_up_backlog", json_real(backlog));
        return load->rate_per_s > 0 && load->record_bytes > 0 ? 0 : -1;
}

json_t *crmsync_pilot_cost(const char *file, const struct capacity_inputs *in,
                           const struct pilot_target *pt)
{
        json_t *targets = json_array();
        for (int ti = 0; ti < 2; ti++) {
                struct capacity_load load;
                struct capacity_cost c;
                json_t              *m = json_object();
                json_t *t = json_pack("{s:s, s:o}", "label", pt[ti].label,
                                      "measured", m);
                if (measure(pt[ti].runs, &load, m) ||
                    crmsync_capacity_cost(in, &load, &c))
                        json_object_set_new(
                            t, "unavailable",
                            json_string("no mirrored-stream run (01-) with a "
                                        "drain rate and record sizes"));
                else
                        json_object_set_new(
                            t, "cost",
                            crmsync_capacity_cost_json(in, &load, &c));
                json_array_append_new(targets, t);
        }
        return json_pack("{s:s, s:s, s:o}", "file", file, "currency",
                         in->currency, "targets", targets);
}
