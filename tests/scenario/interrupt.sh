#!/usr/bin/env bash
# interrupt.sh -- an interrupted run says so: exit 130, verdict
# "interrupted" in summary.json, no anomaly counts, junit.xml with one
# error (not expectation failures), INTERRUPTED on stdout. Also when the
# Ctrl-C comes 0.2 s after start, in the middle of set-up; and a second
# Ctrl-C cuts a slow shutdown (a pipeline that ignores SIGTERM) short.
set -u
BIN=$1; SRC=$2
. "$SRC/tests/scenario/lib.sh"
RUNS=$(mktemp -d /tmp/crmsync-test.XXXXXX)
trap 'rm -rf "$RUNS"' EXIT
FAILED=0

started() { # wait (bounded) until both pipeline processes started
        local hist
        for _ in $(seq 1 300); do
                hist=$(ls "$RUNS"/$1/*/history.jsonl 2>/dev/null | head -1)
                [ -n "$hist" ] && [ "$(grep -c '"child_start"' "$hist")" -ge 2 ] && return 0
                sleep 0.1
        done
        return 1
}

judge() { # judge CASE RC PHASES: the summary of an interrupted run
        local c=$1 rc=$2 phases=$3 s j
        check "$c: exit 130 (got $rc)" "$([ "$rc" -eq 130 ] && echo True)"
        s=$(ls "$RUNS"/$c/*/summary.json 2>/dev/null | head -1)
        if [ -z "$s" ]; then
                echo "FAIL: $c: no summary.json"; cat "$RUNS/$c.err"; FAILED=1; return
        fi
        check "$c: verdict interrupted" "$(jget "$s" "d['verdict']=='interrupted'")"
        check "$c: interrupted by SIGINT during one of $phases" \
                "$(jget "$s" "d['interruption']['signal']=='SIGINT' and d['interruption']['phase'] in '$phases'.split()")"
        check "$c: no anomaly counts, no expectation judged" \
                "$(jget "$s" "'anomalies' not in d and d['expectations']==[]")"
        j=$(dirname "$s")/junit.xml
        check "$c: junit.xml has one error with the reason, no failure" \
                "$(grep -q 'errors="1"' "$j" && grep -q '<error type="interrupted" message="interrupted by SIGINT' "$j" && ! grep -q '<failure' "$j" && echo True)"
        check "$c: stdout says INTERRUPTED" \
                "$(grep -q '== crmsync verdict: INTERRUPTED ==' "$RUNS/$c.out" && echo True)"
}

# Mid-run: the workload is cut off, nothing is judged.
mkdir -p "$RUNS/mid"
"$BIN" run "$SRC/tests/scenarios/long-run.json" --runs-dir "$RUNS/mid" --quiet \
        >"$RUNS/mid.out" 2>"$RUNS/mid.err" &
h=$!
if started mid; then
        sleep 1
        kill -INT $h
        wait $h; rc=$?
        judge mid $rc "workload convergence"
else
        echo "FAIL: mid: the pipeline never started"; cat "$RUNS/mid.err"; kill -9 $h; FAILED=1
fi

# Early: 0.2 s after start, before any part of the run exists.
mkdir -p "$RUNS/early"
"$BIN" run "$SRC/tests/scenarios/long-run.json" --runs-dir "$RUNS/early" --quiet \
        >"$RUNS/early.out" 2>"$RUNS/early.err" &
h=$!
sleep 0.2
kill -INT $h
wait $h; rc=$?
judge early $rc "setup"

# Double: a profiler whose process group ignores SIGTERM for 60 s after
# the profiler stops (a slow shutdown: 10 s of grace). The second Ctrl-C
# kills it and the summary comes at once.
mkdir -p "$RUNS/double"
python3 - "$SRC/tests/scenarios/long-run.json" "$BIN" >"$RUNS/slow-stop.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["name"] = "long-run-slow-stop"
d["pipeline"] = {"profiler": {"command":
        "/bin/sh -c 'trap \"\" TERM; %s profiler; sleep 60'" % sys.argv[2]}}
print(json.dumps(d))
PY
"$BIN" run "$RUNS/slow-stop.json" --runs-dir "$RUNS/double" --quiet \
        >"$RUNS/double.out" 2>"$RUNS/double.err" &
h=$!
if started double; then
        sleep 1
        kill -INT $h
        sleep 1
        kill -INT $h
        t0=$(date +%s%N)
        wait $h; rc=$?
        ms=$(( ($(date +%s%N) - t0) / 1000000 ))
        check "double: exit within 5 s of the second Ctrl-C (took $ms ms)" \
                "$([ $ms -lt 5000 ] && echo True)"
        judge double $rc "workload convergence shutdown"
        left=$(pgrep -f "sleep 60" | while read -r p; do
                tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null |
                        grep -q "^CRMSYNC_RUN_DIR=$RUNS/double/" && echo "$p"; done)
        check "double: nothing of the pipeline left" "$([ -z "$left" ] && echo True)"
        [ -z "$left" ] || kill -9 $left
else
        echo "FAIL: double: the pipeline never started"; cat "$RUNS/double.err"; kill -9 $h; FAILED=1
fi
exit $FAILED
