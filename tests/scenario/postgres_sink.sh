#!/usr/bin/env bash
# postgres_sink.sh -- the sink fault scenarios on the postgres sink with the
# reference profiler (tests/scenarios/postgres/: baseline, outage refuse,
# hang, terminate and 503, slow, partial failure, profiler crash,
# duplicates, late events, replay, bounded-domain replay): each a
# throwaway PostgreSQL, judged
# from crmsync_profiles and crmsync_apply_log; all must pass, each fault
# must have started (not skipped) and disturbed the profiler where it
# should, and no postgres of the runs may be left.
set -u
BIN=$1; SRC=$2
. "$SRC/tests/scenario/lib.sh"
RUNS=$(mktemp -d /tmp/crmsync-test.XXXXXX)
# The postgres user reaches the run folders: the throwaway servers' data
# directories go there (not to /tmp/crmsync-pg-*) and leave with them.
chmod 755 "$RUNS"
trap 'rm -rf "$RUNS"' EXIT
FAILED=0
DIR=$SRC/tests/scenarios/postgres
n=$(ls "$DIR"/*.json | wc -l)

"$BIN" run --jobs 2 "$DIR" --runs-dir "$RUNS" >"$RUNS/suite.txt" 2>&1
RC=$?
cat "$RUNS/suite.txt"
check "every postgres scenario passes: suite exit 0 (got $RC)" \
        "$([ $RC -eq 0 ] && echo True)"
SUITE=$(ls -d "$RUNS"/suite-[0-9]*/summary.json 2>/dev/null | head -1)
[ -n "$SUITE" ] || { echo "FAIL: no suite summary"; exit 1; }
check "$n runs, zero anomalies each" \
        "$(jget "$SUITE" "len(d['runs'])==$n and all(r['anomalies']==0 for r in d['runs'])")"
for d in "$RUNS"/pg-*/; do
        name=$(basename "$d")
        if grep -q '"fault_skipped"' "$d/history.jsonl"; then
                echo "FAIL: $name: a fault was skipped"; FAILED=1
        fi
        case $name in
        pg-0[2-5]-outage-*|pg-07-partial-failure-*)
                # The fault reached the profiler: it had to retry.
                retries=$(grep -o 'retries=[0-9]*' "$d/profiler.log" | tail -1 | cut -d= -f2)
                check "$name: the profiler retried (${retries:-0} retries)" \
                        "$([ "${retries:-0}" -gt 0 ] && echo True)"
                ;;
        esac
        check "$name: the throwaway server's data directory (in the run folder) was removed" \
                "$(grep -q "existing directory .*/$name/postgres" "$d/postgres.log" && [ ! -e "$d/postgres" ] && echo True)"
done
grep -l "injected partial failure" "$RUNS"/pg-07-*/profiler.log >/dev/null 2>&1
check "partial failure: the trigger's error reached the profiler" "$([ $? -eq 0 ] && echo True)"
# libpq reports a connection the server cut in one of two ways: with the
# backend's FATAL message when it reads it before the close, or only "server
# closed the connection unexpectedly" when the close comes first (more
# often on a busy machine). pg-04 has no other fault that closes it.
grep -lE "terminating connection due to administrator command|server closed the connection unexpectedly" \
        "$RUNS"/pg-04-*/profiler.log >/dev/null 2>&1
check "terminate: pg_terminate_backend cut the profiler's connection" "$([ $? -eq 0 ] && echo True)"
left=$(for p in /proc/[0-9]*; do { tr '\0' '\n' <"$p/environ"; } 2>/dev/null |
        grep -q "^CRMSYNC_RUN_DIR=$RUNS/" && echo "${p#/proc/}"; done)
check "no postgres (or other process) of the runs left: [$(echo $left)]" \
        "$([ -z "$left" ] && echo True)"
exit $FAILED
