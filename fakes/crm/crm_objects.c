/* crm_objects.c -- the mock CRM's live record state and objects API: one
 * record by id, and timestamp polling with ties and a 10,000 result cap. */
#include "crm_int.h"

#include <event2/buffer.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crm_query.h"

int crm_objects_init(crm_server_t *s, char *errstr, size_t errstr_size)
{
        size_t nrec = crmsync_workload_record_cnt(s->w);

        s->live    = calloc(nrec ? nrec : 1, sizeof(*s->live));
        s->ev_rec  = calloc(s->ev_cnt ? s->ev_cnt : 1, sizeof(*s->ev_rec));
        s->ev_next = calloc(s->ev_cnt ? s->ev_cnt : 1, sizeof(*s->ev_next));
        if (!s->live || !s->ev_rec || !s->ev_next)
                return crmsync_err(errstr, errstr_size, "out of memory");
        const struct crm_record *base = crmsync_workload_record(s->w, 0);
        for (size_t i = 0; i < s->ev_cnt; i++) {
                const struct crm_event  *e = crmsync_workload_event(s->w, i);
                const struct crm_record *r =
                    crmsync_workload_find(s->w, e->entity, e->record_id);
                if (!r)
                        return crmsync_err(errstr, errstr_size,
                                           "event %s names unknown record %s",
                                           e->event_id, e->record_id);
                s->ev_rec[i] = (uint32_t)(r - base);
        }
        /* Each record's events in commit order: first_ev, then ev_next
         * (the live fields are built from them when first read). */
        for (size_t i = s->ev_cnt; i-- > 0;) {
                struct live_rec *lr = &s->live[s->ev_rec[i]];
                s->ev_next[i]       = lr->first_ev; /* 0: none */
                lr->first_ev        = (uint32_t)i + 1;
        }
        for (int t = 0; t < CRM_ENTITY_CNT; t++) {
                s->by_entity[t] = calloc(nrec ? nrec : 1, sizeof(uint32_t));
                if (!s->by_entity[t])
                        return crmsync_err(errstr, errstr_size,
                                           "out of memory");
        }
        for (size_t i = 0; i < nrec; i++) {
                enum crm_entity t = crmsync_workload_record(s->w, i)->entity;
                s->by_entity[t][s->by_entity_cnt[t]++] = (uint32_t)i;
        }
        return 0;
}

void crm_objects_destroy(crm_server_t *s)
{
        size_t nrec = crmsync_workload_record_cnt(s->w);
        if (s->live)
                for (size_t i = 0; i < nrec; i++) {
                        json_decref(s->live[i].fields);
                        json_decref(s->live[i].merged);
                }
        free(s->live);
        free(s->ev_rec);
        free(s->ev_next);
        for (int t = 0; t < CRM_ENTITY_CNT; t++)
                free(s->by_entity[t]);
}

static void materialize(crm_server_t *s, uint32_t idx);

json_t *crm_live_fields(crm_server_t *s, uint32_t idx)
{
        const struct live_rec *lr = &s->live[idx];

        materialize(s, idx);
        if (lr->fields_final)
                return crmsync_record_fields(
                    crmsync_workload_record(s->w, idx));
        return json_incref(lr->fields);
}

/* 1 when objects a and b hold equal values under the same keys in the
 * same order (json_equal ignores the order, which the wire shows). */
static int same_fields(json_t *a, json_t *b)
{
        void *ia = json_object_iter(a), *ib = json_object_iter(b);

        if (json_object_size(a) != json_object_size(b))
                return 0;
        for (; ia && ib; ia = json_object_iter_next(a, ia),
                         ib = json_object_iter_next(b, ib))
                if (strcmp(json_object_iter_key(ia),
                           json_object_iter_key(ib)) ||
                    !json_equal(json_object_iter_value(ia),
                                json_object_iter_value(ib)))
                        return 0;
        return !ia && !ib;
}

/* At its final version, a record whose fields equal the workload's final
 * state frees its tree: its fields are then that state's text. Equality
 * (in order) is checked, not assumed, so the objects API serves the same
 * bytes either way. */
static void share_final(crm_server_t *s, struct live_rec *lr, uint32_t rec)
{
        const struct crm_record *r = crmsync_workload_record(s->w, rec);
        json_t                  *fin;

        if (lr->fields_final || !lr->fields || !r->fields_json ||
            lr->version != r->version)
                return;
        fin = crmsync_record_fields(r);
        if (fin && same_fields(lr->fields, fin)) {
                json_decref(lr->fields);
                lr->fields       = NULL;
                lr->fields_final = 1;
        }
        json_decref(fin);
}

/* One committed event's change to its record's fields. */
static void apply_fields(const crm_server_t *s, struct live_rec *lr,
                         uint32_t ev)
{
        const struct crm_event *e = crmsync_workload_event(s->w, ev);

        switch (e->change) {
        case CRM_CHANGE_CREATE:
        case CRM_CHANGE_UNDELETE:
                json_decref(lr->fields);
                lr->fields       = crmsync_event_fields(e);
                lr->fields_final = 0;
                break;
        case CRM_CHANGE_UPDATE: {
                /* Never at the final text here: that is only shared
                 * once the record's last event is applied. */
                json_t *f = crmsync_event_fields(e);
                if (!lr->fields)
                        lr->fields = json_object();
                json_object_update(lr->fields, f);
                json_decref(f);
                break;
        }
        default:
                break;
        }
}

/* Bring record idx's fields up to its last committed event. A commit only
 * moves last_ev; the fields are built from the record's events when read
 * (most records never are, or only once at the end), so a commit parses
 * no JSON. */
static void materialize(crm_server_t *s, uint32_t idx)
{
        struct live_rec *lr = &s->live[idx];
        uint32_t         ev;

        if (!lr->exists || lr->fields_upto == lr->last_ev + 1)
                return;
        ev = lr->fields_upto ? s->ev_next[lr->fields_upto - 1] : lr->first_ev;
        for (; ev && ev - 1 <= lr->last_ev; ev = s->ev_next[ev - 1])
                apply_fields(s, lr, ev - 1);
        lr->fields_upto = lr->last_ev + 1;
        share_final(s, lr, idx);
}

void crm_objects_apply(crm_server_t *s, uint32_t ev)
{
        const struct crm_event *e  = crmsync_workload_event(s->w, ev);
        struct live_rec        *lr = &s->live[s->ev_rec[ev]];

        switch (e->change) {
        case CRM_CHANGE_CREATE:
        case CRM_CHANGE_UNDELETE:
                lr->deleted = 0;
                break;
        case CRM_CHANGE_DELETE:
                lr->deleted = 1;
                break;
        default:
                break;
        }
        for (int i = 0; i < e->merged_cnt; i++) {
                if (!lr->merged)
                        lr->merged = json_array();
                json_array_append_new(lr->merged,
                                      json_string(e->merged_ids[i]));
        }
        if (!lr->exists)
                lr->created_ms = s->start_wall_ms + e->commit_ms;
        lr->exists           = 1;
        lr->version          = e->version;
        lr->last_ev          = ev;
        lr->last_modified_ms = s->start_wall_ms + e->commit_ms;
}

/* The object JSON of record idx (as of the events applied so far). */
static void add_object(crm_server_t *s, struct evbuffer *out, uint32_t idx)
{
        const struct crm_record *r  = crmsync_workload_record(s->w, idx);
        const struct live_rec   *lr = &s->live[idx];
        const struct crm_event  *e  = crmsync_workload_event(s->w, lr->last_ev);
        materialize(s, idx);
        char *f = lr->fields ? json_dumps(lr->fields, JSON_COMPACT) : NULL;
        const char *text = lr->fields_final ? r->fields_json : f;

        evbuffer_add_printf(
            out,
            "{\"entity\":\"%s\",\"id\":\"%s\",\"account_id\":"
            "\"%s\",\"version\":%" PRIu32
            ",\"deleted\":%s,\"last_modified_ms\":%" PRId64,
            crmsync_entity_name(r->entity), r->id, e->account_id, lr->version,
            lr->deleted ? "true" : "false", lr->last_modified_ms);
        if (lr->deleted && e->merged_into[0])
                evbuffer_add_printf(out, ",\"merged_into\":\"%s\"",
                                    e->merged_into);
        evbuffer_add_printf(out, ",\"fields\":%s}", text ? text : "{}");
        free(f);
}

static void handle_one(crm_server_t *s, struct evhttp_request *req,
                       enum crm_entity t, const char *id)
{
        const struct crm_record *r = crmsync_workload_find(s->w, t, id);
        if (!r || !s->live[r - crmsync_workload_record(s->w, 0)].exists) {
                crm_reply_error(s, req, 404, "not_found", "no %s '%.64s'",
                                crmsync_entity_name(t), id);
                return;
        }
        uint32_t         idx = (uint32_t)(r - crmsync_workload_record(s->w, 0));
        struct evbuffer *b   = evbuffer_new();
        add_object(s, b, idx);
        crm_reply_json(s, req, 200, b);
        evbuffer_free(b);
        if (s->observer)
                s->observer(s->observer_opaque,
                            crmsync_workload_event(s->w, s->live[idx].last_ev),
                            "objects", crmsync_wall_ms());
        crm_count_served(s, "objects", 1);
}

/* GET /v1/objects/{entity}?ids=ID1,ID2,...: the objects of up to
 * CRM_IDS_MAX ids in one request (a batch read, as CRMs offer), each as of
 * now like the single read; ids with no object are listed in "missing". */
static void handle_ids(crm_server_t *s, struct evhttp_request *req,
                       enum crm_entity t, const char *query)
{
        char     ids[CRM_IDS_MAX * (CRMSYNC_ID_MAX + 1)];
        char    *save = NULL, *id;
        uint32_t found[CRM_IDS_MAX];
        size_t   nfound = 0, nids = 0;

        if (crmsync_query_get(query, "ids", ids, sizeof(ids)) != 0 || !ids[0]) {
                crm_reply_error(s, req, 400, "bad_query",
                                "ids must be 1..%d comma-separated record "
                                "ids",
                                CRM_IDS_MAX);
                return;
        }
        struct evbuffer *b    = evbuffer_new();
        struct evbuffer *miss = evbuffer_new();
        evbuffer_add(b, "{\"results\":[", 12);
        for (id = strtok_r(ids, ",", &save); id;
             id = strtok_r(NULL, ",", &save)) {
                const struct crm_record *r;
                if (++nids > CRM_IDS_MAX || strlen(id) >= CRMSYNC_ID_MAX) {
                        evbuffer_free(b);
                        evbuffer_free(miss);
                        crm_reply_error(s, req, 400, "bad_query",
                                        "ids must be 1..%d comma-separated "
                                        "record ids",
                                        CRM_IDS_MAX);
                        return;
                }
                r = crmsync_workload_find(s->w, t, id);
                if (!r ||
                    !s->live[r - crmsync_workload_record(s->w, 0)].exists) {
                        evbuffer_add_printf(
                            miss, "%s\"%s\"",
                            evbuffer_get_length(miss) ? "," : "", id);
                        continue;
                }
                uint32_t idx = (uint32_t)(r - crmsync_workload_record(s->w, 0));
                if (nfound)
                        evbuffer_add(b, ",", 1);
                add_object(s, b, idx);
                found[nfound++] = idx;
        }
        evbuffer_add(b, "],\"missing\":[", 13);
        evbuffer_add_buffer(b, miss);
        evbuffer_add(b, "]}", 2);
        crm_reply_json(s, req, 200, b);
        evbuffer_free(b);
        evbuffer_free(miss);
        crm_observe_records(s, found, nfound, "objects");
}

/* Sort context for qsort (the loop is single-threaded). */
static const crm_server_t *sort_srv;

static int cmp_modified(const void *a, const void *b)
{
        uint32_t i = *(const uint32_t *)a, j = *(const uint32_t *)b;
        int64_t  x = sort_srv->live[i].last_modified_ms;
        int64_t  y = sort_srv->live[j].last_modified_ms;
        if (x != y)
                return x < y ? -1 : 1;
        return strcmp(crmsync_workload_record(sort_srv->w, i)->id,
                      crmsync_workload_record(sort_srv->w, j)->id);
}

/* GET /v1/objects/{type}?modified_since=MS[&after=ID][&limit=N]: records
 * with (last_modified_ms, id) > (MS, after) (or >= MS without after),
 * ordered by (last_modified_ms, id). One query (one modified_since) can
 * page through at most CRM_POLL_CAP results. */
static void handle_poll(crm_server_t *s, struct evhttp_request *req,
                        enum crm_entity t, const char *query)
{
        uint64_t since = 0, limit = CRM_DEFAULT_PAGE;
        char     after[CRMSYNC_ID_MAX] = "";
        int      rc;

        rc = crmsync_query_u64(query, "modified_since", &since);
        if (rc < 0 || since > (uint64_t)INT64_MAX) {
                crm_reply_error(s, req, 400, "bad_query",
                                "modified_since must be epoch milliseconds");
                return;
        }
        if (crmsync_query_u64_range(query, "limit", 1, s->cfg.max_page,
                                    &limit) < 0) {
                crm_reply_error(s, req, 400, "bad_limit",
                                "limit must be an integer in 1..%" PRIu32,
                                s->cfg.max_page);
                return;
        }
        if (crmsync_query_get(query, "after", after, sizeof(after)) < 0) {
                crm_reply_error(s, req, 400, "bad_query",
                                "after must be a record id");
                return;
        }

        uint32_t *m = malloc((s->by_entity_cnt[t] + 1) * sizeof(*m));
        size_t    n = 0, skipped = 0;
        if (!m) {
                crm_reply_error(s, req, 503, "unavailable", "out of memory");
                return;
        }
        for (size_t i = 0; i < s->by_entity_cnt[t]; i++) {
                uint32_t               idx = s->by_entity[t][i];
                const struct live_rec *lr  = &s->live[idx];
                if (!lr->exists || lr->late_pending ||
                    lr->last_modified_ms < (int64_t)since)
                        continue;
                if (after[0] && lr->last_modified_ms == (int64_t)since &&
                    strcmp(crmsync_workload_record(s->w, idx)->id, after) <=
                        0) {
                        skipped++;
                        continue;
                }
                m[n++] = idx;
        }
        if (skipped >= CRM_POLL_CAP) {
                free(m);
                crm_reply_error(s, req, 400, "result_cap",
                                "a query can page through at most %d "
                                "results; advance modified_since",
                                CRM_POLL_CAP);
                return;
        }
        sort_srv = s;
        qsort(m, n, sizeof(*m), cmp_modified);
        size_t take = n < limit ? n : (size_t)limit;
        if (skipped + take > CRM_POLL_CAP)
                take = CRM_POLL_CAP - skipped;

        struct evbuffer *b = evbuffer_new();
        evbuffer_add(b, "{\"results\":[", 12);
        for (size_t i = 0; i < take; i++) {
                if (i)
                        evbuffer_add(b, ",", 1);
                add_object(s, b, m[i]);
        }
        evbuffer_add_printf(b, "],\"total\":%zu,\"has_more\":%s", n + skipped,
                            take < n ? "true" : "false");
        if (take > 0) {
                uint32_t last = m[take - 1];
                evbuffer_add_printf(b,
                                    ",\"next\":{\"modified_since\":%" PRId64
                                    ",\"after\":\"%s\"}",
                                    s->live[last].last_modified_ms,
                                    crmsync_workload_record(s->w, last)->id);
        }
        evbuffer_add(b, "}", 1);
        crm_reply_json(s, req, 200, b);
        evbuffer_free(b);
        if (s->observer)
                for (size_t i = 0; i < take; i++)
                        s->observer(
                            s->observer_opaque,
                            crmsync_workload_event(s->w, s->live[m[i]].last_ev),
                            "objects", crmsync_wall_ms());
        crm_count_served(s, "objects", take);
        free(m);
}

void crm_objects_handle(crm_server_t *s, struct evhttp_request *req,
                        const char *rest, const char *query)
{
        char        type[24];
        const char *slash = strchr(rest, '/');
        size_t      tl    = slash ? (size_t)(slash - rest) : strlen(rest);
        int         t;

        crm_feed_advance(s, crmsync_wall_ms());
        if (tl == 0 || tl >= sizeof(type)) {
                crm_reply_error(s, req, 404, "not_found", "unknown entity");
                return;
        }
        memcpy(type, rest, tl);
        type[tl] = '\0';
        t        = crmsync_entity_parse(type);
        if (t < 0) {
                crm_reply_error(s, req, 404, "not_found", "unknown entity '%s'",
                                type);
                return;
        }
        if (!slash) {
                char probe[2];
                if (crmsync_query_get(query, "ids", probe, sizeof(probe)) != 1)
                        handle_ids(s, req, (enum crm_entity)t, query);
                else
                        handle_poll(s, req, (enum crm_entity)t, query);
                return;
        }
        if (!slash[1] || strchr(slash + 1, '/') ||
            strlen(slash + 1) >= CRMSYNC_ID_MAX) {
                crm_reply_error(s, req, 404, "not_found", "no such object");
                return;
        }
        handle_one(s, req, (enum crm_entity)t, slash + 1);
}
