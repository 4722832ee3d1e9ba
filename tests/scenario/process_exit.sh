#!/usr/bin/env bash
# process_exit.sh -- a pipeline process that dies during the run is named
# as the cause, not left to show up as missing data: its time, its status
# (exit code or signal) and its log's last lines are in the printed
# verdict, in summary.json (process_exits) and in junit.xml. A crash the
# scenario injected (profiler_crash) is not reported (no false alarm).
set -u
BIN=$(realpath "$1"); SRC=$2
. "$SRC/tests/scenario/lib.sh"
RUNS=$(mktemp -d /tmp/crmsync-test.XXXXXX)
trap 'rm -rf "$RUNS"' EXIT
FAILED=0
cd "$RUNS" || exit 1

# -- a profiler that dies on its own ---------------------------------------
# Ready at once, then it exits with code 3 after 2 s; restarted, it is
# killed by SIGSEGV. Nothing consumes, so the run ends at --timeout.
cat >"$RUNS/dies.json" <<'JSON'
{ "name": "profiler-dies", "seed": 3,
  "workload": { "accounts": 10, "changes": 100, "rate_per_s": 100 },
  "pipeline": { "profiler": { "command": "sh -c 'touch \"$CRMSYNC_READY_FILE\"; echo byo: consuming; sleep 2; if [ -e \"$CRMSYNC_RUN_DIR/once\" ]; then kill -SEGV $$; fi; touch \"$CRMSYNC_RUN_DIR/once\"; echo byo: out of memory, giving up >&2; exit 3'" } } }
JSON
mkdir -p "$RUNS/dies"
run_scenario "$BIN" "$RUNS/dies.json" "$RUNS/dies" --timeout 6
check "dies: exit 1 (got $RC)" "$([ $RC -eq 1 ] && echo True)"
[ -n "$SUMMARY" ] || { echo "FAIL: no summary.json"; cat "$RUNS/dies/stderr.txt"; exit 1; }
DIR=$(dirname "$SUMMARY")
check "dies: process_exits[0] is the profiler, exit code 3, its time and log tail" \
        "$(jget "$SUMMARY" "(lambda x: x['child']=='profiler' and x['exit_code']==3 and x['ready'] and x['t_s'] > 0 and x['log_tail'].splitlines()[-1]=='byo: out of memory, giving up' and 'byo: consuming' in x['log_tail'])(d['process_exits'][0])")"
check "dies: process_exits[1] was killed by signal 11" \
        "$(jget "$SUMMARY" "(lambda x: x['signal']==11 and 'exit_code' not in x and 'signal 11' in x['status'])(d['process_exits'][1])")"
check "dies: the expectation names the first exit" \
        "$(jget "$SUMMARY" "any(e['name']=='pipeline processes stay up' and not e['ok'] and e['detail'].startswith('profiler exited with code 3 at ') for e in d['expectations'])")"
check "dies: junit.xml failure names it, with the log's last lines" \
        "$(python3 - "$DIR/junit.xml" <<'PY'
import sys, xml.dom.minidom
doc = xml.dom.minidom.parse(sys.argv[1])
ok = False
for tc in doc.getElementsByTagName('testcase'):
    if tc.getAttribute('name') != 'pipeline processes stay up':
        continue
    f = tc.getElementsByTagName('failure')[0]
    body = ''.join(n.data for n in f.childNodes)
    ok = ('profiler exited with code 3' in f.getAttribute('message') and
          'byo: out of memory, giving up' in body and 'signal 11' in body)
print(ok)
PY
)"
check "dies: the printed verdict shows the exit and the log line" \
        "$(grep -q '^exited     profiler (pid [0-9]*) exited with code 3 at ' "$RUNS/dies/stdout.txt" && grep -q '| byo: out of memory, giving up' "$RUNS/dies/stdout.txt" && echo True)"
[ $FAILED -eq 0 ] || cat "$RUNS/dies/stdout.txt"

# -- a replay profiler that dies --------------------------------------------
# The reference profiler runs the live phase; in the replay phase the
# command fails at once.
cat >"$RUNS/replay-dies.json" <<JSON
{ "name": "replay-dies", "seed": 3,
  "workload": { "accounts": 20, "changes": 200, "rate_per_s": 200 },
  "pipeline": { "profiler": { "command": "sh -c 'if [ -n \\"\$CRMSYNC_REPLAY\\" ]; then echo replay: cannot rebuild >&2; exit 5; fi; exec $BIN profiler'" } },
  "replay": {} }
JSON
mkdir -p "$RUNS/replay"
run_scenario "$BIN" "$RUNS/replay-dies.json" "$RUNS/replay"
check "replay dies: exit 1 (got $RC)" "$([ $RC -eq 1 ] && echo True)"
check "replay dies: process_exits names the replay profiler, code 5, its log" \
        "$([ -n "$SUMMARY" ] && jget "$SUMMARY" "[(x['child'], x['exit_code'], x['log_tail']) for x in d['process_exits']]==[('replay', 5, 'replay: cannot rebuild')] and any(e['name']=='pipeline processes stay up' and e['detail'].startswith('replay exited with code 5') for e in d['expectations'])")"

# -- an injected crash is not an unexpected exit ----------------------------
cat >"$RUNS/crash.json" <<'JSON'
{ "name": "injected-crash", "seed": 3,
  "workload": { "accounts": 20, "changes": 300, "rate_per_s": 150 },
  "faults": [ { "at_s": 1, "type": "profiler_crash", "restart_after_s": 0.5 } ] }
JSON
mkdir -p "$RUNS/crash"
run_scenario "$BIN" "$RUNS/crash.json" "$RUNS/crash"
check "injected crash: exit 0 (got $RC)" "$([ $RC -eq 0 ] && echo True)"
check "injected crash: no process_exits, no failed expectation" \
        "$([ -n "$SUMMARY" ] && jget "$SUMMARY" "d['process_exits']==[] and d['run']['profiler_starts']==2 and all(e['ok'] for e in d['expectations'])")"
check "injected crash: nothing printed as an exit" \
        "$(! grep -q '^exited' "$RUNS/crash/stdout.txt" && echo True)"
exit $FAILED
