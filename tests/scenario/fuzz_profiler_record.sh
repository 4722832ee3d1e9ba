#!/bin/bash
# fuzz_profiler_record.sh -- build and run the profiler's Kafka record
# fuzz target (tests/fuzz/fuzz_profiler_record.c) for a bounded number of
# executions.
#
# usage: bash fuzz_profiler_record.sh <crmsync-binary> <source-dir> [runs]
# Exit 0 without a crash ("SKIP" when clang is not installed).
set -euo pipefail
SRC=${2:?usage: fuzz_profiler_record.sh <crmsync-binary> <source-dir> [runs]}
if ! command -v "${CC_FUZZ:-clang}" >/dev/null 2>&1; then
        echo "SKIP: clang not installed, fuzz_profiler_record not run"
        exit 0
fi
exec bash "$SRC/tests/fuzz/run_target.sh" "$SRC" fuzz_profiler_record "${3:-200000}" 4096 \
        tests/fuzz/fuzz_profiler_record.c pipeline/profiler_map.c \
        pipeline/profiler_scan.c lib/dynbuf.c lib/json_lex.c \
        fakes/sink/sink_http.c fakes/sink/sink_store.c fakes/sink/sink_op.c \
        lib/http_guard.c \
        lib/common.c lib/hash.c lib/rand.c lib/http_reply.c lib/strmap.c \
        lib/strpool.c \
        -- jansson libevent
