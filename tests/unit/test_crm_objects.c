/* test_crm_objects.c -- the mock CRM's live record state
 * (fakes/crm/crm_objects.c) and the workload's final state: a commit
 * builds no tree (the fields are built from a record's events when it is
 * read); read between commits, a record's fields are those rebuilt from
 * its events so far; once every event is applied and read, no record
 * holds a tree of its own (the final state is compact text, and a record
 * at its final version points at it), and each record's fields are the
 * same keys, values and order as the fields rebuilt from its events. */
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

/* A second server on f's workload whose clock has not started: nothing
 * commits until the test applies events itself. */
static crm_server_t *idle_server(struct fx *f)
{
        struct crm_server_config sc = {0};
        char                     err[256];
        sc.workload      = f->w;
        sc.start_wall_ms = crmsync_wall_ms() + 3600 * 1000;
        crm_server_t *s =
            crmsync_crm_server_new(f->base, &sc, err, sizeof(err));
        assert_non_null(s);
        return s;
}

/* Record idx's fields rebuilt from its events up to event upto alone, as
 * the live state built them at each commit before it built them lazily. */
static json_t *rebuild_upto(struct fx *f, uint32_t idx, size_t upto)
{
        json_t *o = NULL;
        for (size_t i = 0; i <= upto; i++) {
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

static json_t *rebuild(struct fx *f, uint32_t idx)
{
        return rebuild_upto(f, idx, crmsync_workload_event_cnt(f->w) - 1);
}

/* Commits build no tree: half the events applied, no record holds one
 * (before, every record short of its final version held a tree built at
 * each commit). */
static void test_commit_builds_no_tree(void **state)
{
        struct fx    *f    = *state;
        crm_server_t *s    = idle_server(f);
        size_t        nev  = crmsync_workload_event_cnt(f->w);
        size_t        nrec = crmsync_workload_record_cnt(f->w), live = 0;

        for (size_t ev = 0; ev < nev / 2; ev++)
                crm_objects_apply(s, (uint32_t)ev);
        for (uint32_t i = 0; i < nrec; i++) {
                live += s->live[i].exists;
                if (s->live[i].fields)
                        fail_msg("record %s holds a tree after commits only",
                                 crmsync_workload_record(f->w, i)->id);
        }
        assert_true(live > 0);
        crmsync_crm_server_destroy(s);
}

/* Read between commits (every 7th event's record, so a record is read,
 * committed to and read again): its fields are the ones rebuilt from its
 * events so far, in order. */
static void test_read_between_commits(void **state)
{
        struct fx    *f   = *state;
        crm_server_t *s   = idle_server(f);
        size_t        nev = crmsync_workload_event_cnt(f->w), reads = 0;

        for (size_t ev = 0; ev < nev; ev++) {
                crm_objects_apply(s, (uint32_t)ev);
                if (ev % 7)
                        continue;
                uint32_t idx  = s->ev_rec[ev];
                json_t  *want = rebuild_upto(f, idx, ev);
                json_t  *got  = crm_live_fields(s, idx);
                char    *a    = want ? json_dumps(want, JSON_COMPACT) : NULL;
                char    *b    = got ? json_dumps(got, JSON_COMPACT) : NULL;
                if (!a || !b || strcmp(a, b))
                        fail_msg("event %zu: live %s, rebuilt %s", ev,
                                 b ? b : "NULL", a ? a : "NULL");
                free(a);
                free(b);
                json_decref(want);
                json_decref(got);
                reads++;
        }
        assert_true(reads > 100);
        crmsync_crm_server_destroy(s);
}

/* The final state is held once and as text: after every event, no
 * record holds a tree in the CRM's live state (each points at the
 * workload's final-state text; a tree a record was ~600 bytes), and the
 * workload keeps that text, not a tree. */
static void test_final_state_held_as_text(void **state)
{
        struct fx *f    = *state;
        size_t     nrec = crmsync_workload_record_cnt(f->w);

        assert_int_equal(f->s->applied, crmsync_workload_event_cnt(f->w));
        for (uint32_t i = 0; i < nrec; i++) {
                const struct crm_record *r  = crmsync_workload_record(f->w, i);
                const struct live_rec   *lr = &f->s->live[i];
                json_decref(crm_live_fields(f->s, i)); /* built when read */
                if (lr->fields || !lr->fields_final)
                        fail_msg("record %s: the live state holds a tree of "
                                 "its own at the final version",
                                 r->id);
                assert_non_null(r->fields_json);
                assert_true(r->fields_json[0] == '{');
        }
}

/* Each record's fields, as the objects API serves them, are the bytes of
 * the tree rebuilt from its events (in order). */
static void test_fields_as_rebuilt(void **state)
{
        struct fx *f    = *state;
        size_t     nrec = crmsync_workload_record_cnt(f->w), deleted = 0;

        for (uint32_t i = 0; i < nrec; i++) {
                const struct crm_record *r  = crmsync_workload_record(f->w, i);
                const struct live_rec   *lr = &f->s->live[i];
                json_t                  *want = rebuild(f, i);
                json_t                  *got  = crm_live_fields(f->s, i);
                char                    *a    = json_dumps(want, JSON_COMPACT);
                char                    *b    = json_dumps(got, JSON_COMPACT);

                deleted += r->deleted;
                assert_int_equal(lr->version, r->version);
                if (strcmp(a, b) || strcmp(a, r->fields_json))
                        fail_msg("record %s: live %s\n final %s\n rebuilt %s",
                                 r->id, b, r->fields_json, a);
                free(a);
                free(b);
                json_decref(want);
                json_decref(got);
        }
        assert_true(deleted > 0); /* deletes and merges were covered */
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_commit_builds_no_tree),
            cmocka_unit_test(test_read_between_commits),
            cmocka_unit_test(test_final_state_held_as_text),
            cmocka_unit_test(test_fields_as_rebuilt),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
