/* fuzz_connector_page.c -- libFuzzer target for the connector's reading
 * of a /v1/changes page, outside input: the scanner that reads a page
 * without a JSON tree (pipeline/connector_scan.c) against jansson's
 * reading (connector_parse_page). Aborts on any difference that would
 * change what the connector produces: a page the scanner takes that
 * jansson refuses or reads otherwise, an event it produces as its text
 * whose tree the connector would produce otherwise (other bytes, key,
 * event id, envelope), or the reverse (tests/unit/connector_scan_cmp.h).
 * Seeds: corpus/fuzz_connector_page/. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "../../pipeline/connector_int.h"
#include "../unit/connector_scan_cmp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char why[256];

        if (connector_scan_cmp((const char *)data, size, why, sizeof(why)) ==
            -2) {
                fprintf(stderr, "fuzz_connector_page: %s\n", why);
                abort();
        }
        return 0;
}
