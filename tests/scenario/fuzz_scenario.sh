#!/bin/bash
# fuzz_scenario.sh -- build the scenario-loader fuzz target
# (tests/fuzz/fuzz_scenario.c) with clang (libFuzzer + ASan + UBSan) and run
# it for a bounded number of executions with a fixed seed.
#
# usage: bash fuzz_scenario.sh <path-to-crmsync-binary> <source-dir> [runs]
# env:   CC_FUZZ (default clang), FUZZ_OUT (work dir, default a temp dir
#        removed on exit)
# Exit 0 when the run ends without a crash (or "SKIP" when clang is not
# installed), non-zero on a crash or a build failure.
set -euo pipefail

SRC=${2:?usage: fuzz_scenario.sh <crmsync-binary> <source-dir> [runs]}
RUNS=${3:-20000}
CC=${CC_FUZZ:-clang}

if ! command -v "$CC" >/dev/null 2>&1; then
        echo "SKIP: $CC not installed, fuzz_scenario not run"
        exit 0
fi

if [ -n "${FUZZ_OUT:-}" ]; then
        OUT=$FUZZ_OUT
        mkdir -p "$OUT"
else
        OUT=$(mktemp -d /tmp/crmsync-fuzz-scenario.XXXXXX)
        trap 'rm -rf "$OUT"' EXIT
fi

# Only the loader and what it links against; no CMake involved.
SOURCES=(
        "$SRC/tests/fuzz/fuzz_scenario.c"
        "$SRC"/harness/scenario*.c
        "$SRC/harness/jsonpos.c"
        "$SRC/harness/fault.c"
        "$SRC/harness/checker.c"
        "$SRC/lib/domain.c"
        "$SRC/lib/common.c"
        "$SRC/lib/bugs.c"
        "$SRC/lib/hash.c"
        "$SRC/lib/rand.c"
        "$SRC/lib/strmap.c"
        "$SRC"/fakes/crm/workload*.c
)
LIBS=$(pkg-config --libs jansson libcrypto rdkafka)

echo "building fuzz_scenario with $CC"
"$CC" -std=c11 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Werror \
        -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
        -fno-omit-frame-pointer -I"$SRC/include" -I"$SRC" \
        "${SOURCES[@]}" $LIBS -lm -o "$OUT/fuzz_scenario"

# Work on a copy of the seed corpus so the repository stays untouched.
mkdir -p "$OUT/corpus"
cp "$SRC"/tests/fuzz/corpus/fuzz_scenario/* "$OUT/corpus/"

echo "running fuzz_scenario: $RUNS runs"
cd "$OUT"
# -seed fixes the mutation sequence; time and memory are bounded.
ASAN_OPTIONS=detect_leaks=1 ./fuzz_scenario -runs="$RUNS" -seed=1 \
        -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$OUT/" -print_final_stats=1 corpus
echo "fuzz_scenario: $RUNS runs without a crash"
