/* trace.c -- lineage of a change or an account through a run's records. */
#include "harness/trace.h"

#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crmsync/common.h"
#include "crmsync/gzfile.h"

#define TRACE_LINE_MAX 65536
#define TRACE_MAX_EVENTS 100000
#define TRACE_MAX_HOPS 1000000

#define TRACE_MAX_LANDINGS 8

struct hop {
        size_t  ev; /* index into the traced events */
        int64_t wall_ms;
        int     other; /* a write of the record by another change */
        char    what[260];
};

struct traced {
        char      event_id[CRMSYNC_ID_MAX];
        char      key[CRMSYNC_KEY_MAX];
        long long version;
        char      header[200];
        int64_t   commit_ms;
        int       own_applied; /* an applied sink write of this change */
        /* Where the change landed on the topic (for the profiler's reads). */
        int       nland;
        int       land_part[TRACE_MAX_LANDINGS];
        long long land_off[TRACE_MAX_LANDINGS];
};

struct trace_ctx {
        struct traced *ev;
        size_t         nev;
        struct hop    *hops;
        size_t         nhops;
        int            one_event; /* --event: the record's other writes too */
};

static long find_event(const struct trace_ctx *t, const char *id)
{
        for (size_t i = 0; i < t->nev; i++)
                if (!strcmp(t->ev[i].event_id, id))
                        return (long)i;
        return -1;
}

static void add_hop(struct trace_ctx *t, size_t ev, int64_t wall,
                    const char *what, int other)
{
        if (t->nhops >= TRACE_MAX_HOPS)
                return;
        t->hops[t->nhops].ev      = ev;
        t->hops[t->nhops].wall_ms = wall;
        t->hops[t->nhops].other   = other;
        snprintf(t->hops[t->nhops].what, sizeof(t->hops[0].what), "%s", what);
        t->nhops++;
}

static const char *s_(const json_t *o, const char *k)
{
        const char *v = json_string_value(json_object_get(o, k));
        return v ? v : "";
}

/* Pass 1: pick the changes to trace from the commit lines. */
static int select_events(FILE *fp, const char *event_id, const char *account_id,
                         struct trace_ctx *t)
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
                int         want =
                    event_id
                                ? !strcmp(id, event_id)
                                : (!strcmp(s_(o, "account_id"), account_id) ||
                           !strcmp(s_(o, "previous_account_id"), account_id));
                if (want && t->nev < TRACE_MAX_EVENTS) {
                        struct traced *e = &t->ev[t->nev++];
                        snprintf(e->event_id, sizeof(e->event_id), "%s", id);
                        snprintf(e->key, sizeof(e->key), "%s", s_(o, "key"));
                        e->version =
                            json_integer_value(json_object_get(o, "version"));
                        snprintf(e->header, sizeof(e->header),
                                 "%s  %s %s v%lld  account %s%s%s", id,
                                 s_(o, "change"), s_(o, "key"),
                                 (long long)json_integer_value(
                                     json_object_get(o, "version")),
                                 s_(o, "account_id"),
                                 *s_(o, "previous_account_id") ? " (moved from "
                                                               : "",
                                 *s_(o, "previous_account_id")
                                     ? s_(o, "previous_account_id")
                                     : "");
                        if (*s_(o, "previous_account_id"))
                                strncat(e->header, ")",
                                        sizeof(e->header) - strlen(e->header) -
                                            1);
                        e->commit_ms =
                            json_integer_value(json_object_get(o, "wall_ms"));
                }
                json_decref(o);
        }
        free(line);
        return 0;
}

/* A sink write that carries e's event id. It belongs to the change only
 * if it writes e's record at e's version; anything else is marked, never
 * shown as the change's own. */
static void sink_write(struct traced *e, const json_t *o, char *what,
                       size_t size)
{
        const char *key     = s_(o, "key");
        long long   version = json_integer_value(json_object_get(o, "version"));
        int         applied = json_is_true(json_object_get(o, "applied"));
        int         n;

        n = snprintf(what, size, "sink    %s %s v%lld %s",
                     json_is_true(json_object_get(o, "delete")) ? "delete"
                                                                : "upsert",
                     key, version, applied ? "applied" : "rejected (stale)");
        if (n < 0 || (size_t)n >= size)
                return;
        if (strcmp(key, e->key))
                snprintf(what + n, size - (size_t)n,
                         "  [NOT this change: a write of %s that carries "
                         "its event id]",
                         key);
        else if (version != e->version)
                snprintf(what + n, size - (size_t)n,
                         "  [NOT this change: it carries its event id at "
                         "v%lld, the change is v%lld]",
                         version, e->version);
        else if (applied)
                e->own_applied = 1;
}

/* A topic record of e: where it landed. */
static void add_landing(struct traced *e, const json_t *o)
{
        if (e->nland >= TRACE_MAX_LANDINGS)
                return;
        e->land_part[e->nland] =
            (int)json_integer_value(json_object_get(o, "partition"));
        e->land_off[e->nland++] =
            json_integer_value(json_object_get(o, "offset"));
}

/* An applied sink write of another change to e's record at e's version or
 * a newer one. */
static int covers(const struct traced *e, const json_t *o)
{
        return !strcmp(s_(o, "kind"), "sink_apply") &&
               !strcmp(s_(o, "key"), e->key) &&
               json_is_true(json_object_get(o, "applied")) &&
               json_integer_value(json_object_get(o, "version")) >= e->version;
}

/* Pass 2: every record of the selected changes. */
static void collect_hops(FILE *fp, struct trace_ctx *t)
{
        char *line = malloc(TRACE_LINE_MAX);
        char  what[260];
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
                        int64_t     w =
                            json_integer_value(json_object_get(o, "wall_ms"));
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
                                             json_object_get(o, "partition")),
                                         (long long)json_integer_value(
                                             json_object_get(o, "offset")));
                        } else if (!strcmp(k, "sink_apply")) {
                                sink_write(&t->ev[ev], o, what, sizeof(what));
                        } else {
                                what[0] = '\0';
                        }
                        if (what[0])
                                add_hop(t, (size_t)ev, w, what, 0);
                        if (!strcmp(k, "topic") &&
                            strcmp(s_(o, "topic"), "dlq"))
                                add_landing(&t->ev[ev], o);
                } else if (t->one_event && covers(&t->ev[0], o)) {
                        /* Another change's write that covers this one: kept
                         * aside, shown when this change got none of its
                         * own. */
                        snprintf(what, sizeof(what),
                                 "sink    %s %s v%lld applied  [a write of "
                                 "another change, %s: it supersedes this "
                                 "one]",
                                 json_is_true(json_object_get(o, "delete"))
                                     ? "delete"
                                     : "upsert",
                                 s_(o, "key"),
                                 (long long)json_integer_value(
                                     json_object_get(o, "version")),
                                 s_(o, "event_id"));
                        add_hop(
                            t, 0,
                            json_integer_value(json_object_get(o, "wall_ms")),
                            what, 1);
                }
                json_decref(o);
        }
        free(line);
}

static void collect_reads(const char *run_dir, struct trace_ctx *t)
{
        char      path[4096], id[CRMSYNC_ID_MAX], what[260];
        long long wall, off;
        int       part;
        FILE     *fp;
        snprintf(path, sizeof(path), "%s/profiler-reads.tsv", run_dir);
        if (!(fp = fopen(path, "r")))
                return;
        while (fscanf(fp, "%lld\t%47s\t%d\t%lld\n", &wall, id, &part, &off) ==
               4) {
                long ev = find_event(t, id);
                int  ours;
                if (ev < 0)
                        continue;
                /* A read at an offset where this change did not land is of
                 * another record with the same event id (an earlier run's
                 * on a shared topic). */
                ours = t->ev[ev].nland == 0;
                for (int i = 0; i < t->ev[ev].nland && !ours; i++)
                        ours = t->ev[ev].land_part[i] == part &&
                               t->ev[ev].land_off[i] == off;
                snprintf(what, sizeof(what),
                         "profiler read partition %d offset %lld%s", part, off,
                         ours ? ""
                              : "  [NOT this change: not where it landed on "
                                "the topic]");
                add_hop(t, (size_t)ev, wall, what, 0);
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

        /* history.jsonl, or history.jsonl.gz from --compress-history */
        snprintf(path, sizeof(path), "%s/history.jsonl", run_dir);
        if (access(path, F_OK) == -1)
                snprintf(path, sizeof(path), "%s/history.jsonl.gz", run_dir);
        if (!(fp = crmsync_gzfile_open(path, "r")))
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
        t.one_event = event_id && t.nev == 1;
        rewind(fp);
        collect_hops(fp, &t);
        fclose(fp);
        collect_reads(run_dir, &t);
        qsort(t.hops, t.nhops, sizeof(*t.hops), cmp_hops);
        for (size_t i = 0, h = 0; i < t.nev; i++) {
                int other_shown = 0;
                fprintf(out, "%s\n", t.ev[i].header);
                for (; h < t.nhops && t.hops[h].ev == i; h++) {
                        /* Another change's write: only the first that
                         * covers a change with no applied write of its
                         * own. */
                        if (t.hops[h].other &&
                            (t.ev[i].own_applied || other_shown++))
                                continue;
                        fprintf(
                            out, "  %+9lld ms  %s\n",
                            (long long)(t.hops[h].wall_ms - t.ev[i].commit_ms),
                            t.hops[h].what);
                }
        }
        rc = (int)t.nev;
        free(t.ev);
        free(t.hops);
        return rc;
}
