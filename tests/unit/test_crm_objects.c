/* test_crm_objects.c -- the mock CRM's live record state
 * (fakes/crm/crm_objects.c): once every event is applied, each record's
 * fields are the workload's final-state tree itself (held once, not a
 * second tree a record), with the same keys, values and order as the
 * fields rebuilt from the events one by one; and a write after that copies
 * the tree first, leaving the workload's ground truth untouched. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crmsync/common.h"
#include "crmsync/crm.h"
#include "crmsync/workload.h"
#include "fakes/crm/crm_int.h"

struct fx {
        struct event_base *base;
        crm_workload_t    *w;
        crm_server_t      *s;
};

static int setup(void **state)
{
        struct crm_workload_config wc = {0};
        struct crm_server_config   sc = {0};
        struct fx                 *f  = calloc(1, sizeof(*f));
        char                       err[256];

        wc.seed         = 11;
        wc.accounts     = 60;
        wc.changes      = 6000;
        wc.rate_per_s   = 1000000;
        wc.mix_update   = 60;
        wc.mix_create   = 10;
        wc.mix_delete   = 10;
        wc.mix_undelete = 10;
        wc.mix_merge    = 10;
        f->w            = crmsync_workload_generate(&wc, err, sizeof(err));
        f->base         = event_base_new();
        if (!f->w || !f->base)
                return -1;
        sc.workload      = f->w;
        sc.start_wall_ms = crmsync_wall_ms() - 60000;
        f->s = crmsync_crm_server_new(f->base, &sc, err, sizeof(err));
        if (!f->s) {
                fprintf(stderr, "server: %s\n", err);
                return -1;
        }
        crm_feed_advance(f->s, crmsync_wall_ms());
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fx *f = *state;
        crmsync_crm_server_destroy(f->s);
        crmsync_workload_destroy(f->w);
        event_base_free(f->base);
        free(f);
        return 0;
}

/* Record idx's fields rebuilt from its events alone, as the live state
 * built them before it shared the final tree. */
static json_t *rebuild(struct fx *f, uint32_t idx)
{
        json_t *o = NULL;
        for (size_t i = 0; i < crmsync_workload_event_cnt(f->w); i++) {
                const struct crm_event *e = crmsync_workload_event(f->w, i);
                json_t                 *x;
                if (f->s->ev_rec[i] != idx)
                        continue;
                if (e->change == CRM_CHANGE_CREATE ||
                    e->change == CRM_CHANGE_UNDELETE) {
                        json_decref(o);
                        o = crmsync_event_fields(e);
                } else if (e->change == CRM_CHANGE_UPDATE) {
                        x = crmsync_event_fields(e);
                        if (!o)
                                o = json_object();
                        json_object_update(o, x);
                        json_decref(x);
                }
        }
        return o;
}

static void test_final_state_held_once(void **state)
{
        struct fx *f    = *state;
        size_t     nrec = crmsync_workload_record_cnt(f->w), deleted = 0;

        assert_int_equal(f->s->applied, crmsync_workload_event_cnt(f->w));
        for (uint32_t i = 0; i < nrec; i++) {
                const struct crm_record *r  = crmsync_workload_record(f->w, i);
                const struct live_rec   *lr = &f->s->live[i];
                json_t                  *want = rebuild(f, i);
                char                    *a    = json_dumps(want, JSON_COMPACT);
                char *b = json_dumps(lr->fields, JSON_COMPACT);

                deleted += r->deleted;
                assert_int_equal(lr->version, r->version);
                if (lr->fields != r->fields)
                        fail_msg("record %s: its live fields are a tree of "
                                 "their own, not the workload's final "
                                 "state",
                                 r->id);
                /* Same bytes on the wire as the tree built event by
                 * event (the objects API dumps it in order). */
                if (strcmp(a, b))
                        fail_msg("record %s: live %s\n rebuilt %s", r->id, b,
                                 a);
                free(a);
                free(b);
                json_decref(want);
        }
        assert_true(deleted > 0); /* deletes and merges were covered */
}

/* A write after the final version copies first: the workload's tree is
 * the checker's ground truth and must not move. */
static void test_write_copies_first(void **state)
{
        struct fx *f = *state;
        size_t     ev;

        /* An update short of its record's final version. */
        for (ev = 0; ev < crmsync_workload_event_cnt(f->w); ev++) {
                const struct crm_event *e = crmsync_workload_event(f->w, ev);
                if (e->change == CRM_CHANGE_UPDATE &&
                    e->version < crmsync_workload_record(f->w, f->s->ev_rec[ev])
                                     ->version)
                        break;
        }
        assert_true(ev < crmsync_workload_event_cnt(f->w));
        uint32_t                 idx    = f->s->ev_rec[ev];
        const struct crm_record *r      = crmsync_workload_record(f->w, idx);
        char                    *before = json_dumps(r->fields, JSON_COMPACT);

        assert_ptr_equal(f->s->live[idx].fields, r->fields);
        /* An old update again (as a replayed write would be). */
        crm_objects_apply(f->s, (uint32_t)ev);
        assert_ptr_not_equal(f->s->live[idx].fields, r->fields);
        char *after = json_dumps(r->fields, JSON_COMPACT);
        assert_string_equal(before, after);
        free(before);
        free(after);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_final_state_held_once),
            cmocka_unit_test(test_write_copies_first),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
