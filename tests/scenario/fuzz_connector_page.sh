#!/bin/bash
# fuzz_connector_page.sh -- build and run the connector's feed page fuzz
# target (tests/fuzz/fuzz_connector_page.c: the tree-less page scanner
# against jansson) for a bounded number of executions.
#
# usage: bash fuzz_connector_page.sh <crmsync-binary> <source-dir> [runs]
# Exit 0 without a crash ("SKIP" when clang is not installed).
set -euo pipefail
SRC=${2:?usage: fuzz_connector_page.sh <crmsync-binary> <source-dir> [runs]}
if ! command -v "${CC_FUZZ:-clang}" >/dev/null 2>&1; then
        echo "SKIP: clang not installed, fuzz_connector_page not run"
        exit 0
fi
exec bash "$SRC/tests/fuzz/run_target.sh" "$SRC" fuzz_connector_page "${3:-200000}" 4096 \
        tests/fuzz/fuzz_connector_page.c pipeline/connector_scan.c \
        pipeline/connector_msg.c lib/common.c lib/dynbuf.c lib/json_lex.c \
        -- jansson
