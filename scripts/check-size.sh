#!/usr/bin/env bash
# check-size.sh -- fail when a C file outside tests/ is over 1,000 lines or
# holds a function over 120 lines (issue 9). `make test` runs it next to
# check-format.sh.
#
# A function is counted from the first line of its signature (the last
# line before its body that starts in column 0) to its closing brace,
# inclusive. That relies on the brace style .clang-format enforces: a
# function body opens with "{" alone in column 0 and closes with "}" in
# column 0, and nothing else in a C file does.
#
# usage: scripts/check-size.sh [root]   (default: the repo; every *.c and
#        *.h under root except tests/ and build*/ folders)
# env:   MAX_FUNC_LINES (default 120), MAX_FILE_LINES (default 1000)
set -euo pipefail
ROOT=${1:-$(cd "$(dirname "$0")/.." && pwd)}
MAX_FUNC=${MAX_FUNC_LINES:-120}
MAX_FILE=${MAX_FILE_LINES:-1000}

files=$(cd "$ROOT" && find . \( -path ./tests -o -path './build*' \
        -o -path ./.git \) -prune -o \( -name '*.c' -o -name '*.h' \) \
        -type f -print | sed 's|^\./||' | sort)
if [ -z "$files" ]; then
        echo "check-size: no C files under $ROOT" >&2
        exit 2
fi

# One awk pass over all files; a file's state resets at FNR == 1.
# shellcheck disable=SC2086
bad=$(cd "$ROOT" && awk -v maxf="$MAX_FUNC" -v maxl="$MAX_FILE" '
function flush_file() {
        if (fname != "" && lines > maxl)
                printf "%s\t(file)\t%s: %d lines (max %d)\n", fname, fname,
                    lines, maxl
}
FNR == 1 { flush_file(); fname = FILENAME; top = 0; body = 0; insig = 0 }
{ lines = FNR }
# A signature may span several column-0 lines ("static int" then
# "name(...)"): it starts after a blank line, a declaration ending in ";",
# a "}" or a comment, and the name is on its last column-0 line.
/^[A-Za-z_]/ && !body {
        if (!insig)
                top = FNR
        sig = $0
        insig = 1
}
/^\{/ && !body { body = 1; start = top ? top : FNR; name = sig }
!body && (/^[ \t]*$/ || /;[ \t]*$/ || /^\}/ || /\*\/[ \t]*$/ || /^#/) {
        insig = 0
}
/^\}/ && body {
        body = 0
        n = FNR - start + 1
        if (n > maxf) {
                fn = name
                if (match(name, /[A-Za-z_][A-Za-z_0-9]*[ \t]*\(/))
                        fn = substr(name, RSTART, RLENGTH - 1)
                sub(/[ \t]+$/, "", fn)
                printf "%s\t%s\t%s:%d: function %s is %d lines (max %d)\n",
                    fname, fn, fname, start, fn, n, maxf
        }
        top = 0
        insig = 0
}
END { flush_file() }
' $files)

if [ -n "$bad" ]; then
        printf '%s\n' "$bad" | cut -f3 | sed 's/^/check-size: /' >&2
        echo "check-size: $(printf '%s\n' "$bad" | wc -l) over the limits" \
                "(split by phase, with names that say what each part does)" >&2
        exit 1
fi
echo "check-size: no function over $MAX_FUNC lines, no file over" \
        "$MAX_FILE lines"
