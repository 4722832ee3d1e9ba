#!/usr/bin/env bash
# probe.sh -- target files are checked strictly (file:line:col, field;
# secrets only as ${ENV_VAR}), and `crmsync probe` on the embedded broker
# lists every checklist item, with CreateTopics and the lookup by timestamp
# unsupported (not crashes), in its table and its JSON.
set -u
BIN=$1; SRC=$2
. "$SRC/tests/scenario/lib.sh"
DIR=$(mktemp -d /tmp/crmsync-test.XXXXXX)
trap 'rm -rf "$DIR"' EXIT
FAILED=0

# The shipped examples validate (their secrets come from the environment).
out=$(KAFKA_PASSWORD=x REDPANDA_PASSWORD=y "$BIN" validate "$SRC/docs/targets" 2>&1)
check "validate: every example target file is valid ($out)" "$([ $? -eq 0 ] && echo True)"
check "validate: an embedded example is seen as a target" "$(grep -q 'ok .*embedded-3.json (target embedded-3-brokers, embedded)' <<<"$out" && echo True)"

cat >"$DIR/literal.json" <<'JSON'
{ "name": "lit",
  "properties": { "bootstrap.servers": "127.0.0.1:9",
                  "sasl.password": "hunter2" } }
JSON
cat >"$DIR/unset.json" <<'JSON'
{ "name": "unset",
  "properties": { "bootstrap.servers": "127.0.0.1:9",
                  "sasl.password": "${CRMSYNC_PROBE_UNSET_PW}" } }
JSON
cat >"$DIR/typo.json" <<'JSON'
{ "name": "typo", "type": "embedded",
  "brokers": 3, "partitons": 4 }
JSON
cat >"$DIR/range.json" <<'JSON'
{ "name": "range", "type": "embedded", "brokers": 99 }
JSON
want() { # file expected-message
        local o
        o=$(env -u CRMSYNC_PROBE_UNSET_PW "$BIN" validate "$DIR/$1" 2>&1)
        local rc=$?
        check "validate $1: exit 2 (got $rc)" "$([ $rc -eq 2 ] && echo True)"
        check "validate $1: says '$2' (said: $o)" "$(grep -qF -- "$2" <<<"$o" && echo True)"
}
want literal.json "literal.json:3:36: properties.sasl.password: a secret is not written in a target file"
want unset.json "unset.json:3:36: properties.sasl.password: environment variable CRMSYNC_PROBE_UNSET_PW is not set"
want typo.json "typo.json:2:17: partitons: unknown field 'partitons'"
want range.json "range.json:1:51: brokers: 99 is out of range [1, 16]"

# The probe on an embedded target.
"$BIN" probe "$SRC/docs/targets/embedded-1.json" --json "$DIR/probe.json" >"$DIR/probe.md" 2>"$DIR/probe.err"
RC=$?
check "probe: exit 0 (got $RC; $(head -c 300 "$DIR/probe.err"))" "$([ $RC -eq 0 ] && echo True)"
for item in "ApiVersions" "produce acks=all" "idempotent producer" \
        "transactions (commit, abort, read_committed)" \
        "consumer group (join, sync, heartbeat, offset commit and fetch)" \
        "ListOffsets earliest and latest" "ListOffsets by timestamp" \
        "DeleteRecords" "CreateTopics" "DeleteTopics" "DescribeConfigs" \
        "compacted topic with tombstones" "record headers" \
        "largest accepted message" "metadata RTT and produce p50/p99 (acks=all)"; do
        check "probe: the table lists '$item'" "$(grep -qF "| $item | " "$DIR/probe.md" && echo True)"
done
check "probe: CreateTopics unsupported, with the broker's answer" "$(jget "$DIR/probe.json" "[i for i in d['items'] if i['item']=='CreateTopics'][0]['status']=='unsupported' and 'API key 19' in [i for i in d['items'] if i['item']=='CreateTopics'][0]['error']")"
check "probe: lookup by timestamp unsupported" "$(jget "$DIR/probe.json" "[i for i in d['items'] if i['item']=='ListOffsets by timestamp'][0]['status']=='unsupported'")"
check "probe: produce passes with the API version used" "$(jget "$DIR/probe.json" "[i for i in d['items'] if i['item']=='produce acks=all'][0]['status']=='pass' and [i for i in d['items'] if i['item']=='produce acks=all'][0]['api'].startswith('Produce v')")"
check "probe: the consumer group passes (join, sync, heartbeat, commit, fetch)" "$(jget "$DIR/probe.json" "[i for i in d['items'] if i['item'].startswith('consumer group')][0]['status']=='pass'")"
check "probe: the ApiVersions table (Produce listed, CreateTopics not)" "$(jget "$DIR/probe.json" "any(a['key']==0 for a in d['api_versions']) and not any(a['key']==19 for a in d['api_versions'])")"
check "probe: latency figures" "$(jget "$DIR/probe.json" "d['figures']['produce_p99_ms'] > 0 and d['figures']['metadata_rtt_ms'] > 0 and d['figures']['largest_message_bytes'] > 0")"
check "probe: no item failed on the embedded broker" "$(jget "$DIR/probe.json" "d['counts']['fail']==0")"

# An unreachable cluster: exit 2, bounded, with the reason.
cat >"$DIR/down.json" <<'JSON'
{ "name": "down", "properties": { "bootstrap.servers": "127.0.0.1:1" } }
JSON
t0=$(date +%s)
"$BIN" probe --timeout-ms 1000 "$DIR/down.json" >/dev/null 2>"$DIR/down.err"
RC=$?
check "probe unreachable: exit 2 (got $RC)" "$([ $RC -eq 2 ] && echo True)"
check "probe unreachable: within 10 s" "$([ $(( $(date +%s) - t0 )) -le 10 ] && echo True)"
check "probe unreachable: says why ($(cat "$DIR/down.err"))" "$(grep -q 'cannot reach bootstrap servers 127.0.0.1:1' "$DIR/down.err" && echo True)"
exit $FAILED
