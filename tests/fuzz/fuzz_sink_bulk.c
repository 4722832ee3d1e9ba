/* fuzz_sink_bulk.c -- libFuzzer target for the fake sink's parser of
 * outside input: a POST /v1/bulk body (JSON array or NDJSON) parsed by
 * sink_parse_ops (the envelope scanner, jansson for what it does not
 * take), every op then validated and applied by sink_store_apply on a
 * small store.
 *
 * Input layout: first byte = flags (bit 0 blind writes, bits 1-7 the
 * partial-failure draw of the first 7 ops); the rest is the body.
 * Checks: a rejected body has a message; every op gets a result with a
 * known status; a valid op applied twice is stale the second time; and
 * the scanner agrees with jansson: the same body parsed by
 * sink_parse_json_ops (jansson only) is accepted or rejected alike, with
 * as many ops, each with fields equal to jansson's and getting the same
 * result on a second store.
 * Seeds: corpus/fuzz_sink_bulk/. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../fakes/sink/sink_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int known_status(int st)
{
        return st == 200 || st == 400 || st == 409 || st == 500 || st == 507;
}

static int same_result(const struct sink_result *a, const struct sink_result *b)
{
        return a->status == b->status && !strcmp(a->result, b->result) &&
               (a->message == b->message ||
                (a->message && b->message &&
                 !strcmp(a->message, b->message))) &&
               a->stored_version == b->stored_version;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct sink_store st, st2;
        struct sink_ops   ops, ref;
        char              msg[256] = "", msg2[256] = "";
        uint8_t           flags;

        if (size < 1)
                return 0;
        flags = data[0];
        data++;
        size--;
        if (sink_store_init(&st, 64) || sink_store_init(&st2, 64))
                abort();
        int rc =
            sink_parse_ops((const char *)data, size, &ops, msg, sizeof(msg));
        int rc2 = sink_parse_json_ops((const char *)data, size, &ref, msg2,
                                      sizeof(msg2));
        if (rc != rc2)
                abort(); /* the scanner accepted what jansson refuses */
        if (rc) {
                if (!msg[0] || strcmp(msg, msg2))
                        abort(); /* a 400 must say why, as jansson did */
                sink_store_fini(&st);
                sink_store_fini(&st2);
                return 0;
        }
        if (ops.n != ref.n)
                abort();
        for (size_t i = 0; i < ops.n; i++) {
                struct sink_result r, r2, again;
                int                fail = i < 7 && (flags >> (i + 1)) & 1;
                sink_store_apply(&st, &ops.v[i], flags & 1, fail, &r);
                sink_store_apply(&st2, &ref.v[i], flags & 1, fail, &r2);
                if (!known_status(r.status) || !same_result(&r, &r2))
                        abort();
                /* The fields tree (built directly when flat) is jansson's. */
                if ((ops.v[i].fields == NULL) != (ref.v[i].fields == NULL) ||
                    (ops.v[i].fields &&
                     !json_equal(ops.v[i].fields, ref.v[i].fields)))
                        abort();
                /* The same op again: a conditional write cannot apply a
                 * version twice. */
                if (r.status == 200 && !(flags & 1)) {
                        sink_store_apply(&st, &ops.v[i], 0, 0, &again);
                        if (!known_status(again.status))
                                abort();
                        sink_store_apply(&st2, &ref.v[i], 0, 0, &again);
                }
        }
        sink_ops_free(&ops);
        sink_ops_free(&ref);
        sink_store_fini(&st);
        sink_store_fini(&st2);
        return 0;
}
