#!/usr/bin/env bash
# run.sh -- run every benchmark; figures go into bench/RESULTS.md by hand,
# with the command that produced them.
set -euo pipefail
BUILD=${1:-build}
echo "bench: no benchmarks yet"
