/* workload.c -- the mock CRM's workload: configuration and defaults, the
 * record index, the commit log hash and the accessors. workload_gen.c
 * writes the log. */
#include "workload_int.h"

#include <inttypes.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crmsync/hash.h"
#include "crmsync/rand.h"

#define WL_MAX_EVENTS CRM_WORKLOAD_MAX_CHANGES

#define DEF_ACCOUNTS 2000u
#define DEF_CONTACTS 2u
#define DEF_CHANGES 20000u
#define DEF_RATE_PER_S 2000.0
#define DEF_MIX_UPDATE 0.85
#define DEF_MIX_CREATE 0.05
#define DEF_MIX_DELETE 0.04
#define DEF_MIX_UNDELETE 0.02
#define DEF_MIX_MERGE 0.04

/* ------------------------------------------------------------------ */
/* Names */

static const char *const entity_names[CRM_ENTITY_CNT] = {
    "account", "contact", "opportunity", "entitlement"};
static const char *const change_names[CRM_CHANGE_CNT] = {
    "create", "update", "delete", "undelete", "gap"};

const char *crmsync_entity_name(enum crm_entity e)
{
        return (unsigned)e < CRM_ENTITY_CNT ? entity_names[e] : "unknown";
}

const char *crmsync_change_name(enum crm_change c)
{
        return (unsigned)c < CRM_CHANGE_CNT ? change_names[c] : "unknown";
}

int crmsync_entity_parse(const char *s)
{
        for (int i = 0; s && i < CRM_ENTITY_CNT; i++)
                if (!strcmp(s, entity_names[i]))
                        return i;
        return -1;
}

int crmsync_change_parse(const char *s)
{
        for (int i = 0; s && i < CRM_CHANGE_CNT; i++)
                if (!strcmp(s, change_names[i]))
                        return i;
        return -1;
}

static uint64_t key_hash(enum crm_entity e, const char *id)
{
        uint64_t h = crmsync_fnv1a64_str(id) ^ crmsync_mix64((uint64_t)e);
        return h ^ (h >> 29);
}

int workload_index(crm_workload_t *w, uint32_t idx)
{
        if ((w->record_cnt + 1) * 2 > w->slot_cap) {
                size_t    ncap = w->slot_cap ? w->slot_cap * 2 : 1024;
                uint32_t *ns   = calloc(ncap, sizeof(*ns));
                if (!ns)
                        return -1;
                for (size_t i = 0; i < w->slot_cap; i++) {
                        if (!w->slots[i])
                                continue;
                        const struct crm_record *r =
                            &w->records[w->slots[i] - 1];
                        size_t j = key_hash(r->entity, r->id) & (ncap - 1);
                        while (ns[j])
                                j = (j + 1) & (ncap - 1);
                        ns[j] = w->slots[i];
                }
                free(w->slots);
                w->slots    = ns;
                w->slot_cap = ncap;
        }
        const struct crm_record *r = &w->records[idx];
        size_t j = key_hash(r->entity, r->id) & (w->slot_cap - 1);
        while (w->slots[j])
                j = (j + 1) & (w->slot_cap - 1);
        w->slots[j] = idx + 1;
        return 0;
}

const struct crm_record *crmsync_workload_find(const crm_workload_t *w,
                                               enum crm_entity       e,
                                               const char           *id)
{
        if (!w || !id || !w->slot_cap)
                return NULL;
        size_t j = key_hash(e, id) & (w->slot_cap - 1);
        while (w->slots[j]) {
                const struct crm_record *r = &w->records[w->slots[j] - 1];
                if (r->entity == e && !strcmp(r->id, id))
                        return r;
                j = (j + 1) & (w->slot_cap - 1);
        }
        return NULL;
}

/* ------------------------------------------------------------------ */
/* Configuration */

static int bad_double(double v)
{
        return isnan(v) || isinf(v) || v < 0;
}

int crmsync_workload_resolve(const struct crm_workload_config *in,
                             struct crm_workload_config *out, char *errstr,
                             size_t errstr_size)
{
        *out = *in;
        if (!out->accounts)
                out->accounts = DEF_ACCOUNTS;
        if (out->contacts_per_account == CRM_WORKLOAD_NONE)
                out->contacts_per_account = 0;
        else if (!out->contacts_per_account)
                out->contacts_per_account = DEF_CONTACTS;
        if (!out->changes)
                out->changes = DEF_CHANGES;
        if (!out->txn_max)
                out->txn_max = 1;
        if (bad_double(out->rate_per_s))
                return crmsync_err(errstr, errstr_size,
                                   "workload.rate_per_s must be a finite "
                                   "number >= 0 (0 = default %g), got %g",
                                   DEF_RATE_PER_S, out->rate_per_s);
        if (out->rate_per_s == 0)
                out->rate_per_s = DEF_RATE_PER_S;
        if (bad_double(out->burst_factor))
                return crmsync_err(errstr, errstr_size,
                                   "workload.burst_factor must be a finite "
                                   "number > 0, got %g",
                                   out->burst_factor);
        if (out->burst_factor == 0)
                out->burst_factor = 1;
        if (bad_double(out->zipf_s) || out->zipf_s > 10)
                return crmsync_err(errstr, errstr_size,
                                   "workload.zipf_s must be in [0, 10], got %g",
                                   out->zipf_s);
        const double             mix[5] = {out->mix_update, out->mix_create,
                                           out->mix_delete, out->mix_undelete,
                                           out->mix_merge};
        static const char *const mix_names[5] = {"update", "create", "delete",
                                                 "undelete", "merge"};
        double                   total        = 0;
        for (int i = 0; i < 5; i++) {
                if (bad_double(mix[i]))
                        return crmsync_err(errstr, errstr_size,
                                           "workload.mix.%s must be a finite "
                                           "weight >= 0, got %g",
                                           mix_names[i], mix[i]);
                total += mix[i];
        }
        if (total == 0) {
                out->mix_update   = DEF_MIX_UPDATE;
                out->mix_create   = DEF_MIX_CREATE;
                out->mix_delete   = DEF_MIX_DELETE;
                out->mix_undelete = DEF_MIX_UNDELETE;
                out->mix_merge    = DEF_MIX_MERGE;
        }
        uint64_t creates =
            (uint64_t)out->accounts *
            (1 + (uint64_t)out->contacts_per_account +
             out->opportunities_per_account + out->entitlements_per_account);
        if (out->changes > WL_MAX_EVENTS)
                return crmsync_err(errstr, errstr_size,
                                   "workload.changes %" PRIu32
                                   " exceeds the limit of %u",
                                   out->changes, WL_MAX_EVENTS);
        if (creates > out->changes)
                return crmsync_err(errstr, errstr_size,
                                   "workload.changes (%" PRIu32
                                   ") is smaller than the initial creates "
                                   "(%" PRIu64 " = accounts x (1 + children "
                                   "per account))",
                                   out->changes, creates);
        return 0;
}

/* ------------------------------------------------------------------ */
/* Commit log hash */

/* End of the member value at i in compact JSON text t when jansson would
 * dump it back as it is: a string of printable ASCII without escapes, an
 * integer without a sign on zero, true, false or null; else 0. */
static size_t value_end(const char *t, size_t i)
{
        size_t d;

        if (t[i] == '"') {
                for (i++; t[i] != '"'; i++)
                        if ((unsigned char)t[i] < 0x20 ||
                            (unsigned char)t[i] > 0x7e || t[i] == '\\')
                                return 0;
                return i + 1;
        }
        if (!strncmp(t + i, "true", 4) || !strncmp(t + i, "null", 4))
                return i + 4;
        if (!strncmp(t + i, "false", 5))
                return i + 5;
        d = t[i] == '-' ? i + 1 : i;
        if (t[d] < '0' || t[d] > '9' ||
            (t[d] == '0' && (d > i || (t[d + 1] >= '0' && t[d + 1] <= '9'))))
                return 0;
        while (t[d] >= '0' && t[d] <= '9' && d - i < 18)
                d++;
        return t[d] == ',' || t[d] == '}' ? d : 0;
}

struct member_span {
        const char *key;          /* after the opening quote */
        size_t      key_len, len; /* the key; the whole "key":value */
        const char *at;
};

static int member_cmp(const void *a, const void *b)
{
        const struct member_span *x = a, *y = b;
        size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
        int    c = memcmp(x->key, y->key, n);
        if (c)
                return c;
        return x->key_len < y->key_len ? -1 : x->key_len > y->key_len;
}

/* The members of t, a compact flat object whose keys and values jansson
 * dumps back as they are (value_end; the generator's fields text), in m
 * (up to max); returns their count, or -1 for anything else. */
static int members_split(const char *t, struct member_span *m, int max)
{
        size_t i = 1;
        int    n = 0;

        if (t[0] != '{')
                return -1;
        if (t[1] == '}')
                return t[2] ? -1 : 0;
        for (;; n++) {
                size_t k = i, e;
                if (n == max || t[i] != '"')
                        return -1;
                for (i++; t[i] != '"'; i++)
                        if ((unsigned char)t[i] < 0x20 ||
                            (unsigned char)t[i] > 0x7e || t[i] == '\\')
                                return -1;
                if (t[i + 1] != ':' || !(e = value_end(t, i + 2)))
                        return -1;
                m[n].at      = t + k;
                m[n].key     = t + k + 1;
                m[n].key_len = i - k - 1;
                m[n].len     = e - k;
                i            = e;
                if (t[i] == '}')
                        return t[i + 1] ? -1 : n + 1;
                if (t[i++] != ',')
                        return -1;
        }
}

/* json_dumps(json_loads(fields_json), JSON_COMPACT | JSON_SORT_KEYS)
 * (malloc'ed; NULL when it does not load): the text's members sorted by
 * key as jansson sorts them, without a tree, when the text is a flat
 * object of jansson's compact output (which loading and dumping gives
 * back member by member); through jansson otherwise. */
char *workload_fields_sorted(const char *fields_json)
{
        struct member_span m[32];
        const char        *t   = fields_json ? fields_json : "{}";
        int                n   = members_split(t, m, 32);
        size_t             len = strlen(t), o = 1;
        char              *out;

        if (n < 0) {
                json_t *fo = json_loads(t, 0, NULL);
                out = fo ? json_dumps(fo, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
                json_decref(fo);
                return out;
        }
        qsort(m, (size_t)n, sizeof(m[0]), member_cmp);
        out = malloc(len + 1);
        if (!out)
                return NULL;
        out[0] = '{';
        for (int j = 0; j < n; j++) {
                if (j)
                        out[o++] = ',';
                memcpy(out + o, m[j].at, m[j].len);
                o += m[j].len;
        }
        out[o++] = '}';
        out[o]   = '\0';
        return out;
}

static int hash_log(crm_workload_t *w)
{
        EVP_MD_CTX   *ctx = EVP_MD_CTX_new();
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int  md_len = 0;
        char          line[256];

        if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
                EVP_MD_CTX_free(ctx);
                return -1;
        }
        for (size_t i = 0; i < w->event_cnt; i++) {
                const struct crm_event *ev = &w->events[i];
                int                     n =
                    snprintf(line, sizeof(line),
                             "%" PRIu64 "|%s|%s|%s|%s|%s|%" PRIu32 "|%" PRId64
                             "|%" PRIu32 "|%" PRIu32 "|%s,%s|%s|%s|",
                             ev->seq, ev->event_id,
                             crmsync_entity_name(ev->entity), ev->record_id,
                             ev->account_id, crmsync_change_name(ev->change),
                             ev->version, ev->commit_ms, ev->txn, ev->txn_seq,
                             ev->merged_cnt > 0 ? ev->merged_ids[0] : "",
                             ev->merged_cnt > 1 ? ev->merged_ids[1] : "",
                             ev->merged_into, ev->previous_account_id);
                char *f = workload_fields_sorted(ev->fields_json);
                EVP_DigestUpdate(ctx, line,
                                 (size_t)n < sizeof(line) ? (size_t)n
                                                          : sizeof(line) - 1);
                if (f)
                        EVP_DigestUpdate(ctx, f, strlen(f));
                else
                        EVP_DigestUpdate(ctx, "null", 4);
                EVP_DigestUpdate(ctx, "\n", 1);
                free(f);
        }
        EVP_DigestFinal_ex(ctx, md, &md_len);
        EVP_MD_CTX_free(ctx);
        for (unsigned i = 0; i < md_len && i < 32; i++)
                snprintf(w->sha_hex + 2 * i, 3, "%02x", md[i]);
        w->sha_hex[64] = '\0';
        return 0;
}

/* ------------------------------------------------------------------ */
/* Public API */

/* The records' arrays grew by doubling while the log was written; no
 * record is added after, so they shrink to fit (up to half of them was
 * room). A failed shrink keeps the larger array. */
static void trim_records(crm_workload_t *w)
{
        void *p;

        if (!w->record_cnt)
                return;
        if ((p = realloc(w->records, w->record_cnt * sizeof(*w->records)))) {
                w->records    = p;
                w->record_cap = w->record_cnt;
        }
        if ((p = realloc(w->rec_ids, w->record_cnt * sizeof(*w->rec_ids)))) {
                w->rec_ids     = p;
                w->rec_ids_cap = w->record_cnt;
        }
}

crm_workload_t *crmsync_workload_generate(const struct crm_workload_config *cfg,
                                          char *errstr, size_t errstr_size)
{
        crm_workload_t *w;

        if (!cfg) {
                crmsync_err(errstr, errstr_size, "no workload configuration");
                return NULL;
        }
        w = calloc(1, sizeof(*w));
        if (!w) {
                crmsync_err(errstr, errstr_size, "out of memory");
                return NULL;
        }
        if (crmsync_workload_resolve(cfg, &w->cfg, errstr, errstr_size))
                goto out_free;
        w->events = calloc(w->cfg.changes, sizeof(*w->events));
        if (!w->events) {
                crmsync_err(errstr, errstr_size,
                            "out of memory for %" PRIu32 " events",
                            w->cfg.changes);
                goto out_free;
        }
        w->event_cap = w->cfg.changes;

        if (workload_gen_log(w)) {
                crmsync_err(errstr, errstr_size,
                            "out of memory generating the workload");
                goto out_free;
        }
        if (hash_log(w)) {
                crmsync_err(errstr, errstr_size, "SHA-256 unavailable");
                goto out_free;
        }
        trim_records(w);
        return w;

out_free:
        crmsync_workload_destroy(w);
        return NULL;
}

/* The events' strings: packed in blocks, freed with the workload. At a
 * million changes, eight 48-byte id arrays in each event were 392 MB. */
#define WORKLOAD_STRS_BLOCK 65536
struct workload_strs {
        struct workload_strs *next;
        size_t                used;
        char                  data[WORKLOAD_STRS_BLOCK];
};

json_t *crmsync_record_fields(const struct crm_record *r)
{
        return json_loads(r->fields_json ? r->fields_json : "{}", 0, NULL);
}

json_t *crmsync_event_fields(const struct crm_event *ev)
{
        return json_loads(ev->fields_json ? ev->fields_json : "{}", 0, NULL);
}

const char *workload_intern(crm_workload_t *w, const char *s)
{
        size_t n = strlen(s) + 1;
        char  *out;

        if (n > WORKLOAD_STRS_BLOCK)
                return NULL;
        if (!w->strs || w->strs->used + n > WORKLOAD_STRS_BLOCK) {
                struct workload_strs *b = malloc(sizeof(*b));
                if (!b)
                        return NULL;
                b->next = w->strs;
                b->used = 0;
                w->strs = b;
        }
        out = w->strs->data + w->strs->used;
        memcpy(out, s, n);
        w->strs->used += n;
        return out;
}

void crmsync_workload_destroy(crm_workload_t *w)
{
        if (!w)
                return;
        while (w->strs) {
                struct workload_strs *next = w->strs->next;
                free(w->strs);
                w->strs = next;
        }
        free(w->rec_ids);
        free(w->events);
        free(w->records);
        free(w->slots);
        free(w);
}

size_t crmsync_workload_event_cnt(const crm_workload_t *w)
{
        return w ? w->event_cnt : 0;
}

const struct crm_event *crmsync_workload_event(const crm_workload_t *w,
                                               size_t                i)
{
        return w && i < w->event_cnt ? &w->events[i] : NULL;
}

size_t crmsync_workload_record_cnt(const crm_workload_t *w)
{
        return w ? w->record_cnt : 0;
}

const struct crm_record *crmsync_workload_record(const crm_workload_t *w,
                                                 size_t                i)
{
        return w && i < w->record_cnt ? &w->records[i] : NULL;
}

int64_t crmsync_workload_duration_ms(const crm_workload_t *w)
{
        return w && w->event_cnt ? w->events[w->event_cnt - 1].commit_ms : 0;
}

void crmsync_workload_sha256(const crm_workload_t *w, char out_hex[65])
{
        if (!w) {
                out_hex[0] = '\0';
                return;
        }
        memcpy(out_hex, w->sha_hex, 65);
}

const struct crm_workload_config *
crmsync_workload_config(const crm_workload_t *w)
{
        return w ? &w->cfg : NULL;
}

json_t *crmsync_event_to_json(const struct crm_event *ev, int64_t start_wall_ms)
{
        char    txn[CRMSYNC_ID_MAX];
        json_t *o;

        if (!ev)
                return NULL;
        o = json_object();
        snprintf(txn, sizeof(txn), "t-%08" PRIu32, ev->txn);
        json_object_set_new(o, "event_id", json_string(ev->event_id));
        json_object_set_new(o, "seq", json_integer((json_int_t)ev->seq));
        json_object_set_new(o, "entity",
                            json_string(crmsync_entity_name(ev->entity)));
        json_object_set_new(o, "record_id", json_string(ev->record_id));
        json_object_set_new(o, "account_id", json_string(ev->account_id));
        json_object_set_new(o, "change_type",
                            json_string(crmsync_change_name(ev->change)));
        json_object_set_new(o, "version", json_integer(ev->version));
        json_object_set_new(o, "commit_ts_ms",
                            json_integer(start_wall_ms + ev->commit_ms));
        json_object_set_new(o, "transaction_key", json_string(txn));
        json_object_set_new(o, "sequence_number", json_integer(ev->txn_seq));
        if (ev->merged_cnt > 0) {
                json_t *ids = json_array();
                for (int i = 0; i < ev->merged_cnt && i < 2; i++)
                        json_array_append_new(ids,
                                              json_string(ev->merged_ids[i]));
                json_object_set_new(o, "merged_ids", ids);
        }
        if (ev->merged_into[0])
                json_object_set_new(o, "merged_into",
                                    json_string(ev->merged_into));
        if (ev->previous_account_id[0])
                json_object_set_new(o, "previous_account_id",
                                    json_string(ev->previous_account_id));
        if (ev->change == CRM_CHANGE_GAP)
                json_object_set_new(o, "fields", json_null());
        else if (ev->change == CRM_CHANGE_DELETE)
                json_object_set_new(o, "fields", json_object());
        else
                json_object_set_new(o, "fields", crmsync_event_fields(ev));
        return o;
}
