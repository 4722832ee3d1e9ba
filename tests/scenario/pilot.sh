#!/usr/bin/env bash
# pilot.sh -- the CI pilot: `crmsync pilot` between an embedded 1-broker
# target and an embedded 3-broker target runs the pilot scenarios on both
# (and shadow mode with no planted difference: the sinks must agree),
# exits 0 and writes report.md and report.html with all six scorecard
# lines filled (A, B, ratio, better, links to run folders that exist) and
# the runbook. It runs the small test copies of scenarios/pilot
# (tests/scenarios/pilot/: the same seven steps, 600 changes each) with
# --jobs 4 (the two targets side by side, two runs of each at a time:
# the runs mostly wait, on group joins and the CRM clock): about a minute.
set -u
BIN=$1; SRC=$2
. "$SRC/tests/scenario/lib.sh"
RUNS=$(mktemp -d /tmp/crmsync-test.XXXXXX)
trap 'rm -rf "$RUNS"' EXIT
FAILED=0

"$BIN" pilot --target "$SRC/docs/targets/embedded-1.json" \
        --target "$SRC/docs/targets/embedded-3.json" --shadow \
        --capacity-file "$SRC/tests/fixtures/capacity/example.json" \
        --jobs 4 --runs-dir "$RUNS" "$SRC/tests/scenarios/pilot" \
        >"$RUNS/out.txt" 2>"$RUNS/err.txt"
RC=$?
check "pilot: exit 0 (got $RC; $(tail -c 400 "$RUNS/err.txt"))" "$([ $RC -eq 0 ] && echo True)"
# On a failure, say which run failed and why (the folder goes with the
# test): each run's verdict and its failed checks, and the pilot's output.
if [ $RC -ne 0 ]; then
        grep -v '^\[' "$RUNS/err.txt" | tail -20
        cat "$RUNS/out.txt"
        for s in "$RUNS"/pilot-*/*/*/summary.json "$RUNS"/pilot-*/*/*/*/summary.json; do
                [ -f "$s" ] || continue
                python3 - "$s" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
if d.get("verdict") != "pass":
    print("run", sys.argv[1], "verdict", d.get("verdict"),
          json.dumps({k: d[k] for k in ("reason", "error", "failures", "anomalies", "expect") if k in d})[:1500])
PY
        done
fi
DIR=$(ls -d "$RUNS"/pilot-*/ 2>/dev/null | head -1)
[ -n "$DIR" ] || { cat "$RUNS/out.txt" "$RUNS/err.txt"; exit 1; }
MD="$DIR/report.md"
check "pilot: report.md, report.html, pilot.json, both probes" "$(for f in report.md report.html pilot.json probe-A.md probe-B.json; do [ -s "$DIR/$f" ] || exit; done; echo True)"
check "pilot: prints where the report is" "$(grep -q "^pilot PASS: .*/report.md" "$RUNS/out.txt" && echo True)"
n=1
for line in Compatibility Elasticity Cost Governance Recovery Migration; do
        check "pilot: line $n. $line in report.md" "$(grep -qx "### $n. $line" "$MD" && echo True)"
        check "pilot: line $line in report.html" "$(grep -q "<h3>$n. $line</h3>" "$DIR/report.html" && echo True)"
        rows=$(awk -v h="### $n. $line" '$0==h{on=1;next} /^### /{on=0} on && /^\| [^f-]/' "$MD" | grep -vc '^| figure')
        check "pilot: line $line has rows ($rows)" "$([ "$rows" -ge 1 ] && echo True)"
        n=$((n + 1))
done
check "pilot: Cost gives the capacity model's monthly figures for both targets" "$(grep -q '^| shared-nothing, steady state | [0-9.]* EXAMPLE/month | [0-9.]* EXAMPLE/month |' "$MD" && grep -q '^| shared storage, steady state | [0-9.]* EXAMPLE/month | [0-9.]* EXAMPLE/month |' "$MD" && grep -q '^| shared-nothing, failure window | [0-9.]* EXAMPLE | [0-9.]* EXAMPLE |' "$MD" && echo True)"
check "pilot: pilot.json has each target's measured load and cost with formulas" "$(jget "$DIR/pilot.json" "all(t['measured']['rate_per_s'] > 0 and t['measured']['record_bytes'] > 0 and t['measured']['window_records'] > 0 and t['cost']['shared_nothing']['total_month']['value'] > 0 and t['cost']['shared_storage']['total_month']['formula'] for t in d['capacity']['targets'])")"
check "pilot: the probe table (CreateTopics unsupported on both)" "$(grep -q '^| CreateTopics | unsupported | unsupported |' "$MD" && echo True)"
check "pilot: Elasticity has the catch-up, replay and broker restart figures" "$(grep -q '^| catch-up after connector downtime | [0-9.]* s | [0-9.]* s | [0-9.]* |' "$MD" && grep -q '^| replay rate (offset range) | [0-9]* events/s' "$MD" && grep -q '^| convergence after the broker restart | [0-9.]* s' "$MD" && echo True)"
check "pilot: Governance says whether deletes reach the sink" "$(grep -q '^| deletes reach the sink | yes: 0 zombie records in 7 runs | yes: 0 zombie records in 7 runs |' "$MD" && echo True)"
check "pilot: Recovery has the bounded replay result and the current sinks" "$(grep -q '^| bounded-domain replay | matches the CRM' "$MD" && grep -q '^| sink current (mirrored stream) | current: p0 [0-9]* (end [0-9]*), p1 [0-9]* (end [0-9]*), p2 [0-9]* (end [0-9]*), p3 [0-9]* (end [0-9]*) | current: p0 ' "$MD" && grep -q '^| sinks current (every run) | 7 of 7 sinks current | 7 of 7 sinks current |' "$MD" && echo True)"
check "pilot: each run's summary has the log end and the sink's highest applied offset per partition" "$(jget "$DIR/pilot.json" "all(r['offsets']['current'] and len(r['offsets']['partitions']) == 4 and all(p['highest_applied'] == p['log_end'] - 1 for p in r['offsets']['partitions']) for t in d['targets'] for r in t['runs'])")"
check "pilot: Recovery has the DLQ drain: what 07 dead-lettered, read back with its time" "$(grep -q '^| DLQ drain | crm.changes.dlq: [1-9][0-9]* records read back in [0-9.]* s ([1-9][0-9]* dead-lettered seen by the judge) | crm.changes.dlq: [1-9]' "$MD" && grep -q '^| DLQ drain time | [0-9.]* s | [0-9.]* s |' "$MD" && echo True)"
check "pilot: the DLQ drain counts what the run dead-lettered, and an empty DLQ where nothing was" "$(jget "$DIR/pilot.json" "all(r['dlq_drain']['complete'] and r['dlq_drain']['records'] == r['dlq_drain']['dead_lettered'] and (r['dlq_drain']['records'] > 0) == r['scenario'].startswith('07-') for t in d['targets'] for r in t['runs'])")"
check "pilot: Recovery has the DLQ, drained by re-reads on both" "$(grep -q '^| DLQ: dead-lettered records covered | [1-9][0-9]* dead-lettered, each covered by a re-read: run pass (0 missing) | [1-9][0-9]* dead-lettered, each covered' "$MD" && echo True)"
check "pilot: Migration has the shadow result with no divergence" "$(grep -q '^| shadow: records that differ between the sinks | 0 | 0 |' "$MD" && grep -q 'Records that differ between the two sinks: 0' "$DIR/shadow.md" && echo True)"
check "pilot: the runbook's three parts" "$(grep -qx '### What changed' "$MD" && grep -qx '### What stayed the same' "$MD" && grep -qx '### Failure modes easier to explain' "$MD" && echo True)"
check "pilot: the side-by-side table of crmsync compare" "$(grep -q '^| scenario | figure | unit | A: embedded-1-broker | B: embedded-3-brokers | ratio |' "$MD" && echo True)"
# Every run-folder link of the report resolves to a run with a summary.
links=$(grep -o '](A/[^)]*)\|](B/[^)]*)' "$MD" | sed 's/^](//; s/)$//' | sort -u)
missing=$(for l in $links; do [ -s "$DIR/$l/summary.json" ] || echo "$l"; done)
check "pilot: $(echo "$links" | wc -l) run links, each to a run folder${missing:+ (missing: $missing)}" "$([ -n "$links" ] && [ -z "$missing" ] && echo True)"
check "pilot: the same seed on both targets (commit logs equal)" "$(python3 - "$DIR/pilot.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
a = {r['scenario']: r['workload']['commit_log_sha256'] for r in p['targets'][0]['runs']}
b = {r['scenario']: r['workload']['commit_log_sha256'] for r in p['targets'][1]['runs']}
print(len(a) == 7 and a == b)
PY
)"
# A bad capacity file is refused before anything runs: file:line:col.
printf '{"replication_factor": 3,}' >"$RUNS/bad-capacity.json"
"$BIN" pilot --target "$SRC/docs/targets/embedded-1.json" \
        --target "$SRC/docs/targets/embedded-3.json" \
        --capacity-file "$RUNS/bad-capacity.json" --runs-dir "$RUNS/bad" \
        "$SRC/scenarios/pilot" >"$RUNS/bad.txt" 2>&1
RC=$?
check "pilot: a bad capacity file exits 2 naming file:line:col (got $RC)" "$([ $RC -eq 2 ] && grep -q "bad-capacity.json:1:[0-9]*:" "$RUNS/bad.txt" && [ ! -d "$RUNS/bad" ] && echo True)"
exit $FAILED
