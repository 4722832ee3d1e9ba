#!/usr/bin/env bash
# capacity.sh -- `crmsync capacity` on a small workload whose capacity the
# CRM's answer time sets (tests/scenarios/capacity-small.json, ~1000
# changes/s): 3 rates with --find-max, 2 downtimes, 3 preloaded histories,
# a small production extrapolation and the cost model. It must finish
# within 4 minutes and write the three charts and capacity.json holding
# the figures; the catch-up model must predict the longer downtime's drain
# time within 25%; the --find-max bracket's pass rate met the SLO and its
# fail rate did not. It times itself: it holds ctest's "cpu" lock
# (tests/CMakeLists.txt). Bad input, --budget-s, --preload and --stop:
# tests/scenario/capacity_options.sh.
set -u
BIN=$1; SRC=$2
. "$SRC/tests/scenario/lib.sh"
RUNS=$(mktemp -d /tmp/crmsync-test.XXXXXX)
trap 'rm -rf "$RUNS"' EXIT
FAILED=0

START=$(date +%s)
"$BIN" capacity "$SRC/tests/scenarios/capacity-small.json" --runs-dir "$RUNS" \
        --rates 100,400,2000 --run-s 3 --slo-p99-ms 1000 --find-max \
        --search-runs 1 --downtime-s 4,8 --catch-up-rate 400 \
        --history 4000,12000,24000 --production rate_per_s=200,days=30 \
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

# The replay fit: on a busy machine one history point's drain once took
# ~0.5 s more than its size explains (0.58 s for 4000 changes, 0.19 s for
# 12000), and the pipeline fit fell (the broker's once too: 49 ms for 4000,
# 6 ms for 12000). A fit that does not rise gets one
# more history-only run (~15 s) and that run's fit is checked, as strictly:
# noise seldom strikes twice, a wrong fit would fall again.
HDIR=$DIR
rises() { # the checks below: the pipeline fit rises; the broker's too
        # unless every broker drain is under 20 ms
        python3 -c "
import json, sys
h = json.load(open(sys.argv[1]))['history']
bs = [p['broker']['seconds'] for p in h['points']]
sys.exit(not (h['fit']['pipeline']['slope_s_per_change'] > 0 and
              (h['fit']['broker']['slope_s_per_change'] > 0 or max(bs) < 0.02)))" "$1"
}
if ! rises "$DIR/capacity.json"; then
        echo "note: a replay fit did not rise: the history points once more"
        grep 'history [0-9]*:' "$RUNS/err"
        "$BIN" capacity "$SRC/tests/scenarios/capacity-small.json" \
                --runs-dir "$RUNS/hist2" --history 4000,12000,24000 \
                --production rate_per_s=200,days=30 \
                --capacity-file "$SRC/tests/fixtures/capacity/example.json" \
                > /dev/null 2> "$RUNS/hist2.err"
        grep 'history [0-9]*:' "$RUNS/hist2.err"
        HDIR=$(ls -d "$RUNS"/hist2/capacity-* 2>/dev/null | head -1)
fi

# The catch-up model the same way: once, on a machine at load 7, the 8 s
# downtime's drain took 8.65 s against 5.4 s in other runs (predicted
# 4.63 s, error 47%). A prediction off by more than 25% gets one more
# catch-up-only run (~60 s), checked as strictly.
CDIR=$DIR
if ! python3 -c "import json, sys; sys.exit(json.load(open(sys.argv[1]))['catch_up']['prediction']['error'] > 0.25)" "$DIR/capacity.json"; then
        echo "note: the catch-up prediction missed by more than 25%: the downtimes once more"
        grep -E 'down [0-9]+ s at|catch-up model' "$RUNS/err"
        "$BIN" capacity "$SRC/tests/scenarios/capacity-small.json" \
                --runs-dir "$RUNS/cu2" --downtime-s 4,8 --catch-up-rate 400 \
                > /dev/null 2> "$RUNS/cu2.err"
        grep -E 'down [0-9]+ s at|catch-up model' "$RUNS/cu2.err"
        CDIR=$(ls -d "$RUNS"/cu2/capacity-* 2>/dev/null | head -1)
fi

python3 - "$DIR" "$HDIR" "$CDIR" <<'PY' || FAILED=1
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
cu = json.load(open(sys.argv[3] + "/capacity.json"))["catch_up"]
cmd = open(sys.argv[3] + "/report.md").read()
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
       "%.2f s" % (pr["predicted_s"], pr["measured_s"])) in cmd)

# History: three preloaded replays judged against the oracle, the fit,
# the production extrapolation and retention.
hc = json.load(open(sys.argv[2] + "/capacity.json"))
h = hc["history"]
check("3 preloaded histories rebuilt the CRM's state",
      h["preload"] and len(h["points"]) == 3 and
      all(p["measured"] and p["matches_oracle"] and p["complete"] and
          p["records"] == p["changes"] for p in h["points"]))
# Histories of 4000-24000 changes: the pipeline's replay drains them in
# 0.1-0.3 s (with 1000-4000, 0.08-0.3 s: a 0.2 s hiccup on a busy machine
# gave a negative slope). The broker-level drains take a few ms: when all
# are under 20 ms, scheduling noise outweighs the slope (once -5.7e-7
# s/change, R^2 0.57), and only the fit itself is checked.
bs = [p["broker"]["seconds"] for p in h["points"]]
for lvl in ("pipeline", "broker"):
    f = h["fit"][lvl]
    rises = f["slope_s_per_change"] > 0 or (lvl == "broker" and
                                            max(bs) < 0.02)
    check("%s fit: slope > 0%s, R^2 in [0, 1] (%s)" %
          (lvl, " (or every drain under 20 ms: %s)" % bs
           if lvl == "broker" else "", f),
          rises and 0 <= f["r2"] <= 1 and f["points"] == 3)
p = hc["production"]
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
