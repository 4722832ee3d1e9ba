/* fuzz_scenario.c -- libFuzzer target for the scenario loader: the whole
 * input is a scenario file, loaded strictly and freed again. A valid or
 * an invalid scenario are both fine; a crash, a leak or undefined
 * behaviour is not. Seeds: corpus/fuzz_scenario/. */
#include <stddef.h>
#include <stdint.h>

#include "harness/scenario.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char             err[512];
        struct scenario *sc;

        sc = crmsync_scenario_load_buffer("fuzz.json", (const char *)data, size,
                                          err, sizeof(err));
        crmsync_scenario_destroy(sc);
        return 0;
}
