#!/usr/bin/env bash
# flaky.sh -- run the CI suite N times on the correct pipeline and report
# every false alarm: a scenario that did not pass although nothing is
# wrong with the pipeline (no bug switch is set). Each alarm is one line
# with its round, scenario, verdict, what it found and its run folder; the
# last line is the summary ("flaky: N rounds ..., F false alarms").
#
# usage: scripts/flaky.sh N [--filter PATTERN] [--jobs J] [--suite DIR]
#                           [--runs-dir DIR] [--bin PATH]
#   N           rounds (1..1000)
#   --filter    only the scenario files matching PATTERN (crmsync run)
#   --jobs      scenarios at a time in each round (default 1)
#   --suite     the scenario folder (default scenarios/ci)
#   --runs-dir  where the rounds go (default runs/flaky-<UTC time>)
#   --bin       the crmsync binary (default build/crmsync)
# Exit: 0 no false alarm, 1 any, 2 bad usage or a round that could not run.
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
usage() { sed -n '/^# usage:/,/^# Exit:/p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

N=${1:-}
[[ "$N" =~ ^[0-9]+$ ]] && [ "$N" -ge 1 ] && [ "$N" -le 1000 ] || usage
shift
FILTER=(); PAT=; JOBS=1; SUITE=$SRC/scenarios/ci; BIN=$SRC/build/crmsync
RUNS=runs/flaky-$(date -u +%Y%m%dT%H%M%SZ)
while [ $# -gt 0 ]; do
        case $1 in
        --filter) PAT=${2:?}; FILTER=(--filter "$PAT"); shift 2 ;;
        --jobs) JOBS=${2:?}; shift 2 ;;
        --suite) SUITE=${2:?}; shift 2 ;;
        --runs-dir) RUNS=${2:?}; shift 2 ;;
        --bin) BIN=${2:?}; shift 2 ;;
        *) usage ;;
        esac
done
[ -x "$BIN" ] || { echo "flaky: $BIN: no crmsync binary (make build)" >&2; exit 2; }
[ -d "$SUITE" ] || { echo "flaky: $SUITE: no such folder" >&2; exit 2; }
# The correct pipeline: no scenario that runs may set a bug switch. The
# filter as crmsync run applies it: a glob with * ? [, else a substring.
bugs=
for f in "$SUITE"/*.json; do
        b=$(basename "$f")
        if [ -n "$PAT" ]; then
                case $PAT in
                *[*?[]*) [[ $b == $PAT ]] || continue ;;
                *) [[ $b == *"$PAT"* ]] || continue ;;
                esac
        fi
        grep -q '"bugs"' "$f" && bugs="$bugs $f"
done
if [ -n "$bugs" ]; then
        echo "flaky: these scenarios set bug switches (not the correct pipeline):" >&2
        echo "$bugs" | tr ' ' '\n' | sed '/^$/d' >&2
        exit 2
fi
mkdir -p "$RUNS" || exit 2
LOG=$RUNS/flaky.txt
: >"$LOG"
say() { echo "$*" | tee -a "$LOG"; }

say "flaky: $N rounds of $SUITE ${FILTER[*]} with $BIN, into $RUNS"
alarms=0; scenario_runs=0
for round in $(seq 1 "$N"); do
        dir=$RUNS/round-$round
        "$BIN" run "$SUITE" "${FILTER[@]}" --jobs "$JOBS" --runs-dir "$dir" \
                --quiet >"$dir.out" 2>"$dir.err"
        rc=$?
        sum=$(ls -d "$dir"/suite-*/summary.json 2>/dev/null | head -1)
        if [ -z "$sum" ] || [ "$rc" -ge 2 ]; then
                say "ERROR round $round: the suite did not run to the end (exit $rc); see $dir.out, $dir.err"
                say "flaky: $N rounds stopped at round $round; $scenario_runs scenario runs, $alarms false alarms"
                exit 2
        fi
        # One line per scenario that did not pass, and the round's counts.
        out=$(python3 - "$sum" "$round" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
rows = s["runs"]
bad = [r for r in rows if r["verdict"] != "pass" or r["exit_code"] != 0]
for r in bad:
    found = ["%s=%s" % kv for kv in r.get("anomaly_counts", {}).items()]
    try:  # the expectations it failed, from the run's own summary
        rs = json.load(open(r["run_dir"] + "/summary.json"))
        found += ["failed: %s (%s)" % (e["name"], e.get("detail", ""))
                  for e in rs.get("expectations", []) if not e.get("ok")]
    except (OSError, ValueError, TypeError):
        pass
    print("FALSE ALARM round %s: %s %s (%s) run folder %s log %s" % (
        sys.argv[2], r["scenario"], r["verdict"], "; ".join(found) or
        "no anomaly", r["run_dir"] or "(none)", r["log"]))
print("COUNTS %d %d" % (len(rows), len(bad)))
PY
)
        while IFS= read -r line; do
                case $line in
                COUNTS*) set -- $line; scenario_runs=$((scenario_runs + $2)); alarms=$((alarms + $3)) ;;
                *) say "$line" ;;
                esac
        done <<<"$out"
        say "round $round: exit $rc, $(dirname "$sum")"
done
say "flaky: $N rounds of $(basename "$SUITE") ($scenario_runs scenario runs), $alarms false alarms"
[ "$alarms" -eq 0 ]
