#!/usr/bin/env bash
# test-asan.sh -- the guard rail `make test` runs after the normal suite:
# an ASan+UBSan build (CRMSYNC_SANITIZE=ON) in build-asan/ runs the unit
# tests and the baseline scenario. Every process of the run (the harness
# and the pipeline it starts, which would otherwise report into their own
# .log files) writes sanitizer reports into one folder; any report fails.
#
# usage: scripts/test-asan.sh [build-dir]   (default build-asan)
# env:   JOBS (default 2)
# Took on a 2-core machine shared with other builds: configure + build
# 37 s, unit tests 54 s, baseline 19-26 s.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
B=${1:-$SRC/build-asan}
JOBS=${JOBS:-2}

cmake -S "$SRC" -B "$B" -DCRMSYNC_WERROR=ON -DCRMSYNC_SANITIZE=ON >/dev/null
cmake --build "$B" -j "$JOBS" >/dev/null

REPORTS=$(mktemp -d /tmp/crmsync-asan.XXXXXX)
trap 'rm -rf "$REPORTS"' EXIT
# No suppressions: nothing found in our code or librdkafka's at exit so
# far. If a third-party leak ever needs one, add LSAN_OPTIONS=suppressions
# with a file that names only that library's frames.
export ASAN_OPTIONS="log_path=$REPORTS/asan:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1"
export UBSAN_OPTIONS="log_path=$REPORTS/ubsan:print_stacktrace=1:halt_on_error=1"

# ASan code is slower, and under make test this runs beside other tests:
# unit tests that time a bound widen it by this much (test_sink's
# keep-alive bound stays under what Nagle would cost).
export CRMSYNC_TEST_SLACK_MS=${CRMSYNC_TEST_SLACK_MS:-800}

rc=0
cd "$B"
ctest -L unit -E valgrind -j "$JOBS" --output-on-failure || rc=1
ctest -R '^scenario\.baseline$' --output-on-failure || rc=1
if [ -n "$(ls -A "$REPORTS")" ]; then
        echo "test-asan: sanitizer reports:"
        for f in "$REPORTS"/*; do
                echo "== $f"
                head -60 "$f"
        done
        rc=1
fi
[ $rc -eq 0 ] && echo "test-asan: unit tests and baseline clean under ASan+UBSan"
exit $rc
