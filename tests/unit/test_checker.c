/* test_checker.c -- every end-state and history detector fires on a planted
 * fault and stays quiet on a correct sink. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/checker.h"
#include "harness/history.h"
#include "crmsync/workload.h"

struct fixture {
        crm_workload_t      *w;
        struct check_record *recs;
        char (*keys)[CRMSYNC_KEY_MAX];
        json_t **fields;
        size_t   cnt;
};

/* A sink that holds exactly the CRM's final state (tombstones included). */
static int setup(void **state)
{
        struct crm_workload_config cfg = {.seed                 = 7,
                                          .accounts             = 20,
                                          .contacts_per_account = 2,
                                          .changes              = 400,
                                          .rate_per_s           = 1000,
                                          .mix_update           = 0.9,
                                          .mix_delete           = 0.05,
                                          .mix_merge            = 0.05};
        struct fixture            *f   = calloc(1, sizeof(*f));
        char                       errstr[256];
        f->w = crmsync_workload_generate(&cfg, errstr, sizeof(errstr));
        assert_non_null(f->w);
        f->cnt    = crmsync_workload_record_cnt(f->w);
        f->recs   = calloc(f->cnt, sizeof(*f->recs));
        f->keys   = calloc(f->cnt, sizeof(*f->keys));
        f->fields = calloc(f->cnt, sizeof(*f->fields));
        for (size_t i = 0; i < f->cnt; i++) {
                const struct crm_record *cr = crmsync_workload_record(f->w, i);
                snprintf(f->keys[i], CRMSYNC_KEY_MAX, "%s/%s",
                         crmsync_entity_name(cr->entity), cr->id);
                f->fields[i] = crmsync_record_fields(cr);
                f->recs[i]   = (struct check_record){f->keys[i], cr->account_id,
                                                     cr->version, cr->deleted,
                                                     f->fields[i]};
        }
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;
        for (size_t i = 0; i < f->cnt; i++)
                json_decref(f->fields[i]);
        free(f->fields);
        free(f->keys);
        free(f->recs);
        crmsync_workload_destroy(f->w);
        free(f);
        return 0;
}

static void run_check(struct fixture *f, size_t cnt, struct check_result *r)
{
        char errstr[128];
        crmsync_check_result_init(r);
        assert_int_equal(crmsync_check_end_state(f->w, f->recs, cnt, r, errstr,
                                                 sizeof(errstr)),
                         0);
}

/* Index of the first live (or deleted) record of an entity. */
static size_t find(struct fixture *f, int deleted, enum crm_entity e)
{
        for (size_t i = 0; i < f->cnt; i++) {
                const struct crm_record *cr = crmsync_workload_record(f->w, i);
                if (cr->deleted == deleted && cr->entity == e)
                        return i;
        }
        fail_msg("fixture has no such record");
        return 0;
}

static void test_quiet_on_correct_sink(void **state)
{
        struct fixture     *f = *state;
        struct check_result r;
        run_check(f, f->cnt, &r);
        assert_int_equal(crmsync_check_result_total(&r), 0);
        assert_true(r.records_expected > 0);
        assert_int_equal(r.records_checked, f->cnt);
        crmsync_check_result_clear(&r);
}

/* The same fields in another key order (as a store that sorts its keys
 * returns them): not the final state's bytes, still equal, no anomaly. */
static void test_quiet_on_other_key_order(void **state)
{
        struct fixture     *f = *state;
        struct check_result r;
        size_t              i   = find(f, 0, CRM_ENTITY_CONTACT);
        json_t             *rev = json_object(), *orig = f->fields[i];
        const char         *keys[64];
        size_t              n = 0;
        const char         *k;
        json_t             *v;

        json_object_foreach(orig, k, v) if (n < 64) keys[n++] = k;
        assert_true(n >= 2);
        while (n--)
                json_object_set(rev, keys[n], json_object_get(orig, keys[n]));
        f->recs[i].fields = rev;
        run_check(f, f->cnt, &r);
        f->recs[i].fields = orig;
        json_decref(rev);
        assert_int_equal(crmsync_check_result_total(&r), 0);
        crmsync_check_result_clear(&r);
}

static void test_missing_fires(void **state)
{
        struct fixture     *f = *state;
        struct check_result r;
        size_t              i    = find(f, 0, CRM_ENTITY_CONTACT);
        struct check_record save = f->recs[i];
        /* Drop record i from the sink by moving the last one over it. */
        f->recs[i] = f->recs[f->cnt - 1];
        run_check(f, f->cnt - 1, &r);
        f->recs[f->cnt - 1] = f->recs[i];
        f->recs[i]          = save;
        /* The moved-over record may itself have been deleted in the CRM; it
         * is still present, so exactly one anomaly is reported. */
        assert_int_equal(r.counts[ANOMALY_MISSING], 1);
        assert_int_equal(crmsync_check_result_total(&r), 1);
        crmsync_check_result_clear(&r);
}

static void test_stale_fires(void **state)
{
        struct fixture     *f = *state;
        struct check_result r;
        size_t              i = find(f, 0, CRM_ENTITY_ACCOUNT);
        f->recs[i].version--;
        run_check(f, f->cnt, &r);
        f->recs[i].version++;
        assert_int_equal(r.counts[ANOMALY_STALE], 1);
        assert_int_equal(crmsync_check_result_total(&r), 1);
        crmsync_check_result_clear(&r);
}

static void test_zombie_fires(void **state)
{
        struct fixture     *f = *state;
        struct check_result r;
        size_t              i = find(f, 1, CRM_ENTITY_CONTACT);
        f->recs[i].deleted    = 0;
        run_check(f, f->cnt, &r);
        f->recs[i].deleted = 1;
        assert_int_equal(r.counts[ANOMALY_ZOMBIE], 1);
        assert_int_equal(crmsync_check_result_total(&r), 1);
        crmsync_check_result_clear(&r);
}

static void test_divergent_fires_on_fields_and_owner(void **state)
{
        struct fixture     *f = *state;
        struct check_result r;
        size_t              i     = find(f, 0, CRM_ENTITY_CONTACT);
        size_t              j     = find(f, 0, CRM_ENTITY_ACCOUNT);
        const char         *owner = f->recs[j].account_id;
        json_object_set_new(f->fields[i], "email", json_string("x@corrupt"));
        f->recs[j].account_id = "A-999999";
        run_check(f, f->cnt, &r);
        f->recs[j].account_id = owner;
        assert_int_equal(r.counts[ANOMALY_DIVERGENT], 2);
        assert_int_equal(crmsync_check_result_total(&r), 2);
        assert_non_null(json_object_get(r.examples, "divergent"));
        crmsync_check_result_clear(&r);
        json_decref(f->fields[i]);
        f->fields[i] = crmsync_record_fields(crmsync_workload_record(f->w, i));
        f->recs[i].fields = f->fields[i];
}

/* The first example of class c (borrowed), which must exist. */
static const char *example(struct check_result *r, const char *c,
                           const char **key)
{
        const json_t *ex = json_array_get(json_object_get(r->examples, c), 0);
        assert_non_null(ex);
        if (key)
                *key = json_string_value(json_object_get(ex, "key"));
        return json_string_value(json_object_get(ex, "detail"));
}

/* A contact left under an account that was merged away: stale, and the
 * example says its owner differs and why. */
static void test_stale_example_names_merged_owner(void **state)
{
        struct fixture          *f = *state;
        struct check_result      r;
        const struct crm_record *loser = NULL, *cr;
        const char              *key, *detail, *owner;
        char                     want[400], rkey[CRMSYNC_KEY_MAX];
        size_t                   i, c = f->cnt;

        for (i = 0; i < f->cnt && !loser; i++) {
                cr = crmsync_workload_record(f->w, i);
                if (cr->entity == CRM_ENTITY_ACCOUNT && cr->merged_into[0])
                        loser = cr;
        }
        assert_non_null(loser);
        for (i = 0; i < f->cnt && c == f->cnt; i++) {
                cr = crmsync_workload_record(f->w, i);
                if (cr->entity == CRM_ENTITY_CONTACT && !cr->deleted &&
                    !strcmp(cr->account_id, loser->merged_into) &&
                    cr->version > 1)
                        c = i;
        }
        assert_true(c < f->cnt);
        owner                 = f->recs[c].account_id;
        f->recs[c].account_id = loser->id;
        f->recs[c].version--;
        run_check(f, f->cnt, &r);
        f->recs[c].account_id = owner;
        f->recs[c].version++;
        assert_int_equal(r.counts[ANOMALY_STALE], 1);
        assert_int_equal(crmsync_check_result_total(&r), 1);
        detail = example(&r, "stale", &key);
        cr     = crmsync_workload_record(f->w, c);
        snprintf(rkey, sizeof(rkey), "contact/%s", cr->id);
        assert_string_equal(key, rkey);
        snprintf(want, sizeof(want),
                 "sink v%u, CRM v%u; account_id differs: sink %s, CRM %s "
                 "(%s merged into %s)",
                 cr->version - 1, cr->version, loser->id, cr->account_id,
                 loser->id, loser->merged_into);
        assert_non_null(strstr(detail, want));
        crmsync_check_result_clear(&r);
}

/* A plain stale record: no owner sentence (no false alarm). */
static void test_stale_example_same_owner(void **state)
{
        struct fixture     *f = *state;
        struct check_result r;
        size_t              i = find(f, 0, CRM_ENTITY_ACCOUNT);
        f->recs[i].version--;
        run_check(f, f->cnt, &r);
        f->recs[i].version++;
        assert_null(strstr(example(&r, "stale", NULL), "account_id"));
        crmsync_check_result_clear(&r);
}

/* Divergent examples name the field and both values, or the owners. */
static void test_divergent_example_names_field_and_owner(void **state)
{
        struct fixture          *f = *state;
        struct check_result      r;
        size_t                   i  = find(f, 0, CRM_ENTITY_CONTACT);
        const struct crm_record *cr = crmsync_workload_record(f->w, i);
        const json_t            *ex;
        const char              *owner = f->recs[i].account_id;
        char                     want[400];
        int                      field_seen = 0, owner_seen = 0;
        size_t                   k;

        json_object_set_new(f->fields[i], "email", json_string("x@corrupt"));
        run_check(f, f->cnt, &r);
        ex = json_array_get(json_object_get(r.examples, "divergent"), 0);
        assert_non_null(ex);
        snprintf(want, sizeof(want), "email (sink \"x@corrupt\", CRM ");
        assert_non_null(
            strstr(json_string_value(json_object_get(ex, "detail")), want));
        field_seen = 1;
        crmsync_check_result_clear(&r);
        json_decref(f->fields[i]);
        f->fields[i]      = crmsync_record_fields(cr);
        f->recs[i].fields = f->fields[i];

        f->recs[i].account_id = "A-999999";
        run_check(f, f->cnt, &r);
        f->recs[i].account_id = owner;
        json_array_foreach(json_object_get(r.examples, "divergent"), k, ex)
        {
                snprintf(want, sizeof(want),
                         "v%u; account_id differs: sink A-999999, CRM %s",
                         cr->version, cr->account_id);
                if (!strcmp(json_string_value(json_object_get(ex, "detail")),
                            want))
                        owner_seen = 1;
        }
        assert_true(field_seen && owner_seen);
        crmsync_check_result_clear(&r);
}

/* History examples name the record by type/id and the change by its event
 * id, not "seq:3068 ... record #1084". */
static void name_cb(void *opaque, uint32_t seq, uint32_t record, char *buf,
                    size_t size)
{
        (void)opaque;
        if (seq)
                snprintf(buf, size, "e-%08u", seq);
        else
                snprintf(buf, size, "entitlement/E-%06u", 217 + record);
}

static void test_history_examples_name_record_and_change(void **state)
{
        struct check_result r;
        history_t          *h = crmsync_history_new(5, 2, 0);
        const char         *key, *detail;
        (void)state;
        assert_non_null(h);
        crmsync_history_set_names(h, name_cb, NULL);
        /* Record 1: v1..v3 at seqs 2..4; v2 reached the topic, never the
         * sink, and v3 was applied: lost. Seq 5 (record 0 v2) dead. */
        crmsync_history_commit(h, 1, 0, 1);
        for (uint32_t s = 2; s <= 4; s++) {
                crmsync_history_commit(h, s, 1, s - 1);
                crmsync_history_observe(h, s, 0, s);
        }
        crmsync_history_commit(h, 5, 0, 2);
        crmsync_history_dead_letter(h, 5);
        crmsync_history_apply(h, 1, 0, 1, 1, HISTORY_WRITE_FULL);
        crmsync_history_apply(h, 2, 1, 1, 1, HISTORY_WRITE_FULL);
        crmsync_history_apply(h, 4, 1, 3, 1, 0);
        crmsync_check_result_init(&r);
        assert_int_equal(crmsync_history_check(h, &r, NULL), 0);
        assert_int_equal(r.counts[ANOMALY_LOST], 1);
        detail = example(&r, "lost", &key);
        assert_string_equal(key, "entitlement/E-000218");
        assert_string_equal(detail, "v2 (e-00000003) reached the topic but "
                                    "not the sink; v3 was applied");
        detail = example(&r, "dead_lettered", &key);
        assert_string_equal(key, "entitlement/E-000217");
        assert_string_equal(detail,
                            "v2 (e-00000005) sent to the dead-letter topic");
        crmsync_check_result_clear(&r);
        crmsync_history_destroy(h);
}

static void test_unexpected_fires(void **state)
{
        struct fixture      *f = *state;
        struct check_result  r;
        struct check_record *more = calloc(f->cnt + 2, sizeof(*more));
        json_t              *fl   = json_object();
        memcpy(more, f->recs, f->cnt * sizeof(*more));
        more[f->cnt] =
            (struct check_record){"contact/C-999999", "A-000001", 1, 0, fl};
        /* A tombstone for an unknown key is not an anomaly. */
        more[f->cnt + 1] =
            (struct check_record){"contact/C-999998", "A-000001", 2, 1, fl};
        crmsync_check_result_init(&r);
        assert_int_equal(
            crmsync_check_end_state(f->w, more, f->cnt + 2, &r, NULL, 0), 0);
        assert_int_equal(r.counts[ANOMALY_UNEXPECTED], 1);
        assert_int_equal(crmsync_check_result_total(&r), 1);
        crmsync_check_result_clear(&r);
        json_decref(fl);
        free(more);
}

static void test_examples_are_capped(void **state)
{
        struct check_result r;
        (void)state;
        crmsync_check_result_init(&r);
        for (int i = 0; i < 50; i++)
                crmsync_check_result_add(&r, ANOMALY_LOST, "k", "n=%d", i);
        assert_int_equal(r.counts[ANOMALY_LOST], 50);
        assert_int_equal(json_array_size(json_object_get(r.examples, "lost")),
                         CHECK_EXAMPLES_PER_CLASS);
        crmsync_check_result_clear(&r);
}

/* A cheap check runs at its usual pace; one that took long waits nine
 * times as long, so that checking a large sink never holds the loop the
 * sink and the CRM share more than a tenth of the time. */
static void test_check_interval_follows_cost(void **state)
{
        (void)state;
        assert_int_equal(crmsync_check_interval_ms(250, 0), 250);
        assert_int_equal(crmsync_check_interval_ms(250, 20), 250);
        assert_int_equal(crmsync_check_interval_ms(1000, 100), 1000);
        assert_int_equal(crmsync_check_interval_ms(250, 1500), 13500);
        assert_int_equal(crmsync_check_interval_ms(0, 10), 90);
        assert_int_equal(crmsync_check_interval_ms(0, 0), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_quiet_on_correct_sink),
            cmocka_unit_test(test_quiet_on_other_key_order),
            cmocka_unit_test(test_missing_fires),
            cmocka_unit_test(test_stale_fires),
            cmocka_unit_test(test_zombie_fires),
            cmocka_unit_test(test_divergent_fires_on_fields_and_owner),
            cmocka_unit_test(test_stale_example_names_merged_owner),
            cmocka_unit_test(test_stale_example_same_owner),
            cmocka_unit_test(test_divergent_example_names_field_and_owner),
            cmocka_unit_test(test_history_examples_name_record_and_change),
            cmocka_unit_test(test_unexpected_fires),
            cmocka_unit_test(test_examples_are_capped),
            cmocka_unit_test(test_check_interval_follows_cost),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
