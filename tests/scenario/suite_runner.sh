#!/usr/bin/env bash
# suite_runner.sh -- `crmsync run DIR|FILE...` runs a suite: every scenario
# validated before any runs (exit 2, nothing run), one run folder per
# scenario, runs/suite-<id>/ with a well-formed junit.xml (one testsuite
# per scenario), summary.json and a self-contained index.html; exit 0 when
# all pass, 1 when one fails; a must-fail scenario that fails as expected
# passes; --filter takes a substring or a glob.
set -u
BIN=$1; SRC=$2
. "$SRC/tests/scenario/lib.sh"
RUNS=$(mktemp -d /tmp/crmsync-test.XXXXXX)
trap 'rm -rf "$RUNS"' EXIT
FAILED=0
SUITE_SRC="$SRC/tests/scenarios/suite"

# 1. Bad input: one invalid scenario, nothing runs, every error is named.
mkdir -p "$RUNS/bad-in"
cp "$SUITE_SRC/01-clean.json" "$RUNS/bad-in/"
printf '{\n  "name": "bad",\n  "expect": {"verdict": "fail"}\n}\n' \
        >"$RUNS/bad-in/99-bad.json"
"$BIN" run --jobs 2 "$RUNS/bad-in" --runs-dir "$RUNS/bad" \
        >"$RUNS/bad.out" 2>"$RUNS/bad.err"
RC=$?
check "invalid scenario: exit 2 (got $RC)" "$([ $RC -eq 2 ] && echo True)"
check "invalid scenario: error names file:line:col and field ($(head -1 "$RUNS/bad.err"))" \
        "$(grep -q '99-bad.json:3:25: expect.verdict: "fail" needs the way' "$RUNS/bad.err" && echo True)"
check "invalid scenario: nothing was run" \
        "$([ ! -e "$RUNS/bad" ] && echo True)"
# The glob selects the valid one only: it runs and passes.
"$BIN" run --filter '0*.json' "$RUNS/bad-in" --runs-dir "$RUNS/glob" \
        >"$RUNS/glob.out" 2>&1
RC=$?
check "--filter glob 0*.json: exit 0 (got $RC)" "$([ $RC -eq 0 ] && echo True)"
check "--filter glob: one scenario" \
        "$(grep -q '^\[1/1\] suite-clean \.\.\. PASS' "$RUNS/glob.out" && echo True)"
"$BIN" run --filter 'nothing-matches' "$SUITE_SRC" --runs-dir "$RUNS/none" \
        >/dev/null 2>"$RUNS/none.err"
RC=$?
check "--filter matching nothing: exit 2 (got $RC)" \
        "$([ $RC -eq 2 ] && grep -q "no scenario file name matches --filter 'nothing-matches'" "$RUNS/none.err" && echo True)"

# 2. The folder: one clean run, one must-fail caught, one must-fail missed.
"$BIN" run --jobs 2 "$SUITE_SRC" --runs-dir "$RUNS/all" >"$RUNS/all.out" 2>&1
RC=$?
cat "$RUNS/all.out"
check "suite with a failing scenario: exit 1 (got $RC)" \
        "$([ $RC -eq 1 ] && echo True)"
for want in 'suite-clean \.\.\. PASS' 'suite-must-fail-caught \.\.\. PASS' \
        'suite-must-fail-missed \.\.\. FAIL'; do
        check "progress line [k/3] $want" \
                "$(grep -q "^\[[123]/3\] $want" "$RUNS/all.out" && echo True)"
done
check "the failed scenario's line is followed by why (what it found)" \
        "$(grep -A1 '^\[[123]/3\] suite-must-fail-missed \.\.\. FAIL' "$RUNS/all.out" | grep -q '^    expected to fail, not caught: found {"stale":0}' && echo True)"
check "a passing scenario's line is not" \
        "$(grep -A1 '^\[[123]/3\] suite-clean \.\.\. PASS' "$RUNS/all.out" | tail -1 | grep -vq '^    ' && echo True)"
DIR=$(ls -d "$RUNS"/all/suite-[0-9]* 2>/dev/null | head -1)
check "one suite folder with junit.xml, summary.json, index.html" \
        "$([ "$(ls -d "$RUNS"/all/suite-[0-9]* | wc -l)" -eq 1 ] && [ -s "$DIR/junit.xml" ] && [ -s "$DIR/summary.json" ] && [ -s "$DIR/index.html" ] && echo True)"
check "three run folders besides the suite's" \
        "$([ "$(ls -d "$RUNS"/all/suite-[a-z]* | wc -l)" -eq 3 ] && echo True)"
S="$DIR/summary.json"
check "summary: verdict fail, exit code 1, 3 runs, 2 passed" \
        "$(jget "$S" "d['verdict']=='fail' and d['exit_code']==1 and d['counts']=={'scenarios':3,'run':3,'passed':2,'failed':1}")"
check "summary: each row has run dir, verdict, exit code, anomalies, p99, convergence, replay" \
        "$(jget "$S" "all(set(['scenario','run_dir','verdict','exit_code','anomalies','freshness_p99_ms','convergence_s','replay_events_per_s'])<=set(r) for r in d['runs'])")"
check "summary: the caught must-fail run failed itself and passes" \
        "$(jget "$S" "[(r['run_verdict'],r['verdict'],r['expected_failure']['found']['duplicate_side_effect']>0) for r in d['runs'] if r['scenario']=='suite-must-fail-caught']==[('fail','pass',True)]")"
check "summary: the missed must-fail run passed itself and fails" \
        "$(jget "$S" "[(r['run_verdict'],r['verdict'],r['exit_code']) for r in d['runs'] if r['scenario']=='suite-must-fail-missed']==[('pass','fail',1)]")"
check "summary: each run folder has its report.md" \
        "$(jget "$S" "all(__import__('os').path.isfile(r['run_dir']+'/report.md') for r in d['runs'])")"
check "summary: mutation matrix no-dedupe caught" \
        "$(jget "$S" "[(m['switch'],m['caught']) for m in d['mutation_matrix']]==[('no-dedupe',True)]")"
check "junit.xml is well-formed (xmllint)" \
        "$(xmllint --noout "$DIR/junit.xml" && echo True)"
check "junit.xml: one testsuite per scenario, one failure (the missed one)" \
        "$(python3 - "$DIR/junit.xml" <<'PY'
import sys, xml.etree.ElementTree as ET
r = ET.parse(sys.argv[1]).getroot()
suites = r.findall("testsuite")
fails = [(s.get("name"), c.get("name")) for s in suites
         for c in s.findall("testcase") if c.find("failure") is not None]
print(len(suites) == 3 and all(len(s.findall("testcase")) > 5 for s in suites)
      and fails == [("suite-must-fail-missed", "must fail: anomalies.stale >= 1")])
PY
)"
check "index.html: a row per scenario linking its report.md" \
        "$(jget "$S" "all(open('$DIR/index.html').read().count('../'+r['run_dir'].rsplit('/',1)[1]+'/report.md')==1 for r in d['runs'])")"
check "index.html: self-contained (no external resources)" \
        "$(! grep -Eiq 'https?:|<script|<link|src=' "$DIR/index.html" && echo True)"

# 3. --filter as a substring.
"$BIN" run --filter caught "$SUITE_SRC" --runs-dir "$RUNS/sub" \
        >"$RUNS/sub.out" 2>&1
RC=$?
check "--filter substring 'caught': exit 0 (got $RC)" \
        "$([ $RC -eq 0 ] && grep -q '^\[1/1\] suite-must-fail-caught \.\.\. PASS' "$RUNS/sub.out" && echo True)"

# 4. A run that dies of a signal (here a SIGSEGV sent to it) is named a
# crash with the signal, not an interruption, and fails the suite.
"$BIN" run --filter clean "$SUITE_SRC" --runs-dir "$RUNS/crash" \
        >"$RUNS/crash.out" 2>&1 &
SPID=$!
CHILD=""
for _ in $(seq 1 100); do
        CHILD=$(pgrep -P $SPID -f "crmsync run" | head -1)
        [ -n "$CHILD" ] && break
        sleep 0.1
done
sleep 1
[ -n "$CHILD" ] && kill -SEGV "$CHILD"
wait $SPID
RC=$?
cat "$RUNS/crash.out" | grep -v '^\[ '
check "a crashed run: exit 1 (got $RC), CRASHED (signal 11, ...) with its last output" \
        "$([ -n "$CHILD" ] && [ $RC -eq 1 ] && grep -A1 '^\[1/1\] suite-clean \.\.\. CRASHED (signal 11, ' "$RUNS/crash.out" | grep -q '^    last output: ' && echo True)"
exit $FAILED
