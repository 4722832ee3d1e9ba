/* fuzz_sink_bulk.c -- libFuzzer target for the fake sink's parser of
 * outside input: a POST /v1/bulk body (JSON array or NDJSON) parsed by
 * sink_parse_ops, every op then validated and applied by
 * sink_store_apply_op on a small store.
 *
 * Input layout: first byte = flags (bit 0 blind writes, bits 1-7 the
 * partial-failure draw of the first 7 ops); the rest is the body.
 * Checks: a rejected body has a message; every op gets a result with a
 * known status; a valid op applied twice is stale the second time.
 * Seeds: corpus/fuzz_sink_bulk/. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../fakes/sink/sink_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int known_status(json_int_t st)
{
        return st == 200 || st == 400 || st == 409 || st == 500 || st == 507;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct sink_store st;
        char              msg[256] = "";
        json_t           *ops;
        uint8_t           flags;

        if (size < 1)
                return 0;
        flags = data[0];
        data++;
        size--;
        if (sink_store_init(&st, 64))
                abort();
        ops = sink_parse_ops((const char *)data, size, msg, sizeof(msg));
        if (!ops) {
                if (!msg[0])
                        abort(); /* a 400 must say why */
                sink_store_fini(&st);
                return 0;
        }
        if (!json_is_array(ops))
                abort();
        for (size_t i = 0; i < json_array_size(ops); i++) {
                int     fail = i < 7 && (flags >> (i + 1)) & 1;
                json_t *r    = sink_store_apply_op(&st, json_array_get(ops, i),
                                                   flags & 1, fail);
                json_t *s    = json_object_get(r, "status");
                if (!json_is_integer(s) || !known_status(json_integer_value(s)))
                        abort();
                /* The same op again: a conditional write cannot apply a
                 * version twice. */
                if (json_integer_value(s) == 200 && !(flags & 1)) {
                        json_t *again = sink_store_apply_op(
                            &st, json_array_get(ops, i), 0, 0);
                        json_int_t st2 = json_integer_value(
                            json_object_get(again, "status"));
                        if (!known_status(st2))
                                abort();
                        json_decref(again);
                }
                json_decref(r);
        }
        json_decref(ops);
        sink_store_fini(&st);
        return 0;
}
