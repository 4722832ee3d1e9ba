#!/usr/bin/env bash
# capacity.sh -- `crmsync capacity` on a small workload whose capacity the
# CRM's answer time sets (tests/scenarios/capacity-small.json, ~1000
# changes/s): 3 rates with --find-max, 2 downtimes, 3 preloaded histories,
# a small production extrapolation and the cost model. It must finish
# within 4 minutes and write the three charts and capacity.json holding
# the figures; the catch-up model must predict the longer downtime's drain
# time within 25%; the --find-max bracket's pass rate met the SLO and its
# fail rate did not. Bad input exits 2 before any run. Also: a preloaded
# replay by a profiler that ignores deletes fails its oracle, and
# --stop profiler pauses the profiler instead of the connector.
set -u
BIN=$1; SRC=$2
. "$SRC/tests/scenario/lib.sh"
RUNS=$(mktemp -d /tmp/crmsync-test.XXXXXX)
trap 'rm -rf "$RUNS"' EXIT
FAILED=0

# Bad input first (instant): a capacity file with an unknown field, and
# --find-max without an SLO.
printf '{"replication_factor": 3,\n "zonez": 3}\n' > "$RUNS/bad-cap.json"
"$BIN" capacity "$SRC/tests/scenarios/capacity-small.json" --runs-dir "$RUNS" \
        --rates 100 --capacity-file "$RUNS/bad-cap.json" 2> "$RUNS/bad1.err"
RC=$?
check "bad capacity file: exit 2 with file:line:col and field ($(cat "$RUNS/bad1.err"))" \
        "$([ $RC -eq 2 ] && grep -qF "$RUNS/bad-cap.json:2:2: zonez: unknown field" "$RUNS/bad1.err" && echo True)"
"$BIN" capacity "$SRC/tests/scenarios/capacity-small.json" --runs-dir "$RUNS" \
        --rates 100 --find-max 2> "$RUNS/bad2.err"
RC=$?
check "--find-max without --slo-p99-ms: exit 2" \
        "$([ $RC -eq 2 ] && grep -q "needs --slo-p99-ms" "$RUNS/bad2.err" && echo True)"
check "no capacity folder for bad input" \
        "$([ -z "$(ls -d "$RUNS"/capacity-* 2>/dev/null)" ] && echo True)"

# --budget-s: a point that would not end within the budget is skipped
# (exit 1), named in the report with the reason; the report is written.
"$BIN" capacity "$SRC/tests/scenarios/capacity-small.json" --runs-dir "$RUNS/budget" \
        --rates 100 --budget-s 5 > /dev/null 2> "$RUNS/budget.err"
RC=$?
BDIR=$(ls -d "$RUNS"/budget/capacity-* 2>/dev/null | head -1)
check "--budget-s 5: the rate point (about 20 s) is skipped (exit 1), the report says why" \
        "$([ $RC -eq 1 ] && [ -z "$(ls "$BDIR/runs")" ] && grep -q "Skipped: capacity-small-rate-100: needs about" "$BDIR/report.md" && echo True)"

# --preload judges the replay like any other: a profiler that ignores
# deletes rebuilds zombies (exit 1, the oracle not matched); without a
# replay phase --preload is refused (exit 2).
python3 - "$SRC" "$RUNS" <<'PY'
import json, sys
s = json.load(open(sys.argv[1] + "/tests/scenarios/capacity-small.json"))
s["name"] = "preload-bug"
s["workload"]["changes"] = 1500
s["replay"] = {"clear_sink": True}
s["pipeline"]["profiler"] = {"bugs": ["ignore-deletes"]}
json.dump(s, open(sys.argv[2] + "/preload-bug.json", "w"))
del s["replay"]
s["name"] = "preload-norep"
json.dump(s, open(sys.argv[2] + "/preload-norep.json", "w"))
PY
mkdir -p "$RUNS/pre"
run_scenario "$BIN" "$RUNS/preload-bug.json" "$RUNS/pre" --preload
check "preload with ignore-deletes: exit 1, the replay does not match the oracle" \
        "$([ $RC -eq 1 ] && [ "$(jget "$SUMMARY" "d['timing']['replay']['matches_oracle']")" = False ] && echo True)"
check "preload verdict: a preload line instead of freshness" \
        "$(grep -q '^preload    [0-9]* records produced straight to the topic' "$RUNS/pre/stdout.txt" && ! grep -q '^freshness' "$RUNS/pre/stdout.txt" && echo True)"
"$BIN" run --preload --quiet --runs-dir "$RUNS/pre" "$RUNS/preload-norep.json" 2> "$RUNS/norep.err"
RC=$?
check "preload without a replay phase: exit 2" \
        "$([ $RC -eq 2 ] && grep -q "needs a scenario with a replay phase" "$RUNS/norep.err" && echo True)"

# Through capacity: the history point did not rebuild the CRM's state, so
# it is not measured, left out of the fit, and the exit code is 1.
"$BIN" capacity "$RUNS/preload-bug.json" --runs-dir "$RUNS/bugcap" \
        --history 1500 > /dev/null 2> "$RUNS/bugcap.err"
RC=$?
GDIR=$(ls -d "$RUNS"/bugcap/capacity-* 2>/dev/null | head -1)
check "capacity --history with a buggy replay: exit 1, point not measured, report says NO" \
        "$([ $RC -eq 1 ] && grep -q "did NOT rebuild" "$RUNS/bugcap.err" && grep -q '| 1500 | 1500 |.*| NO |' "$GDIR/report.md" && python3 -c "
import json, sys
h = json.load(open('$GDIR/capacity.json'))['history']
sys.exit(not (h['points'][0]['measured'] is False and h['fit']['pipeline'] is None))" && echo True)"

# The profiler stopped instead of the connector.
"$BIN" capacity "$SRC/tests/scenarios/capacity-small.json" --runs-dir "$RUNS/stop" \
        --downtime-s 2 --catch-up-rate 400 --stop profiler > /dev/null 2> "$RUNS/stop.err"
RC=$?
SDIR=$(ls -d "$RUNS"/stop/capacity-* 2>/dev/null | head -1)
check "--stop profiler: exit 0, a profiler_pause, backlog drained" \
        "$([ $RC -eq 0 ] && grep -q profiler_pause "$SDIR"/scenarios/*.json && python3 -c "
import json, sys
c = json.load(open('$SDIR/capacity.json'))['catch_up']
p = c['points'][0]
sys.exit(not (c['stopped'] == 'profiler' and p['measured'] and p['backlog'] > 0 and p['drain_s'] > 0))" && echo True)"

START=$(date +%s)
"$BIN" capacity "$SRC/tests/scenarios/capacity-small.json" --runs-dir "$RUNS" \
        --rates 100,400,2000 --run-s 3 --slo-p99-ms 1000 --find-max \
        --search-runs 1 --downtime-s 4,8 --catch-up-rate 400 \
        --history 1000,2000,4000 --production rate_per_s=200,days=30 \
        --capacity-file "$SRC/tests/fixtures/capacity/example.json" \
        --budget-s 230 > "$RUNS/out" 2> "$RUNS/err"
RC=$?
ELAPSED=$(( $(date +%s) - START ))
cat "$RUNS/err"
check "capacity: exit 0 (got $RC)" "$([ $RC -eq 0 ] && echo True)"
check "capacity: finished within 4 minutes (${ELAPSED} s)" \
        "$([ "$ELAPSED" -le 240 ] && echo True)"
DIR=$(ls -d "$RUNS"/capacity-capacity-small-* 2>/dev/null | head -1)
for f in capacity.json report.md report.html rate-p99.svg catch-up.svg \
         replay-history.svg; do
        check "capacity folder has $f" "$([ -s "$DIR/$f" ] && echo True)"
done
check "progress lines on stderr" \
        "$(grep -q 'find-max: bracket' "$RUNS/err" && grep -q 'catch-up model' "$RUNS/err" && echo True)"

python3 - "$DIR" <<'PY' || FAILED=1
import json, math, re, sys
d = sys.argv[1]
c = json.load(open(d + "/capacity.json"))
md = open(d + "/report.md").read()
html = open(d + "/report.html").read()
bad = 0
def check(what, ok):
    global bad
    print(("ok: " if ok else "FAIL: ") + what)
    if not ok:
        bad = 1
def n(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool)

# Rate sweep: every rate measured with its steady-state figures.
pts = c["rate_sweep"]["points"]
swept = [p for p in pts if not p.get("search")]
check("3 swept rates, each measured",
      len(swept) == 3 and all(p["measured"] for p in swept))
for p in swept:
    f = p["freshness_ms"]
    check("rate %g: p50 <= p95 <= p99 (%s %s %s), peak lag, applies/s" %
          (p["rate_per_s"], f["p50"], f["p95"], f["p99"]),
          n(f["p50"]) and n(f["p95"]) and n(f["p99"]) and
          f["p50"] <= f["p95"] <= f["p99"] and
          n(p["peak_lag"]["age_ms"]) and n(p["applies_per_s"]) and
          f["count"] > 0)
fm = c["rate_sweep"]["find_max"]
byrate = {p["rate_per_s"]: p for p in pts if p["measured"]}
ok = fm["bracketed"] and fm["pass_rate_per_s"] < fm["fail_rate_per_s"]
if ok:
    pp, fp = byrate[fm["pass_rate_per_s"]], byrate[fm["fail_rate_per_s"]]
    ok = (pp["slo_met"] and pp["freshness_ms"]["p99"] <= 1000 and
          not fp["slo_met"] and
          (fp["freshness_ms"]["p99"] is None or
           fp["freshness_ms"]["p99"] > 1000) and
          fm["search_runs"] <= fm["search_runs_max"])
check("find-max bracket [%s, %s]: pass met the SLO, fail did not" %
      (fm["pass_rate_per_s"], fm["fail_rate_per_s"]), ok)
check("report shows the bracket",
      "--find-max: bracket [%.0f, %.0f]" % (fm["pass_rate_per_s"] or 0,
                                           fm["fail_rate_per_s"] or 0) in md)

# Catch-up: both downtimes measured, the model within 25%, both shown.
cu = c["catch_up"]
check("catch-up stopped the connector", cu["stopped"] == "connector")
check("2 downtimes measured with a backlog and a drain",
      len(cu["points"]) == 2 and all(
          p["measured"] and p["backlog"] > 0 and p["drain_s"] > 0 and
          p["drain_events_per_s"] > p["commit_rate_per_s"]
          for p in cu["points"]))
pr = cu["prediction"]
check("catch-up prediction of the 8 s drain from the 4 s one: predicted "
      "%.2f s, measured %.2f s, error %.0f%% <= 25%%" %
      (pr["predicted_s"], pr["measured_s"], 100 * pr["error"]),
      pr["from_down_s"] == 4 and pr["to_down_s"] == 8 and
      pr["error"] <= 0.25 and
      abs(pr["error"] - abs(pr["predicted_s"] - pr["measured_s"]) /
          pr["measured_s"]) < 1e-9)
check("report shows predicted and measured",
      ("model predicts the 8.0 s run's drain time as %.2f s; measured "
       "%.2f s" % (pr["predicted_s"], pr["measured_s"])) in md)

# History: three preloaded replays judged against the oracle, the fit,
# the production extrapolation and retention.
h = c["history"]
check("3 preloaded histories rebuilt the CRM's state",
      h["preload"] and len(h["points"]) == 3 and
      all(p["measured"] and p["matches_oracle"] and p["complete"] and
          p["records"] == p["changes"] for p in h["points"]))
for lvl in ("pipeline", "broker"):
    f = h["fit"][lvl]
    check("%s fit: slope > 0, R^2 in [0, 1] (%s)" % (lvl, f),
          f["slope_s_per_change"] > 0 and 0 <= f["r2"] <= 1 and
          f["points"] == 3)
p = c["production"]
check("production changes = 200 x 30 x 86400",
      p["changes"] == 200 * 30 * 86400)
pf = h["fit"]["pipeline"]
check("pipeline replay extrapolated from the fit",
      abs(p["pipeline_replay"]["seconds"] -
          (pf["slope_s_per_change"] * p["changes"] + pf["intercept_s"]))
      < 1e-6 * p["pipeline_replay"]["seconds"] and
      p["pipeline_replay"]["spread_s"] >= 0)
check("retention = changes x avg record bytes x RF 3",
      p["replication_factor"] == 3 and
      abs(p["retention_bytes"] - p["changes"] * p["avg_record_bytes"] * 3)
      < 1e-6 * p["retention_bytes"] and len(p["left_out"]) >= 3)

# Cost: both designs, each figure with its formula, from the file's
# prices.
co = c["cost"]
sn, ss = co["shared_nothing"], co["shared_storage"]
check("cost: broker disk = retained x RF",
      abs(sn["broker_disk_bytes"]["value"] -
          3 * sn["retained_bytes"]["value"]) < 1e-6 *
      sn["broker_disk_bytes"]["value"])
check("cost: every figure has a formula",
      all(v.get("formula") for v in list(sn.values()) + list(ss.values())
          if isinstance(v, dict)))
check("cost: window includes the production history",
      co["load"]["window_records"] >= p["changes"])

# Limits and charts.
lim = c["limits"]
check("limits: CPU peak measured, cap stated",
      n(lim["peak_machine_busy"]) and "partition_cap_hit" in lim and
      len(lim["real_cluster"]) >= 3)
check("report.md links the three charts",
      all("(%s)" % f in md for f in
          ("rate-p99.svg", "catch-up.svg", "replay-history.svg")))
check("report.html holds the three charts inline",
      all('id="%s"' % i in html for i in
          ("rate-p99", "catch-up", "replay-history")))
svg = open(d + "/rate-p99.svg").read()
check("rate chart: p99 series and the SLO line",
      'data-name="p99"' in svg and 'data-name="SLO p99"' in svg)
svg = open(d + "/replay-history.svg").read()
check("history chart: the fit",
      'data-name="pipeline fit"' in svg and 'data-name="broker fit"' in svg)
sys.exit(bad)
PY

exit $FAILED
