#!/usr/bin/env bash
# bench_e2e.sh -- end-to-end events per second (CRM commit to sink apply,
# the checker on) of the reference pipeline, next to raw transport on the
# same embedded broker: kcat producing and consuming the same number of
# payloads of the same average size. The two sides alternate, E R E R ...,
# PAIRS times (default 3), so that both see the same machine; prints each
# run, then the median and min-max of each side and of the per-pair ratio.
#
# E2E: one `crmsync run` whose whole workload is committed at once
# (rate_per_s 1e6), so the pipeline drains a backlog. Rate = changes /
# (last sink apply - first commit): the summary's timing.drain. The run
# (checker and recording on) must pass.
# RAW: `crmsync broker --brokers 3 --partitions 12` (the run's target),
# started fresh for each raw run; kcat -P of N keyed JSON lines of the
# run's average record size (summary log.bytes / log.records_read; acks=all,
# idempotent, linger.ms=20), then kcat -C of all N back. Raw rate = N /
# (produce + consume time); each direction is printed too.
#
# usage: bench/bench_e2e.sh [build-dir] [changes]
# env:   ACCOUNTS (5000), SEED (42), PAIRS (3)
# Only processes this script starts are stopped, by their pid.
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

for tool in kcat python3; do
        command -v "$tool" >/dev/null 2>&1 || die "$tool not installed"
done
[ -x "$BIN" ] || die "$BIN not found (build first)"
case $CHANGES$PAIRS in
'' | *[!0-9]*) die "changes and PAIRS must be whole numbers" ;;
esac
[ "$CHANGES" -ge 1000 ] && [ "$CHANGES" -le 500000 ] ||
        die "changes must be 1000..500000"
[ "$PAIRS" -ge 1 ] && [ "$PAIRS" -le 20 ] || die "PAIRS must be 1..20"

WORK=$(mktemp -d /tmp/crmsync-bench-e2e.XXXXXX)
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

bench_scenario "$WORK/scenario.json" "$CHANGES" "$ACCOUNTS" "$SEED"

# raw_run N: sets PS and CS (produce and consume seconds). Not in a
# subshell, so that the EXIT trap knows the broker's pid.
raw_run() {
        local n=$1 boot= t0 t1 t2 got
        "$BIN" broker --brokers 3 --partitions 12 --topic bench.raw \
                >"$WORK/broker.out" 2>"$WORK/broker.err" &
        BROKER_PID=$!
        for _ in $(seq 1 100); do
                boot=$(sed -n 's/^bootstrap.servers=//p' "$WORK/broker.out")
                [ -n "$boot" ] && grep -q '^topic=crmsync.connector.offsets' "$WORK/broker.out" && break
                kill -0 "$BROKER_PID" 2>/dev/null || die "broker exited: $(cat "$WORK/broker.err")"
                sleep 0.1
        done
        [ -n "$boot" ] || die "broker printed no bootstrap.servers"
        t0=$(now_s)
        kcat -P -b "$boot" -t bench.raw -K $'\t' -X linger.ms=20 -X acks=all \
                -X enable.idempotence=true <"$WORK/payloads.txt" 2>"$WORK/kcat-p.err" ||
                die "kcat -P failed: $(tail -3 "$WORK/kcat-p.err")"
        t1=$(now_s)
        got=$(timeout 300 kcat -C -b "$boot" -t bench.raw -o beginning -e -q \
                -c "$n" -f '%s\n' 2>"$WORK/kcat-c.err" | wc -l)
        t2=$(now_s)
        stop_broker
        [ "$got" -eq "$n" ] || die "kcat -C read $got of $n"
        PS=$(python3 -c "print('%.3f' % ($t1 - $t0))")
        CS=$(python3 -c "print('%.3f' % ($t2 - $t1))")
}

E2E=() RAW=() RAWP=() RAWC=()
for i in $(seq 1 "$PAIRS"); do
        echo "bench_e2e: pair $i/$PAIRS: e2e run of $CHANGES changes ($ACCOUNTS accounts)..." >&2
        out=$(e2e_run "$WORK/scenario.json" "e2e$i")
        read -r n secs rate avg <<<"$out"
        echo "bench_e2e: e2e $n changes in $secs s: $rate events/s" >&2
        E2E+=("$rate")
        if [ "$i" -eq 1 ]; then
                AVG_BYTES=$avg
                # N lines "key<TAB>value", value a JSON object of the
                # average record size.
                python3 - "$n" "$AVG_BYTES" "$ACCOUNTS" >"$WORK/payloads.txt" <<'PY'
import json, sys
n, size, accounts = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
for i in range(n):
    acct = "A-%06d" % (i % accounts + 1)
    v = {"event_id": "e-%08d" % (i + 1), "seq": i + 1, "entity": "contact",
         "record_id": "C-%06d" % (i + 1), "account_id": acct,
         "change_type": "update", "version": 2, "fields": {"pad": ""}}
    v["fields"]["pad"] = "x" * max(0, size - len(json.dumps(v)) - len(acct))
    print(acct + "\t" + json.dumps(v, separators=(",", ":")))
PY
        fi
        raw_run "$n"
        RAW+=("$(python3 -c "print('%.0f' % ($n / ($PS + $CS)))")")
        RAWP+=("$(python3 -c "print('%.0f' % ($n / $PS))")")
        RAWC+=("$(python3 -c "print('%.0f' % ($n / $CS))")")
        echo "bench_e2e: raw produce $PS s, consume $CS s: ${RAW[-1]} events/s round trip" >&2
done

echo "payload        $AVG_BYTES bytes average (value + key), $CHANGES records, $PAIRS alternating pairs (E R E R ...)"
stats "e2e" "events/s (CRM commit to sink apply, checker on)" "${E2E[@]}"
stats "raw produce" "events/s (kcat -P, acks=all, idempotent)" "${RAWP[@]}"
stats "raw consume" "events/s (kcat -C)" "${RAWC[@]}"
stats "raw round trip" "events/s (produce + consume)" "${RAW[@]}"
# shellcheck disable=SC2046
stats "ratio e2e/raw" "(per pair; target >= 0.30)" $(ratios "${E2E[@]}" -- "${RAW[@]}")
