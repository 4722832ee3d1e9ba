#!/bin/bash
# run_target.sh -- build one libFuzzer target with clang (libFuzzer + ASan
# + UBSan) from the sources it needs, no CMake involved, and run it for a
# bounded number of executions with a fixed seed on a copy of its seed
# corpus (tests/fuzz/corpus/NAME/).
#
# usage: tests/fuzz/run_target.sh SRC NAME RUNS MAX_LEN SOURCE... [-- PKG...]
#        SOURCE paths are relative to SRC; PKG are pkg-config packages.
# env:   CC_FUZZ (default clang), FUZZ_OUT (work dir, default a temp dir
#        removed on exit)
# Exit 0 when the run ends without a crash, non-zero on a crash (the
# reproducer is printed as base64) or a build failure.
set -euo pipefail

SRC=$1 NAME=$2 RUNS=$3 MAXLEN=$4
shift 4
SOURCES=() PKGS=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do SOURCES+=("$SRC/$1"); shift; done
[ $# -gt 0 ] && shift
PKGS=("$@")
CC=${CC_FUZZ:-clang}

if [ -n "${FUZZ_OUT:-}" ]; then
        OUT=$FUZZ_OUT
        mkdir -p "$OUT"
else
        OUT=$(mktemp -d "/tmp/crmsync-fuzz-$NAME.XXXXXX")
        trap 'rm -rf "$OUT"' EXIT
fi

echo "building $NAME with $CC"
# shellcheck disable=SC2046
"$CC" -std=c11 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Werror \
        -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
        -fno-omit-frame-pointer -I"$SRC/include" -I"$SRC" \
        "${SOURCES[@]}" $(pkg-config --cflags --libs "${PKGS[@]}") -lm \
        -lpthread -o "$OUT/$NAME"

mkdir -p "$OUT/corpus"
cp "$SRC/tests/fuzz/corpus/$NAME"/* "$OUT/corpus/"

echo "running $NAME: $RUNS runs"
cd "$OUT"
# -seed fixes the mutation sequence; time and memory are bounded.
if ! ASAN_OPTIONS=detect_leaks=1 "./$NAME" -runs="$RUNS" -seed=1 \
        -max_len="$MAXLEN" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$OUT/" -print_final_stats=1 corpus; then
        for f in "$OUT"/crash-* "$OUT"/leak-* "$OUT"/timeout-* "$OUT"/oom-*; do
                [ -e "$f" ] || continue
                echo "reproducer $(basename "$f") (base64):"
                base64 -w0 "$f"
                echo
        done
        exit 1
fi
echo "$NAME: $RUNS runs without a crash"
