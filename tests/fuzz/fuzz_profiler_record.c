/* fuzz_profiler_record.c -- libFuzzer target for the reference profiler's
 * parser of outside input: the value of a Kafka record on the changes
 * topic (the envelope of docs/wire-contracts.md), mapped to a sink op by
 * profiler_map_event under the bug switches.
 *
 * Input layout: first byte = bug switches (bit i -> 1 << i, the first 8);
 * the rest is the record value. Checks: the fast path (the envelope
 * scanner, pipeline/profiler_scan.c) and the jansson parse
 * (profiler_map_event_json) give the same op, fields equal as JSON, or
 * the same refusal with the same reason; read as a sink bulk reply of
 * 1-4 results (the low bits of the first byte), the reply scanner and
 * jansson read the same results whenever the scanner takes it; a
 * refused record has a reason (it goes to the DLQ with it); an accepted
 * one maps to a bulk op that the sink's own parser and validator accept
 * (never a 400), and its event id goes through the dedupe set. Seeds:
 * corpus/fuzz_profiler_record/. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../fakes/sink/sink_int.h"
#include "../../pipeline/profiler_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct prof_dedupe *dedupe;

/* The two parses agree on data, or abort. */
static void same_both_ways(const char *data, size_t size, uint32_t bugs)
{
        struct prof_op a, b;
        char           ra[256] = "", rb[256] = "";
        int rc_a = profiler_map_event(data, size, bugs, &a, ra, sizeof(ra));
        int rc_b =
            profiler_map_event_json(data, size, bugs, &b, rb, sizeof(rb));

        if (rc_a != rc_b || (rc_a && strcmp(ra, rb)))
                abort();
        if (rc_a)
                return;
        if (a.action != b.action || strcmp(a.event_id, b.event_id) ||
            strcmp(a.entity, b.entity) || strcmp(a.record_id, b.record_id) ||
            strcmp(a.account_id, b.account_id) || a.version != b.version ||
            a.merge_fields != b.merge_fields || a.if_newer != b.if_newer ||
            a.if_version != b.if_version || a.side_effect != b.side_effect ||
            (a.fields == NULL) != (b.fields == NULL))
                abort();
        if (a.fields) {
                json_t *fa = json_loadb(a.fields, a.fields_len, 0, NULL);
                json_t *fb = json_loadb(b.fields, b.fields_len, 0, NULL);
                if (!json_is_object(fa) || !json_equal(fa, fb))
                        abort();
                json_decref(fa);
                json_decref(fb);
        }
        profiler_op_clear(&a);
        profiler_op_clear(&b);
}

/* The same bytes as a sink bulk reply of want results: whenever the
 * scanner takes it, jansson reads the same results, or abort. */
static void same_reply(const char *data, size_t size, size_t want)
{
        struct prof_result a[4], b[4];
        json_t            *tree;
        char              *buf = malloc(size + 1);

        if (!buf)
                abort();
        memcpy(buf, data, size);
        buf[size]  = '\0';
        size_t len = strlen(buf); /* as take_results reads it */
        int    ra  = profiler_reply_scan(buf, len, a, want);
        int    rb  = profiler_reply_json(buf, b, want, &tree);
        if (ra == 0) {
                if (rb)
                        abort(); /* the scanner read what jansson refuses */
                for (size_t k = 0; k < want; k++)
                        if (a[k].status != b[k].status ||
                            a[k].is_gap != b[k].is_gap ||
                            (a[k].msg == NULL) != (b[k].msg == NULL) ||
                            a[k].msg_len != b[k].msg_len ||
                            (a[k].msg &&
                             memcmp(a[k].msg, b[k].msg, (size_t)a[k].msg_len)))
                                abort();
        }
        json_decref(tree);
        free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct prof_op op;
        char           reason[256] = "";
        uint32_t       bugs;

        if (size < 1)
                return 0;
        bugs = data[0];
        data++;
        size--;
        if (!dedupe && !(dedupe = profiler_dedupe_new(64)))
                abort();
        same_both_ways((const char *)data, size, bugs);
        same_reply((const char *)data, size, 1 + (bugs & 3));
        if (profiler_map_event((const char *)data, size, bugs, &op, reason,
                               sizeof(reason))) {
                if (!reason[0])
                        abort(); /* the DLQ record must say why */
                return 0;
        }
        if (op.action != PROF_SKIP) {
                struct sink_store  st;
                struct sink_ops    ops;
                struct sink_result r;
                json_t            *j = profiler_op_json(&op);
                char              *body, msg[256];
                if (!j || !(body = json_dumps(j, JSON_COMPACT)))
                        abort();
                if (sink_store_init(&st, 64))
                        abort();
                if (sink_parse_ops(body, strlen(body), &ops, msg,
                                   sizeof(msg)) ||
                    ops.n != 1)
                        abort(); /* not a bulk body of one op */
                if (ops.v[0].v[SK_VERSION].kind != SV_INT ||
                    ops.v[0].v[SK_VERSION].i != (json_int_t)op.version ||
                    (op.if_version >= 0 &&
                     ops.v[0].v[SK_IF_VERSION].i != op.if_version))
                        abort(); /* the line says another version */
                sink_store_apply(&st, &ops.v[0], 0, 0, &r);
                if (r.status == 400)
                        abort(); /* the profiler sent what the sink refuses */
                sink_ops_free(&ops);
                sink_store_fini(&st);
                free(body);
                json_decref(j);
        }
        profiler_dedupe_add(dedupe, op.event_id);
        if (!profiler_dedupe_has(dedupe, op.event_id))
                abort();
        profiler_op_clear(&op);
        return 0;
}
