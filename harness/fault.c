/* fault.c -- the one table of fault types (harness/fault.h): names,
 * parameters, layers and which injector starts and stops each. The hooks
 * themselves are in fault_hooks.c, so the scenario loader links without
 * the run. */
#include "harness/fault.h"

#include <stdio.h>
#include <string.h>

#define CRM FAULT_LAYER_CRM
#define SINK FAULT_LAYER_SINK
#define KAFKA FAULT_LAYER_KAFKA
#define PROC FAULT_LAYER_PROCESS
#define KAFKA_ERRORS                                                           \
        "NOT_LEADER_FOR_PARTITION|REQUEST_TIMED_OUT|NOT_ENOUGH_REPLICAS|"      \
        "BROKER_NOT_AVAILABLE|NOT_COORDINATOR|COORDINATOR_NOT_AVAILABLE"

/* clang-format off */
#define RATIO(req, def) {"ratio", FAULT_P_RATIO, NULL, 0, 1, NULL, req, def, NULL}
#define BROKER {"broker", FAULT_P_INT, NULL, 1, 64, NULL, 1, NULL, NULL}
static const struct fault_type fault_table[] = {
        {"duplicate_delivery", CRM, "duplicate_delivery", 1, 0,
         {RATIO(1, NULL)}, INJ_CRM},
        {"late_events", CRM, "late_events", 1, 0,
         {RATIO(1, NULL),
          {"delay_s", FAULT_P_NUM, "s", 0.001, 3600, NULL, 1, NULL, NULL}},
         INJ_CRM},
        {"gap_events", CRM, "gap_events", 1, 0, {RATIO(1, NULL)},
         INJ_CRM},
        {"sink_outage", SINK, "sink", 1, 0,
         {{"mode", FAULT_P_STR, NULL, 0, 0, "503|hang|refuse|terminate", 1, NULL,
           NULL}},
         INJ_SINK},
        {"sink_slow", SINK, "sink_slow", 1, 0,
         {{"latency_ms", FAULT_P_INT, "ms", 1, 60000, NULL, 1, NULL, NULL}},
         INJ_SINK},
        {"sink_partial_failure", SINK, "sink_partial_failure", 1, 0,
         {RATIO(1, NULL)}, INJ_SINK},
        {"broker_restart", KAFKA, "broker", 1, 0,
         {BROKER,
          {"move_leaders", FAULT_P_BOOL, NULL, 0, 0, NULL, 0, "false",
           NULL}},
         INJ_KAFKA},
        {"broker_rtt", KAFKA, "broker_rtt", 1, 1,
         {BROKER,
          {"rtt_ms", FAULT_P_INT, "ms", 1, 60000, NULL, 1, NULL, NULL}},
         INJ_KAFKA},
        {"kafka_request_errors", KAFKA, NULL, 0, 1,
         {{"request", FAULT_P_STR, NULL, 0, 0,
           "produce|fetch|offset_commit|metadata", 1, NULL, NULL},
          {"error", FAULT_P_STR, NULL, 0, 0, KAFKA_ERRORS, 1, NULL, NULL},
          {"count", FAULT_P_INT, NULL, 1, 100000, NULL, 1, NULL, NULL}},
         INJ_KAFKA},
        {"leader_move", KAFKA, NULL, 0, 1,
         {BROKER,
          {"partition", FAULT_P_INT, NULL, 0, 100000, NULL, 0, NULL,
           "all partitions"}},
         INJ_KAFKA},
        {"connector_crash", PROC, "connector", 0, 0,
         {{"restart_after_s", FAULT_P_NUM, "s", 0, 3600, NULL, 0, "1",
           NULL}},
         INJ_CRASH},
        {"profiler_crash", PROC, "profiler", 0, 0,
         {{"restart_after_s", FAULT_P_NUM, "s", 0, 3600, NULL, 0, "1",
           NULL}},
         INJ_CRASH},
        {"connector_pause", PROC, "connector", 1, 0, {{0}},
         INJ_PAUSE},
        {"profiler_pause", PROC, "profiler", 1, 0, {{0}},
         INJ_PAUSE},
        {"throttle_storm", CRM, "throttle", 1, 0,
         {{"rate_per_s", FAULT_P_NUM, "requests/s", 0.1, 1e6, NULL, 1,
           NULL, NULL}},
         INJ_CRM},
        {"crm_5xx_burst", CRM, "crm_5xx_burst", 1, 0, {RATIO(1, NULL)},
         INJ_CRM},
        {"retention_cut", CRM, NULL, 0, 0,
         {{"keep_s", FAULT_P_NUM, "s", 0, 1e6, NULL, 0, "0", NULL}},
         INJ_CRM},
        {"schema_drift", CRM, "schema_drift", 1, 0,
         {{"kind", FAULT_P_STR, NULL, 0, 0,
           "new_field|changed_type|missing_required", 1, NULL, NULL},
          RATIO(0, "1")},
         INJ_CRM},
        {"webhook_storm", CRM, "webhook_storm", 1, 0, {RATIO(1, NULL)},
         INJ_CRM},
        /* Salesforce dialect: every session issued so far expires. */
        {"expire_sessions", CRM, NULL, 0, 0, {{0}}, INJ_CRM},
        /* Salesforce CDC: a transaction's changes beyond threshold become
         * GAP_OVERFLOW events; identical changes share one event. */
        {"cdc_overflow", CRM, "cdc_overflow", 1, 0,
         {{"threshold", FAULT_P_INT, NULL, 1, 100000, NULL, 0, "100000",
           NULL}},
         INJ_CRM},
        {"cdc_merged_events", CRM, "cdc_merged_events", 1, 0, {{0}},
         INJ_CRM},
        /* Harness self-tests: prove the checker catches a planted error. */
        {"drop_event", CRM, NULL, 0, 0,
         {{"count", FAULT_P_INT, NULL, 1, 1000, NULL, 0, "1", NULL},
          {"seq", FAULT_P_INT, NULL, 1, 100000000, NULL, 0, NULL,
           "none (count is used)"}},
         INJ_CRM},
        {"corrupt_sink_record", SINK, NULL, 0, 0,
         {{"count", FAULT_P_INT, NULL, 1, 1000, NULL, 0, "1", NULL}},
         INJ_CORRUPT},
};
/* clang-format on */

#define FAULT_CNT (sizeof(fault_table) / sizeof(fault_table[0]))

/* -- lookups --------------------------------------------------------------- */

const struct fault_type *crmsync_fault_at(size_t i)
{
        return i < FAULT_CNT ? &fault_table[i] : NULL;
}

const struct fault_type *crmsync_fault_find(const char *name)
{
        for (size_t i = 0; i < FAULT_CNT; i++)
                if (!strcmp(fault_table[i].name, name))
                        return &fault_table[i];
        return NULL;
}

const char *crmsync_fault_layer_name(enum fault_layer layer)
{
        switch (layer) {
        case FAULT_LAYER_CRM:
                return "crm";
        case FAULT_LAYER_SINK:
                return "sink";
        case FAULT_LAYER_KAFKA:
                return "kafka";
        case FAULT_LAYER_PROCESS:
                return "process";
        }
        return "?";
}

json_t *crmsync_fault_params(const struct fault_type *ft, const json_t *fault)
{
        json_t *out = json_object();
        if (!out)
                return NULL;
        for (int i = 0; i < FAULT_MAX_PARAMS && ft->params[i].name; i++) {
                const struct fault_param *fp = &ft->params[i];
                json_t                   *v  = json_object_get(fault, fp->name);
                if (v)
                        json_incref(v);
                else if (fp->def)
                        v = json_loads(fp->def, JSON_DECODE_ANY, NULL);
                if (v && json_object_set_new(out, fp->name, v)) {
                        json_decref(out);
                        return NULL;
                }
        }
        return out;
}

double crmsync_fault_num(const char *type, const json_t *fault, const char *key,
                         double dflt)
{
        const struct fault_type *ft = crmsync_fault_find(type);
        json_t *p = ft ? crmsync_fault_params(ft, fault) : NULL;
        json_t *v = p ? json_object_get(p, key) : NULL;
        double  d = json_is_number(v) ? json_number_value(v) : dflt;
        json_decref(p);
        return d;
}

/* -- the doc's rows ---------------------------------------------------------
 */

static const char *ptype_name(enum fault_ptype t)
{
        switch (t) {
        case FAULT_P_RATIO:
        case FAULT_P_NUM:
                return "number";
        case FAULT_P_INT:
                return "integer";
        case FAULT_P_STR:
                return "string";
        case FAULT_P_BOOL:
                return "boolean";
        }
        return "?";
}

/* "a \| b \| c" (a pipe inside a Markdown table cell is escaped). */
static void choices_cell(const char *choices, char *out, size_t size)
{
        size_t n = 0;
        for (const char *s = choices; *s && n + 5 < size; s++)
                if (*s == '|')
                        n += (size_t)snprintf(out + n, size - n, " \\| ");
                else
                        out[n++] = *s;
        out[n] = '\0';
}

static void range_cell(const struct fault_param *fp, char *out, size_t size)
{
        if (fp->type == FAULT_P_STR)
                choices_cell(fp->choices, out, size);
        else if (fp->type == FAULT_P_BOOL)
                snprintf(out, size, "true \\| false");
        else
                snprintf(out, size, "%.15g..%.15g", fp->min, fp->max);
}

int crmsync_fault_doc_row(const struct fault_type *ft, int idx, char *buf,
                          size_t size)
{
        const struct fault_param *fp;
        char                      range[256], group[64];
        int                       none = !ft->params[0].name;

        if (idx < 0 || idx >= FAULT_MAX_PARAMS ||
            (!none && !ft->params[idx].name) || (none && idx > 0))
                return -1;
        snprintf(group, sizeof(group), "%s",
                 !ft->group                     ? "none"
                 : !strcmp(ft->group, ft->name) ? "itself"
                                                : ft->group);
        if (none) {
                snprintf(buf, size, "| `%s` | %s | %s | %s | none | | | | |",
                         ft->name, crmsync_fault_layer_name(ft->layer),
                         ft->needs_duration ? "yes" : "no", group);
                return 0;
        }
        fp = &ft->params[idx];
        range_cell(fp, range, sizeof(range));
        snprintf(buf, size,
                 "| `%s` | %s | %s | %s | `%s` | %s | %s | %s | %s |", ft->name,
                 crmsync_fault_layer_name(ft->layer),
                 ft->needs_duration ? "yes" : "no", group, fp->name,
                 ptype_name(fp->type), fp->unit ? fp->unit : "-",
                 fp->required  ? "required"
                 : fp->def     ? fp->def
                 : fp->def_doc ? fp->def_doc
                               : "none",
                 range);
        return 0;
}
