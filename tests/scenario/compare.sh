#!/usr/bin/env bash
# compare.sh -- `crmsync compare`: one small scenario on two embedded
# clusters of different shape (1 broker vs 3) gives a table with both
# columns and the ratios; the same scenario with a sink_slow fault is a
# regression `--baseline A --max-regression p99=20%` names (exit 1), A
# against itself is not (exit 0); bad input exits 2 and says which.
set -u
BIN=$1; SRC=$2
. "$SRC/tests/scenario/lib.sh"
RUNS=$(mktemp -d /tmp/crmsync-test.XXXXXX)
trap 'rm -rf "$RUNS"' EXIT
FAILED=0

# A: 1 broker; B: 3 brokers; C: A plus every sink request 1.5 s slower
# for 2 s (freshness p99 of A is well under 1 s: C's is several times it).
python3 - "$RUNS" <<'PY'
import json, sys
d = sys.argv[1]
a = {"name": "compare-small", "description": "compare.sh: small workload",
     "seed": 20261130,
     "workload": {"accounts": 100, "contacts_per_account": 1,
                  "changes": 1500, "rate_per_s": 500},
     "target": {"type": "embedded", "brokers": 1, "partitions": 4},
     "expect": {"converge_within_s": 30}}
json.dump(a, open(d + "/a.json", "w"), indent=1)
b = json.loads(json.dumps(a)); b["target"]["brokers"] = 3
json.dump(b, open(d + "/b.json", "w"), indent=1)
c = json.loads(json.dumps(a))
c["faults"] = [{"at_s": 0.5, "type": "sink_slow", "latency_ms": 1500,
                "duration_s": 2}]
json.dump(c, open(d + "/c.json", "w"), indent=1)
PY
for x in a b c; do
        mkdir -p "$RUNS/$x"
        run_scenario "$BIN" "$RUNS/$x.json" "$RUNS/$x"
        check "run $x: exit 0 (got $RC)" "$([ $RC -eq 0 ] && echo True)"
        eval "RUN_$x=\$(dirname \"\$SUMMARY\")"
done
A=$RUN_a; B=$RUN_b; C=$RUN_c
LA=$(basename "$A"); LB=$(basename "$B")

# 1. Two shapes side by side: both columns, a ratio column, figures.
"$BIN" compare "$A" "$B" --html "$RUNS/cmp.html" --out "$RUNS/out" \
        >"$RUNS/ab.md" 2>"$RUNS/ab.err"
RC=$?
check "compare A B: exit 0 (got $RC)" "$([ $RC -eq 0 ] && echo True)"
check "compare A B: header has both columns and a ratio" \
        "$(grep -qF "| figure | unit | $LA | $LB | ratio |" "$RUNS/ab.md" && echo True)"
check "compare A B: p99 row with two values and a ratio" \
        "$(grep -qE '^\| p99 \| ms \| [0-9]+ \| [0-9]+ \| [0-9.]+x \|$' "$RUNS/ab.md" && echo True)"
for f in verdict anomalies.missing anomalies.duplicate_side_effect p50 p95 \
         convergence catch_up replay drain; do
        check "compare A B: row $f" \
                "$(grep -qE "^\| $f \|" "$RUNS/ab.md" && echo True)"
done
P99A=$(jget "$A/summary.json" 'd["timing"]["freshness"]["p99"]')
P99B=$(jget "$B/summary.json" 'd["timing"]["freshness"]["p99"]')
RATIO=$(python3 -c "print('%.2fx' % ($P99B / $P99A))")
check "compare A B: p99 ratio is B/A from the summaries ($P99A, $P99B, $RATIO)" \
        "$(grep -qF "| p99 | ms | $P99A | $P99B | $RATIO |" "$RUNS/ab.md" && echo True)"
check "--html: a self-contained table with both columns" \
        "$(grep -q '<table>' "$RUNS/cmp.html" && grep -qF "$LB" "$RUNS/cmp.html" && ! grep -qE '(src|href)="(http|//)' "$RUNS/cmp.html" && echo True)"
check "--out: compare.md equals stdout, compare.html written" \
        "$(cmp -s "$RUNS/out/compare.md" "$RUNS/ab.md" && [ -s "$RUNS/out/compare.html" ] && echo True)"

# 2. The planted regression: C (sink_slow) against baseline A.
"$BIN" compare --baseline "$A" --max-regression p99=20% "$A" "$C" \
        >"$RUNS/ac.md" 2>"$RUNS/ac.err"
RC=$?
check "baseline A vs C (sink_slow), p99=20%: exit 1 (got $RC)" \
        "$([ $RC -eq 1 ] && echo True)"
check "baseline A vs C: names the p99 figure ($(head -1 "$RUNS/ac.err"))" \
        "$(grep -qE '^regression: p99: [0-9]+ ms -> [0-9]+ ms \(\+[0-9.]+%\), threshold p99=20%$' "$RUNS/ac.err" && echo True)"
check "baseline A vs C: the fault's convergence is a column of C" \
        "$(grep -qE '^\| convergence\.f0\.sink_slow \| s \| - \| [0-9.]+ \| - \|$' "$RUNS/ac.md" && echo True)"
# 3. No false alarm: A against itself under the same thresholds.
"$BIN" compare --baseline "$A" --max-regression p99=20% "$A" "$A" \
        >"$RUNS/aa.md" 2>"$RUNS/aa.err"
RC=$?
check "baseline A vs A, p99=20%: exit 0 (got $RC)" \
        "$([ $RC -eq 0 ] && ! grep -q regression "$RUNS/aa.err" && echo True)"
# The same thresholds from a file.
printf '{\n  "p99": "20%%",\n  "convergence": "5s"\n}\n' >"$RUNS/thr.json"
"$BIN" compare --baseline "$A" --thresholds "$RUNS/thr.json" "$C" \
        >/dev/null 2>"$RUNS/file.err"
RC=$?
check "--thresholds FILE: exit 1 naming p99 (got $RC)" \
        "$([ $RC -eq 1 ] && grep -q '^regression: p99:' "$RUNS/file.err" && echo True)"

# 4. Bad input: exit 2 and say which.
"$BIN" compare "$A" "$RUNS/no-such-run" >/dev/null 2>"$RUNS/bad1.err"
RC=$?
check "missing folder: exit 2 naming it ($(cat "$RUNS/bad1.err"))" \
        "$([ $RC -eq 2 ] && grep -qF "$RUNS/no-such-run: No such file or directory" "$RUNS/bad1.err" && echo True)"
mkdir -p "$RUNS/broken"
printf '{"schema": "crmsync.summary/1",\n "verdict": }\n' \
        >"$RUNS/broken/summary.json"
"$BIN" compare "$A" "$RUNS/broken" >/dev/null 2>"$RUNS/bad2.err"
RC=$?
check "unreadable summary: exit 2 with file:line:col ($(cat "$RUNS/bad2.err"))" \
        "$([ $RC -eq 2 ] && grep -qF "$RUNS/broken/summary.json:2:" "$RUNS/bad2.err" && echo True)"
"$BIN" compare --max-regression p99=20%,p98=5 "$A" "$B" >/dev/null \
        2>"$RUNS/bad3.err"
RC=$?
check "unknown figure in --max-regression: exit 2 ($(cat "$RUNS/bad3.err"))" \
        "$([ $RC -eq 2 ] && grep -qF "threshold 'p98=5': unknown figure 'p98'" "$RUNS/bad3.err" && echo True)"
"$BIN" compare --max-regression p99=fast "$A" "$B" >/dev/null \
        2>"$RUNS/bad4.err"
RC=$?
check "bad value in --max-regression: exit 2 ($(cat "$RUNS/bad4.err"))" \
        "$([ $RC -eq 2 ] && grep -qF "p99: 'fast' is not a number" "$RUNS/bad4.err" && echo True)"
printf '{\n  "p99": "20%%",\n  "replay": "5s"\n}\n' >"$RUNS/thr-bad.json"
"$BIN" compare --thresholds "$RUNS/thr-bad.json" "$A" "$B" >/dev/null \
        2>"$RUNS/bad5.err"
RC=$?
check "bad threshold file: exit 2 with file:line:col and field ($(cat "$RUNS/bad5.err"))" \
        "$([ $RC -eq 2 ] && grep -qF "$RUNS/thr-bad.json:3:13: replay: a time ('5s') for a figure in events/s" "$RUNS/bad5.err" && echo True)"

exit $FAILED
