#!/bin/bash
# build_and_run.sh -- build the mock CRM request-parser fuzz target with
# clang (libFuzzer + ASan + UBSan) and run it for a bounded number of runs.
#
# usage: tests/fuzz/build_and_run.sh [source-dir] [runs]
# env:   FUZZ_OUT (build/work dir, default a fresh temp dir, removed on exit)
# Exit status: 0 when the run ends without a crash, non-zero otherwise.
set -euo pipefail

SRC=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
RUNS=${2:-20000}
CC=${CC_FUZZ:-clang}

if ! command -v "$CC" >/dev/null 2>&1; then
        echo "build_and_run.sh: $CC not found" >&2
        exit 2
fi

if [ -n "${FUZZ_OUT:-}" ]; then
        OUT=$FUZZ_OUT
        mkdir -p "$OUT"
else
        OUT=$(mktemp -d /tmp/crmsync-fuzz.XXXXXX)
        trap 'rm -rf "$OUT"' EXIT
fi

# Only the sources the parsers need; no CMake involved.
SOURCES=(
        "$SRC/tests/fuzz/fuzz_crm_request.c"
        "$SRC/fakes/crm/crm_webhook.c"
        "$SRC/fakes/crm/crm_query.c"
        "$SRC/fakes/crm/crm_metrics.c"
        "$SRC/lib/common.c"
        "$SRC/lib/hmac.c"
        "$SRC/lib/hash.c"
        "$SRC/lib/rand.c"
)
LIBS=$(pkg-config --libs libevent jansson libcrypto)

echo "building fuzz_crm_request with $CC"
"$CC" -std=c11 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Werror \
        -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
        -fno-omit-frame-pointer -I"$SRC/include" -I"$SRC" \
        "${SOURCES[@]}" $LIBS -lm -lpthread -o "$OUT/fuzz_crm_request"

# Work on a copy of the seed corpus so the repository stays untouched.
mkdir -p "$OUT/corpus"
cp "$SRC"/tests/fuzz/corpus/fuzz_crm_request/* "$OUT/corpus/" 2>/dev/null || true

echo "running fuzz_crm_request: $RUNS runs"
cd "$OUT"
# -seed fixes the mutation sequence; timeouts and memory are bounded.
ASAN_OPTIONS=detect_leaks=1 ./fuzz_crm_request -runs="$RUNS" -seed=1 \
        -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$OUT/" -print_final_stats=1 corpus
echo "fuzz_crm_request: $RUNS runs without a crash"
