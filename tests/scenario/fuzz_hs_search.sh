#!/bin/bash
# fuzz_hs_search.sh -- build and run the HubSpot search-body fuzz target
# (tests/fuzz/fuzz_hs_search.c) for a bounded number of executions.
#
# usage: bash fuzz_hs_search.sh <crmsync-binary> <source-dir> [runs]
# Exit 0 without a crash ("SKIP" when clang is not installed).
set -euo pipefail
SRC=${2:?usage: fuzz_hs_search.sh <crmsync-binary> <source-dir> [runs]}
if ! command -v "${CC_FUZZ:-clang}" >/dev/null 2>&1; then
        echo "SKIP: clang not installed, fuzz_hs_search not run"
        exit 0
fi
exec bash "$SRC/tests/fuzz/run_target.sh" "$SRC" fuzz_hs_search "${3:-500000}" 2048 \
        tests/fuzz/fuzz_hs_search.c fakes/crm/hs_search.c lib/common.c \
        -- jansson
