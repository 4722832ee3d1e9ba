#!/usr/bin/env bash
# setup_errors.sh -- a run that cannot be set up says why, within seconds,
# and exits 2. An unreachable cluster is reported as unreachable (with
# librdkafka's reason), not blamed on a topic.
set -u
BIN=$1; SRC=$2
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

exit $FAILED
