#!/usr/bin/env bash
# bench_replay.sh -- replay speed at the pipeline level and at the broker
# level, next to kcat consuming the same range of the same broker.
#
# Each pair: a fresh `crmsync broker --brokers 3 --partitions P` (the
# embedded mock cluster, standalone so that it outlives the run); one
# `crmsync run` against it as an external target, whose whole workload is
# committed at once and drained, then replayed from the earliest offset by
# a new consumer group (the reference profiler rebuilding the emptied
# sink); then kcat -C of the same range (the whole topic: the broker is
# fresh). The summary's timing.replay gives:
#   join_s              replay profiler started -> partitions assigned
#   drain_events_per_s  pipeline level: records / (assigned -> last write)
#   broker              crmsync's own plain consumer (assign, no group)
#                       draining the same range; its rate here is records /
#                       (setup_s + seconds), set-up included like kcat's
# The run and kcat alternate, RUN KCAT RUN KCAT ..., PAIRS times (default
# 3); prints each pair, then the median and min-max of each figure and of
# the ratios pipeline/kcat (target >= 0.25) and broker/kcat (>= 0.8).
#
# usage: bench/bench_replay.sh [build-dir] [changes]
# env:   ACCOUNTS (10000), SEED (42), PAIRS (3), PARTITIONS (24)
# Only processes this script starts are stopped, by their pid.
set -euo pipefail

BUILD=${1:-build}
CHANGES=${2:-100000}
ACCOUNTS=${ACCOUNTS:-10000}
SEED=${SEED:-42}
PAIRS=${PAIRS:-3}
PARTITIONS=${PARTITIONS:-24}
BIN=$BUILD/crmsync
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib_bench.sh
. "$HERE/lib_bench.sh"

for tool in kcat python3; do
        command -v "$tool" >/dev/null 2>&1 || die "$tool not installed"
done
[ -x "$BIN" ] || die "$BIN not found (build first)"
case $CHANGES$PAIRS$PARTITIONS in
'' | *[!0-9]*) die "changes, PAIRS and PARTITIONS must be whole numbers" ;;
esac
[ "$CHANGES" -ge 1000 ] && [ "$CHANGES" -le 1000000 ] ||
        die "changes must be 1000..1000000"
[ "$PAIRS" -ge 1 ] && [ "$PAIRS" -le 20 ] || die "PAIRS must be 1..20"

WORK=$(mktemp -d /tmp/crmsync-bench-replay.XXXXXX)
BROKER_PID=
stop_broker() {
        if [ -n "$BROKER_PID" ]; then
                kill "$BROKER_PID" 2>/dev/null || true
                wait "$BROKER_PID" 2>/dev/null || true
        fi
        BROKER_PID=
}
cleanup() {
        stop_broker
        rm -rf "$WORK"
}
trap cleanup EXIT

start_broker() {
        BOOT=
        "$BIN" broker --brokers 3 --partitions "$PARTITIONS" \
                >"$WORK/broker.out" 2>"$WORK/broker.err" &
        BROKER_PID=$!
        for _ in $(seq 1 100); do
                BOOT=$(sed -n 's/^bootstrap.servers=//p' "$WORK/broker.out")
                [ -n "$BOOT" ] && grep -q '^topic=crmsync.connector.offsets' "$WORK/broker.out" && break
                kill -0 "$BROKER_PID" 2>/dev/null || die "broker exited: $(cat "$WORK/broker.err")"
                sleep 0.1
        done
        [ -n "$BOOT" ] || die "broker printed no bootstrap.servers"
        cat >"$WORK/target.json" <<EOF
{ "name": "bench-standalone-broker",
  "properties": { "bootstrap.servers": "$BOOT" },
  "topics": { "create": false } }
EOF
}

cat >"$WORK/scenario.json" <<EOF
{
  "name": "bench-replay",
  "description": "bench_replay.sh: $CHANGES changes committed at once, drained, then replayed from the earliest offset.",
  "seed": $SEED,
  "workload": { "accounts": $ACCOUNTS, "contacts_per_account": 2,
                "changes": $CHANGES, "rate_per_s": 1000000 },
  "target": { "type": "external", "file": "target.json",
              "partitions": $PARTITIONS },
  "replay": { "from": "earliest" },
  "settle_s": 20,
  "timeout_s": 1800,
  "expect": { "converge_within_s": 900 }
}
EOF

PIPE=() BROKER=() KCAT=() JOIN=()
for i in $(seq 1 "$PAIRS"); do
        start_broker
        echo "bench_replay: pair $i/$PAIRS: run + replay of $CHANGES changes..." >&2
        rc=0
        "$BIN" run "$WORK/scenario.json" --runs-dir "$WORK/runs$i" --quiet \
                >"$WORK/run$i.out" 2>"$WORK/run$i.err" || rc=$?
        SUMMARY=$(ls -td "$WORK/runs$i"/*/summary.json 2>/dev/null | head -1)
        [ -n "$SUMMARY" ] || { tail -20 "$WORK/run$i.err" >&2; die "no summary.json"; }
        [ $rc -eq 0 ] || { cat "$WORK/run$i.out" >&2; die "the run did not pass (exit $rc)"; }
        read -r n join pipe broker <<<"$(python3 - "$SUMMARY" <<'PY'
import json, sys
rp = json.load(open(sys.argv[1]))["timing"]["replay"]
b = rp["broker"]
assert rp["matches_oracle"] and b["complete"], rp
print(rp["events"], "%.3f" % rp["join_s"], "%.0f" % rp["drain_events_per_s"],
      "%.0f" % (b["records"] / (b["setup_s"] + b["seconds"])))
PY
)"
        rm -rf "$WORK/runs$i"
        t0=$(now_s)
        got=$(timeout 300 kcat -C -b "$BOOT" -t crm.changes -o beginning -e -q \
                -c "$n" -f '%s\n' 2>"$WORK/kcat-c.err" | wc -l)
        t1=$(now_s)
        stop_broker
        [ "$got" -eq "$n" ] || die "kcat -C read $got of $n"
        kc=$(python3 -c "print('%.0f' % ($n / ($t1 - $t0)))")
        echo "bench_replay: $n records: join $join s, pipeline drain $pipe/s, broker-level $broker/s, kcat $kc/s" >&2
        PIPE+=("$pipe") BROKER+=("$broker") KCAT+=("$kc") JOIN+=("$join")
done

echo "$CHANGES changes, $PARTITIONS partitions, $PAIRS alternating pairs (run kcat run kcat ...)"
stats "replay join" "s (started -> assigned, reported apart)" "${JOIN[@]}"
stats "replay drain" "events/s (pipeline level: assigned -> last write)" "${PIPE[@]}"
stats "broker-level drain" "events/s (crmsync plain consumer, set-up included)" "${BROKER[@]}"
stats "kcat consume" "events/s (kcat -C, same range)" "${KCAT[@]}"
# shellcheck disable=SC2046
stats "ratio pipeline/kcat" "(per pair; target >= 0.25)" $(ratios "${PIPE[@]}" -- "${KCAT[@]}")
# shellcheck disable=SC2046
stats "ratio broker/kcat" "(per pair; target >= 0.8)" $(ratios "${BROKER[@]}" -- "${KCAT[@]}")
