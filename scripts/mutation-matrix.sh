#!/usr/bin/env bash
# mutation-matrix.sh -- run every bug switch scenario as one suite and
# write docs/mutation-matrix.md from the suite's mutation matrix.
# Usage: scripts/mutation-matrix.sh [BIN] (default build/crmsync), from the
# repository root. Exits with the suite's exit code (0: all caught).
set -u
BIN=${1:-build/crmsync}
RUNS=$(mktemp -d /tmp/crmsync-matrix.XXXXXX)
trap 'rm -rf "$RUNS"' EXIT
"$BIN" run --jobs 2 --runs-dir "$RUNS" tests/scenarios/mutations/connector \
        tests/scenarios/mutations/profiler
rc=$?
md=$(ls "$RUNS"/suite-[0-9]*/mutation-matrix.md 2>/dev/null | head -1)
[ -n "$md" ] || { echo "mutation-matrix: the suite wrote no matrix" >&2; exit 2; }
{
        cat "$md"
        printf '\nWritten by `scripts/mutation-matrix.sh` (`crmsync run --jobs 2 tests/scenarios/mutations/connector tests/scenarios/mutations/profiler`); suite exit code %d. The counts are those of that run.\n' "$rc"
} >docs/mutation-matrix.md
echo "wrote docs/mutation-matrix.md (suite exit $rc)"
exit $rc
