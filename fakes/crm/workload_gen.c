/* workload_gen.c -- the seeded operations that write the mock CRM's commit
 * log: creates, updates, cascading deletes, undeletes and merges. */
#include "workload_int.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crmsync/rand.h"

static const char entity_prefix[CRM_ENTITY_CNT] = {'A', 'C', 'O', 'E'};

/* ------------------------------------------------------------------ */
/* PRNG: crmsync_rng (lib/rand.c), xoshiro256** seeded through
 * splitmix64. */

/* ------------------------------------------------------------------ */
/* Field definitions */

enum fkind { F_PICK, F_INT, F_BOOL, F_EMAIL, F_NAME, F_DATE };

struct field_def {
        const char        *name;
        enum fkind         kind;
        const char *const *pick;
        size_t             pick_cnt;
        int64_t            lo, hi;
};

#define PICK(a) a, sizeof(a) / sizeof(a[0])

static const char *const first_names[] = {
    "Ada",   "Grace",  "Alan",    "Linus", "Barbara",  "Ken",
    "Radia", "Edsger", "Frances", "John",  "Margaret", "Dennis"};
static const char *const last_names[] = {
    "Lovelace", "Hopper",   "Turing", "Torvalds", "Liskov",   "Thompson",
    "Perlman",  "Dijkstra", "Allen",  "Backus",   "Hamilton", "Ritchie"};
static const char *const titles[]     = {"CEO",      "CTO",       "Engineer",
                                         "Buyer",    "Analyst",   "Director",
                                         "VP Sales", "Consultant"};
static const char *const industries[] = {"software",  "retail",   "finance",
                                         "health",    "energy",   "media",
                                         "logistics", "education"};
static const char *const tiers[]  = {"bronze", "silver", "gold", "platinum"};
static const char *const owners[] = {"owner-01", "owner-02", "owner-03",
                                     "owner-04", "owner-05", "owner-06",
                                     "owner-07", "owner-08"};
static const char *const account_words[] = {
    "Northwind", "Contoso", "Fabrikam", "Initech", "Globex",
    "Umbrella",  "Stark",   "Wayne",    "Tyrell",  "Acme"};
static const char *const opp_words[] = {"Renewal", "Expansion", "New Logo",
                                        "Upsell",  "Pilot",     "Migration"};
static const char *const stages[]    = {"prospecting", "qualification",
                                        "proposal",    "negotiation",
                                        "closed_won",  "closed_lost"};
static const char *const skus[]      = {"CRM-BASIC", "CRM-PRO",  "CRM-ENT",
                                        "SUP-STD",   "SUP-PREM", "DATA-PACK"};

static const struct field_def account_fields[] = {
    {"name", F_NAME, PICK(account_words), 0, 0},
    {"industry", F_PICK, PICK(industries), 0, 0},
    {"tier", F_PICK, PICK(tiers), 0, 0},
    {"owner", F_PICK, PICK(owners), 0, 0},
    {"annual_revenue", F_INT, NULL, 0, 50000, 500000000},
};
static const struct field_def contact_fields[] = {
    {"email", F_EMAIL, NULL, 0, 0, 0},
    {"first_name", F_PICK, PICK(first_names), 0, 0},
    {"last_name", F_PICK, PICK(last_names), 0, 0},
    {"title", F_PICK, PICK(titles), 0, 0},
    {"consent_email", F_BOOL, NULL, 0, 0, 0},
    {"consent_sms", F_BOOL, NULL, 0, 0, 0},
};
static const struct field_def opportunity_fields[] = {
    {"name", F_NAME, PICK(opp_words), 0, 0},
    {"stage", F_PICK, PICK(stages), 0, 0},
    {"amount", F_INT, NULL, 0, 1000, 2000000},
};
static const struct field_def entitlement_fields[] = {
    {"sku", F_PICK, PICK(skus), 0, 0},
    {"seats", F_INT, NULL, 0, 1, 5000},
    {"ends_on", F_DATE, NULL, 0, 0, 1460},
};

static const struct {
        const struct field_def *defs;
        size_t                  cnt;
} field_table[CRM_ENTITY_CNT] = {
    {account_fields, sizeof(account_fields) / sizeof(account_fields[0])},
    {contact_fields, sizeof(contact_fields) / sizeof(contact_fields[0])},
    {opportunity_fields,
     sizeof(opportunity_fields) / sizeof(opportunity_fields[0])},
    {entitlement_fields,
     sizeof(entitlement_fields) / sizeof(entitlement_fields[0])},
};

static void lower_copy(char *dst, size_t size, const char *src)
{
        size_t i;
        for (i = 0; i + 1 < size && src[i]; i++)
                dst[i] =
                    (char)((src[i] >= 'A' && src[i] <= 'Z') ? src[i] - 'A' + 'a'
                                                            : src[i]);
        dst[i] = '\0';
}

/* A fresh value for one field (new reference). */
static json_t *field_value(struct crmsync_rng *r, const struct field_def *d)
{
        char buf[96];
        switch (d->kind) {
        case F_PICK:
                return json_string(d->pick[crmsync_rng_below(r, d->pick_cnt)]);
        case F_INT:
                return json_integer(d->lo +
                                    (json_int_t)crmsync_rng_below(
                                        r, (uint64_t)(d->hi - d->lo + 1)));
        case F_BOOL:
                return json_boolean(crmsync_rng_below(r, 2));
        case F_NAME:
                snprintf(buf, sizeof(buf), "%s %" PRIu64,
                         d->pick[crmsync_rng_below(r, d->pick_cnt)],
                         crmsync_rng_below(r, 100000));
                return json_string(buf);
        case F_EMAIL: {
                char f[32], l[32];
                lower_copy(
                    f, sizeof(f),
                    first_names[crmsync_rng_below(
                        r, sizeof(first_names) / sizeof(first_names[0]))]);
                lower_copy(l, sizeof(l),
                           last_names[crmsync_rng_below(
                               r, sizeof(last_names) / sizeof(last_names[0]))]);
                snprintf(buf, sizeof(buf), "%s.%s.%" PRIu64 "@example.test", f,
                         l, crmsync_rng_below(r, 1000000));
                return json_string(buf);
        }
        case F_DATE: {
                /* 2026-01-01 UTC plus up to four years. */
                time_t t =
                    (time_t)1767225600 +
                    (time_t)crmsync_rng_below(r, (uint64_t)d->hi) * 86400;
                struct tm tm;
                gmtime_r(&t, &tm);
                strftime(buf, sizeof(buf), "%Y-%m-%d", &tm);
                return json_string(buf);
        }
        }
        return json_null();
}

/* A value for field d that differs from cur (new reference), or NULL when
 * none was found in a bounded number of draws. */
static json_t *field_new_value(struct crmsync_rng *r, const struct field_def *d,
                               const json_t *cur)
{
        if (d->kind == F_BOOL)
                return json_boolean(!json_is_true(cur));
        for (int i = 0; i < 16; i++) {
                json_t *v = field_value(r, d);
                if (!cur || !json_equal(v, (json_t *)cur))
                        return v;
                json_decref(v);
        }
        return NULL;
}

struct idvec {
        uint32_t *v;
        uint32_t  cnt, cap;
};

static int idvec_push(struct idvec *iv, uint32_t x)
{
        if (iv->cnt == iv->cap) {
                uint32_t  ncap = iv->cap ? iv->cap * 2 : 4;
                uint32_t *nv   = realloc(iv->v, ncap * sizeof(*nv));
                if (!nv)
                        return -1;
                iv->v   = nv;
                iv->cap = ncap;
        }
        iv->v[iv->cnt++] = x;
        return 0;
}

/* Generation-only state, freed when the log is complete. */
struct gen {
        crm_workload_t    *w;
        struct crmsync_rng rng;
        uint32_t           ids[CRM_ENTITY_CNT]; /* last id number per entity */
        /* Accounts by ordinal (creation order): record index. */
        uint32_t     *accounts;
        struct idvec *children; /* by account ordinal: child records */
        double       *zipf_cdf; /* by account ordinal */
        size_t        account_cnt, account_cap;
        uint32_t      live_accounts;
        /* By record index: owner account ordinal, slot in undeletable+1. */
        uint32_t *owner, *undel_pos;
        /* By record index: its fields as they stand (the final state is
         * kept as text once the log is complete). */
        json_t     **fields;
        size_t       aux_cap;
        struct idvec undeletable; /* deleted, not merged records */
        double       t_ms;
        int64_t      commit_ms;
        uint32_t     txn, txn_seq, txn_left;
        int          oom;
};

/* Start (or continue) a transaction for an operation of op_events events.
 * Multi-event operations (cascade, merge) always get their own. */
static void txn_begin(struct gen *g, uint32_t op_events)
{
        const struct crm_workload_config *cfg  = &g->w->cfg;
        uint32_t                          size = op_events;
        double                            rate = cfg->rate_per_s;

        if (op_events == 1 && g->txn_left > 0) {
                g->txn_left--;
                return;
        }
        if (op_events == 1 && cfg->txn_max > 1)
                size = 1 + (uint32_t)crmsync_rng_below(&g->rng, cfg->txn_max);
        g->txn++;
        g->txn_seq  = 0;
        g->txn_left = op_events == 1 ? size - 1 : 0;

        if (cfg->burst_every_s > 0 && cfg->burst_len_s > 0) {
                double period = cfg->burst_every_s * 1000.0;
                if (fmod(g->t_ms, period) < cfg->burst_len_s * 1000.0)
                        rate *= cfg->burst_factor;
        }
        /* Exponential inter-arrival: a Poisson commit stream. Integer
         * milliseconds make equal timestamps common at high rates. */
        double mean = size * 1000.0 / rate;
        g->t_ms += -log(1.0 - crmsync_rng_unit(&g->rng)) * mean;
        g->commit_ms = (int64_t)g->t_ms;
}

/* The workload's lasting copy of an account's id (its record's), or ""
 * after out of memory. */
static const char *account_str(struct gen *g, const char *id)
{
        crm_workload_t          *w = g->w;
        const struct crm_record *a =
            crmsync_workload_find(w, CRM_ENTITY_ACCOUNT, id);
        const char *out = a ? w->rec_ids[a - w->records] : NULL;

        if (!out)
                g->oom = 1;
        return out ? out : "";
}

/* Append an event for record idx (already updated); takes fields (NULL:
 * none) and keeps them as text. */
static struct crm_event *emit(struct gen *g, uint32_t idx,
                              enum crm_change change, json_t *fields)
{
        crm_workload_t          *w = g->w;
        const struct crm_record *r = &w->records[idx];
        struct crm_event        *ev;
        char                     eid[32];

        if (w->event_cnt == w->event_cap) { /* reserved up front */
                json_decref(fields);
                g->oom = 1;
                return NULL;
        }
        ev = &w->events[w->event_cnt++];
        memset(ev, 0, sizeof(*ev));
        ev->seq = w->event_cnt;
        snprintf(eid, sizeof(eid), "e-%08" PRIu64, ev->seq);
        if (!(ev->event_id = workload_intern(w, eid))) {
                ev->event_id = "";
                g->oom       = 1;
        }
        ev->entity              = r->entity;
        ev->record_id           = w->rec_ids[idx];
        ev->account_id          = account_str(g, r->account_id);
        ev->merged_ids[0]       = "";
        ev->merged_ids[1]       = "";
        ev->merged_into         = "";
        ev->previous_account_id = "";
        ev->change              = change;
        ev->version             = r->version;
        ev->commit_ms           = g->commit_ms;
        ev->txn                 = g->txn;
        ev->txn_seq             = g->txn_seq++;
        ev->fields_json         = "{}";
        if (fields && json_object_size(fields)) {
                /* Compact text, insertion order: what the wire shows. */
                char *t = json_dumps(fields, JSON_COMPACT);
                if (!t || !(ev->fields_json = workload_intern(w, t))) {
                        ev->fields_json = "{}";
                        g->oom          = 1;
                }
                free(t);
        }
        json_decref(fields);
        return ev;
}

static int aux_reserve(struct gen *g, size_t n)
{
        if (n <= g->aux_cap)
                return 0;
        size_t    ncap = g->aux_cap ? g->aux_cap * 2 : 1024;
        uint32_t *o, *u;
        json_t  **f;
        while (ncap < n)
                ncap *= 2;
        o = realloc(g->owner, ncap * sizeof(*o));
        if (!o)
                return -1;
        g->owner = o;
        u        = realloc(g->undel_pos, ncap * sizeof(*u));
        if (!u)
                return -1;
        g->undel_pos = u;
        f            = realloc(g->fields, ncap * sizeof(*f));
        if (!f)
                return -1;
        memset(f + g->aux_cap, 0, (ncap - g->aux_cap) * sizeof(*f));
        g->fields  = f;
        g->aux_cap = ncap;
        return 0;
}

static int account_push(struct gen *g, uint32_t idx)
{
        if (g->account_cnt == g->account_cap) {
                size_t ncap = g->account_cap ? g->account_cap * 2 : 256;
                void  *a    = realloc(g->accounts, ncap * sizeof(*g->accounts));
                if (!a)
                        return -1;
                g->accounts = a;
                a           = realloc(g->children, ncap * sizeof(*g->children));
                if (!a)
                        return -1;
                g->children = a;
                a           = realloc(g->zipf_cdf, ncap * sizeof(*g->zipf_cdf));
                if (!a)
                        return -1;
                g->zipf_cdf    = a;
                g->account_cap = ncap;
        }
        size_t n       = g->account_cnt;
        double wgt     = g->w->cfg.zipf_s > 0
                             ? pow((double)(n + 1), -g->w->cfg.zipf_s)
                             : 1.0;
        g->accounts[n] = idx;
        memset(&g->children[n], 0, sizeof(g->children[n]));
        g->zipf_cdf[n] = (n ? g->zipf_cdf[n - 1] : 0.0) + wgt;
        g->account_cnt++;
        return 0;
}

/* Create a record (all fields) owned by account ordinal owner (ignored for
 * accounts) and emit its create event. Returns the record index or -1. */
static int64_t create_record(struct gen *g, enum crm_entity e, uint32_t owner)
{
        crm_workload_t    *w = g->w;
        struct crm_record *r;
        uint32_t           idx;
        char               id[CRMSYNC_ID_MAX];

        if (crmsync_array_grow(&w->records, &w->record_cap, w->record_cnt,
                               sizeof(*w->records), 1024) ||
            crmsync_array_grow(&w->rec_ids, &w->rec_ids_cap, w->record_cnt,
                               sizeof(*w->rec_ids), 1024))
                return -1;
        if (aux_reserve(g, w->record_cnt + 1))
                return -1;
        idx = (uint32_t)w->record_cnt;
        r   = &w->records[idx];
        memset(r, 0, sizeof(*r));
        r->entity = e;
        snprintf(id, sizeof(id), "%c-%06" PRIu32, entity_prefix[e],
                 ++g->ids[e]);
        if (!(w->rec_ids[idx] = workload_intern(w, id)))
                return -1;
        r->id          = w->rec_ids[idx];
        r->merged_into = "";
        json_t *fields = g->fields[idx] = json_object();
        for (size_t i = 0; i < field_table[e].cnt; i++)
                json_object_set_new(
                    fields, field_table[e].defs[i].name,
                    field_value(&g->rng, &field_table[e].defs[i]));
        if (e == CRM_ENTITY_CONTACT) { /* the email follows the name */
                char f[32], l[32], mail[96];
                lower_copy(
                    f, sizeof(f),
                    json_string_value(json_object_get(fields, "first_name")));
                lower_copy(
                    l, sizeof(l),
                    json_string_value(json_object_get(fields, "last_name")));
                snprintf(mail, sizeof(mail), "%s.%s.%" PRIu32 "@example.test",
                         f, l, g->ids[e]);
                json_object_set_new(fields, "email", json_string(mail));
        }
        r->version = 1;
        if (workload_index(w, idx))
                return -1;
        w->record_cnt++;
        g->undel_pos[idx] = 0;
        if (e == CRM_ENTITY_ACCOUNT) {
                r->account_id = r->id;
                g->owner[idx] = (uint32_t)g->account_cnt;
                if (account_push(g, idx))
                        return -1;
                g->live_accounts++;
        } else {
                uint32_t acct = g->accounts[owner];
                r->account_id = w->records[acct].id;
                g->owner[idx] = owner;
                if (idvec_push(&g->children[owner], idx))
                        return -1;
        }
        txn_begin(g, 1);
        emit(g, idx, CRM_CHANGE_CREATE, json_incref(fields));
        return idx;
}

/* Zipf-skewed account ordinal (uniform when zipf_s = 0). */
static uint32_t zipf_draw(struct gen *g)
{
        size_t n  = g->account_cnt;
        double u  = crmsync_rng_unit(&g->rng) * g->zipf_cdf[n - 1];
        size_t lo = 0, hi = n - 1;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (g->zipf_cdf[mid] > u)
                        hi = mid;
                else
                        lo = mid + 1;
        }
        return (uint32_t)lo;
}

static int account_live(struct gen *g, uint32_t ord)
{
        return !g->w->records[g->accounts[ord]].deleted;
}

/* A live account ordinal (Zipf-skewed), or -1 when none is live. */
static int64_t pick_live_account(struct gen *g)
{
        if (!g->live_accounts)
                return -1;
        for (int i = 0; i < 32; i++) {
                uint32_t a = zipf_draw(g);
                if (account_live(g, a))
                        return a;
        }
        size_t start = (size_t)crmsync_rng_below(&g->rng, g->account_cnt);
        for (size_t i = 0; i < g->account_cnt; i++) {
                size_t a = (start + i) % g->account_cnt;
                if (account_live(g, (uint32_t)a))
                        return (int64_t)a;
        }
        return -1;
}

/* A live record of a live account: the account itself or a child. */
static uint32_t pick_record_of(struct gen *g, uint32_t ord)
{
        struct idvec *c = &g->children[ord];
        for (int i = 0; i < 4; i++) {
                uint64_t k = crmsync_rng_below(&g->rng, (uint64_t)c->cnt + 1);
                if (k == 0)
                        break;
                if (!g->w->records[c->v[k - 1]].deleted)
                        return c->v[k - 1];
        }
        return g->accounts[ord];
}

static uint32_t live_children(struct gen *g, uint32_t ord)
{
        struct idvec *c = &g->children[ord];
        uint32_t      n = 0;
        for (uint32_t i = 0; i < c->cnt; i++)
                n += !g->w->records[c->v[i]].deleted;
        return n;
}

static void undel_add(struct gen *g, uint32_t idx)
{
        if (idvec_push(&g->undeletable, idx)) {
                g->oom = 1;
                return;
        }
        g->undel_pos[idx] = g->undeletable.cnt;
}

static void undel_remove(struct gen *g, uint32_t idx)
{
        uint32_t pos = g->undel_pos[idx];
        if (!pos)
                return;
        uint32_t last = g->undeletable.v[--g->undeletable.cnt];
        if (last != idx) {
                g->undeletable.v[pos - 1] = last;
                g->undel_pos[last]        = pos;
        }
        g->undel_pos[idx] = 0;
}

static void do_update(struct gen *g, uint32_t idx)
{
        struct crm_record      *r    = &g->w->records[idx];
        const struct field_def *defs = field_table[r->entity].defs;
        size_t                  cnt  = field_table[r->entity].cnt;
        size_t                  order[8];
        json_t                 *changed = json_object();
        size_t                  k = 1 + (size_t)crmsync_rng_below(&g->rng, 3);

        for (size_t i = 0; i < cnt; i++)
                order[i] = i;
        for (size_t i = 0; i < k && i < cnt; i++) {
                size_t j = i + (size_t)crmsync_rng_below(&g->rng, cnt - i);
                size_t t = order[i];
                order[i] = order[j];
                order[j] = t;
                const struct field_def *d = &defs[order[i]];
                json_t                 *v = field_new_value(
                                    &g->rng, d, json_object_get(g->fields[idx], d->name));
                if (v)
                        json_object_set_new(changed, d->name, v);
        }
        if (json_object_size(changed) == 0) {
                /* Practically unreachable; keep "update changes something". */
                const struct field_def *d = &defs[cnt - 1];
                json_t *cur = json_object_get(g->fields[idx], d->name);
                /* Keep the field's documented JSON type
                 * (docs/wire-contracts.md). */
                json_object_set_new(
                    changed, d->name,
                    d->kind == F_BOOL ? json_boolean(!json_is_true(cur))
                    : d->kind == F_INT
                        ? json_integer(json_integer_value(cur) < d->hi
                                           ? json_integer_value(cur) + 1
                                           : d->lo)
                        : json_sprintf("%s~%u", d->name, r->version));
        }
        json_object_update(g->fields[idx], changed);
        r->version++;
        txn_begin(g, 1);
        emit(g, idx, CRM_CHANGE_UPDATE, changed);
}

static void mark_deleted(struct gen *g, uint32_t idx, const char *merged_into)
{
        struct crm_record *r = &g->w->records[idx];
        struct crm_event  *ev;
        r->deleted = 1;
        r->version++;
        if (merged_into)
                r->merged_into = account_str(g, merged_into);
        else
                undel_add(g, idx);
        if (r->entity == CRM_ENTITY_ACCOUNT)
                g->live_accounts--;
        ev = emit(g, idx, CRM_CHANGE_DELETE, NULL);
        if (ev && merged_into)
                ev->merged_into = account_str(g, merged_into);
}

/* Update of a random live record (or create an account if none is live). */
static void op_update(struct gen *g)
{
        int64_t a = pick_live_account(g);
        if (a < 0) {
                if (create_record(g, CRM_ENTITY_ACCOUNT, 0) < 0)
                        g->oom = 1;
                return;
        }
        do_update(g, pick_record_of(g, (uint32_t)a));
}

static void op_create(struct gen *g)
{
        double          u = crmsync_rng_unit(&g->rng);
        enum crm_entity e = u < 0.15   ? CRM_ENTITY_ACCOUNT
                            : u < 0.65 ? CRM_ENTITY_CONTACT
                            : u < 0.85 ? CRM_ENTITY_OPPORTUNITY
                                       : CRM_ENTITY_ENTITLEMENT;
        int64_t         a = 0;
        if (e != CRM_ENTITY_ACCOUNT) {
                a = pick_live_account(g);
                if (a < 0)
                        e = CRM_ENTITY_ACCOUNT;
        }
        if (create_record(g, e, (uint32_t)(a < 0 ? 0 : a)) < 0)
                g->oom = 1;
}

static void op_delete(struct gen *g, size_t budget)
{
        int64_t a = pick_live_account(g);
        if (a < 0) {
                op_update(g);
                return;
        }
        uint32_t idx = pick_record_of(g, (uint32_t)a);
        if (g->w->records[idx].entity != CRM_ENTITY_ACCOUNT) {
                txn_begin(g, 1);
                mark_deleted(g, idx, NULL);
                return;
        }
        uint32_t n = 1 + live_children(g, (uint32_t)a);
        if (n > budget) {
                do_update(g, idx);
                return;
        }
        /* Cascade: the account, then each live child, one transaction. */
        struct idvec *c = &g->children[a];
        txn_begin(g, n);
        mark_deleted(g, idx, NULL);
        for (uint32_t i = 0; i < c->cnt; i++)
                if (!g->w->records[c->v[i]].deleted)
                        mark_deleted(g, c->v[i], NULL);
}

static void op_undelete(struct gen *g)
{
        for (int i = 0; i < 8 && g->undeletable.cnt; i++) {
                uint32_t idx =
                    g->undeletable
                        .v[crmsync_rng_below(&g->rng, g->undeletable.cnt)];
                struct crm_record *r = &g->w->records[idx];
                if (r->entity != CRM_ENTITY_ACCOUNT &&
                    !account_live(g, g->owner[idx]))
                        continue; /* its account is gone */
                undel_remove(g, idx);
                r->deleted = 0;
                r->version++;
                if (r->entity == CRM_ENTITY_ACCOUNT)
                        g->live_accounts++;
                txn_begin(g, 1);
                emit(g, idx, CRM_CHANGE_UNDELETE, json_incref(g->fields[idx]));
                return;
        }
        op_update(g);
}

static void op_merge(struct gen *g, size_t budget)
{
        int64_t  win = pick_live_account(g);
        uint32_t losers[2];
        int      nl = 0, want;

        if (win < 0) {
                op_update(g);
                return;
        }
        want = 1 + (int)crmsync_rng_below(&g->rng, 2);
        for (int tries = 0; tries < 64 && nl < want; tries++) {
                uint32_t a = zipf_draw(g);
                if (a == (uint32_t)win || !account_live(g, a) ||
                    (nl == 1 && losers[0] == a))
                        continue;
                losers[nl++] = a;
        }
        uint32_t n = 1;
        for (int i = 0; i < nl; i++)
                n += 1 + live_children(g, losers[i]);
        if (nl == 2 && n > budget) {
                n -= 1 + live_children(g, losers[1]);
                nl = 1;
        }
        if (nl == 0 || n > budget) {
                do_update(g, g->accounts[win]);
                return;
        }

        crm_workload_t    *w    = g->w;
        uint32_t           widx = g->accounts[win];
        struct crm_record *wr   = &w->records[widx];
        json_int_t         rev  = json_integer_value(
                     json_object_get(g->fields[widx], "annual_revenue"));
        for (int i = 0; i < nl; i++)
                rev += json_integer_value(json_object_get(
                    g->fields[g->accounts[losers[i]]], "annual_revenue"));

        txn_begin(g, n);
        json_t *changed = json_pack("{sI}", "annual_revenue", rev);
        json_object_update(g->fields[widx], changed);
        wr->version++;
        struct crm_event *ev = emit(g, widx, CRM_CHANGE_UPDATE, changed);
        if (ev) {
                for (int i = 0; i < nl; i++)
                        ev->merged_ids[i] = w->rec_ids[g->accounts[losers[i]]];
                ev->merged_cnt = nl;
        }
        for (int i = 0; i < nl; i++) {
                struct idvec *c    = &g->children[losers[i]];
                uint32_t      kept = 0;
                for (uint32_t j = 0; j < c->cnt; j++) {
                        uint32_t           ci = c->v[j];
                        struct crm_record *cr = &w->records[ci];
                        if (cr->deleted) {
                                c->v[kept++] = ci; /* stays with the loser */
                                continue;
                        }
                        const char *prev = cr->account_id;
                        cr->account_id   = wr->id;
                        g->owner[ci]     = (uint32_t)win;
                        cr->version++;
                        if (idvec_push(&g->children[win], ci))
                                g->oom = 1;
                        struct crm_event *mv =
                            emit(g, ci, CRM_CHANGE_UPDATE, NULL);
                        if (mv)
                                mv->previous_account_id = account_str(g, prev);
                }
                c->cnt = kept;
                mark_deleted(g, g->accounts[losers[i]], wr->id);
        }
}

/* The records' final fields as compact text in the order written (what
 * the objects API shows), kept with the events' strings: a jansson tree
 * a record was ~600 bytes, at a million changes ~135 MB. */
static void keep_final_text(struct gen *g)
{
        crm_workload_t *w = g->w;

        for (size_t i = 0; i < w->record_cnt && !g->oom; i++) {
                char *t = json_dumps(g->fields[i], JSON_COMPACT);
                if (!t || !(w->records[i].fields_json = workload_intern(w, t)))
                        g->oom = 1;
                free(t);
        }
}

static void gen_free(struct gen *g)
{
        for (size_t i = 0; i < g->account_cnt; i++)
                free(g->children[i].v);
        free(g->children);
        free(g->accounts);
        free(g->zipf_cdf);
        free(g->owner);
        free(g->undel_pos);
        for (size_t i = 0; i < g->aux_cap; i++)
                json_decref(g->fields[i]);
        free(g->fields);
        free(g->undeletable.v);
}

/* Write the log: each account followed by its children, then the mix
 * until the log holds exactly cfg.changes events. */
int workload_gen_log(crm_workload_t *w)
{
        struct gen g;
        double     cum[5];

        memset(&g, 0, sizeof(g));
        g.w = w;
        crmsync_rng_seed(&g.rng, w->cfg.seed);

        /* Initial phase: each account followed by its children. */
        for (uint32_t a = 0; a < w->cfg.accounts && !g.oom; a++) {
                if (create_record(&g, CRM_ENTITY_ACCOUNT, 0) < 0) {
                        g.oom = 1;
                        break;
                }
                uint32_t ord = (uint32_t)g.account_cnt - 1;
                for (uint32_t i = 0; i < w->cfg.contacts_per_account; i++)
                        if (create_record(&g, CRM_ENTITY_CONTACT, ord) < 0)
                                g.oom = 1;
                for (uint32_t i = 0; i < w->cfg.opportunities_per_account; i++)
                        if (create_record(&g, CRM_ENTITY_OPPORTUNITY, ord) < 0)
                                g.oom = 1;
                for (uint32_t i = 0; i < w->cfg.entitlements_per_account; i++)
                        if (create_record(&g, CRM_ENTITY_ENTITLEMENT, ord) < 0)
                                g.oom = 1;
        }

        /* Then the mix, until the log holds exactly cfg.changes events. */
        cum[0] = w->cfg.mix_update;
        cum[1] = cum[0] + w->cfg.mix_create;
        cum[2] = cum[1] + w->cfg.mix_delete;
        cum[3] = cum[2] + w->cfg.mix_undelete;
        cum[4] = cum[3] + w->cfg.mix_merge;
        while (!g.oom && w->event_cnt < w->cfg.changes) {
                size_t budget = w->cfg.changes - w->event_cnt;
                double u      = crmsync_rng_unit(&g.rng) * cum[4];
                if (u < cum[0])
                        op_update(&g);
                else if (u < cum[1])
                        op_create(&g);
                else if (u < cum[2])
                        op_delete(&g, budget);
                else if (u < cum[3])
                        op_undelete(&g);
                else
                        op_merge(&g, budget);
        }
        keep_final_text(&g);
        gen_free(&g);
        return g.oom ? -1 : 0;
}
