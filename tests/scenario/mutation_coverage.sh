#!/usr/bin/env bash
# mutation_coverage.sh -- every bug switch that `crmsync connector --help`
# and `crmsync profiler --help` list has a scenario in
# tests/scenarios/mutations/ that sets it and must fail (expect.verdict
# "fail" with anomalies_at_least or failing), and docs/mutation-matrix.md
# shows it caught. Runs nothing: seconds.
set -u
BIN=$1; SRC=$2
FAILED=0
# The names after "--bug NAME ... (repeatable):", up to the next option.
switches() {
        "$BIN" "$1" --help | python3 -c '
import re, sys
t = sys.stdin.read()
m = re.search(r"--bug NAME.*?\(repeatable\):(.*?)\n\s*-", t, re.S)
print("\n".join(n for n in re.split(r"[,\s]+", m.group(1)) if n))'
}
SW=$( (switches connector; switches profiler) | sort -u)
[ "$(wc -l <<<"$SW")" -ge 10 ] || { echo "FAIL: only $(wc -l <<<"$SW") switches parsed from --help"; exit 1; }
"$BIN" validate "$SRC/tests/scenarios/mutations" >/dev/null ||
        { echo "FAIL: mutation scenarios do not validate"; FAILED=1; }
python3 - "$SRC" $SW <<'PY' || FAILED=1
import glob, json, os, sys
src, switches = sys.argv[1], sys.argv[2:]
have = {}
for f in sorted(glob.glob(src + "/tests/scenarios/mutations/*/*.json")):
    d = json.load(open(f))
    e = d.get("expect", {})
    if e.get("verdict") != "fail" or not (e.get("anomalies_at_least") or e.get("failing")):
        print("FAIL: %s sets no expected failure" % f)
        continue
    for proc in ("connector", "profiler"):
        for b in d.get("pipeline", {}).get(proc, {}).get("bugs", []):
            if os.path.basename(os.path.dirname(f)) != proc:
                print("FAIL: %s: %s switch outside mutations/%s/" % (f, proc, proc))
            have.setdefault(b, []).append(f)
bad = 0
matrix = open(src + "/docs/mutation-matrix.md").read()
for s in switches:
    if s not in have:
        print("FAIL: bug switch %s has no must-fail scenario" % s); bad = 1
    elif "| `%s` |" % s not in matrix or not any(
            l.startswith("| `%s` |" % s) and l.rstrip().endswith("| yes |")
            for l in matrix.splitlines()):
        print("FAIL: docs/mutation-matrix.md does not show %s caught" % s); bad = 1
    else:
        print("ok: %s -> %s" % (s, ", ".join(os.path.relpath(f, src) for f in have[s])))
sys.exit(bad)
PY
exit $FAILED
