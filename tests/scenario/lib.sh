# lib.sh -- helpers for scenario tests (sourced). Each test runs the real
# binary and asserts on the run's summary.json.

# run_scenario BIN FILE RUNS_DIR -> sets RC and SUMMARY (path)
run_scenario() {
        local bin=$1 file=$2 runs=$3
        shift 3
        "$bin" run "$file" --runs-dir "$runs" --quiet "$@" >"$runs/stdout.txt" 2>"$runs/stderr.txt"
        RC=$?
        SUMMARY=$(ls -td "$runs"/*/summary.json 2>/dev/null | head -1)
}

# jget FILE EXPR -> prints a value from a JSON file (python3 expression on d)
jget() {
        python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"
}

check() { # check DESCRIPTION CONDITION-RESULT(0/1)
        if [ "$2" != "True" ]; then
                echo "FAIL: $1"
                FAILED=1
        else
                echo "ok: $1"
        fi
}

# start_broker DIR ARGS...: a standalone `crmsync broker ARGS` in the
# background, its output in DIR/broker.out. Sets BROKER_PID and BOOT (its
# bootstrap servers); exits the test when it prints none within 5 s.
start_broker() {
        local dir=$1
        shift
        "$BIN" broker "$@" >"$dir/broker.out" 2>&1 &
        BROKER_PID=$!
        for _ in $(seq 1 50); do
                grep -q '^bootstrap.servers=' "$dir/broker.out" && break
                sleep 0.1
        done
        BOOT=$(sed -n 's/^bootstrap.servers=//p' "$dir/broker.out")
        [ -n "$BOOT" ] || { echo "FAIL: broker did not start"; cat "$dir/broker.out"; exit 1; }
}

# need_node_clients: node and tests/clients/node_modules (scripts/setup.sh
# runs npm ci there) for the tests of the real-client connectors; run
# from the source root. Prints why and returns 1 when missing.
need_node_clients() {
        if ! command -v node >/dev/null || [ ! -d tests/clients/node_modules/jsforce ] ||
                [ ! -d tests/clients/node_modules/@hubspot/api-client ] ||
                [ ! -d tests/clients/node_modules/kafkajs ]; then
                echo "FAIL: node or tests/clients/node_modules missing (scripts/setup.sh runs npm ci there)"
                return 1
        fi
}

# start_crm VAR OUT ARGS...: `$BIN crm ARGS` in the background, its output
# in OUT, its pid added to PIDS (the caller's EXIT trap kills them); sets
# VAR to the URL it printed. Not in a subshell: PIDS must reach the trap.
# Returns 1 (after printing why) when it printed none within 5 s.
start_crm() {
        local var=$1 out=$2 url=""
        shift 2
        "$BIN" crm "$@" >"$out" 2>&1 &
        PIDS="$PIDS $!"
        for _ in $(seq 1 50); do
                url=$(grep -m1 -o 'http://127\.0\.0\.1:[0-9]*' "$out" 2>/dev/null) && break
                sleep 0.1
        done
        printf -v "$var" '%s' "$url"
        [ -n "$url" ] || { echo "FAIL: the CRM did not start ($out)"; cat "$out"; return 1; }
}

# run_case NAME FILE: the scenario FILE in $RUNS/NAME (run_scenario);
# sets RC, SUMMARY and DIR (the run folder); exits the test with FAIL
# when the run left no summary.json.
run_case() {
        mkdir -p "$RUNS/$1"
        run_scenario "$BIN" "$2" "$RUNS/$1"
        if [ -z "$SUMMARY" ]; then
                echo "FAIL: no summary.json ($1)"
                tail -20 "$RUNS/$1/stderr.txt"
                exit 1
        fi
        DIR=$(dirname "$SUMMARY")
}
