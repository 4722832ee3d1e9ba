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

#include "crmsync/checker.h"
#include "crmsync/workload.h"

struct fixture {
        crm_workload_t      *w;
        struct check_record *recs;
        char               (*keys)[CRMSYNC_KEY_MAX];
        json_t             **fields;
        size_t               cnt;
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
        struct fixture            *f = calloc(1, sizeof(*f));
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
                f->fields[i] = json_deep_copy(cr->fields);
                f->recs[i] = (struct check_record){f->keys[i], cr->account_id,
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

static void test_missing_fires(void **state)
{
        struct fixture     *f = *state;
        struct check_result r;
        size_t              i = find(f, 0, CRM_ENTITY_CONTACT);
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
        f->recs[i].deleted = 0;
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
        size_t              i = find(f, 0, CRM_ENTITY_CONTACT);
        size_t              j = find(f, 0, CRM_ENTITY_ACCOUNT);
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
        f->fields[i] = json_deep_copy(crmsync_workload_record(f->w, i)->fields);
        f->recs[i].fields = f->fields[i];
}

static void test_unexpected_fires(void **state)
{
        struct fixture     *f = *state;
        struct check_result r;
        struct check_record *more = calloc(f->cnt + 2, sizeof(*more));
        json_t              *fl   = json_object();
        memcpy(more, f->recs, f->cnt * sizeof(*more));
        more[f->cnt] = (struct check_record){"contact/C-999999", "A-000001", 1,
                                             0, fl};
        /* A tombstone for an unknown key is not an anomaly. */
        more[f->cnt + 1] = (struct check_record){"contact/C-999998",
                                                 "A-000001", 2, 1, fl};
        crmsync_check_result_init(&r);
        assert_int_equal(crmsync_check_end_state(f->w, more, f->cnt + 2, &r,
                                                 NULL, 0),
                         0);
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
        assert_int_equal(
                json_array_size(json_object_get(r.examples, "lost")),
                CHECK_EXAMPLES_PER_CLASS);
        crmsync_check_result_clear(&r);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_quiet_on_correct_sink),
                cmocka_unit_test(test_missing_fires),
                cmocka_unit_test(test_stale_fires),
                cmocka_unit_test(test_zombie_fires),
                cmocka_unit_test(test_divergent_fires_on_fields_and_owner),
                cmocka_unit_test(test_unexpected_fires),
                cmocka_unit_test(test_examples_are_capped),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
