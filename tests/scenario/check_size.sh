#!/bin/bash
# check_size.sh -- scripts/check-size.sh fires on a planted 121-line
# function and a 1,001-line file, stays quiet at 120 and 1,000 lines,
# ignores tests/, and passes on the real tree.
# usage: check_size.sh <crmsync-binary (unused)> <source-dir>
set -euo pipefail
SRC=${2:?usage: check_size.sh BIN SRC}
CHECK="$SRC/scripts/check-size.sh"
T=$(mktemp -d /tmp/crmsync-check-size.XXXXXX)
trap 'rm -rf "$T"' EXIT

# func NAME LINES: a function of LINES lines, signature to closing brace.
func() {
        printf 'static int\n%s(int x)\n{\n' "$1"
        for ((i = 0; i < $2 - 4; i++)); do printf '        x += %d;\n' "$i"; done
        printf '}\n'
}
fail() { echo "check_size: FAIL: $*" >&2; exit 1; }

mkdir -p "$T/ok/lib" "$T/long/lib" "$T/big/lib" "$T/okbig/lib" "$T/tests/tests"
func at_limit 120 >"$T/ok/lib/a.c"
[ "$(wc -l <"$T/ok/lib/a.c")" -eq 120 ] || fail "planted function is not 120 lines"
bash "$CHECK" "$T/ok" >/dev/null || fail "fired on a 120-line function"

func too_long 121 >"$T/long/lib/a.c"
if out=$(bash "$CHECK" "$T/long" 2>&1); then
        fail "quiet on a 121-line function"
fi
grep -q 'lib/a.c:1: function too_long is 121 lines (max 120)' <<<"$out" ||
        fail "message does not name the function: $out"

for ((i = 0; i < 1001; i++)); do echo "/* $i */"; done >"$T/big/lib/b.h"
if out=$(bash "$CHECK" "$T/big" 2>&1); then
        fail "quiet on a 1,001-line file"
fi
grep -q 'lib/b.h: 1001 lines (max 1000)' <<<"$out" || fail "bad message: $out"
head -1000 "$T/big/lib/b.h" >"$T/okbig/lib/b.h"
bash "$CHECK" "$T/okbig" >/dev/null || fail "fired on a 1,000-line file"

# tests/ is outside the rule.
mkdir -p "$T/tests/lib"
func fine 10 >"$T/tests/lib/a.c"
func in_tests 300 >"$T/tests/tests/t.c"
bash "$CHECK" "$T/tests" >/dev/null || fail "fired on a function under tests/"

# The real tree.
bash "$CHECK" "$SRC" ||
        fail "the tree is over the limits"
echo "check_size: ok"
