#!/usr/bin/env bash
# bench_e2e.sh -- end-to-end events per second (CRM commit to sink apply,
# the checker on) of the reference pipeline, next to raw transport on the
# same embedded broker: kcat producing and consuming the same number of
# payloads of the same average size. Prints both and the ratio.
#
# E2E: one `crmsync run` whose whole workload is committed at once
# (rate_per_s 1e6), so the pipeline drains a backlog. Rate = changes /
# (last sink apply - first commit), both wall clock from history.jsonl;
# the run's summary (checker on) must pass.
# RAW: `crmsync broker --brokers 3 --partitions 12` (the run's target) on
# its own; kcat -P of N keyed JSON lines of the run's average record size
# (summary log.bytes / log.records_read), then kcat -C of all N back.
# Raw rate = N / (produce + consume time); each direction is printed too.
#
# usage: bench/bench_e2e.sh [build-dir] [changes]
# env:   ACCOUNTS (5000), SEED (42)
# Only processes this script starts are stopped, by their pid.
set -euo pipefail

BUILD=${1:-build}
CHANGES=${2:-50000}
ACCOUNTS=${ACCOUNTS:-5000}
SEED=${SEED:-42}
BIN=$BUILD/crmsync

die() {
        echo "bench_e2e: $*" >&2
        exit 1
}

for tool in kcat python3; do
        command -v "$tool" >/dev/null 2>&1 || die "$tool not installed"
done
[ -x "$BIN" ] || die "$BIN not found (build first)"
case $CHANGES in
'' | *[!0-9]*) die "changes must be a whole number" ;;
esac
[ "$CHANGES" -ge 1000 ] && [ "$CHANGES" -le 500000 ] ||
        die "changes must be 1000..500000"

WORK=$(mktemp -d /tmp/crmsync-bench-e2e.XXXXXX)
BROKER_PID=
cleanup() {
        if [ -n "$BROKER_PID" ]; then
                kill "$BROKER_PID" 2>/dev/null || true
                wait "$BROKER_PID" 2>/dev/null || true
        fi
        rm -rf "$WORK"
}
trap cleanup EXIT

now_s() { python3 -c 'import time; print("%.6f" % time.monotonic())'; }

# ---- end to end ----------------------------------------------------------
cat >"$WORK/scenario.json" <<EOF
{
  "name": "bench-e2e",
  "description": "bench_e2e.sh: $CHANGES changes committed at once, drained end to end.",
  "seed": $SEED,
  "workload": { "accounts": $ACCOUNTS, "contacts_per_account": 2,
                "changes": $CHANGES, "rate_per_s": 1000000 },
  "settle_s": 20,
  "timeout_s": 900,
  "expect": { "converge_within_s": 600 }
}
EOF
echo "bench_e2e: e2e run of $CHANGES changes ($ACCOUNTS accounts)..." >&2
rc=0
"$BIN" run "$WORK/scenario.json" --runs-dir "$WORK/runs" --quiet \
        >"$WORK/run.out" 2>"$WORK/run.err" || rc=$?
SUMMARY=$(ls -td "$WORK"/runs/*/summary.json 2>/dev/null | head -1)
[ -n "$SUMMARY" ] || { tail -20 "$WORK/run.err" >&2; die "no summary.json"; }
[ $rc -eq 0 ] || { cat "$WORK/run.out" >&2; die "the e2e run did not pass (exit $rc)"; }

read -r E2E_N E2E_S AVG_BYTES RUN_S <<<"$(python3 - "$SUMMARY" <<'PY'
import json, os, sys
d = json.load(open(sys.argv[1]))
hist = os.path.join(os.path.dirname(sys.argv[1]), "history.jsonl")
first_serve = last_apply = None
for line in open(hist):
    h = json.loads(line)
    k = h.get("kind")
    if k == "crm_serve" and first_serve is None:
        first_serve = h["wall_ms"]
    elif k == "sink_apply":
        last_apply = h["wall_ms"]
lat = d["timing"]["apply_latency"]
# Commit of the first change ~ its first serve minus its latency budget:
# every change is committed within the first 0.1 s, so take the first
# commit as (last apply - max commit-to-apply latency).
first_commit = last_apply - lat["max"]
n = d["workload"]["events_committed"]
log = d["log"]
avg = log["bytes"] / max(1, log["records_read"])
print(n, "%.3f" % ((last_apply - first_commit) / 1000.0), int(avg),
      d["timing"]["run_s"])
PY
)"
E2E_RATE=$(python3 -c "print('%.0f' % ($E2E_N / $E2E_S))")
echo "bench_e2e: e2e $E2E_N changes in $E2E_S s (run $RUN_S s): $E2E_RATE events/s" >&2

# ---- raw transport ---------------------------------------------------------
"$BIN" broker --brokers 3 --partitions 12 --topic bench.raw \
        >"$WORK/broker.out" 2>"$WORK/broker.err" &
BROKER_PID=$!
BOOT=
for _ in $(seq 1 100); do
        BOOT=$(sed -n 's/^bootstrap.servers=//p' "$WORK/broker.out")
        [ -n "$BOOT" ] && grep -q '^topic=crmsync.connector.offsets' "$WORK/broker.out" && break
        kill -0 "$BROKER_PID" 2>/dev/null || die "broker exited: $(cat "$WORK/broker.err")"
        sleep 0.1
done
[ -n "$BOOT" ] || die "broker printed no bootstrap.servers"

# N lines "key<TAB>value", value a JSON object of the average record size.
python3 - "$E2E_N" "$AVG_BYTES" "$ACCOUNTS" >"$WORK/payloads.txt" <<'PY'
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
T0=$(now_s)
kcat -P -b "$BOOT" -t bench.raw -K $'\t' -X linger.ms=20 -X acks=all \
        -X enable.idempotence=true <"$WORK/payloads.txt" 2>"$WORK/kcat-p.err" ||
        die "kcat -P failed: $(tail -3 "$WORK/kcat-p.err")"
T1=$(now_s)
GOT=$(timeout 300 kcat -C -b "$BOOT" -t bench.raw -o beginning -e -q \
        -c "$E2E_N" -f '%s\n' 2>"$WORK/kcat-c.err" | wc -l)
T2=$(now_s)
[ "$GOT" -eq "$E2E_N" ] || die "kcat -C read $GOT of $E2E_N"

python3 - "$E2E_N" "$E2E_S" "$T0" "$T1" "$T2" "$AVG_BYTES" <<'PY'
import sys
n, e2e_s, t0, t1, t2, size = (float(x) for x in sys.argv[1:])
p, c = t1 - t0, t2 - t1
e2e = n / e2e_s
raw = n / (p + c)
print("payload        %d bytes average (value + key), %d records" % (size, n))
print("e2e            %8.0f events/s  (%.2f s, CRM commit to sink apply, checker on)" % (e2e, e2e_s))
print("raw produce    %8.0f events/s  (%.2f s, kcat -P, acks=all, idempotent)" % (n / p, p))
print("raw consume    %8.0f events/s  (%.2f s, kcat -C)" % (n / c, c))
print("raw round trip %8.0f events/s  (produce + consume)" % raw)
print("ratio e2e/raw  %8.3f  (target >= 0.10)" % (e2e / raw))
PY
