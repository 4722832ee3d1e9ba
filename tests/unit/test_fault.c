/* test_fault.c -- the fault table (harness/fault.c): its rows are sound,
 * the hooks get every parameter explicitly, the mock CRM and the fake
 * sink accept every value the table accepts, and docs/scenario-format.md
 * documents every row with the table's defaults. */
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
#include "crmsync/sink.h"
#include "crmsync/workload.h"
#include "harness/fault.h"

#define DOC_HEADER                                                             \
        "| fault | layer | duration | exclusive group | parameter | type | "   \
        "unit | default | range |"
#define MAX_ROWS 128

/* Every row: a start hook, a known layer, defaults of the right type and
 * inside the range, no default on a required parameter. */
static void test_rows_sound(void **state)
{
        const struct fault_type *ft;
        (void)state;
        for (size_t i = 0; (ft = crmsync_fault_at(i)); i++) {
                assert_non_null(crmsync_fault_hook(ft, 1));
                assert_string_not_equal(crmsync_fault_layer_name(ft->layer),
                                        "?");
                assert_ptr_equal(crmsync_fault_find(ft->name), ft);
                for (int k = 0; k < FAULT_MAX_PARAMS && ft->params[k].name;
                     k++) {
                        const struct fault_param *fp = &ft->params[k];
                        json_t                   *d =
                            fp->def ? json_loads(fp->def, JSON_DECODE_ANY, NULL)
                                                      : NULL;
                        if (fp->required)
                                assert_null(fp->def);
                        if (!fp->def)
                                continue;
                        assert_non_null(d);
                        if (fp->type == FAULT_P_BOOL)
                                assert_true(json_is_boolean(d));
                        else if (fp->type == FAULT_P_STR)
                                assert_true(json_is_string(d));
                        else {
                                assert_true(json_is_number(d));
                                assert_true(json_number_value(d) >= fp->min &&
                                            json_number_value(d) <= fp->max);
                        }
                        json_decref(d);
                }
        }
        assert_null(crmsync_fault_find("no_such_fault"));
}

/* The hooks get the table's parameters only: given ones as given, the
 * rest at the table's default; one without a default stays absent. */
static void test_params_explicit(void **state)
{
        json_t *f = json_loads("{\"type\":\"schema_drift\",\"at_s\":1,"
                               "\"duration_s\":2,\"note\":\"x\","
                               "\"kind\":\"changed_type\"}",
                               0, NULL);
        json_t *p = crmsync_fault_params(crmsync_fault_find("schema_drift"), f);
        (void)state;
        assert_int_equal(json_object_size(p), 2);
        assert_string_equal(json_string_value(json_object_get(p, "kind")),
                            "changed_type");
        assert_true(json_number_value(json_object_get(p, "ratio")) == 1.0);
        json_decref(p);
        json_decref(f);

        f = json_loads("{\"type\":\"leader_move\",\"broker\":2}", 0, NULL);
        p = crmsync_fault_params(crmsync_fault_find("leader_move"), f);
        assert_int_equal(json_object_size(p), 1);
        assert_null(json_object_get(p, "partition"));
        json_decref(p);
        json_decref(f);

        f = json_loads("{\"type\":\"connector_crash\"}", 0, NULL);
        assert_true(crmsync_fault_num("connector_crash", f, "restart_after_s",
                                      -1) == 1.0);
        json_object_set_new(f, "restart_after_s", json_real(2.5));
        assert_true(crmsync_fault_num("connector_crash", f, "restart_after_s",
                                      -1) == 2.5);
        assert_true(crmsync_fault_num("connector_pause", f, "restart_after_s",
                                      -1) == -1);
        json_decref(f);
}

static void set_param(json_t *o, const struct fault_param *fp, int hi)
{
        if (fp->type == FAULT_P_STR) {
                char        s[256];
                const char *bar;
                snprintf(s, sizeof(s), "%s", fp->choices);
                /* The first choice, or the last with hi. */
                if (hi && (bar = strrchr(fp->choices, '|')))
                        snprintf(s, sizeof(s), "%s", bar + 1);
                else if ((bar = strchr(s, '|')))
                        *(char *)bar = '\0';
                json_object_set_new(o, fp->name, json_string(s));
        } else if (fp->type == FAULT_P_BOOL)
                json_object_set_new(o, fp->name, json_boolean(hi));
        else if (fp->type == FAULT_P_INT)
                json_object_set_new(
                    o, fp->name,
                    json_integer((json_int_t)(hi ? fp->max : fp->min)));
        else
                json_object_set_new(o, fp->name,
                                    json_real(hi ? fp->max : fp->min));
}

/* Start and stop fault ft at its parameters' minimum (hi 0) and maximum
 * (hi 1) through inject; fails the test when the injector refuses. */
static void try_bounds(const struct fault_type *ft,
                       int (*inject)(void *target, const char *type,
                                     const json_t *p, int on, char *err,
                                     size_t size),
                       void *target)
{
        char err[256];
        for (int hi = 0; hi < 2; hi++) {
                json_t *f = json_object();
                for (int k = 0; k < FAULT_MAX_PARAMS && ft->params[k].name; k++)
                        if (strcmp(ft->params[k].name, "seq"))
                                set_param(f, &ft->params[k], hi);
                json_t *p = crmsync_fault_params(ft, f);
                err[0]    = '\0';
                if (inject(target, ft->name, p, 1, err, sizeof(err)))
                        fail_msg("%s at its %s: %s", ft->name,
                                 hi ? "maximum" : "minimum", err);
                inject(target, ft->name, p, 0, err, sizeof(err));
                json_decref(p);
                json_decref(f);
        }
}

static int crm_inject(void *s, const char *type, const json_t *p, int on,
                      char *err, size_t size)
{
        return crmsync_crm_server_fault(s, type, p, on, err, size);
}

static int sink_inject(void *s, const char *type, const json_t *p, int on,
                       char *err, size_t size)
{
        return crmsync_sink_fault(s, type, p, on, err, size);
}

/* The mock CRM and the fake sink accept every value the loader accepts:
 * each crm and sink fault at its parameters' minimum and maximum
 * (drop_event's seq excepted: the loader bounds it by workload.changes;
 * corrupt_sink_record's injector is the run's own, in harness/fault.c). */
static void test_fakes_accept_table(void **state)
{
        struct crm_workload_config wc = {0};
        struct crm_server_config   cc = {0};
        struct sink_config         kc = {0};
        const struct fault_type   *ft;
        char                       err[256];
        (void)state;

        wc.seed       = 3;
        wc.accounts   = 10;
        wc.changes    = 3000;
        wc.rate_per_s = 100;
        cc.workload   = crmsync_workload_generate(&wc, err, sizeof(err));
        assert_non_null(cc.workload);
        cc.start_wall_ms        = crmsync_wall_ms() + 3600 * 1000;
        struct event_base *base = event_base_new();
        crm_server_t *crm = crmsync_crm_server_new(base, &cc, err, sizeof(err));
        sink_server_t *sink =
            crmsync_sink_server_new(base, &kc, err, sizeof(err));
        assert_non_null(crm);
        assert_non_null(sink);
        for (size_t i = 0; (ft = crmsync_fault_at(i)); i++)
                if (ft->layer == FAULT_LAYER_CRM)
                        try_bounds(ft, crm_inject, crm);
                else if (ft->layer == FAULT_LAYER_SINK &&
                         strcmp(ft->name, "corrupt_sink_record"))
                        try_bounds(ft, sink_inject, sink);
        crmsync_sink_server_destroy(sink);
        crmsync_crm_server_destroy(crm);
        crmsync_workload_destroy(cc.workload);
        event_base_free(base);
}

/* The doc's fault table: the rows after DOC_HEADER and its separator. */
static int doc_rows(char rows[][512], int max)
{
        char        path[1024], line[512];
        const char *src = getenv("CRMSYNC_SRC");
        FILE       *fp;
        int         n = 0, in = 0;

        snprintf(path, sizeof(path), "%s/docs/scenario-format.md",
                 src ? src : ".");
        fp = fopen(path, "r");
        if (!fp)
                fail_msg("cannot open %s", path);
        while (fgets(line, sizeof(line), fp) && n < max) {
                line[strcspn(line, "\n")] = '\0';
                if (!in) {
                        in = !strcmp(line, DOC_HEADER);
                        continue;
                }
                if (line[0] != '|')
                        break;
                if (strncmp(line, "|---", 4))
                        snprintf(rows[n++], 512, "%s", line);
        }
        fclose(fp);
        if (!in)
                fail_msg("%s has no fault table (header \"%s\")", path,
                         DOC_HEADER);
        return n;
}

/* docs/scenario-format.md holds exactly the table's rows, in its order. */
static void test_doc_matches_table(void **state)
{
        static char              rows[MAX_ROWS][512];
        char                     want[512];
        const struct fault_type *ft;
        int                      n = doc_rows(rows, MAX_ROWS), at = 0, bad = 0;
        (void)state;

        for (size_t i = 0; (ft = crmsync_fault_at(i)); i++)
                for (int k = 0;
                     !crmsync_fault_doc_row(ft, k, want, sizeof(want)); k++) {
                        if (at >= n || strcmp(rows[at], want)) {
                                print_error("docs/scenario-format.md row %d:"
                                            "\n  want: %s\n  have: %s\n",
                                            at + 1, want,
                                            at < n ? rows[at] : "(none)");
                                bad++;
                        }
                        at++;
                }
        for (; at < n; at++, bad++)
                print_error("docs/scenario-format.md row %d is not in the "
                            "fault table: %s\n",
                            at + 1, rows[at]);
        assert_int_equal(bad, 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_rows_sound),
            cmocka_unit_test(test_params_explicit),
            cmocka_unit_test(test_fakes_accept_table),
            cmocka_unit_test(test_doc_matches_table),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
