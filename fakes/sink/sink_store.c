/* sink_store.c -- the fake sink's profile store: records by "<type>/<id>"
 * (tombstones kept), conditional upsert/delete, apply log, side effects. */
#include "sink_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crmsync/common.h"
#include "crmsync/strmap.h"

static const char *rec_key(const void *v)
{
        return ((const struct sink_record *)v)->key;
}

static const char *sef_key(const void *v)
{
        return ((const struct side_effect *)v)->event_id;
}

/* Grow a pointer/struct vector to hold n+1 items, never beyond max. */
static int vec_reserve(void **vec, size_t *cap, size_t n, size_t elem,
                       size_t max)
{
        if (n < *cap)
                return 0;
        if (n >= max)
                return -1;
        size_t newcap = *cap ? *cap * 2 : 256;
        if (newcap > max)
                newcap = max;
        void *p = realloc(*vec, newcap * elem);
        if (!p)
                return -1;
        *vec = p;
        *cap = newcap;
        return 0;
}

/* ---- lifecycle -------------------------------------------------------- */

int sink_store_init(struct sink_store *st, size_t max_entries)
{
        memset(st, 0, sizeof(*st));
        crmsync_strmap_init(&st->recmap, rec_key);
        crmsync_strmap_init(&st->sefmap, sef_key);
        crmsync_strpool_init(&st->ids);
        st->max_entries = max_entries ? max_entries : SINK_DEFAULT_MAX_LOG;
        return 0;
}

void sink_store_reset(struct sink_store *st)
{
        for (size_t i = 0; i < st->nrecs; i++) {
                json_decref(st->recs[i]->fields);
                free(st->recs[i]);
        }
        for (size_t i = 0; i < st->nsefs; i++)
                free(st->sefs[i]);
        free(st->recs);
        free(st->sefs);
        free(st->applies);
        crmsync_strmap_reset(&st->recmap);
        crmsync_strmap_reset(&st->sefmap);
        crmsync_strpool_reset(&st->ids);
        st->recs    = NULL;
        st->sefs    = NULL;
        st->applies = NULL;
        st->nrecs = st->recs_cap = 0;
        st->nsefs = st->sefs_cap = 0;
        st->napplies = st->applies_cap = 0;
}

void sink_store_fini(struct sink_store *st)
{
        sink_store_reset(st);
}

struct sink_record *sink_store_get(const struct sink_store *st, const char *key)
{
        return crmsync_strmap_get(&st->recmap, key);
}

int sink_store_log_has_room(const struct sink_store *st, size_t n)
{
        return st->napplies + n <= st->max_entries;
}

/* ---- bulk ops --------------------------------------------------------- */

/* Fill *r; returns 0 so that the checks below read "return result()". */
static int result(struct sink_result *r, int status, const char *res,
                  const char *msg)
{
        r->status         = status;
        r->result         = res;
        r->message        = msg;
        r->stored_version = -1;
        return 0;
}

static int bad_op(struct sink_store *st, struct sink_result *r, const char *msg)
{
        st->c.ops_bad++;
        return result(r, 400, "bad_op", msg);
}

json_t *sink_result_json(const struct sink_result *r)
{
        json_t *o =
            json_pack("{s:i,s:s}", "status", r->status, "result", r->result);
        if (o && r->message)
                json_object_set_new(o, "message", json_string(r->message));
        if (o && r->stored_version >= 0)
                json_object_set_new(o, "stored_version",
                                    json_integer(r->stored_version));
        return o;
}

/* Copy a string member into buf; 1 ok, 0 missing, -1 wrong type/too long. */
/* Optional string member into buf: 1, 0 when absent, -1 when of another
 * type, empty, too long or holding a NUL. */
static int get_str(const struct sink_op *op, int k, char *buf, size_t size)
{
        const struct sink_val *v = &op->v[k];
        if (v->kind == SV_ABSENT)
                return 0;
        if (v->kind != SV_STR || v->len == 0 || v->len >= size ||
            memchr(v->s, 0, v->len))
                return -1;
        memcpy(buf, v->s, v->len);
        buf[v->len] = 0;
        return 1;
}

/* Optional boolean member; -1 when present with another type. */
static int get_bool(const struct sink_op *op, int k, int def)
{
        int kind = op->v[k].kind;
        if (kind == SV_ABSENT)
                return def;
        if (kind != SV_TRUE && kind != SV_FALSE)
                return -1;
        return kind == SV_TRUE;
}

/* An integer member within 0..UINT32_MAX? */
static int is_u32(const struct sink_val *v)
{
        return v->kind == SV_INT && v->i >= 0 && v->i <= (json_int_t)UINT32_MAX;
}

/* The string member k equals name (compared as C strings, as strcmp on
 * jansson's value did). */
static int str_is(const struct sink_op *op, int k, const char *name)
{
        const struct sink_val *v = &op->v[k];
        size_t                 n = strlen(name);
        return strnlen(v->s, v->len) == n && !memcmp(v->s, name, n);
}

static void log_apply(struct sink_store *st, const char *event_id,
                      struct sink_record *r, const char *key, uint32_t version,
                      int is_delete, int full, int applied, int64_t now)
{
        /* Room was checked for the whole request; this cannot fail unless
         * malloc does, in which case the entry is lost, not the write. The
         * strings are interned: a replay's second pass logs the same event
         * ids and keys again and adds only the entry itself. */
        const char *eid = crmsync_strpool_intern(&st->ids, event_id);
        const char *k   = r && r->log_key ? r->log_key
                                          : crmsync_strpool_intern(&st->ids, key);
        if (r)
                r->log_key = k; /* the pool lives as long as the record */
        if (!eid || !k ||
            vec_reserve((void **)&st->applies, &st->applies_cap, st->napplies,
                        sizeof(*st->applies), st->max_entries))
                return;
        struct sink_apply *a = &st->applies[st->napplies++];
        memset(a, 0, sizeof(*a));
        a->event_id  = eid;
        a->key       = k;
        a->version   = version;
        a->is_delete = is_delete;
        a->full      = full;
        a->applied   = applied;
        a->wall_ms   = now;
}

static struct sink_record *new_record(struct sink_store *st, const char *key)
{
        if (st->nrecs >= st->max_entries ||
            vec_reserve((void **)&st->recs, &st->recs_cap, st->nrecs,
                        sizeof(*st->recs), st->max_entries))
                return NULL;
        struct sink_record *r = calloc(1, sizeof(*r));
        if (!r)
                return NULL;
        snprintf(r->key, sizeof(r->key), "%s", key);
        r->fields = json_object();
        if (!r->fields || crmsync_strmap_put(&st->recmap, r)) {
                json_decref(r->fields);
                free(r);
                return NULL;
        }
        st->recs[st->nrecs++] = r;
        return r;
}

json_t *sink_store_apply_op(struct sink_store *st, const json_t *op,
                            int blind_writes, int fail)
{
        struct sink_result r;
        struct sink_op     o;
        sink_op_from_json(&o, (json_t *)op);
        sink_store_apply(st, &o, blind_writes, fail, &r);
        sink_op_clear(&o);
        return sink_result_json(&r);
}

int sink_store_apply(struct sink_store *st, const struct sink_op *op,
                     int blind_writes, int fail, struct sink_result *res)
{
        char type[CRMSYNC_KEY_MAX], id[CRMSYNC_KEY_MAX];
        char key[CRMSYNC_KEY_MAX], account[CRMSYNC_ID_MAX];
        char event_id[CRMSYNC_ID_MAX];
        int  is_delete, has_account, merge, if_newer;

        if (!op->is_object)
                return bad_op(st, res, "operation is not a JSON object");
        if (op->v[SK_OP].kind != SV_STR)
                return bad_op(st, res, "missing or non-string \"op\"");
        if (str_is(op, SK_OP, "upsert"))
                is_delete = 0;
        else if (str_is(op, SK_OP, "delete"))
                is_delete = 1;
        else
                return bad_op(st, res, "\"op\" must be upsert or delete");
        if (get_str(op, SK_TYPE, type, sizeof(type)) != 1 || strchr(type, '/'))
                return bad_op(st, res,
                              "\"type\" must be a non-empty string "
                              "without '/'");
        if (get_str(op, SK_ID, id, sizeof(id)) != 1)
                return bad_op(st, res, "\"id\" must be a non-empty string");
        if ((size_t)snprintf(key, sizeof(key), "%s/%s", type, id) >=
            sizeof(key))
                return bad_op(st, res, "\"type\"/\"id\" key too long");
        if (get_str(op, SK_EVENT_ID, event_id, sizeof(event_id)) != 1)
                return bad_op(st, res,
                              "\"event_id\" must be a non-empty string "
                              "(< 48 bytes)");
        has_account = get_str(op, SK_ACCOUNT_ID, account, sizeof(account));
        if (has_account < 0 || (!is_delete && has_account == 0))
                return bad_op(st, res,
                              "\"account_id\" must be a non-empty "
                              "string (required for upsert)");
        if (!is_u32(&op->v[SK_VERSION]))
                return bad_op(st, res,
                              "\"version\" must be an integer "
                              "0..4294967295");
        uint32_t      version = (uint32_t)op->v[SK_VERSION].i;
        const json_t *fields  = op->fields;
        if (!is_delete && fields && !json_is_object(fields) &&
            !json_is_null(fields))
                return bad_op(st, res, "\"fields\" must be an object");
        merge    = get_bool(op, SK_MERGE, 0);
        if_newer = get_bool(op, SK_IF_NEWER, 0);
        if (merge < 0 || if_newer < 0)
                return bad_op(st, res,
                              "\"merge_fields\"/\"if_newer\" must be "
                              "booleans");
        const struct sink_val *jiv = &op->v[SK_IF_VERSION];
        if (jiv->kind != SV_ABSENT && !is_u32(jiv))
                return bad_op(st, res,
                              "\"if_version\" must be an integer "
                              "0..4294967295");

        if (fail) {
                st->c.ops_failed++;
                return result(res, 500, "error", "injected partial failure");
        }

        int64_t             now = crmsync_wall_ms();
        struct sink_record *r   = sink_store_get(st, key);
        if (r && if_newer && !blind_writes && version <= r->version) {
                st->c.ops_stale++;
                log_apply(st, event_id, r, key, version, is_delete,
                          !is_delete && !merge, 0, now);
                result(res, 409, "stale", NULL);
                res->stored_version = r->version;
                return 0;
        }
        /* Optimistic concurrency: apply only on top of exactly that
         * stored version (0 = no record). Not a write: not logged. */
        if (jiv->kind != SV_ABSENT && !blind_writes &&
            (r ? r->version : 0) != (uint32_t)jiv->i) {
                st->c.ops_gap++;
                result(res, 409, "gap", NULL);
                res->stored_version = r ? r->version : 0;
                return 0;
        }
        if (!r && !(r = new_record(st, key))) {
                st->c.ops_full++;
                return result(res, 507, "store_full", "record map is full");
        }
        if (is_delete) {
                json_decref(r->fields);
                r->fields  = json_object();
                r->deleted = 1;
        } else if (!merge || r->deleted) {
                /* The whole record: keep the op's fields object itself
                 * (a reference; the request's tree is freed after the
                 * reply) instead of copying it member by member. */
                json_t *whole = json_is_object(fields)
                                    ? json_incref((json_t *)fields)
                                    : json_object();
                json_decref(r->fields);
                r->fields  = whole;
                r->deleted = 0;
        } else {
                if (json_is_object(fields))
                        json_object_update(r->fields, (json_t *)fields);
                r->deleted = 0;
        }
        if (has_account == 1)
                snprintf(r->account_id, sizeof(r->account_id), "%s", account);
        r->version = version;
        snprintf(r->last_event_id, sizeof(r->last_event_id), "%s", event_id);
        r->applied_wall_ms = now;
        st->c.ops_applied++;
        log_apply(st, event_id, r, key, version, is_delete,
                  !is_delete && !merge, 1, now);
        return result(res, 200, "applied", NULL);
}

/* ---- side effects ----------------------------------------------------- */

int64_t sink_store_side_effect(struct sink_store *st, const char *event_id,
                               const char *kind, const char *key)
{
        if (strlen(event_id) >= CRMSYNC_ID_MAX ||
            strlen(kind) >= SINK_KIND_MAX || strlen(key) >= CRMSYNC_KEY_MAX)
                return -1;
        struct side_effect *e = crmsync_strmap_get(&st->sefmap, event_id);
        if (e) {
                e->count++;
                st->c.side_effects++;
                st->c.side_effect_duplicates++;
                return e->count;
        }
        if (st->nsefs >= st->max_entries ||
            vec_reserve((void **)&st->sefs, &st->sefs_cap, st->nsefs,
                        sizeof(*st->sefs), st->max_entries))
                return 0;
        e = calloc(1, sizeof(*e));
        if (!e)
                return 0;
        snprintf(e->event_id, sizeof(e->event_id), "%s", event_id);
        snprintf(e->kind, sizeof(e->kind), "%s", kind);
        snprintf(e->key, sizeof(e->key), "%s", key);
        e->count = 1;
        if (crmsync_strmap_put(&st->sefmap, e)) {
                free(e);
                return 0;
        }
        st->sefs[st->nsefs++] = e;
        st->c.side_effects++;
        return 1;
}

/* ---- JSON renderings -------------------------------------------------- */

json_t *sink_store_record_json(const struct sink_record *r)
{
        return json_pack("{s:s,s:s,s:I,s:b,s:O,s:s,s:I}", "key", r->key,
                         "account_id", r->account_id, "version",
                         (json_int_t)r->version, "deleted", r->deleted,
                         "fields", r->fields, "last_event_id", r->last_event_id,
                         "applied_ms", (json_int_t)r->applied_wall_ms);
}

/* Scan: GET /v1/profiles/{account} is rare (debugging, spot checks). */
json_t *sink_store_profile_json(const struct sink_store *st,
                                const char              *account_id)
{
        json_t *recs = json_object();
        for (size_t i = 0; i < st->nrecs; i++) {
                const struct sink_record *r = st->recs[i];
                if (r->deleted || strcmp(r->account_id, account_id))
                        continue;
                json_object_set_new(recs, r->key,
                                    json_pack("{s:I,s:O,s:s}", "version",
                                              (json_int_t)r->version, "fields",
                                              r->fields, "last_event_id",
                                              r->last_event_id));
        }
        return json_pack("{s:s,s:o}", "account_id", account_id, "records",
                         recs);
}

json_t *sink_store_apply_json(const struct sink_apply *a, size_t seq)
{
        return json_pack("{s:I,s:s,s:s,s:I,s:s,s:b,s:s,s:I}", "seq",
                         (json_int_t)seq, "event_id", a->event_id, "key",
                         a->key, "version", (json_int_t)a->version, "op",
                         a->is_delete ? "delete" : "upsert", "full", a->full,
                         "result", a->applied ? "applied" : "stale", "wall_ms",
                         (json_int_t)a->wall_ms);
}

/* ---- public inspection API (sink.h) ----------------------------------- */

void crmsync_sink_foreach(const sink_server_t *s,
                          void (*cb)(void *opaque, const struct sink_record *),
                          void *opaque)
{
        for (size_t i = 0; i < s->store.nrecs; i++)
                cb(opaque, s->store.recs[i]);
}

size_t crmsync_sink_applies(const sink_server_t      *s,
                            const struct sink_apply **out)
{
        *out = s->store.applies;
        return s->store.napplies;
}

void crmsync_sink_foreach_side_effect(const sink_server_t *s,
                                      void (*cb)(void       *opaque,
                                                 const char *event_id,
                                                 const char *kind,
                                                 uint32_t    count),
                                      void *opaque)
{
        for (size_t i = 0; i < s->store.nsefs; i++) {
                const struct side_effect *e = s->store.sefs[i];
                cb(opaque, e->event_id, e->kind, e->count);
        }
}

int crmsync_sink_corrupt(sink_server_t *s, const char *key)
{
        struct sink_record *r = sink_store_get(&s->store, key);
        if (!r || r->deleted)
                return -1;
        void *it = json_object_iter(r->fields);
        if (it) {
                json_t *old = json_object_iter_value(it);
                if (json_is_string(old) &&
                    !strcmp(json_string_value(old), "__corrupted__"))
                        json_object_iter_set_new(r->fields, it,
                                                 json_string("__corrupted2__"));
                else
                        json_object_iter_set_new(r->fields, it,
                                                 json_string("__corrupted__"));
        } else {
                json_object_set_new(r->fields, "__corrupted__", json_true());
        }
        return 0;
}

void crmsync_sink_clear(sink_server_t *s)
{
        sink_store_reset(&s->store);
}

int crmsync_sink_clear_if(sink_server_t *s,
                          int (*pred)(void                     *opaque,
                                      const struct sink_record *r),
                          void *opaque)
{
        struct sink_store *st      = &s->store;
        size_t             kept    = 0;
        int                removed = 0;

        /* Keep the survivors in order, then rebuild the index; the logs
         * start afresh as after a full clear. */
        for (size_t i = 0; i < st->nrecs; i++) {
                struct sink_record *r = st->recs[i];
                if (pred(opaque, r)) {
                        json_decref(r->fields);
                        free(r);
                        removed++;
                } else {
                        st->recs[kept++] = r;
                }
        }
        st->nrecs = kept;
        crmsync_strmap_reset(&st->recmap);
        for (size_t i = 0; i < kept; i++)
                if (crmsync_strmap_put(&st->recmap, st->recs[i]))
                        return -1;
        for (size_t i = 0; i < st->nsefs; i++)
                free(st->sefs[i]);
        st->nsefs = 0;
        crmsync_strmap_reset(&st->sefmap);
        st->napplies = 0;
        return removed;
}
