#!/bin/bash
# fuzz_sink_bulk.sh -- build and run the sink bulk-body fuzz target
# (tests/fuzz/fuzz_sink_bulk.c) for a bounded number of executions.
#
# usage: bash fuzz_sink_bulk.sh <crmsync-binary> <source-dir> [runs]
# Exit 0 without a crash ("SKIP" when clang is not installed).
set -euo pipefail
SRC=${2:?usage: fuzz_sink_bulk.sh <crmsync-binary> <source-dir> [runs]}
if ! command -v "${CC_FUZZ:-clang}" >/dev/null 2>&1; then
        echo "SKIP: clang not installed, fuzz_sink_bulk not run"
        exit 0
fi
exec bash "$SRC/tests/fuzz/run_target.sh" "$SRC" fuzz_sink_bulk "${3:-200000}" 8192 \
        tests/fuzz/fuzz_sink_bulk.c fakes/sink/sink_http.c \
        fakes/sink/sink_store.c fakes/sink/sink_op.c lib/json_lex.c \
        lib/http_guard.c \
        lib/common.c lib/hash.c \
        lib/rand.c lib/http_reply.c lib/strmap.c lib/strpool.c \
        -- jansson libevent
