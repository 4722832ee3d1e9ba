/* profiler_map.c -- the profiler's pure parts: validate a change envelope,
 * map it to a sink op (with the bug switches) and remember recent event
 * ids for dedupe. */
#include "profiler_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crmsync/bugs.h"

#include "crmsync/hash.h"

/* ---- envelope -> op ---------------------------------------------------- */

static const char *entities[] = {"account", "contact", "opportunity",
                                 "entitlement"};

/* Copy a required string member; -1 with reason when missing/wrong. */
static int req_str(const struct prof_env *env, int k, char *buf, size_t size,
                   int allow_empty, char *reason, size_t reason_size)
{
        const struct pe_val *v    = &env->v[k];
        const char          *name = profiler_env_name(k);
        if (v->kind == PV_ABSENT)
                return crmsync_err(reason, reason_size, "missing %s", name);
        if (v->kind != PV_STR)
                return crmsync_err(reason, reason_size, "%s is not a string",
                                   name);
        if (!allow_empty && v->len == 0)
                return crmsync_err(reason, reason_size, "%s is empty", name);
        if (v->len >= size || memchr(v->s, 0, v->len))
                return crmsync_err(reason, reason_size,
                                   "%s longer than %zu bytes", name, size - 1);
        memcpy(buf, v->s, v->len);
        buf[v->len] = '\0';
        return 0;
}

static int is_true(const struct prof_env *env, int k)
{
        return env->v[k].kind == PV_TRUE;
}

/* The string member k, compared as a C string (up to a NUL), differs
 * from s. */
static int str_differs(const struct pe_val *v, const char *s)
{
        size_t n = strnlen(v->s, v->len);
        return n != strlen(s) || memcmp(v->s, s, n);
}

/* What identifies the change: event id, entity (a known one), record
 * (no '/'), account, change type and version. */
static int map_identity(const struct prof_env *env, struct prof_op *op,
                        char *change, size_t change_size, char *reason,
                        size_t reason_size)
{
        const struct pe_val *ver = &env->v[PE_VERSION];
        size_t               i;

        if (req_str(env, PE_EVENT_ID, op->event_id, sizeof(op->event_id), 0,
                    reason, reason_size) ||
            req_str(env, PE_ENTITY, op->entity, sizeof(op->entity), 0, reason,
                    reason_size) ||
            req_str(env, PE_RECORD_ID, op->record_id, sizeof(op->record_id), 0,
                    reason, reason_size) ||
            req_str(env, PE_ACCOUNT_ID, op->account_id, sizeof(op->account_id),
                    1, reason, reason_size) ||
            req_str(env, PE_CHANGE_TYPE, change, change_size, 0, reason,
                    reason_size))
                return -1;
        for (i = 0; i < sizeof(entities) / sizeof(entities[0]); i++)
                if (!strcmp(op->entity, entities[i]))
                        break;
        if (i == sizeof(entities) / sizeof(entities[0]))
                return crmsync_err(reason, reason_size, "unknown entity \"%s\"",
                                   op->entity);
        if (strchr(op->record_id, '/'))
                return crmsync_err(reason, reason_size,
                                   "record_id contains '/'");
        if (ver->kind != PV_INT || ver->i < 0 ||
            ver->i > (json_int_t)UINT32_MAX)
                return crmsync_err(reason, reason_size,
                                   "version is not an integer 0..4294967295");
        op->version = (uint32_t)ver->i;
        return 0;
}

/* The change's kind: *is_full when its fields carry the whole record,
 * *is_delete for a delete; and the fields it needs for that kind. */
static int map_kind(const struct prof_env *env, const struct prof_op *op,
                    const char *change, int *is_full, int *is_delete,
                    char *reason, size_t reason_size)
{
        int fields = env->v[PE_FIELDS].kind;
        int into   = env->v[PE_MERGED_INTO].kind;

        *is_full = *is_delete = 0;
        if (!strcmp(change, "create") || !strcmp(change, "undelete")) {
                *is_full = 1;
        } else if (!strcmp(change, "update")) {
                /* The connector replaced these with the record's whole
                 * current state (GET /v1/objects). */
                *is_full = is_true(env, PE_FULL_STATE) ||
                           is_true(env, PE_RESOLVED_GAP) ||
                           is_true(env, PE_RESOLVED_MOVE) ||
                           is_true(env, PE_RESYNC);
        } else if (!strcmp(change, "delete")) {
                *is_delete = 1;
        } else if (!strcmp(change, "gap")) {
                return crmsync_err(reason, reason_size,
                                   "unresolved gap (fields null)");
        } else {
                return crmsync_err(reason, reason_size,
                                   "unknown change_type \"%s\"", change);
        }
        if (!*is_delete && fields != PV_OBJECT)
                return crmsync_err(reason, reason_size,
                                   "fields is not an object for %s", change);
        if (!*is_delete && !op->account_id[0])
                return crmsync_err(reason, reason_size, "account_id is empty");
        if (into != PV_ABSENT && into != PV_STR)
                return crmsync_err(reason, reason_size,
                                   "merged_into is not a string");
        return 0;
}

/* op->fields: the scanner's text as it came, or jansson's compact dump. */
static int copy_fields(const struct pe_val *f, struct prof_op *op, char *reason,
                       size_t reason_size)
{
        char  *txt;
        size_t len;

        if (f->tree) {
                txt = json_dumps(f->tree, JSON_COMPACT);
                len = txt ? strlen(txt) : 0;
        } else {
                txt = malloc(f->len ? f->len : 1);
                len = f->len;
                if (txt)
                        memcpy(txt, f->s, len);
        }
        if (!txt)
                return crmsync_err(reason, reason_size,
                                   "out of memory copying the fields");
        op->fields     = txt;
        op->fields_len = len;
        return 0;
}

/* An upsert: the fields, the version it must apply on, whether a bug
 * skips it, and its side effect. */
static int map_upsert(const struct prof_env *env, struct prof_op *op,
                      const char *change, uint32_t bugs, int is_full,
                      char *reason, size_t reason_size)
{
        const struct pe_val *fields = &env->v[PE_FIELDS];
        const struct pe_val *prev   = &env->v[PE_PREV_ACCOUNT];
        int                  is_move;

        op->action       = PROF_UPSERT;
        op->merge_fields = !is_full;
        /* Changed fields only: they are right only on top of the version
         * before. */
        if (!is_full && op->if_newer && op->version > 0)
                op->if_version = (int64_t)op->version - 1;
        if (fields->kind != PV_OBJECT) /* map_kind checked it */
                return crmsync_err(reason, reason_size,
                                   "fields is not an object");
        if (copy_fields(fields, op, reason, reason_size))
                return -1;
        /* A merge moves each child of a loser with an update that changes
         * only account_id: no fields, or marked by the CRM
         * (previous_account_id) or the connector (resolved into the whole
         * record: resolved_move). */
        is_move = is_true(env, PE_RESOLVED_MOVE) ||
                  (prev->kind == PV_STR && str_differs(prev, op->account_id)) ||
                  (!is_full && fields->empty);
        if ((bugs & CRMSYNC_BUG_IGNORE_MERGES) && !strcmp(change, "update") &&
            is_move)
                op->action = PROF_SKIP;
        if (!strcmp(change, "create") && !strcmp(op->entity, "contact"))
                op->side_effect = "welcome_email";
        else if ((!strcmp(change, "create") || !strcmp(change, "update")) &&
                 !strcmp(op->entity, "entitlement"))
                op->side_effect = "entitlement_notice";
        return 0;
}

/* The op of a parsed envelope, under the bug switches. */
static int map_env(const struct prof_env *env, uint32_t bugs,
                   struct prof_op *op, char *reason, size_t reason_size)
{
        const struct pe_val *into = &env->v[PE_MERGED_INTO];
        char                 change[16];
        int                  is_full, is_delete;

        if (map_identity(env, op, change, sizeof(change), reason,
                         reason_size) ||
            map_kind(env, op, change, &is_full, &is_delete, reason,
                     reason_size))
                return -1;
        op->if_newer   = !(bugs & CRMSYNC_BUG_NO_VERSION_CHECK);
        op->if_version = -1;
        if (is_delete) {
                op->action = PROF_DELETE;
                if ((bugs & CRMSYNC_BUG_IGNORE_DELETES) ||
                    ((bugs & CRMSYNC_BUG_IGNORE_MERGES) &&
                     into->kind == PV_STR && into->len > 0))
                        op->action = PROF_SKIP;
                return 0;
        }
        return map_upsert(env, op, change, bugs, is_full, reason, reason_size);
}

int profiler_map_event_json(const char *value, size_t len, uint32_t bugs,
                            struct prof_op *op, char *reason,
                            size_t reason_size)
{
        json_error_t    jerr;
        struct prof_env env;
        int             rc = -1;
        json_t         *ev;

        memset(op, 0, sizeof(*op));
        if (!value || len == 0)
                return crmsync_err(reason, reason_size, "empty value");
        ev = json_loadb(value, len, 0, &jerr);
        if (!ev)
                return crmsync_err(reason, reason_size,
                                   "invalid JSON at column %d: %s", jerr.column,
                                   jerr.text);
        if (!json_is_object(ev))
                crmsync_err(reason, reason_size, "value is not an object");
        else {
                profiler_env_from_json(&env, ev);
                rc = map_env(&env, bugs, op, reason, reason_size);
        }
        json_decref(ev);
        if (rc)
                profiler_op_clear(op);
        return rc;
}

int profiler_map_event(const char *value, size_t len, uint32_t bugs,
                       struct prof_op *op, char *reason, size_t reason_size)
{
        struct prof_env env;

        if (!value || len == 0 || profiler_env_scan(value, len, &env))
                return profiler_map_event_json(value, len, bugs, op, reason,
                                               reason_size);
        memset(op, 0, sizeof(*op));
        if (map_env(&env, bugs, op, reason, reason_size)) {
                profiler_op_clear(op);
                return -1;
        }
        return 0;
}

void profiler_op_clear(struct prof_op *op)
{
        free(op->fields);
        op->fields     = NULL;
        op->fields_len = 0;
}

/* ---- request rounds ----------------------------------------------------- */

static int cmp_size(const void *a, const void *b)
{
        size_t x = *(const size_t *)a, y = *(const size_t *)b;
        return x < y ? -1 : x > y;
}

size_t profiler_pick_round(const struct prof_pending *ents, size_t n,
                           size_t *idx)
{
        size_t cap = 16, k = 0;
        while (cap < 2 * n)
                cap *= 2;
        size_t *tab = calloc(cap, sizeof(*tab)); /* slot: index + 1 */
        if (!tab)
                return (size_t)-1;
        for (size_t i = 0; i < n; i++) {
                const struct prof_op *op = &ents[i].op;
                if (ents[i].done || ents[i].parked)
                        continue;
                size_t h = (size_t)(crmsync_fnv1a64_str(op->entity) * 31 +
                                    crmsync_fnv1a64_str(op->record_id)) &
                           (cap - 1);
                for (; tab[h]; h = (h + 1) & (cap - 1)) {
                        const struct prof_op *o = &ents[tab[h] - 1].op;
                        if (!strcmp(o->record_id, op->record_id) &&
                            !strcmp(o->entity, op->entity))
                                break;
                }
                if (!tab[h] || op->version < ents[tab[h] - 1].op.version)
                        tab[h] = i + 1;
        }
        for (size_t h = 0; h < cap; h++)
                if (tab[h])
                        idx[k++] = tab[h] - 1;
        free(tab);
        /* Batch order in the request (the sink applies in order). */
        qsort(idx, k, sizeof(*idx), cmp_size);
        return k;
}

/* ---- dedupe set --------------------------------------------------------- */

/* Chained hash over a FIFO ring of ids: adding past cap evicts the oldest,
 * unlinking it from its (short) bucket chain. */
#define NIL UINT32_MAX

struct prof_dedupe {
        char (*ids)[CRMSYNC_ID_MAX];
        uint32_t *next;           /* chain link per ring slot */
        uint32_t *buckets;        /* head slot per bucket */
        size_t    nbuckets;       /* power of two */
        size_t    cap, len, head; /* head = next slot to (over)write */
};

struct prof_dedupe *profiler_dedupe_new(size_t cap)
{
        if (cap == 0 || cap >= NIL)
                return NULL;
        struct prof_dedupe *d = calloc(1, sizeof(*d));
        if (!d)
                return NULL;
        d->cap      = cap;
        d->nbuckets = 16;
        while (d->nbuckets < cap)
                d->nbuckets *= 2;
        d->ids     = calloc(cap, sizeof(*d->ids));
        d->next    = malloc(cap * sizeof(*d->next));
        d->buckets = malloc(d->nbuckets * sizeof(*d->buckets));
        if (!d->ids || !d->next || !d->buckets) {
                profiler_dedupe_free(d);
                return NULL;
        }
        memset(d->buckets, 0xff, d->nbuckets * sizeof(*d->buckets));
        return d;
}

void profiler_dedupe_free(struct prof_dedupe *d)
{
        if (!d)
                return;
        free(d->ids);
        free(d->next);
        free(d->buckets);
        free(d);
}

int profiler_dedupe_has(const struct prof_dedupe *d, const char *id)
{
        uint32_t i = d->buckets[crmsync_fnv1a64_str(id) & (d->nbuckets - 1)];
        for (size_t n = 0; i != NIL && n <= d->len; i = d->next[i], n++)
                if (!strcmp(d->ids[i], id))
                        return 1;
        return 0;
}

static void unlink_slot(struct prof_dedupe *d, uint32_t slot)
{
        uint32_t *p =
            &d->buckets[crmsync_fnv1a64_str(d->ids[slot]) & (d->nbuckets - 1)];
        for (size_t n = 0; *p != NIL && n <= d->len; p = &d->next[*p], n++) {
                if (*p == slot) {
                        *p = d->next[slot];
                        return;
                }
        }
}

int profiler_dedupe_add(struct prof_dedupe *d, const char *id)
{
        if (profiler_dedupe_has(d, id))
                return 0;
        uint32_t slot = (uint32_t)d->head;
        if (d->len == d->cap)
                unlink_slot(d, slot); /* forget the oldest */
        else
                d->len++;
        snprintf(d->ids[slot], sizeof(d->ids[slot]), "%s", id);
        uint32_t *b =
            &d->buckets[crmsync_fnv1a64_str(d->ids[slot]) & (d->nbuckets - 1)];
        d->next[slot] = *b;
        *b            = slot;
        d->head       = (d->head + 1) % d->cap;
        return 1;
}

void profiler_dedupe_forget(struct prof_dedupe *d, const char *id)
{
        uint32_t *p = &d->buckets[crmsync_fnv1a64_str(id) & (d->nbuckets - 1)];
        for (size_t n = 0; *p != NIL && n <= d->len; p = &d->next[*p], n++) {
                if (!strcmp(d->ids[*p], id)) {
                        uint32_t slot = *p;
                        *p            = d->next[slot];
                        /* The ring slot stays until overwritten; an empty
                         * id is in no chain and matches no lookup. */
                        d->ids[slot][0] = '\0';
                        return;
                }
        }
}

size_t profiler_dedupe_len(const struct prof_dedupe *d)
{
        return d->len;
}
