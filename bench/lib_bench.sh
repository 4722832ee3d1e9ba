# lib_bench.sh -- shared by the bench_*.sh scripts (sourced, not run).
# Needs BIN (the crmsync binary) and WORK (a scratch folder) set.

die() {
        echo "$(basename "$0"): $*" >&2
        exit 1
}

now_s() { python3 -c 'import time; print("%.6f" % time.monotonic())'; }

# bench_scenario FILE CHANGES ACCOUNTS SEED [EXTRA_JSON_MEMBERS]: a run whose
# whole workload is committed at once (rate_per_s 1e6), so the pipeline
# drains a backlog.
bench_scenario() {
        cat >"$1" <<EOF
{
  "name": "bench-e2e",
  "description": "$(basename "$0"): $2 changes committed at once, drained end to end.",
  "seed": $4,
  "workload": { "accounts": $3, "contacts_per_account": 2,
                "changes": $2, "rate_per_s": 1000000 },
  "settle_s": 20,
  "timeout_s": 900,
  "expect": { "converge_within_s": 600 }${5:+,
  $5}
}
EOF
}

# e2e_run SCENARIO TAG [crmsync run options...]: one run; it must pass.
# Prints "events seconds events_per_s avg_record_bytes" (avg 0 when the
# recording is off). The rate is the summary's timing.drain: first CRM
# commit to last sink write, from the sink's own apply log.
e2e_run() {
        local sc=$1 tag=$2 rc=0 summary
        shift 2
        rm -rf "$WORK/runs-$tag"
        "$BIN" run "$sc" --runs-dir "$WORK/runs-$tag" --quiet "$@" \
                >"$WORK/run-$tag.out" 2>"$WORK/run-$tag.err" || rc=$?
        summary=$(ls -td "$WORK/runs-$tag"/*/summary.json 2>/dev/null | head -1)
        [ -n "$summary" ] || { tail -20 "$WORK/run-$tag.err" >&2; die "$tag: no summary.json"; }
        [ $rc -eq 0 ] || { cat "$WORK/run-$tag.out" >&2; die "$tag: the run did not pass (exit $rc)"; }
        python3 - "$summary" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
dr = d["timing"]["drain"]
log = d.get("log") or {}
avg = log.get("bytes", 0) / max(1, log.get("records_read", 0) or 1)
print(dr["events"], "%.3f" % dr["seconds"], "%.0f" % dr["events_per_s"],
      int(avg))
PY
        rm -rf "$WORK/runs-$tag"
}

# stats LABEL UNIT V1 V2 ...: median and min-max of the values.
stats() {
        python3 - "$@" <<'PY'
import statistics, sys
label, unit = sys.argv[1], sys.argv[2]
v = [float(x) for x in sys.argv[3:]]
fmt = "%.3f" if max(v) < 10 else "%.0f"
print("%-22s median %s  min %s  max %s  %s  (n=%d: %s)" % (
    label, fmt % statistics.median(v), fmt % min(v), fmt % max(v), unit,
    len(v), " ".join(fmt % x for x in v)))
PY
}

# ratios A1 A2 ... -- B1 B2 ...: Ai / Bi, one per pair.
ratios() {
        python3 - "$@" <<'PY'
import sys
a = sys.argv[1:sys.argv.index("--")]
b = sys.argv[sys.argv.index("--") + 1:]
print(" ".join("%.4f" % (float(x) / float(y)) for x, y in zip(a, b)))
PY
}
