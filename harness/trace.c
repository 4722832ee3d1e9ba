/* trace.c -- lineage of a change or an account through a run's records. */
#include "crmsync/trace.h"

#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crmsync/common.h"

#define TRACE_LINE_MAX   65536
#define TRACE_MAX_EVENTS 100000
#define TRACE_MAX_HOPS   1000000

struct hop {
        size_t  ev;      /* index into the traced events */
        int64_t wall_ms;
        char    what[200];
};

struct traced {
        char    event_id[CRMSYNC_ID_MAX];
        char    header[200];
        int64_t commit_ms;
};

struct trace_ctx {
        struct traced *ev;
        size_t         nev;
        struct hop    *hops;
        size_t         nhops;
};

static long find_event(const struct trace_ctx *t, const char *id)
{
        for (size_t i = 0; i < t->nev; i++)
                if (!strcmp(t->ev[i].event_id, id))
                        return (long)i;
        return -1;
}

static void add_hop(struct trace_ctx *t, size_t ev, int64_t wall,
                    const char *what)
{
        if (t->nhops >= TRACE_MAX_HOPS)
                return;
        t->hops[t->nhops].ev      = ev;
        t->hops[t->nhops].wall_ms = wall;
        snprintf(t->hops[t->nhops].what, sizeof(t->hops[0].what), "%s", what);
        t->nhops++;
}

static const char *s_(const json_t *o, const char *k)
{
        const char *v = json_string_value(json_object_get(o, k));
        return v ? v : "";
}

/* Pass 1: pick the changes to trace from the commit lines. */
static int select_events(FILE *fp, const char *event_id,
                         const char *account_id, struct trace_ctx *t)
{
        char *line = malloc(TRACE_LINE_MAX);
        if (!line)
                return -1;
        while (fgets(line, TRACE_LINE_MAX, fp)) {
                json_t *o;
                if (!strstr(line, "\"crm_commit\"") ||
                    !(o = json_loads(line, 0, NULL)))
                        continue;
                const char *id = s_(o, "event_id");
                int want = event_id ? !strcmp(id, event_id)
                                    : (!strcmp(s_(o, "account_id"),
                                               account_id) ||
                                       !strcmp(s_(o, "previous_account_id"),
                                               account_id));
                if (want && t->nev < TRACE_MAX_EVENTS) {
                        struct traced *e = &t->ev[t->nev++];
                        snprintf(e->event_id, sizeof(e->event_id), "%s", id);
                        snprintf(e->header, sizeof(e->header),
                                 "%s  %s %s v%lld  account %s%s%s", id,
                                 s_(o, "change"), s_(o, "key"),
                                 (long long)json_integer_value(
                                         json_object_get(o, "version")),
                                 s_(o, "account_id"),
                                 *s_(o, "previous_account_id")
                                         ? " (moved from "
                                         : "",
                                 *s_(o, "previous_account_id")
                                         ? s_(o, "previous_account_id")
                                         : "");
                        if (*s_(o, "previous_account_id"))
                                strncat(e->header, ")",
                                        sizeof(e->header) -
                                                strlen(e->header) - 1);
                        e->commit_ms = json_integer_value(
                                json_object_get(o, "wall_ms"));
                }
                json_decref(o);
        }
        free(line);
        return 0;
}

/* Pass 2: every record of the selected changes. */
static void collect_hops(FILE *fp, struct trace_ctx *t)
{
        char *line = malloc(TRACE_LINE_MAX);
        char  what[200];
        if (!line)
                return;
        while (fgets(line, TRACE_LINE_MAX, fp)) {
                json_t *o = json_loads(line, 0, NULL);
                long    ev;
                if (!o)
                        continue;
                ev = find_event(t, s_(o, "event_id"));
                if (ev >= 0) {
                        const char *k = s_(o, "kind");
                        int64_t     w = json_integer_value(
                                json_object_get(o, "wall_ms"));
                        if (!strcmp(k, "crm_commit")) {
                                snprintf(what, sizeof(what),
                                         "crm     committed");
                        } else if (!strcmp(k, "crm_serve")) {
                                snprintf(what, sizeof(what),
                                         "crm     served via %s", s_(o, "via"));
                        } else if (!strcmp(k, "topic")) {
                                w = json_integer_value(
                                        json_object_get(o, "ts_ms"));
                                snprintf(what, sizeof(what),
                                         "kafka   %s partition %lld offset "
                                         "%lld",
                                         s_(o, "topic"),
                                         (long long)json_integer_value(
                                                 json_object_get(o,
                                                                 "partition")),
                                         (long long)json_integer_value(
                                                 json_object_get(o, "offset")));
                        } else if (!strcmp(k, "sink_apply")) {
                                snprintf(what, sizeof(what),
                                         "sink    %s %s v%lld %s",
                                         json_is_true(json_object_get(o,
                                                                      "delete"))
                                                 ? "delete"
                                                 : "upsert",
                                         s_(o, "key"),
                                         (long long)json_integer_value(
                                                 json_object_get(o, "version")),
                                         json_is_true(json_object_get(
                                                 o, "applied"))
                                                 ? "applied"
                                                 : "rejected (stale)");
                        } else {
                                what[0] = '\0';
                        }
                        if (what[0])
                                add_hop(t, (size_t)ev, w, what);
                }
                json_decref(o);
        }
        free(line);
}

static void collect_reads(const char *run_dir, struct trace_ctx *t)
{
        char      path[4096], id[CRMSYNC_ID_MAX], what[200];
        long long wall, off;
        int       part;
        FILE     *fp;
        snprintf(path, sizeof(path), "%s/profiler-reads.tsv", run_dir);
        if (!(fp = fopen(path, "r")))
                return;
        while (fscanf(fp, "%lld\t%47s\t%d\t%lld\n", &wall, id, &part, &off) ==
               4) {
                long ev = find_event(t, id);
                if (ev < 0)
                        continue;
                snprintf(what, sizeof(what),
                         "profiler read partition %d offset %lld", part, off);
                add_hop(t, (size_t)ev, wall, what);
        }
        fclose(fp);
}

static int cmp_hops(const void *a, const void *b)
{
        const struct hop *x = a, *y = b;
        if (x->ev != y->ev)
                return x->ev < y->ev ? -1 : 1;
        return x->wall_ms < y->wall_ms ? -1 : x->wall_ms > y->wall_ms;
}

int crmsync_trace(const char *run_dir, const char *event_id,
                  const char *account_id, FILE *out, char *errstr,
                  size_t errstr_size)
{
        char             path[4096];
        FILE            *fp;
        struct trace_ctx t = {0};
        int              rc;

        snprintf(path, sizeof(path), "%s/history.jsonl", run_dir);
        if (!(fp = fopen(path, "r")))
                return crmsync_err(errstr, errstr_size, "%s: %s", path,
                                   strerror(errno));
        t.ev   = calloc(TRACE_MAX_EVENTS, sizeof(*t.ev));
        t.hops = calloc(TRACE_MAX_HOPS, sizeof(*t.hops));
        if (!t.ev || !t.hops || select_events(fp, event_id, account_id, &t)) {
                fclose(fp);
                free(t.ev);
                free(t.hops);
                return crmsync_err(errstr, errstr_size, "out of memory");
        }
        rewind(fp);
        collect_hops(fp, &t);
        fclose(fp);
        collect_reads(run_dir, &t);
        qsort(t.hops, t.nhops, sizeof(*t.hops), cmp_hops);
        for (size_t i = 0, h = 0; i < t.nev; i++) {
                fprintf(out, "%s\n", t.ev[i].header);
                for (; h < t.nhops && t.hops[h].ev == i; h++)
                        fprintf(out, "  %+9lld ms  %s\n",
                                (long long)(t.hops[h].wall_ms -
                                            t.ev[i].commit_ms),
                                t.hops[h].what);
        }
        rc = (int)t.nev;
        free(t.ev);
        free(t.hops);
        return rc;
}
