#!/usr/bin/env bash
# replay_domain.sh -- a bounded-domain replay rebuilds only its accounts and
# leaves the others untouched; a replaying profiler that ignores the domain
# (a command that drops --domain) is caught writing outside it.
set -u
BIN=$1; SRC=$2
. "$SRC/tests/scenario/lib.sh"
RUNS=$(mktemp -d /tmp/crmsync-test.XXXXXX)
trap 'rm -rf "$RUNS"' EXIT
FAILED=0
mkdir -p "$RUNS/ok" "$RUNS/leaky"
run_scenario "$BIN" "$SRC/scenarios/ci/0101-replay-domain.json" "$RUNS/ok"
check "domain replay: exit 0 (got $RC)" "$([ $RC -eq 0 ] && echo True)"
check "domain replay: some records rebuilt, none outside touched" "$(jget "$SUMMARY" "d['timing']['replay']['domain']['records_rebuilt'] > 0 and d['timing']['replay']['domain']['outside_untouched'] and d['timing']['replay']['domain']['outside_writes'] == 0")"
check "domain replay: rebuilt sink equals the CRM" "$(jget "$SUMMARY" "d['timing']['replay']['matches_oracle']")"
# The accounts file lists exactly the workload's accounts in hash:1/4
# (FNV-1a 64 of the id's bytes, modulo 4, as docs/wire-contracts.md says),
# computed here from the commit log in history.jsonl.
RUN_DIR=$(dirname "$SUMMARY")
check "domain replay: the accounts file lists exactly the domain's accounts" "$(python3 - "$RUN_DIR" <<'PY'
import json, os, sys
run = sys.argv[1]
def fnv(s):
    h = 14695981039346656037
    for b in s.encode():
        h = ((h ^ b) * 1099511628211) % (1 << 64)
    return h
accts = set()
for line in open(os.path.join(run, "history.jsonl")):
    o = json.loads(line)
    if o.get("kind") == "crm_commit" and o["key"].startswith("account/"):
        accts.add(o["key"].split("/", 1)[1])
want = sorted(a for a in accts if fnv(a) % 4 == 1)
path = os.path.join(run, "replay-accounts.txt")
got = open(path).read().split("\n") if os.path.exists(path) else None
s = json.load(open(os.path.join(run, "summary.json")))
print(got is not None and got[-1] == "" and got[:-1] == want
      and 0 < len(want) < len(accts)
      and s["timing"]["replay"]["domain"]["accounts"] == len(want))
PY
)"

# The same replay with a profiler command that ignores the domain.
python3 - "$SRC/scenarios/ci/0101-replay-domain.json" "$RUNS/leaky.json" "$BIN" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["name"] = "replay-domain-leaky"
# The replay's environment names the accounts file; record it.
d["pipeline"] = {"profiler": {"command": "sh -c 'printenv CRMSYNC_REPLAY_ACCOUNTS_FILE >> \"$CRMSYNC_RUN_DIR/accounts-env.txt\"; exec " + sys.argv[3] + " profiler --no-side-effects'"}}
json.dump(d, open(sys.argv[2], "w"))
PY
run_scenario "$BIN" "$RUNS/leaky.json" "$RUNS/leaky"
check "leaky replay: exit 1 (got $RC)" "$([ $RC -eq 1 ] && echo True)"
check "leaky replay: writes outside the domain caught" "$(jget "$SUMMARY" "d['timing']['replay']['domain']['outside_writes'] > 0 and any(e['name']=='replay leaves other accounts untouched' and not e['ok'] for e in d['expectations'])")"
LEAKY_DIR=$(dirname "$SUMMARY")
check "leaky replay: CRMSYNC_REPLAY_ACCOUNTS_FILE names the run's accounts file" "$([ "$(cat "$LEAKY_DIR/accounts-env.txt" 2>/dev/null)" = "$LEAKY_DIR/replay-accounts.txt" ] && [ -s "$LEAKY_DIR/replay-accounts.txt" ] && echo True)"
exit $FAILED
