#!/usr/bin/env bash
# run.sh -- run every benchmark; figures go into bench/RESULTS.md by hand,
# with the command that produced them.
set -euo pipefail
BUILD=${1:-build}
HERE=$(cd "$(dirname "$0")" && pwd)
echo "== bench_e2e.sh: end-to-end events/s versus raw kcat on the embedded broker"
bash "$HERE/bench_e2e.sh" "$BUILD"
echo "== bench_overhead.sh: the judge's recording on versus off"
bash "$HERE/bench_overhead.sh" "$BUILD"
echo "== bench_replay.sh: replay drain (pipeline and broker level) versus kcat"
bash "$HERE/bench_replay.sh" "$BUILD"
echo "== bench_checker: history checker on 1,000,000 synthetic changes"
cmake --build "$BUILD" --target bench_checker >/dev/null
"$BUILD/bench/bench_checker" 1000000
