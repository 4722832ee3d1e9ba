#!/bin/bash
# fuzz_crm_request.sh -- ctest wrapper: build and run the mock CRM request
# parser fuzz target (tests/fuzz/build_and_run.sh) for 20000 runs.
#
# usage: bash fuzz_crm_request.sh <path-to-crmsync-binary> <source-dir>
# Exit 0 on success (or "SKIP" when clang is not installed), non-zero on a
# crash or a build failure.
set -euo pipefail

SRC=${2:?usage: fuzz_crm_request.sh <crmsync-binary> <source-dir>}

if ! command -v "${CC_FUZZ:-clang}" >/dev/null 2>&1; then
        echo "SKIP: clang not installed, fuzz_crm_request not run"
        exit 0
fi
exec bash "$SRC/tests/fuzz/build_and_run.sh" "$SRC" 20000
