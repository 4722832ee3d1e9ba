/* run_lineage.c -- the lineage of the first anomaly examples, as `crmsync
 * trace` prints it, added to summary.json so report.html and the JUnit
 * failures show where each example's change went. */
#include "run_int.h"

#include "harness/trace.h"

/* Examples per class that get a lineage (JUnit names the first 3). */
#define LINEAGE_EXAMPLES 3
#define LINEAGE_MAX_BYTES 4096
/* Each trace reads history.jsonl through: at most this many, and none
 * started after this long (a large run's history is hundreds of MB). */
#define LINEAGE_MAX_TRACES 12
#define LINEAGE_BUDGET_MS 10000

/* The change to follow for an example: the event its detail names
 * ("v2 (e-00000521) applied after v7"), else the record's last committed
 * change (the one the sink should hold). 0 when there is none. */
static int example_event(struct run *r, const char *key, const char *detail,
                         char *id, size_t size)
{
        const char *e = strstr(detail, "e-");
        char        k[CRMSYNC_KEY_MAX];
        size_t      ne = crmsync_workload_event_cnt(r->wl);

        if (e && e[2] >= '0' && e[2] <= '9') {
                size_t n = 2 + strspn(e + 2, "0123456789");
                snprintf(id, size, "%.*s", (int)n, e);
                return 1;
        }
        for (size_t i = ne; i-- > 0;) {
                const struct crm_event *ev = crmsync_workload_event(r->wl, i);
                snprintf(k, sizeof(k), "%s/%s", crmsync_entity_name(ev->entity),
                         ev->record_id);
                if (!strcmp(k, key)) {
                        snprintf(id, size, "%s", ev->event_id);
                        return 1;
                }
        }
        return 0;
}

/* The trace of event id from the run folder, at most LINEAGE_MAX_BYTES;
 * NULL when there is none. The caller frees it. */
static char *lineage_of(struct run *r, const char *id)
{
        char  *buf = NULL, err[256];
        size_t len = 0;
        FILE  *fp  = open_memstream(&buf, &len);
        int    n;

        if (!fp)
                return NULL;
        n = crmsync_trace(r->run_dir, id, NULL, fp, err, sizeof(err));
        if (fclose(fp) || n <= 0) {
                free(buf);
                return NULL;
        }
        if (len > LINEAGE_MAX_BYTES)
                memcpy(buf + LINEAGE_MAX_BYTES - 5, "\n...\n", 6);
        return buf;
}

void run_add_lineage(struct run *r, json_t *summary)
{
        const char *cls;
        json_t     *ex;
        int64_t     until  = crmsync_mono_ms() + LINEAGE_BUDGET_MS;
        int         traces = 0;

        if (!summary || r->history || !r->run_dir[0] || !r->wl)
                return; /* history.jsonl must be complete and closed */
        json_object_foreach(json_object_get(summary, "anomaly_examples"), cls,
                            ex)
        {
                json_t *e;
                size_t  i;
                json_array_foreach(ex, i, e)
                {
                        char        id[CRMSYNC_ID_MAX];
                        char       *text;
                        const char *key = json_string_value(
                                       json_object_get(e, "key")),
                                   *detail = json_string_value(
                                       json_object_get(e, "detail"));
                        if (i >= LINEAGE_EXAMPLES ||
                            traces >= LINEAGE_MAX_TRACES ||
                            crmsync_mono_ms() > until)
                                break;
                        if (!key || !detail ||
                            !example_event(r, key, detail, id, sizeof(id)))
                                continue;
                        traces++;
                        if (!(text = lineage_of(r, id)))
                                continue;
                        json_object_set_new(e, "lineage", json_string(text));
                        free(text);
                }
        }
}
