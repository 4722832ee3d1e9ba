#!/usr/bin/env bash
# check-format.sh -- fail when a C file of the tree differs from what the
# repo's .clang-format makes of it. `make test` runs it; `make format`
# rewrites the files.
#
# usage: scripts/check-format.sh [--fix]
set -euo pipefail
cd "$(dirname "$0")/.."
CF=${CLANG_FORMAT:-clang-format}
if ! command -v "$CF" >/dev/null 2>&1; then
        echo "check-format: $CF not installed (scripts/setup.sh installs it)" >&2
        exit 2
fi
bad=0
while IFS= read -r f; do
        if [ "${1:-}" = --fix ]; then
                "$CF" -i --style=file "$f"
        elif ! "$CF" --style=file "$f" | cmp -s - "$f"; then
                echo "check-format: $f is not formatted (make format)" >&2
                bad=$((bad + 1))
        fi
done < <(git ls-files '*.c' '*.h')
if [ "$bad" -gt 0 ]; then
        echo "check-format: $bad file(s) differ from .clang-format" >&2
        exit 1
fi
echo "check-format: every C file matches .clang-format"
