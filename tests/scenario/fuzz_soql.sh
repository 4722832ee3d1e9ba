#!/bin/bash
# fuzz_soql.sh -- build and run the SOQL-subset fuzz target
# (tests/fuzz/fuzz_soql.c) for a bounded number of executions.
#
# usage: bash fuzz_soql.sh <crmsync-binary> <source-dir> [runs]
# Exit 0 without a crash ("SKIP" when clang is not installed).
set -euo pipefail
SRC=${2:?usage: fuzz_soql.sh <crmsync-binary> <source-dir> [runs]}
if ! command -v "${CC_FUZZ:-clang}" >/dev/null 2>&1; then
        echo "SKIP: clang not installed, fuzz_soql not run"
        exit 0
fi
exec bash "$SRC/tests/fuzz/run_target.sh" "$SRC" fuzz_soql "${3:-500000}" 2048 \
        tests/fuzz/fuzz_soql.c fakes/crm/soql.c fakes/crm/hs_search.c \
        lib/common.c -- jansson
