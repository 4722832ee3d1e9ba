#!/usr/bin/env bash
# bench_overhead.sh -- what the judge's recording costs the pipeline it
# watches: the same e2e run (bench_e2e.sh's scenario: the whole workload
# committed at once, drained by the reference pipeline) with the recording
# on (the normal `crmsync run`) and off (`crmsync run --no-record`: no topic
# auditor, no probes, no served-event lines, no history checks; the verdict
# is the end state alone). The two alternate, ON OFF ON OFF ..., PAIRS
# times (default 3); prints each run, then the median and min-max of each
# side and of overhead = throughput on / throughput off, per pair
# (target >= 0.9). Both rates are the summary's timing.drain (first CRM
# commit to last sink write, from the sink's own apply log); both runs
# must pass.
#
# usage: bench/bench_overhead.sh [build-dir] [changes]
# env:   ACCOUNTS (5000), SEED (42), PAIRS (3)
set -euo pipefail

BUILD=${1:-build}
CHANGES=${2:-50000}
ACCOUNTS=${ACCOUNTS:-5000}
SEED=${SEED:-42}
PAIRS=${PAIRS:-3}
BIN=$BUILD/crmsync
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib_bench.sh
. "$HERE/lib_bench.sh"

command -v python3 >/dev/null 2>&1 || die "python3 not installed"
[ -x "$BIN" ] || die "$BIN not found (build first)"
case $CHANGES$PAIRS in
'' | *[!0-9]*) die "changes and PAIRS must be whole numbers" ;;
esac
[ "$CHANGES" -ge 1000 ] && [ "$CHANGES" -le 500000 ] ||
        die "changes must be 1000..500000"
[ "$PAIRS" -ge 1 ] && [ "$PAIRS" -le 20 ] || die "PAIRS must be 1..20"

WORK=$(mktemp -d /tmp/crmsync-bench-overhead.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
bench_scenario "$WORK/scenario.json" "$CHANGES" "$ACCOUNTS" "$SEED"

ON=() OFF=()
for i in $(seq 1 "$PAIRS"); do
        out=$(e2e_run "$WORK/scenario.json" "on$i")
        read -r n secs rate _ <<<"$out"
        echo "bench_overhead: pair $i/$PAIRS: recording on:  $n changes in $secs s, $rate events/s" >&2
        ON+=("$rate")
        out=$(e2e_run "$WORK/scenario.json" "off$i" --no-record)
        read -r n secs rate _ <<<"$out"
        echo "bench_overhead: pair $i/$PAIRS: recording off: $n changes in $secs s, $rate events/s" >&2
        OFF+=("$rate")
done

echo "$CHANGES changes, $PAIRS alternating pairs (on off on off ...)"
stats "recording on" "events/s" "${ON[@]}"
stats "recording off" "events/s" "${OFF[@]}"
# shellcheck disable=SC2046
stats "overhead on/off" "(per pair; target >= 0.9)" $(ratios "${ON[@]}" -- "${OFF[@]}")
