/* test_workload.c -- seeded workload generator: determinism, versions,
 * final state, merges, configuration errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crmsync/workload.h"

/* An event's fields as an object, borrowed: kept in a pool freed at the
 * end of the run (the workload keeps them as text). */
static json_t *ef_pool;

static json_t *ef(const struct crm_event *e)
{
        json_t *f = crmsync_event_fields(e);
        assert_non_null(f);
        if (!ef_pool)
                ef_pool = json_array();
        json_array_append_new(ef_pool, f);
        return f;
}

static crm_workload_t *gen(uint64_t seed, uint32_t accounts, uint32_t changes)
{
        struct crm_workload_config cfg = {0};
        char                       err[256];
        cfg.seed          = seed;
        cfg.accounts      = accounts;
        cfg.changes       = changes;
        crm_workload_t *w = crmsync_workload_generate(&cfg, err, sizeof(err));
        if (!w)
                fail_msg("generate: %s", err);
        return w;
}

static void test_names_roundtrip(void **state)
{
        (void)state;
        for (int i = 0; i < CRM_ENTITY_CNT; i++)
                assert_int_equal(crmsync_entity_parse(crmsync_entity_name(i)),
                                 i);
        for (int i = 0; i < CRM_CHANGE_CNT; i++)
                assert_int_equal(crmsync_change_parse(crmsync_change_name(i)),
                                 i);
        assert_int_equal(crmsync_entity_parse("lead"), -1);
        assert_int_equal(crmsync_change_parse(NULL), -1);
        assert_string_equal(crmsync_change_name(CRM_CHANGE_GAP), "gap");
}

static void test_same_seed_same_sha(void **state)
{
        char            a[65], b[65], c[65];
        crm_workload_t *w1 = gen(42, 200, 3000);
        crm_workload_t *w2 = gen(42, 200, 3000);
        crm_workload_t *w3 = gen(43, 200, 3000);
        (void)state;
        crmsync_workload_sha256(w1, a);
        crmsync_workload_sha256(w2, b);
        crmsync_workload_sha256(w3, c);
        assert_int_equal(strlen(a), 64);
        assert_string_equal(a, b);
        assert_string_not_equal(a, c);
        /* Identical logs, event by event. */
        assert_int_equal(crmsync_workload_event_cnt(w1),
                         crmsync_workload_event_cnt(w2));
        for (size_t i = 0; i < crmsync_workload_event_cnt(w1); i++) {
                const struct crm_event *x = crmsync_workload_event(w1, i);
                const struct crm_event *y = crmsync_workload_event(w2, i);
                assert_string_equal(x->record_id, y->record_id);
                assert_int_equal(x->commit_ms, y->commit_ms);
                assert_true(json_equal(ef(x), ef(y)));
        }
        crmsync_workload_destroy(w1);
        crmsync_workload_destroy(w2);
        crmsync_workload_destroy(w3);
}

static void test_defaults_and_counts(void **state)
{
        struct crm_workload_config cfg = {0};
        char                       err[256];
        (void)state;
        cfg.seed          = 7;
        crm_workload_t *w = crmsync_workload_generate(&cfg, err, sizeof(err));
        assert_non_null(w);
        const struct crm_workload_config *eff = crmsync_workload_config(w);
        assert_int_equal(eff->accounts, 2000);
        assert_int_equal(eff->contacts_per_account, 2);
        assert_int_equal(eff->changes, 20000);
        assert_true(eff->rate_per_s == 2000.0);
        assert_int_equal(crmsync_workload_event_cnt(w), 20000);
        /* Initial phase: account then its two contacts, in order. */
        const struct crm_event *e0 = crmsync_workload_event(w, 0);
        const struct crm_event *e1 = crmsync_workload_event(w, 1);
        const struct crm_event *e3 = crmsync_workload_event(w, 3);
        assert_string_equal(e0->record_id, "A-000001");
        assert_string_equal(e0->event_id, "e-00000001");
        assert_int_equal(e0->seq, 1);
        assert_int_equal(e0->change, CRM_CHANGE_CREATE);
        assert_string_equal(e1->record_id, "C-000001");
        assert_string_equal(e1->account_id, "A-000001");
        assert_string_equal(e3->record_id, "A-000002");
        assert_true(json_is_boolean(json_object_get(ef(e1), "consent_email")));
        assert_true(json_is_integer(json_object_get(ef(e0), "annual_revenue")));
        /* ~20000 events at 2000/s: about 10 s, with equal timestamps. */
        int64_t d = crmsync_workload_duration_ms(w);
        assert_true(d > 8000 && d < 12000);
        size_t ties = 0, kinds[CRM_CHANGE_CNT] = {0};
        for (size_t i = 0; i < 20000; i++) {
                const struct crm_event *e = crmsync_workload_event(w, i);
                kinds[e->change]++;
                if (i &&
                    e->commit_ms == crmsync_workload_event(w, i - 1)->commit_ms)
                        ties++;
                if (i)
                        assert_true(
                            e->commit_ms >=
                            crmsync_workload_event(w, i - 1)->commit_ms);
        }
        assert_true(ties > 1000);
        assert_true(kinds[CRM_CHANGE_UPDATE] > 10000);
        assert_true(kinds[CRM_CHANGE_DELETE] > 100);
        assert_true(kinds[CRM_CHANGE_UNDELETE] > 10);
        assert_int_equal(kinds[CRM_CHANGE_GAP], 0);
        crmsync_workload_destroy(w);
}

/* Replaying the log gives the final state; versions grow by one. */
static void test_replay_matches_final_state(void **state)
{
        crm_workload_t *w  = gen(99, 300, 6000);
        size_t          n  = crmsync_workload_record_cnt(w);
        json_t         *st = json_object(); /* id -> {version, fields, ...} */
        (void)state;
        for (size_t i = 0; i < crmsync_workload_event_cnt(w); i++) {
                const struct crm_event *e  = crmsync_workload_event(w, i);
                json_t                 *rs = json_object_get(st, e->record_id);
                uint32_t prev              = rs ? (uint32_t)json_integer_value(
                                                      json_object_get(rs, "version"))
                                                : 0;
                assert_int_equal(e->version, prev + 1);
                assert_int_equal(e->seq, i + 1);
                if (!rs) {
                        assert_int_equal(e->change, CRM_CHANGE_CREATE);
                        rs = json_object();
                        json_object_set_new(rs, "fields", json_object());
                        json_object_set_new(st, e->record_id, rs);
                }
                json_t *f = json_object_get(rs, "fields");
                switch (e->change) {
                case CRM_CHANGE_CREATE:
                case CRM_CHANGE_UNDELETE:
                        assert_true(json_object_size(ef(e)) >= 3);
                        json_object_clear(f);
                        json_object_update(f, ef(e));
                        json_object_set_new(rs, "deleted", json_false());
                        break;
                case CRM_CHANGE_UPDATE:
                        assert_false(
                            json_is_true(json_object_get(rs, "deleted")));
                        /* Changed fields only: every value differs. */
                        {
                                const char *k;
                                json_t     *v, *changed = ef(e);
                                json_object_foreach(changed, k, v)
                                {
                                        assert_false(json_equal(
                                            v, json_object_get(f, k)));
                                }
                        }
                        json_object_update(f, ef(e));
                        break;
                case CRM_CHANGE_DELETE:
                        assert_int_equal(json_object_size(ef(e)), 0);
                        json_object_set_new(rs, "deleted", json_true());
                        break;
                default:
                        fail();
                }
                json_object_set_new(rs, "version", json_integer(e->version));
                json_object_set_new(rs, "account_id",
                                    json_string(e->account_id));
        }
        assert_int_equal(json_object_size(st), n);
        for (size_t i = 0; i < n; i++) {
                const struct crm_record *r  = crmsync_workload_record(w, i);
                json_t                  *rs = json_object_get(st, r->id);
                assert_non_null(rs);
                assert_ptr_equal(crmsync_workload_find(w, r->entity, r->id), r);
                assert_int_equal(r->version, json_integer_value(json_object_get(
                                                 rs, "version")));
                assert_int_equal(r->deleted,
                                 json_is_true(json_object_get(rs, "deleted")));
                assert_string_equal(
                    r->account_id,
                    json_string_value(json_object_get(rs, "account_id")));
                json_t *rf = crmsync_record_fields(r);
                assert_true(json_equal(rf, json_object_get(rs, "fields")));
                json_decref(rf);
        }
        assert_null(crmsync_workload_find(w, CRM_ENTITY_ACCOUNT, "A-999999"));
        assert_null(crmsync_workload_find(w, CRM_ENTITY_CONTACT, "A-000001"));
        json_decref(st);
        crmsync_workload_destroy(w);
}

static void test_merges_move_children(void **state)
{
        struct crm_workload_config cfg = {0};
        char                       err[256];
        size_t                     merges = 0;
        (void)state;
        cfg.seed          = 5;
        cfg.accounts      = 100;
        cfg.changes       = 3000;
        cfg.mix_merge     = 1; /* only merges (other weights 0) */
        cfg.mix_update    = 0.0001;
        crm_workload_t *w = crmsync_workload_generate(&cfg, err, sizeof(err));
        assert_non_null(w);
        for (size_t i = 0; i < crmsync_workload_event_cnt(w); i++) {
                const struct crm_event *e = crmsync_workload_event(w, i);
                if (e->merged_cnt == 0)
                        continue;
                merges++;
                assert_int_equal(e->entity, CRM_ENTITY_ACCOUNT);
                assert_int_equal(e->change, CRM_CHANGE_UPDATE);
                assert_true(e->merged_cnt >= 1 && e->merged_cnt <= 2);
                /* The rest of the transaction: child moves, loser deletes. */
                int    deletes = 0;
                size_t j;
                for (j = i + 1; j < crmsync_workload_event_cnt(w); j++) {
                        const struct crm_event *x =
                            crmsync_workload_event(w, j);
                        if (x->txn != e->txn)
                                break;
                        assert_int_equal(x->commit_ms, e->commit_ms);
                        assert_int_equal(x->txn_seq, j - i);
                        if (x->change == CRM_CHANGE_DELETE) {
                                assert_string_equal(x->merged_into,
                                                    e->record_id);
                                assert_string_equal(x->record_id,
                                                    e->merged_ids[deletes]);
                                deletes++;
                        } else {
                                assert_int_equal(x->change, CRM_CHANGE_UPDATE);
                                assert_int_not_equal(x->entity,
                                                     CRM_ENTITY_ACCOUNT);
                                assert_string_equal(x->account_id,
                                                    e->record_id);
                                assert_int_equal(json_object_size(ef(x)), 0);
                        }
                }
                assert_int_equal(deletes, e->merged_cnt);
                for (int k = 0; k < e->merged_cnt; k++) {
                        const struct crm_record *l = crmsync_workload_find(
                            w, CRM_ENTITY_ACCOUNT, e->merged_ids[k]);
                        assert_non_null(l);
                        assert_true(l->deleted);
                        assert_string_not_equal(l->merged_into, "");
                }
                i = j - 1;
        }
        assert_true(merges > 20);
        /* Final state: no live child belongs to a merged-away account. */
        for (size_t i = 0; i < crmsync_workload_record_cnt(w); i++) {
                const struct crm_record *r = crmsync_workload_record(w, i);
                if (r->entity == CRM_ENTITY_ACCOUNT || r->deleted)
                        continue;
                const struct crm_record *a =
                    crmsync_workload_find(w, CRM_ENTITY_ACCOUNT, r->account_id);
                assert_non_null(a);
                assert_false(a->deleted);
        }
        crmsync_workload_destroy(w);
}

/* An event keeps its ids as the workload's strings, a record's id stored
 * once for all its events and for the events that name it as an owner:
 * at a million changes, eight 48-byte arrays an event were 392 MB. */
/* The final state names its ids by the strings the events share: the
 * record's own id, its owner's and its merge winner's are those records'
 * ids, not copies (three 48-byte arrays a record were 168 bytes; 48). */
static void test_record_ids_shared(void **state)
{
        struct crm_workload_config cfg = {0};
        char                       err[256];
        size_t                     merged = 0;
        (void)state;
        cfg.seed          = 9;
        cfg.accounts      = 60;
        cfg.changes       = 4000;
        cfg.mix_merge     = 0.3;
        crm_workload_t *w = crmsync_workload_generate(&cfg, err, sizeof(err));
        assert_non_null(w);
        assert_true(sizeof(struct crm_record) <= 48);
        for (size_t i = 0; i < crmsync_workload_event_cnt(w); i++) {
                const struct crm_event  *e = crmsync_workload_event(w, i);
                const struct crm_record *r =
                    crmsync_workload_find(w, e->entity, e->record_id);
                assert_non_null(r);
                assert_ptr_equal(r->id, e->record_id);
        }
        for (size_t i = 0; i < crmsync_workload_record_cnt(w); i++) {
                const struct crm_record *r = crmsync_workload_record(w, i);
                const struct crm_record *a =
                    crmsync_workload_find(w, CRM_ENTITY_ACCOUNT, r->account_id);
                assert_non_null(a);
                assert_ptr_equal(r->account_id, a->id);
                assert_non_null(r->merged_into);
                if (r->merged_into[0]) {
                        const struct crm_record *m = crmsync_workload_find(
                            w, CRM_ENTITY_ACCOUNT, r->merged_into);
                        assert_non_null(m);
                        assert_ptr_equal(r->merged_into, m->id);
                        assert_true(r->deleted);
                        merged++;
                }
        }
        assert_true(merged > 0);
        crmsync_workload_destroy(w);
}

static void test_event_ids_stored_once(void **state)
{
        struct crm_workload_config cfg = {0};
        char                       err[256];
        const char               **first;
        size_t                     moves = 0;
        (void)state;
        cfg.seed          = 9;
        cfg.accounts      = 60;
        cfg.changes       = 4000;
        cfg.mix_merge     = 0.3;
        crm_workload_t *w = crmsync_workload_generate(&cfg, err, sizeof(err));
        assert_non_null(w);
        assert_true(sizeof(struct crm_event) <= 128);
        first = calloc(crmsync_workload_record_cnt(w), sizeof(*first));
        for (size_t i = 0; i < crmsync_workload_event_cnt(w); i++) {
                const struct crm_event  *e = crmsync_workload_event(w, i);
                const struct crm_record *r =
                    crmsync_workload_find(w, e->entity, e->record_id);
                const struct crm_record *a =
                    crmsync_workload_find(w, CRM_ENTITY_ACCOUNT, e->account_id);
                char want[32];
                snprintf(want, sizeof(want), "e-%08zu", i + 1);
                assert_string_equal(e->event_id, want);
                assert_non_null(r);
                assert_non_null(a);
                size_t ri = (size_t)(r - crmsync_workload_record(w, 0));
                size_t ai = (size_t)(a - crmsync_workload_record(w, 0));
                if (!first[ri])
                        first[ri] = e->record_id;
                assert_ptr_equal(e->record_id, first[ri]);
                /* An account's first event comes before any naming it. */
                assert_non_null(first[ai]);
                assert_ptr_equal(e->account_id, first[ai]);
                assert_non_null(e->merged_into);
                assert_non_null(e->previous_account_id);
                if (e->previous_account_id[0]) {
                        const struct crm_record *p = crmsync_workload_find(
                            w, CRM_ENTITY_ACCOUNT, e->previous_account_id);
                        assert_non_null(p);
                        assert_ptr_equal(
                            e->previous_account_id,
                            first[p - crmsync_workload_record(w, 0)]);
                        moves++;
                }
        }
        assert_true(moves > 0);
        free(first);
        crmsync_workload_destroy(w);
}

/* An event keeps its changed fields as compact JSON text in the order
 * written (the wire's order), ~40 bytes for an update instead of a ~450
 * byte jansson tree; the object is parsed from it on demand. */
static void test_event_fields_as_text(void **state)
{
        crm_workload_t *w       = gen(3, 40, 2000);
        size_t          updates = 0;
        (void)state;
        for (size_t i = 0; i < crmsync_workload_event_cnt(w); i++) {
                const struct crm_event *e = crmsync_workload_event(w, i);
                json_t                 *f = crmsync_event_fields(e);
                char                   *t = json_dumps(f, JSON_COMPACT);
                assert_non_null(e->fields_json);
                assert_string_equal(e->fields_json, t);
                if (e->change == CRM_CHANGE_DELETE)
                        assert_string_equal(e->fields_json, "{}");
                if (e->change == CRM_CHANGE_UPDATE && json_object_size(f)) {
                        assert_true(strlen(e->fields_json) < 200);
                        updates++;
                }
                free(t);
                json_decref(f);
        }
        assert_true(updates > 500);
        crmsync_workload_destroy(w);
}

static void test_zipf_skews_hot_accounts(void **state)
{
        struct crm_workload_config cfg = {0};
        char                       err[256];
        (void)state;
        cfg.seed          = 11;
        cfg.accounts      = 500;
        cfg.changes       = 21500;
        cfg.mix_update    = 1;
        cfg.zipf_s        = 1.2;
        crm_workload_t *w = crmsync_workload_generate(&cfg, err, sizeof(err));
        assert_non_null(w);
        size_t hot = 0, cold = 0;
        for (size_t i = 1500; i < crmsync_workload_event_cnt(w); i++) {
                const struct crm_event *e = crmsync_workload_event(w, i);
                if (!strcmp(e->account_id, "A-000001"))
                        hot++;
                if (!strcmp(e->account_id, "A-000400"))
                        cold++;
        }
        assert_true(hot > 2000);
        assert_true(hot > 50 * (cold + 1));
        crmsync_workload_destroy(w);
}

static void test_txn_grouping_and_bursts(void **state)
{
        struct crm_workload_config cfg = {0};
        char                       err[256];
        (void)state;
        cfg.seed          = 3;
        cfg.accounts      = 100;
        cfg.changes       = 20000;
        cfg.txn_max       = 5;
        cfg.rate_per_s    = 1000;
        cfg.burst_factor  = 10;
        cfg.burst_every_s = 4;
        cfg.burst_len_s   = 1;
        crm_workload_t *w = crmsync_workload_generate(&cfg, err, sizeof(err));
        assert_non_null(w);
        uint32_t txns = crmsync_workload_event(w, 19999)->txn;
        assert_true(txns < 12000 && txns > 4000);
        /* Events of one transaction share commit time. */
        size_t in_burst = 0, outside = 0;
        for (size_t i = 1; i < 20000; i++) {
                const struct crm_event *a = crmsync_workload_event(w, i - 1);
                const struct crm_event *b = crmsync_workload_event(w, i);
                if (a->txn == b->txn)
                        assert_int_equal(a->commit_ms, b->commit_ms);
                else
                        assert_int_equal(b->txn, a->txn + 1);
                if (b->commit_ms % 4000 < 1000)
                        in_burst++;
                else
                        outside++;
        }
        /* 10x the rate during 1 s of every 4 s: bursts hold most events. */
        assert_true(in_burst > outside);
        crmsync_workload_destroy(w);
}

static void test_config_errors(void **state)
{
        struct crm_workload_config cfg = {0};
        char                       err[256];
        (void)state;

        cfg.accounts = 100;
        cfg.changes  = 299; /* 100 accounts x 3 creates */
        assert_null(crmsync_workload_generate(&cfg, err, sizeof(err)));
        assert_non_null(strstr(err, "changes"));

        cfg.changes    = 1000;
        cfg.rate_per_s = -1;
        assert_null(crmsync_workload_generate(&cfg, err, sizeof(err)));
        assert_non_null(strstr(err, "rate_per_s"));

        cfg.rate_per_s = NAN;
        assert_null(crmsync_workload_generate(&cfg, err, sizeof(err)));
        assert_non_null(strstr(err, "rate_per_s"));

        cfg.rate_per_s = 0;
        cfg.mix_delete = -0.5;
        assert_null(crmsync_workload_generate(&cfg, err, sizeof(err)));
        assert_non_null(strstr(err, "mix.delete"));

        cfg.mix_delete = 0;
        cfg.zipf_s     = INFINITY;
        assert_null(crmsync_workload_generate(&cfg, err, sizeof(err)));
        assert_non_null(strstr(err, "zipf_s"));

        cfg.zipf_s = 0;
        assert_null(crmsync_workload_generate(NULL, err, sizeof(err)));
        crm_workload_t *w = crmsync_workload_generate(&cfg, err, sizeof(err));
        assert_non_null(w);
        assert_int_equal(crmsync_workload_event_cnt(w), 1000);
        crmsync_workload_destroy(w);
        crmsync_workload_destroy(NULL);
}

static void test_event_to_json(void **state)
{
        crm_workload_t *w = gen(1, 10, 400);
        (void)state;
        const struct crm_event *e = crmsync_workload_event(w, 1);
        json_t                 *j = crmsync_event_to_json(e, 1764066000000LL);
        assert_string_equal(json_string_value(json_object_get(j, "event_id")),
                            "e-00000002");
        assert_int_equal(json_integer_value(json_object_get(j, "seq")), 2);
        assert_string_equal(json_string_value(json_object_get(j, "entity")),
                            "contact");
        assert_string_equal(
            json_string_value(json_object_get(j, "change_type")), "create");
        assert_int_equal(json_integer_value(json_object_get(j, "version")), 1);
        assert_int_equal(json_integer_value(json_object_get(j, "commit_ts_ms")),
                         1764066000000LL + e->commit_ms);
        assert_string_equal(
            json_string_value(json_object_get(j, "transaction_key")),
            "t-00000002");
        assert_true(json_equal(json_object_get(j, "fields"), ef(e)));
        json_decref(j);

        struct crm_event gap = *e;
        gap.change           = CRM_CHANGE_GAP;
        j                    = crmsync_event_to_json(&gap, 0);
        assert_true(json_is_null(json_object_get(j, "fields")));
        json_decref(j);
        crmsync_workload_destroy(w);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_names_roundtrip),
            cmocka_unit_test(test_same_seed_same_sha),
            cmocka_unit_test(test_defaults_and_counts),
            cmocka_unit_test(test_replay_matches_final_state),
            cmocka_unit_test(test_merges_move_children),
            cmocka_unit_test(test_event_ids_stored_once),
            cmocka_unit_test(test_record_ids_shared),
            cmocka_unit_test(test_event_fields_as_text),
            cmocka_unit_test(test_zipf_skews_hot_accounts),
            cmocka_unit_test(test_txn_grouping_and_bursts),
            cmocka_unit_test(test_config_errors),
            cmocka_unit_test(test_event_to_json),
        };
        int rc = cmocka_run_group_tests(tests, NULL, NULL);
        json_decref(ef_pool);
        return rc;
}
