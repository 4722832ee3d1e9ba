#!/usr/bin/env bash
# validate_fixtures.sh -- every invalid fixture is rejected by both
# `crmsync validate` and `crmsync run` with exit 2 and a message naming
# file:line:column and the field; every shipped scenario validates; run
# on their folder refuses the whole suite before running any.
set -u
BIN=$1
SRC=$2
fail=0
cd "$SRC/tests/fixtures/invalid" || exit 1
# A fixture that `run` wrongly accepts must not leave runs/ in the tree.
RUNS=$(mktemp -d /tmp/crmsync-vf.XXXXXX)
trap 'rm -rf "$RUNS"' EXIT
n=0
while IFS='|' read -r file want; do
        case "$file" in '#'*|'') continue ;; esac
        n=$((n + 1))
        for cmd in validate run; do
                if [ $cmd = run ]; then
                        out=$("$BIN" run --runs-dir "$RUNS" "$file" 2>&1 >/dev/null)
                else
                        out=$("$BIN" validate "$file" 2>&1 >/dev/null)
                fi
                rc=$?
                if [ $rc -ne 2 ]; then
                        echo "FAIL: crmsync $cmd $file exited $rc, want 2"
                        fail=1
                elif ! grep -qF -- "$want" <<<"$out"; then
                        echo "FAIL: crmsync $cmd $file said: $out"
                        echo "      want: $want"
                        fail=1
                fi
        done
done <../expected-errors.txt
[ "$n" -ge 10 ] || { echo "FAIL: only $n fixtures"; fail=1; }
[ "$(ls ./*.json | wc -l)" -eq "$n" ] || { echo "FAIL: fixtures without expectations"; fail=1; }

if ! "$BIN" validate "$SRC/scenarios" >/dev/null; then
        echo "FAIL: shipped scenarios do not validate"
        "$BIN" validate "$SRC/scenarios"
        fail=1
fi
# A --timeout that cuts a fault off is refused before the run starts.
out=$("$BIN" run --timeout 3 --runs-dir "$RUNS" "$SRC/scenarios/ci/0014-leader-move.json" 2>&1 >/dev/null)
rc=$?
if [ $rc -ne 2 ] || ! grep -q "0014-leader-move.json:17:5: faults\[0\]: the fault starts at 3s, at or after --timeout 3s" <<<"$out"; then
        echo "FAIL: run --timeout 3 exited $rc and said: $out"
        fail=1
fi
"$BIN" validate /nonexistent.json >/dev/null 2>&1
[ $? -eq 2 ] || { echo "FAIL: missing file must exit 2"; fail=1; }
# A folder runs as a suite, and every scenario in it is validated before
# anything runs: the invalid fixtures folder exits 2 with each fixture's
# error and leaves no run or suite folder.
out=$("$BIN" run --runs-dir "$RUNS/suite" "$SRC/tests/fixtures/invalid" 2>&1 >/dev/null)
rc=$?
if [ $rc -ne 2 ] || [ -e "$RUNS/suite" ] ||
   [ "$(grep -c '\.json:[0-9]*:[0-9]*: ' <<<"$out")" -lt "$n" ] ||
   ! grep -q "of $n scenarios are invalid; nothing was run" <<<"$out"; then
        echo "FAIL: crmsync run FOLDER-of-invalid exited $rc and said: $out"
        fail=1
fi
[ $fail -eq 0 ] && echo "validate_fixtures: $n fixtures rejected as expected"
exit $fail
