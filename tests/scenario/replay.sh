#!/usr/bin/env bash
# replay.sh -- a replay on the correct pipeline rebuilds the CRM's state and
# reports its throughput; a replay past the log's window (the embedded
# broker keeps 5 MiB per partition) is reported incomplete, never passed;
# the replay group's join is not idleness (settle_s shorter than the join
# still passes), and a replay that consumed everything but cannot rebuild
# ends soon after its last write and fails by name.
set -u
BIN=$1; SRC=$2
. "$SRC/tests/scenario/lib.sh"
RUNS=$(mktemp -d /tmp/crmsync-test.XXXXXX)
trap 'rm -rf "$RUNS"' EXIT
FAILED=0

mkdir -p "$RUNS/ok" "$RUNS/past"
run_scenario "$BIN" "$SRC/scenarios/ci/0100-replay.json" "$RUNS/ok"
check "replay: exit 0 (got $RC)" "$([ $RC -eq 0 ] && echo True)"
check "replay: performed and complete" "$(jget "$SUMMARY" "d['timing']['replay']['performed'] and d['timing']['replay']['complete']")"
check "replay: rebuilt state equals the CRM" "$(jget "$SUMMARY" "d['timing']['replay']['matches_oracle']")"
check "replay: events/s reported" "$(jget "$SUMMARY" "d['timing']['replay']['events_per_s'] > 0 and d['timing']['replay']['events'] == d['workload']['events_committed']")"
check "replay: join and drain reported apart" "$(jget "$SUMMARY" "(r := d['timing']['replay'])['join_s'] > 0 and r['drain_s'] > 0 and r['drain_events_per_s'] > 0 and r['join_s'] + r['drain_s'] <= r['seconds'] + 0.5")"
check "replay: broker-level drain of the same range" "$(jget "$SUMMARY" "(b := d['timing']['replay']['broker'])['complete'] and b['records'] == d['timing']['replay']['events'] and b['bytes'] == d['timing']['replay']['bytes'] and b['events_per_s'] > 0")"
check "replay: no side effect re-sent" "$(jget "$SUMMARY" "d['timing']['replay']['side_effects'] == 0")"

run_scenario "$BIN" "$SRC/tests/scenarios/replay-past-window.json" "$RUNS/past"
check "past window: exit 1 (got $RC)" "$([ $RC -eq 1 ] && echo True)"
check "past window: replay incomplete" "$(jget "$SUMMARY" "d['timing']['replay']['complete'] is False")"
check "past window: first missing offset named" "$(jget "$SUMMARY" "d['timing']['replay']['missing'][0]['first_missing_offset'] == 0 and d['timing']['replay']['missing'][0]['first_held_offset'] > 0")"
check "past window: expectation fails by name" "$(jget "$SUMMARY" "any(e['name']=='replay window complete' and not e['ok'] for e in d['expectations'])")"
check "past window: the live run itself was clean" "$(jget "$SUMMARY" "sum(d['anomalies'].values()) == 0")"
mkdir -p "$RUNS/short" "$RUNS/short-bug"
run_scenario "$BIN" "$SRC/tests/scenarios/replay-short-settle.json" "$RUNS/short"
check "settle 1 s < join: exit 0 (got $RC)" "$([ $RC -eq 0 ] && echo True)"
check "settle 1 s < join: rebuilt, join longer than settle_s" "$(jget "$SUMMARY" "d['timing']['replay']['matches_oracle'] and d['timing']['replay']['join_s'] > 1.0")"
run_scenario "$BIN" "$SRC/tests/scenarios/replay-short-settle-bug.json" "$RUNS/short-bug"
check "ignore-deletes replay: exit 1 (got $RC)" "$([ $RC -eq 1 ] && echo True)"
check "ignore-deletes replay: 'replay rebuilds the CRM's state' fails" "$(jget "$SUMMARY" "any(e['name']==\"replay rebuilds the CRM's state\" and not e['ok'] for e in d['expectations'])")"
check "ignore-deletes replay: ended within 30 s, not at the 120 s timeout" "$(jget "$SUMMARY" "d['timing']['replay']['seconds'] < 30")"
exit $FAILED
