#!/usr/bin/env bash
# no_orphans.sh -- pipeline processes never outlive the harness: not on
# SIGINT (clean stop, exit 130 with a summary), not when the harness is
# killed with SIGKILL, and not when the pipeline's command is a shell
# wrapper whose own children are the real pipeline (`/bin/sh -c 'crmsync
# profiler; echo done'`): the harness's watchdog kills every child's
# process group when the harness dies.
set -u
BIN=$1; SRC=$2
. "$SRC/tests/scenario/lib.sh"
RUNS=$(mktemp -d /tmp/crmsync-test.XXXXXX)
# The postgres user reaches the run folders: the throwaway servers' data
# directories go there (not to /tmp/crmsync-pg-*) and leave with them.
chmod 755 "$RUNS"
trap 'rm -rf "$RUNS"' EXIT
FAILED=0

child_pids() { # prints the pids of the children the run started
        local hist
        for _ in $(seq 1 300); do # the profiler may take 15 s to be ready
                hist=$(ls "$RUNS"/$1/*/history.jsonl 2>/dev/null | head -1)
                if [ -n "$hist" ] && [ "$(grep -c '"child_start"' "$hist")" -ge 2 ]; then
                        grep '"child_start"' "$hist" | sed 's/.*"pid":\([0-9]*\).*/\1/'
                        return 0
                fi
                sleep 0.1
        done
        return 1
}

# Every live process of a run, whatever its parent or group: the pipeline's
# environment names the run's folder.
run_procs() {
        local p
        for p in /proc/[0-9]*; do
                [ -r "$p/environ" ] || continue
                if { tr '\0' '\n' <"$p/environ"; } 2>/dev/null |
                        grep -q "^CRMSYNC_RUN_DIR=$RUNS/$1/"; then
                        alive "${p#/proc/}" && echo "${p#/proc/}"
                fi
        done
}

alive() { kill -0 "$1" 2>/dev/null && [ "$(ps -o stat= -p "$1" | cut -c1)" != Z ]; }

# Each run's private TMPDIR shows whether its client properties (which
# may hold a target's password) outlive it.
for sig in INT KILL; do
        mkdir -p "$RUNS/$sig" "$RUNS/$sig.tmp"
        TMPDIR="$RUNS/$sig.tmp" "$BIN" run "$SRC/tests/scenarios/long-run.json" \
                --runs-dir "$RUNS/$sig" --quiet >"$RUNS/$sig.out" 2>&1 &
        harness=$!
        pids=$(child_pids "$sig") || { echo "FAIL: $sig: children never started"; cat "$RUNS/$sig.out"; kill -9 $harness; FAILED=1; continue; }
        sleep 1
        kill -$sig $harness
        wait $harness
        rc=$?
        for _ in $(seq 1 50); do
                left=""
                for p in $pids; do alive "$p" && left="$left $p"; done
                [ -z "$left" ] && break
                sleep 0.1
        done
        if [ -n "$left" ]; then
                echo "FAIL: $sig: children still alive:$left"
                kill -9 $left 2>/dev/null
                FAILED=1
        else
                echo "ok: $sig: children [$(echo $pids)] gone"
        fi
        for _ in $(seq 1 50); do
                props=$(find "$RUNS/$sig.tmp" -name 'crmsync-props.*' 2>/dev/null)
                [ -z "$props" ] && break
                sleep 0.1
        done
        if [ -n "$props" ]; then
                echo "FAIL: $sig: the client properties outlived the harness: $props"
                FAILED=1
        else
                echo "ok: $sig: no client properties left in TMPDIR"
        fi
        if [ $sig = INT ]; then
                [ $rc -eq 130 ] || { echo "FAIL: SIGINT exit $rc, want 130"; FAILED=1; }
                ls "$RUNS"/INT/*/summary.json >/dev/null 2>&1 || { echo "FAIL: SIGINT wrote no summary"; FAILED=1; }
        fi
done

# The wrapper case: both pipeline commands are shells that run the real
# process as their child (no exec), so only a process-group kill from
# outside the dead harness reaches it.
mkdir -p "$RUNS/WRAP"
python3 - "$SRC/tests/scenarios/long-run.json" "$BIN" >"$RUNS/wrapped.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["name"] = "long-run-wrapped"
d["pipeline"] = {p: {"command": "/bin/sh -c '%s %s; echo done'" % (sys.argv[2], p)}
                 for p in ("profiler", "connector")}
print(json.dumps(d))
PY
"$BIN" run "$RUNS/wrapped.json" --runs-dir "$RUNS/WRAP" --quiet >"$RUNS/WRAP.out" 2>&1 &
harness=$!
procs=""
for _ in $(seq 1 300); do # both wrapped processes up (sh + crmsync, twice)
        procs=$(run_procs WRAP)
        [ "$(echo $procs | wc -w)" -ge 4 ] && break
        sleep 0.1
done
if [ "$(echo $procs | wc -w)" -lt 4 ]; then
        echo "FAIL: WRAP: the wrapped pipeline never started ($(echo $procs))"
        cat "$RUNS/WRAP.out"
        FAILED=1
else
        sleep 1
        kill -KILL $harness
        wait $harness 2>/dev/null
        for _ in $(seq 1 50); do
                left=$(run_procs WRAP)
                [ -z "$left" ] && break
                sleep 0.1
        done
        if [ -n "$left" ]; then
                echo "FAIL: WRAP: processes of the run outlived the harness:"
                ps -o pid=,ppid=,pgid=,args= -p "$(echo $left | tr ' ' ,)"
                kill -9 $left 2>/dev/null
                FAILED=1
        else
                echo "ok: WRAP: wrapped pipeline [$(echo $procs)] gone after SIGKILL of the harness"
        fi
fi
kill -9 $harness 2>/dev/null

# The postgres sink: the throwaway server (a supervised child run as the
# postgres user; its backends leave its process group) is gone after
# SIGINT (a clean stop, its data directory removed) and after SIGKILL of
# the harness (the watchdog kills the postmaster, the backends follow it).
python3 - "$SRC/tests/scenarios/long-run.json" >"$RUNS/pg.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["name"] = "long-run-pg"
d["sink"] = {"type": "postgres"}
print(json.dumps(d))
PY
for sig in INT KILL; do
        mkdir -p "$RUNS/PG$sig"
        "$BIN" run "$RUNS/pg.json" --runs-dir "$RUNS/PG$sig" --quiet >"$RUNS/PG$sig.out" 2>&1 &
        harness=$!
        pm=""
        for _ in $(seq 1 60); do # the connector starts after the sink is up
                if grep -q '"child_start".*"connector"' "$RUNS"/PG$sig/*/history.jsonl 2>/dev/null; then
                        for p in $(run_procs PG$sig); do
                                [ "$(ps -o comm= -p "$p")" = postgres ] && pm=$p
                        done
                        break
                fi
                sleep 0.5
        done
        if [ -z "$pm" ]; then
                echo "FAIL: PG$sig: the postgres sink never started"
                cat "$RUNS/PG$sig.out"; kill -9 $harness; FAILED=1; continue
        fi
        # The backends rewrite their environment (the process title): they
        # are the postmaster's children.
        procs="$(run_procs PG$sig) $(ps -o pid= --ppid "$pm")"
        pgdir=$(ls -d "$RUNS"/PG$sig/*/postgres 2>/dev/null)
        sleep 1
        kill -$sig $harness
        wait $harness 2>/dev/null
        for _ in $(seq 1 100); do
                left=""
                for p in $procs; do alive "$p" && left="$left $p"; done
                [ -z "$left" ] && break
                sleep 0.1
        done
        if [ -n "$left" ]; then
                echo "FAIL: PG$sig: processes of the run outlived the harness:"
                ps -o pid=,ppid=,pgid=,user=,args= -p "$(echo $left | tr ' ' ,)"
                kill -9 $left 2>/dev/null
                FAILED=1
        else
                echo "ok: PG$sig: the postmaster ($pm), its backends and the pipeline [$(echo $procs)] gone"
        fi
        if [ $sig = INT ]; then
                check "PGINT: the server's data directory ($pgdir) was removed" \
                        "$([ -n "$pgdir" ] && [ ! -e "$pgdir" ] && echo True)"
        fi
done
kill -9 $harness 2>/dev/null
exit $FAILED
