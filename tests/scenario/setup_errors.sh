#!/usr/bin/env bash
# setup_errors.sh -- a run that cannot be set up says why, within seconds,
# and exits 2, and still leaves summary.json (verdict "error") and a
# junit.xml whose <error> gives the reason, for CI collectors. Cases: an
# unreachable cluster (reported as unreachable, with librdkafka's reason,
# not blamed on a topic), and pipeline processes that exit before they are
# ready (their exit status and the last line of their log).
set -u
BIN=$(realpath "$1"); SRC=$2
. "$SRC/tests/scenario/lib.sh"
RUNS=$(mktemp -d /tmp/crmsync-test.XXXXXX)
trap 'rm -rf "$RUNS"' EXIT
FAILED=0

# -- an unreachable cluster ------------------------------------------------
# Port 1 on 127.0.0.1: nothing listens there, the connect is refused.
cat >"$RUNS/nowhere.json" <<JSON
{ "name": "nowhere",
  "properties": { "bootstrap.servers": "127.0.0.1:1" },
  "topics": { "create": false } }
JSON
cat >"$RUNS/unreachable.json" <<JSON
{ "name": "unreachable", "seed": 1,
  "workload": { "accounts": 10, "changes": 50, "rate_per_s": 100 },
  "target": { "type": "external", "file": "nowhere.json" } }
JSON
mkdir -p "$RUNS/unreachable"
T0=$(date +%s%N)
run_scenario "$BIN" "$RUNS/unreachable.json" "$RUNS/unreachable"
MS=$(( ($(date +%s%N) - T0) / 1000000 ))
ERR=$(cat "$RUNS/unreachable/stderr.txt")
check "unreachable: exit 2 (got $RC)" "$([ $RC -eq 2 ] && echo True)"
check "unreachable: says it cannot reach the bootstrap servers ($ERR)" \
        "$(grep -q 'cannot reach bootstrap servers 127.0.0.1:1: .*Connection refused' "$RUNS/unreachable/stderr.txt" && echo True)"
check "unreachable: no topic blamed" \
        "$(! grep -q 'topic' "$RUNS/unreachable/stderr.txt" && echo True)"
check "unreachable: told within 10 s (took $MS ms)" "$([ $MS -lt 10000 ] && echo True)"


# setup_files NAME DIR PATTERN: summary.json and junit.xml say why.
setup_files() {
        local name=$1 dir=$2 pat=$3 run
        run=$(ls -d "$dir"/*/ 2>/dev/null | head -1)
        check "$name: summary.json with verdict error, phase set-up" \
                "$([ -f "$run/summary.json" ] && python3 - "$run/summary.json" "$pat" <<'PY'
import json, re, sys
d = json.load(open(sys.argv[1]))
print(d['verdict'] == 'error' and d['error']['phase'] == 'set-up' and
      re.search(sys.argv[2], d['error']['reason']) is not None)
PY
)"
        check "$name: junit.xml has an <error> with the reason" \
                "$([ -f "$run/junit.xml" ] && python3 - "$run/junit.xml" "$pat" <<'PY'
import re, sys, xml.dom.minidom
doc = xml.dom.minidom.parse(sys.argv[1])
suite = doc.getElementsByTagName('testsuite')[0]
errs = doc.getElementsByTagName('error')
print(suite.getAttribute('errors') == '1' and len(errs) == 1 and
      re.search(sys.argv[2], errs[0].getAttribute('message')) is not None)
PY
)"
}
setup_files unreachable "$RUNS/unreachable" 'cannot reach bootstrap servers 127.0.0.1:1'

# -- a profiler that exits at once ------------------------------------------
# The command runs in the directory crmsync run was started from.
cd "$RUNS" || exit 1
cat >"$RUNS/dead-profiler.json" <<JSON
{ "name": "dead-profiler", "seed": 1,
  "workload": { "accounts": 10, "changes": 50, "rate_per_s": 100 },
  "pipeline": { "profiler": { "command": "python3 does-not-exist.py" } } }
JSON
mkdir -p "$RUNS/dead"
run_scenario "$BIN" "$RUNS/dead-profiler.json" "$RUNS/dead"
check "dead profiler: exit 2 (got $RC)" "$([ $RC -eq 2 ] && echo True)"
check "dead profiler: the reason names the exit and the log ($(tail -1 "$RUNS/dead/stderr.txt"))" \
        "$(grep -q "^crmsync run: profiler exited with code 2 before it became ready (profiler.log: .*does-not-exist.py" "$RUNS/dead/stderr.txt" && echo True)"
setup_files "dead profiler" "$RUNS/dead" 'profiler exited with code 2 before it became ready'
RUN=$(ls -d "$RUNS"/dead/*/ | head -1)
check "dead profiler: stopped before the CRM's clock started" \
        "$([ -f "$RUN/history.jsonl" ] && ! grep -q '"kind":"run_start"' "$RUN/history.jsonl" && echo True)"
check "dead profiler: process_exits has its status and log tail" \
        "$([ -f "$RUN/summary.json" ] && jget "$RUN/summary.json" "len(d['process_exits'])==1 and d['process_exits'][0]['child']=='profiler' and d['process_exits'][0]['exit_code']==2 and not d['process_exits'][0]['ready'] and 'does-not-exist.py' in d['process_exits'][0]['log_tail']")"
check "dead profiler: the verdict on stdout shows the log's last lines" \
        "$(grep -q '^== crmsync verdict: ERROR' "$RUNS/dead/stdout.txt" && grep -q '| .*does-not-exist.py' "$RUNS/dead/stdout.txt" && echo True)"

# -- a connector that exits during its warm-up ------------------------------
cat >"$RUNS/dead-connector.json" <<JSON
{ "name": "dead-connector", "seed": 1,
  "workload": { "accounts": 10, "changes": 50, "rate_per_s": 100 },
  "pipeline": { "connector": { "command": "sh -c 'echo connector: no such CRM dialect >&2; exit 4'" } } }
JSON
mkdir -p "$RUNS/deadconn"
run_scenario "$BIN" "$RUNS/dead-connector.json" "$RUNS/deadconn"
check "dead connector: exit 2 (got $RC)" "$([ $RC -eq 2 ] && echo True)"
check "dead connector: the reason ($(tail -1 "$RUNS/deadconn/stderr.txt"))" \
        "$(grep -q "^crmsync run: connector exited with code 4 before it became ready (connector.log: connector: no such CRM dialect)" "$RUNS/deadconn/stderr.txt" && echo True)"
setup_files "dead connector" "$RUNS/deadconn" 'connector exited with code 4'
exit $FAILED
