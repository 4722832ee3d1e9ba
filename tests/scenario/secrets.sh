#!/usr/bin/env bash
# secrets.sh -- no secret reaches a file under runs/. A webhook-mode run on
# an external target (a standalone `crmsync broker`) gets two planted
# secrets: a sasl.password in the target file, as ${CRMSYNC_TEST_SASL}
# (librdkafka accepts it with
# security.protocol=plaintext and leaves it unused) and a user-supplied
# webhook HMAC secret (CRMSYNC_WEBHOOK_SECRET, the environment form of the
# connector's --webhook-secret). Every file of the run folder, binary ones
# too, is searched for both; the private client properties file is gone
# when the run ends.
set -u
BIN=$1; SRC=$2
. "$SRC/tests/scenario/lib.sh"
RUNS=$(mktemp -d /tmp/crmsync-test.XXXXXX)
BROKER_PID=""
trap '[ -n "$BROKER_PID" ] && kill $BROKER_PID 2>/dev/null; rm -rf "$RUNS"' EXIT
FAILED=0
SASL="PLANTED-SASL-$$-$RANDOM"
HOOK="PLANTED-HOOK-$$-$RANDOM"

start_broker "$RUNS" --brokers 1 --partitions 4

cat >"$RUNS/target.json" <<JSON
{
  "name": "secret-broker",
  "properties": { "bootstrap.servers": "$BOOT",
                  "security.protocol": "plaintext",
                  "sasl.username": "crmsync-user",
                  "sasl.password": "\${CRMSYNC_TEST_SASL}" },
  "topics": { "create": false }
}
JSON
cat >"$RUNS/secrets.json" <<JSON
{ "name": "secrets", "seed": 9,
  "workload": { "accounts": 40, "changes": 300, "rate_per_s": 300 },
  "pipeline": { "connector": { "mode": "webhook" } },
  "target": { "type": "external", "file": "target.json", "partitions": 4 } }
JSON

mkdir -p "$RUNS/out"
# A private TMPDIR shows what the run leaves behind outside runs/.
mkdir -p "$RUNS/tmp"
# Watch (at most 60 s) for the private file: mode 0600 in a 0700 folder.
( for _ in $(seq 1 600); do
        f=$(find "$RUNS/tmp" -path '*/crmsync-props.*/kafka.properties' 2>/dev/null | head -1)
        if [ -n "$f" ]; then
                stat -c '%a' "$(dirname "$f")" "$f" | tr '\n' ' ' >"$RUNS/modes.txt"
                grep -c -F -- "$SASL" "$f" >>"$RUNS/modes.txt"
                break
        fi
        sleep 0.1
  done ) &
WATCH_PID=$!
TMPDIR="$RUNS/tmp" CRMSYNC_WEBHOOK_SECRET="$HOOK" CRMSYNC_TEST_SASL="$SASL" \
        run_scenario "$BIN" "$RUNS/secrets.json" "$RUNS/out"
wait $WATCH_PID
check "secrets: exit 0 (got $RC)" "$([ $RC -eq 0 ] && echo True)"
[ -n "$SUMMARY" ] || { cat "$RUNS/out/stderr.txt"; exit 1; }
RUN_DIR=$(dirname "$SUMMARY")
check "secrets: the connector ran in webhook mode" "$(grep -q 'connector: subscribed http://127.0.0.1:[0-9]*/hook' "$RUN_DIR/connector.log" && echo True)"
check "secrets: the run kept its logs (connector.log not empty)" "$([ -s "$RUN_DIR/connector.log" ] && echo True)"
check "secrets: the stats line shows the webhook state, secret redacted" "$(grep -q 'connector: stats .*cursor={.*"secret":"\[redacted\]"' "$RUN_DIR/connector.log" && echo True)"
# The copy in the run folder keeps the other properties, redacted values.
check "secrets: kafka.properties copy keeps non-secret properties" "$(grep -qx 'sasl.username=crmsync-user' "$RUN_DIR/kafka.properties" && echo True)"
check "secrets: kafka.properties copy shows sasl.password as its reference" "$(grep -qxF 'sasl.password=${CRMSYNC_TEST_SASL}' "$RUN_DIR/kafka.properties" && echo True)"
for what in "sasl.password:$SASL" "webhook secret:$HOOK"; do
        hits=$(grep -r -a -l -F -- "${what#*:}" "$RUNS/out" 2>/dev/null)
        check "secrets: the ${what%%:*} is in no file under runs/${hits:+ (found in: $hits)}" "$([ -z "$hits" ] && echo True)"
done
# The scenario's own files (outside runs/) are the user's: only the run
# folder and the private properties are the harness's.
check "secrets: the clients read a private 0600 file in a 0700 folder outside runs/ (saw: $(cat "$RUNS/modes.txt" 2>/dev/null))" "$([ "$(cat "$RUNS/modes.txt" 2>/dev/null)" = "700 600 1" ] && echo True)"
left=$(find "$RUNS/tmp" -mindepth 1 2>/dev/null)
check "secrets: the private properties are removed when the run ends${left:+ (left: $left)}" "$([ -z "$left" ] && echo True)"
exit $FAILED
