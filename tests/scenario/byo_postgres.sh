#!/usr/bin/env bash
# byo_postgres.sh -- bring your own pipeline on the postgres sink: a
# Python profiler with psycopg2 (tests/byo/pg_profiler.py), plugged in
# through the command interface with CRMSYNC_PG_DSN, passes duplicates,
# late events, a refused database, terminated connections and the
# trigger's partial failures with zero anomalies; a tiny Python profiler
# that writes WITHOUT the version check (tests/byo/pg_profiler_blind.py)
# is caught, from crmsync_apply_log, as reordered (and stale).
set -u
BIN=$1; SRC=$2
. "$SRC/tests/scenario/lib.sh"
cd "$SRC" || exit 1 # the commands name tests/byo/... from the source root
PY=/usr/bin/python3
if ! "$PY" -c 'import psycopg2, confluent_kafka' 2>/dev/null; then
        echo "FAIL: $PY cannot import psycopg2 and confluent_kafka (scripts/setup.sh installs python3-psycopg2, python3-confluent-kafka)"
        exit 1
fi
RUNS=$(mktemp -d /tmp/crmsync-test.XXXXXX)
chmod 755 "$RUNS" # the postgres user reaches the run folders: data there
trap 'rm -rf "$RUNS"' EXIT
FAILED=0

mkdir -p "$RUNS/good" "$RUNS/blind"
run_scenario "$BIN" "$SRC/tests/scenarios/byo-pg-python-profiler.json" "$RUNS/good"
check "python psycopg2 profiler: exit 0 (got $RC)" "$([ $RC -eq 0 ] && echo True)"
[ -n "$SUMMARY" ] || { echo "FAIL: no summary.json"; tail -20 "$RUNS/good/stderr.txt"; exit 1; }
DIR=$(dirname "$SUMMARY")
check "python profiler: all anomaly classes zero ($(jget "$SUMMARY" "d['anomalies']"))" \
        "$(jget "$SUMMARY" "all(v==0 for v in d['anomalies'].values())")"
check "python profiler: no fault skipped" \
        "$(jget "$SUMMARY" "not any(f.get('skipped') for f in d['faults'])")"
check "python profiler did the work (its log, not the reference's)" \
        "$(grep -q '^byo-profiler: .* consuming' "$DIR/profiler.log" && ! grep -q '^profiler: ' "$DIR/profiler.log" && echo True)"
check "python profiler: the faults reached it (it retried)" \
        "$(grep -q 'retry' "$DIR/profiler.log" && echo True)"
check "python profiler: side effects in crmsync_side_effects, none twice" \
        "$(jget "$SUMMARY" "d['log']['side_effects'] > 0 and d['anomalies']['duplicate_side_effect'] == 0")"
[ $FAILED -eq 0 ] || { tail -20 "$RUNS/good/stdout.txt"; tail -20 "$DIR/profiler.log"; }

run_scenario "$BIN" "$SRC/tests/scenarios/byo-pg-no-version-check.json" "$RUNS/blind" --keep
check "no-version-check profiler caught as expected: exit 0 (got $RC)" "$([ $RC -eq 0 ] && echo True)"
[ -n "$SUMMARY" ] || { echo "FAIL: no summary.json"; tail -20 "$RUNS/blind/stderr.txt"; exit 1; }
check "no-version-check: the run itself failed (run_verdict fail), as expected" \
        "$(jget "$SUMMARY" "d['run_verdict']=='fail' and d['verdict']=='pass'")"
check "no-version-check: reordered from the apply log ($(jget "$SUMMARY" "d['anomalies']['reordered']"))" \
        "$(jget "$SUMMARY" "d['anomalies']['reordered'] > 0 and any('applied after' in e['detail'] for e in d['anomaly_examples']['reordered'])")"
# --keep: the data directory stays in the run folder; the server is gone.
check "--keep kept the server's data directory in the run folder" \
        "$([ -f "$(dirname "$SUMMARY")/postgres/PG_VERSION" ] && echo True)"
check "--keep: the server was stopped all the same" \
        "$([ ! -f "$(dirname "$SUMMARY")/postgres/postmaster.pid" ] && echo True)"
exit $FAILED
