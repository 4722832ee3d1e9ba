#!/usr/bin/env bash
# pilot_shadow.sh -- shadow mode catches a planted difference, and no
# secret of a pilot reaches a file. Target A is embedded; target B is an
# external cluster (a standalone `crmsync broker`) whose target file takes
# its sasl.password from the environment. Shadow mode is one process with
# one mock CRM (one ground truth) serving both pipelines: shadow.json
# names one CRM, its served-event log shows both connectors reading it,
# and each run's history holds its own connector's reads. B's pipeline
# runs with the bug switch ignore-deletes: both sinks are judged (A
# passes, B fails), the divergence between the sinks is listed with the
# lineage from both sides, the pilot exits 1, B's scale_out command is
# timed, and the planted password is in no file of the pilot folder. The
# small test copy of the mirrored stream (tests/scenarios/pilot/) keeps it
# short. A shadow pair that cannot share one CRM stream (another seed) is
# refused with exit 2.
set -u
BIN=$1; SRC=$2
. "$SRC/tests/scenario/lib.sh"
RUNS=$(mktemp -d /tmp/crmsync-test.XXXXXX)
BROKER_PID=""
trap '[ -n "$BROKER_PID" ] && kill $BROKER_PID 2>/dev/null; rm -rf "$RUNS"' EXIT
FAILED=0
PW="PLANTED-PILOT-$$-$RANDOM"

start_broker "$RUNS" --brokers 1 --partitions 4
cat >"$RUNS/external.json" <<JSON
{ "name": "standalone", "properties": { "bootstrap.servers": "$BOOT",
  "security.protocol": "plaintext", "sasl.username": "u",
  "sasl.password": "\${CRMSYNC_PILOT_PW}" },
  "topics": { "create": false },
  "commands": { "scale_out": "sleep 0.3; echo scaled out" } }
JSON
mkdir -p "$RUNS/out" "$RUNS/tmp"
TMPDIR="$RUNS/tmp" CRMSYNC_PILOT_PW="$PW" "$BIN" pilot \
        --target "$SRC/docs/targets/embedded-1.json" \
        --target "$RUNS/external.json" --shadow --bug ignore-deletes --jobs 2 \
        --runs-dir "$RUNS/out" "$SRC/tests/scenarios/pilot/01-mirrored-stream.json" \
        >"$RUNS/stdout.txt" 2>"$RUNS/stderr.txt"
RC=$?
check "shadow: a divergence fails the pilot, exit 1 (got $RC; $(tail -c 300 "$RUNS/stderr.txt"))" "$([ $RC -eq 1 ] && echo True)"
DIR=$(ls -d "$RUNS"/out/pilot-*/ 2>/dev/null | head -1)
[ -n "$DIR" ] || { cat "$RUNS/stdout.txt" "$RUNS/stderr.txt"; exit 1; }
J="$DIR/pilot.json"
check "shadow: both sinks judged: A passes, B (ignore-deletes) fails" "$(jget "$J" "d['shadow']['sides'][0]['verdict']=='pass' and d['shadow']['sides'][0]['matches_crm'] and d['shadow']['sides'][1]['verdict']=='fail' and not d['shadow']['sides'][1]['matches_crm']")"
check "shadow: one stream (same commit log on both, the CRM's)" "$(jget "$J" "d['shadow']['same_stream'] is True and d['shadow']['crm']['commit_log_sha256'] == d['shadow']['sides'][0]['commit_log_sha256']")"
SH="$DIR/shadow"
check "shadow: one CRM served both connectors (one URL, one process)" "$(jget "$J" "d['shadow']['one_crm'] is True and d['shadow']['crm']['url'].startswith('http://127.0.0.1:') and d['shadow']['crm']['served']['crmsync-connector-A'] >= d['shadow']['crm']['events'] and d['shadow']['crm']['served']['crmsync-connector-B'] >= d['shadow']['crm']['events']")"
check "shadow: both runs came from one process (one pid in both run ids)" "$(jget "$SH/shadow.json" "len(set(x.rsplit('-', 1)[1] for x in d['run_dirs'])) == 1 and d['run_dirs'][0] != d['run_dirs'][1]")"
check "shadow: the CRM's served-event log shows both connectors' reads" "$(python3 - "$SH/crm-served.jsonl" <<'PY'
import json, sys
c = {}
for l in open(sys.argv[1]):
    e = json.loads(l)
    c.setdefault(e['client'], set()).add(e['event_id'])
print(set(c) == {'crmsync-connector-A', 'crmsync-connector-B'} and c['crmsync-connector-A'] == c['crmsync-connector-B'] and len(c['crmsync-connector-A']) > 100)
PY
)"
check "shadow: each run's history has its own connector's reads only" "$(for s in A B; do h=$(ls "$SH"/01-mirrored-stream-$s-*/history.jsonl); o=$([ $s = A ] && echo B || echo A); grep -q "\"crm_serve\".*\"client\":\"crmsync-connector-$s\"" "$h" && ! grep -q "\"client\":\"crmsync-connector-$o\"" "$h" || exit; done; echo True)"
check "shadow: the CRM counts each connector's API use apart" "$(for s in A B; do jget "$(ls "$SH"/01-mirrored-stream-$s-*/summary.json)" "list(d['api']['clients']) == ['crmsync-connector-$s']"; done | sort -u | tr -d '\n')"
check "shadow: divergences found between the sinks" "$(jget "$J" "d['shadow']['divergences'] > 0 and d['shadow']['ok'] is False")"
check "shadow: a divergence is a record deleted on A, live on B" "$(jget "$J" "any(e['a'] and e['a']['delete'] and e['b'] and not e['b']['delete'] for e in d['shadow']['examples'])")"
check "shadow: shadow.md lists it with the lineage from both sides" "$(grep -q '^- `[a-z]*/[A-Z]-[0-9]*`: A deleted v[0-9]* (event e-[0-9]*); B live' "$DIR/shadow.md" && grep -q 'Lineage on A of its last change e-' "$DIR/shadow.md" && grep -q 'Lineage on B of its last change e-' "$DIR/shadow.md" && grep -q 'sink    delete .* applied' "$DIR/shadow.md" && echo True)"
check "shadow: which sink is current: A's, and B's is behind where its profiler dropped a partition's last record (a delete)" "$(jget "$J" "d['shadow']['sides'][0]['offsets']['current'] is True and d['shadow']['sides'][1]['offsets']['current'] is False and d['shadow']['sides'][1]['offsets']['behind_total'] > 0")"
check "shadow: the Recovery line shows it per sink" "$(grep -q '^| shadow sink current | current: p0 [0-9]* (end [0-9]*),.* | BEHIND: p[0-3] by [1-9][0-9]* (applied [0-9]*, end [0-9]*)' "$DIR/report.md" && echo True)"
check "shadow: the Migration line reports it" "$(grep -q '^| shadow: each sink against the CRM | sink matches the CRM (0 anomalies), run pass | sink DIFFERS from the CRM' "$DIR/report.md" && echo True)"
check "scale-out: B's command ran once, timed in the Elasticity line" "$(grep -qx 'scaled out' "$DIR/scale-out-B.log" && grep -q '^| scale-out (commands.scale_out) | no commands.scale_out in the target file | 0\.[3-9][0-9] s |' "$DIR/report.md" && echo True)"
check "secrets: the external target's runs kept the reference, not the value" "$(grep -rqxF 'sasl.password=${CRMSYNC_PILOT_PW}' "$DIR"B && echo True)"
hits=$(grep -r -a -l -F -- "$PW" "$RUNS/out" 2>/dev/null)
check "secrets: the planted password is in no file of the pilot${hits:+ (found in: $hits)}" "$([ -z "$hits" ] && echo True)"
left=$(find "$RUNS/tmp" -mindepth 1 2>/dev/null)
check "secrets: no private properties left behind${left:+ (left: $left)}" "$([ -z "$left" ] && echo True)"
# One CRM serves one stream: a B side with another seed is refused.
python3 - "$SRC/tests/scenarios/pilot/01-mirrored-stream.json" "$RUNS" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d['name'] = 'other-seed'
d['seed'] += 1
json.dump(d, open(sys.argv[2] + '/other-seed.json', 'w'))
PY
"$BIN" run "$SRC/tests/scenarios/pilot/01-mirrored-stream.json" \
        --shadow-with "$RUNS/other-seed.json" --runs-dir "$RUNS/seed" \
        --quiet >"$RUNS/seed.txt" 2>&1
RC=$?
check "shadow: a pair with another seed is refused, exit 2 (got $RC)" "$([ $RC -eq 2 ] && grep -q 'one CRM serves one stream' "$RUNS/seed.txt" && echo True)"
exit $FAILED
