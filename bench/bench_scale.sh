#!/usr/bin/env bash
# bench_scale.sh -- one large run with a replay phase on the embedded
# broker (issue 10 item 5): does it complete and pass, how much memory
# does the harness process take, and how many bytes a change does its
# history take on disk.
#
# The scenario: CHANGES changes (default 1,000,000) committed at once,
# ACCOUNTS accounts, the embedded broker 3 x PARTITIONS (default: one
# partition per 8,000 changes, at least 12: librdkafka's mock keeps at
# most 5 MiB a partition, ~12,000 records of ~415 bytes), then a replay
# from the earliest offset. The run writes history.jsonl.gz
# (--compress-history). Prints, from the run's summary.json and folder:
#   the verdict and wall time; the replay's events/s (pipeline level,
#   join apart) and the broker-level drain;
#   harness peak RSS (summary resources.harness_peak_rss_kib: the one
#   process that holds the mock CRM, the sink, the embedded broker and
#   the judge) against the bound of 1 GiB;
#   history.jsonl.gz bytes a change against the bound of 100, and the
#   profiler's lineage file (profiler-reads.tsv, written by the pipeline)
#   apart;
#   that `crmsync trace` reads the compressed history.
# No ratio is formed here, so nothing alternates: one run.
#
# usage: bench/bench_scale.sh [build-dir] [changes]
# env:   ACCOUNTS (changes / 20), PARTITIONS, SEED (42), KEEP=1 keeps the run,
#        COMPRESSION (lz4: the producers' compression.type, set in the
#        embedded target file; none to turn it off)
set -euo pipefail

BUILD=${1:-build}
CHANGES=${2:-1000000}
BIN=$BUILD/crmsync
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d /tmp/crmsync-bench-scale.XXXXXX)
# shellcheck source=lib_bench.sh
. "$HERE/lib_bench.sh"
case $CHANGES in '' | *[!0-9]*) die "changes must be a whole number" ;; esac
[ "$CHANGES" -ge 10000 ] && [ "$CHANGES" -le 2000000 ] || die "changes must be 10000..2000000"
ACCOUNTS=${ACCOUNTS:-$((CHANGES / 20))}
PARTITIONS=${PARTITIONS:-$(((CHANGES + 7999) / 8000))}
[ "$PARTITIONS" -ge 12 ] || PARTITIONS=12
SEED=${SEED:-42}
[ -x "$BIN" ] || die "$BIN not found (build first)"
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$WORK"' EXIT

# The producers compress (lz4): the embedded broker keeps the record
# batches as sent, so this is what it holds in the harness's memory.
COMPRESSION=${COMPRESSION:-lz4}
cat >"$WORK/target.json" <<JSON
{ "name": "embedded-scale", "type": "embedded", "brokers": 3,
  "partitions": $PARTITIONS,
  "properties": { "compression.type": "$COMPRESSION" } }
JSON
cat >"$WORK/scale.json" <<JSON
{
  "name": "bench-scale",
  "description": "bench_scale.sh: $CHANGES changes committed at once, drained end to end, then replayed from the earliest offset.",
  "seed": $SEED,
  "workload": { "accounts": $ACCOUNTS, "contacts_per_account": 2,
                "changes": $CHANGES, "rate_per_s": 1000000 },
  "target": { "file": "target.json" },
  "replay": { "from": "earliest" },
  "settle_s": 20,
  "timeout_s": 3600,
  "expect": { "converge_within_s": 3000 }
}
JSON
echo "bench_scale: $CHANGES changes, $ACCOUNTS accounts, 3 x $PARTITIONS partitions, seed $SEED, compression.type $COMPRESSION"
t0=$(now_s)
rc=0
"$BIN" run "$WORK/scale.json" --runs-dir "$WORK/runs" --compress-history \
        --progress-every 30 >"$WORK/run.out" 2>"$WORK/run.err" || rc=$?
t1=$(now_s)
SUMMARY=$(ls -td "$WORK/runs"/*/summary.json 2>/dev/null | head -1)
[ -n "$SUMMARY" ] || { tail -20 "$WORK/run.err" >&2; die "no summary.json"; }
DIR=$(dirname "$SUMMARY")
trace_ok=no
"$BIN" trace "$DIR" --event e-00000001 >"$WORK/trace.txt" 2>&1 &&
        grep -q "committed" "$WORK/trace.txt" && trace_ok=yes
python3 - "$SUMMARY" "$DIR" "$rc" "$t0" "$t1" "$trace_ok" <<'PY'
import json, os, sys
s, d, rc, t0, t1, trace_ok = sys.argv[1:7]
j = json.load(open(s))
n = j["workload"]["events_committed"]
res = j.get("resources") or {}
rss = res.get("harness_peak_rss_kib", 0)
h = os.path.getsize(os.path.join(d, "history.jsonl.gz"))
reads = os.path.join(d, "profiler-reads.tsv")
r = os.path.getsize(reads) if os.path.exists(reads) else 0
rp = j["timing"].get("replay") or {}
b = rp.get("broker") or {}
def met(ok): return "met" if ok else "NOT met"
print(f"verdict          {j['verdict']} (exit {rc}), {n} changes, wall {float(t1)-float(t0):.1f} s")
print(f"replay           {rp.get('events', 0)} events, join {rp.get('join_s', 0):.2f} s, "
      f"drain {rp.get('drain_events_per_s', 0):,.0f} events/s; broker level {b.get('events_per_s', 0):,.0f} events/s")
print(f"harness RSS      {rss / 1024:,.0f} MiB peak (bound 1024 MiB: {met(rss <= 1024 * 1024)}); "
      f"pipeline children peak {res.get('children_peak_rss_kib', 0) / 1024:,.0f} MiB")
print(f"history on disk  {h:,} bytes history.jsonl.gz = {h / n:.1f} bytes a change (bound 100: {met(h / n <= 100)})")
print(f"lineage file     {r:,} bytes profiler-reads.tsv = {r / n:.1f} bytes a change (the pipeline's; reads of the run and the replay)")
print(f"trace            {'reads history.jsonl.gz' if trace_ok == 'yes' else 'FAILED on the compressed history'}")
PY
[ "${KEEP:-0}" = 1 ] && echo "kept: $DIR"
exit "$rc"
