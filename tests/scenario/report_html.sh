#!/usr/bin/env bash
# report_html.sh -- what a run and a suite show people. One suite of two
# short scenarios (a passing run with two faults, a failing run with a bug
# switch), then:
#  1. report.html of each run and the suite's index.html open in headless
#     Chromium with no console message, and the screenshot is a real
#     picture; a page with a planted JS error is caught by the same check;
#  2. the pages are self-contained (no script, no external file);
#  3. timeline.svg has exactly one shaded band per fault, at the fault's
#     start and end (summary.json) to within one pixel column by the axis
#     mapping the SVG publishes; a band one second off is caught;
#  4. the per-second series add up (commits, final backlog);
#  5. both runs' and the suite's junit.xml validate against tests/junit.xsd
#     (an invalid file does not), and the failing run's failures name the
#     class, the first examples and their lineage.
set -u
BIN=$1; SRC=$2
. "$SRC/tests/scenario/lib.sh"
RUNS=$(mktemp -d /tmp/crmsync-test.XXXXXX)
trap 'rm -rf "$RUNS"' EXIT
FAILED=0

"$BIN" run "$SRC/tests/scenarios/report-faults.json" \
        "$SRC/tests/scenarios/report-fail.json" --runs-dir "$RUNS" --quiet \
        >"$RUNS/stdout.txt" 2>"$RUNS/stderr.txt"
RC=$?
check "suite exits 1 (one scenario fails; got $RC)" "$([ $RC -eq 1 ] && echo True)"
PASS=$(ls -d "$RUNS"/report-faults-*/ 2>/dev/null | head -1)
FAIL=$(ls -d "$RUNS"/report-fail-*/ 2>/dev/null | head -1)
SUITE=$(ls -d "$RUNS"/suite-*/ 2>/dev/null | head -1)
if [ -z "$PASS" ] || [ -z "$FAIL" ] || [ -z "$SUITE" ]; then
        echo "FAIL: run or suite folders missing"; ls "$RUNS"; cat "$RUNS/stderr.txt"
        exit 1
fi
check "passing run passes" "$(jget "$PASS/summary.json" "d['verdict'] == 'pass'")"
check "failing run fails" "$(jget "$FAIL/summary.json" "d['verdict'] == 'fail'")"

# -- files, links, self-containment ---------------------------------------
for d in "$PASS" "$FAIL"; do
        n=$(basename "$d")
        for f in report.html timeline.svg lag.svg latency.svg recovery.svg anomalies.svg; do
                check "$n: $f written" "$([ -s "$d/$f" ] && echo True)"
        done
        for f in "$d"/*.svg; do
                xmllint --noout "$f" 2>>"$RUNS/xmllint.txt"
                check "$n: $(basename "$f") is well-formed XML" "$([ $? -eq 0 ] && echo True)"
                check "$n: report.md links $(basename "$f")" \
                        "$(grep -q "]($(basename "$f"))" "$d/report.md" && echo True)"
        done
done
selfcontained() { # FILE -> True when it loads nothing from elsewhere
        python3 - "$1" <<'PY'
import re, sys
h = open(sys.argv[1]).read()
bad = [p for p in (r"<script", r"\bsrc\s*=", r"<link", r"url\(", r"@import",
                   r"<iframe", r"<object", r"<embed") if re.search(p, h, re.I)]
urls = [u for u in re.findall(r"(?:https?:)?//[^\s\"'<>)]+", h)
        if u != "http://www.w3.org/2000/svg"]
print("True" if not bad and not urls else "False %s %s" % (bad, urls[:3]))
PY
}
for f in "$PASS/report.html" "$FAIL/report.html"; do
        check "$(basename "$(dirname "$f")"): report.html is self-contained" "$(selfcontained "$f")"
done

# -- Chromium: screenshot, no console message -----------------------------
CHROME=$(command -v chromium || command -v chromium-browser || true)
[ -n "$CHROME" ] || { echo "FAIL: chromium not installed (scripts/setup.sh installs it)"; exit 1; }
# shoot HTML PNG -> prints the number of console messages (logged as
# "CONSOLE" lines with --enable-logging); the log goes to PNG.log.
shoot() {
        timeout 90 "$CHROME" --headless --no-sandbox --disable-gpu \
                --hide-scrollbars --no-first-run --disable-extensions \
                --disable-dev-shm-usage \
                --user-data-dir="$RUNS/chrome-profile" \
                --enable-logging=stderr --v=0 --window-size=1024,2400 \
                --screenshot="$2" "file://$1" >"$2.log" 2>&1
        grep -c ':CONSOLE' "$2.log"
}
# pngcheck PNG -> True when it is a decodable picture of the window's size
# with more than a handful of colours (not blank).
pngcheck() {
        python3 - "$1" <<'PY'
import struct, sys, zlib
b = open(sys.argv[1], "rb").read()
if b[:8] != b"\x89PNG\r\n\x1a\n":
    print("False not a PNG"); sys.exit()
pos, idat, w, h = 8, b"", 0, 0
while pos < len(b):
    n, t = struct.unpack(">I4s", b[pos:pos + 8])
    c = b[pos + 8:pos + 8 + n]
    if t == b"IHDR":
        w, h = struct.unpack(">II", c[:8])
    elif t == b"IDAT":
        idat += c
    pos += 12 + n
raw = zlib.decompress(idat)
rows = len(set(raw[i * len(raw) // h:(i + 1) * len(raw) // h] for i in range(h)))
colours = len(set(raw[i:i + 3] for i in range(0, min(len(raw), 4000000), 3)))
ok = w >= 1000 and h >= 2000 and rows > 50 and colours > 20
print("True" if ok else "False %dx%d rows %d colours %d" % (w, h, rows, colours))
PY
}
for page in "$PASS/report.html" "$FAIL/report.html" "$SUITE/index.html"; do
        n="$(basename "$(dirname "$page")")/$(basename "$page")"
        png="$RUNS/$(basename "$(dirname "$page")").png"
        c=$(shoot "$page" "$png")
        check "$n: no console message in Chromium (got $c)" "$([ "$c" = 0 ] && echo True)"
        [ "$c" = 0 ] || grep ':CONSOLE' "$png.log"
        check "$n: screenshot is a real picture" "$(pngcheck "$png")"
done
# The check must catch a broken page: an uncaught error and a
# console.error each show up.
printf '<!DOCTYPE html><html><body><p>x</p><script>no_such_fn();</script></body></html>\n' >"$RUNS/planted.html"
c=$(shoot "$RUNS/planted.html" "$RUNS/planted.png")
check "a planted JS error is caught (got $c console messages)" "$([ "$c" -ge 1 ] && echo True)"
grep -q 'no_such_fn' "$RUNS/planted.png.log"
check "the planted error is named in the log" "$([ $? -eq 0 ] && echo True)"
printf '<!DOCTYPE html><html><body><script>console.error("boom")</script></body></html>\n' >"$RUNS/planted2.html"
c=$(shoot "$RUNS/planted2.html" "$RUNS/planted2.png")
check "a planted console.error is caught (got $c)" "$([ "$c" -ge 1 ] && echo True)"

# -- timeline bands at the faults' times ----------------------------------
# bands SVG SUMMARY [SHIFT_S] -> True when there is exactly one band per
# fault that ran, each within one pixel column of start_s/end_s (+SHIFT).
bands() {
        python3 - "$@" <<'PY'
import json, sys, xml.etree.ElementTree as ET
svg, summ = sys.argv[1], json.load(open(sys.argv[2]))
shift = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
root = ET.parse(svg).getroot()
ns = "{http://www.w3.org/2000/svg}"
lo, hi = float(root.get("data-x-min")), float(root.get("data-x-max"))
left, right = float(root.get("data-plot-left")), float(root.get("data-plot-right"))
assert root.get("data-x-scale") == "linear"
px = lambda x: left + (x - lo) / (hi - lo) * (right - left)
rects = [r for r in root.iter(ns + "rect") if r.get("class") == "band"]
faults = [(i, f) for i, f in enumerate(summ["faults"])
          if not f["skipped"] and f["start_s"] is not None]
errs = []
if len(rects) != len(faults):
    errs.append("%d bands for %d faults" % (len(rects), len(faults)))
for i, f in faults:
    mine = [r for r in rects if r.get("data-label").startswith("F%d " % i)]
    if len(mine) != 1:
        errs.append("F%d: %d bands" % (i, len(mine)))
        continue
    x0 = float(mine[0].get("x")); x1 = x0 + float(mine[0].get("width"))
    e0, e1 = px(f["start_s"] + shift), px(f["end_s"] + shift)
    if abs(x0 - e0) > 1 or abs(x1 - e1) > 1:
        errs.append("F%d at %.1f-%.1f px, expected %.1f-%.1f" % (i, x0, x1, e0, e1))
print("True" if not errs else "False " + "; ".join(errs))
PY
}
check "passing run has 2 faults" "$(jget "$PASS/summary.json" "len(d['faults']) == 2")"
for chart in timeline lag; do
        check "$chart.svg: one band per fault at its start and end (+-1 px)" \
                "$(bands "$PASS/$chart.svg" "$PASS/summary.json")"
done
check "failing run: one band per fault (+-1 px)" "$(bands "$FAIL/timeline.svg" "$FAIL/summary.json")"
r=$(bands "$PASS/timeline.svg" "$PASS/summary.json" 1.0)
check "a band one second off is caught ($r)" "$([ "${r%% *}" = False ] && echo True)"

# -- the series add up ----------------------------------------------------
check "commits per second add up to the committed changes" "$(jget "$PASS/summary.json" \
        "sum(d['series']['commits_per_s']) == d['workload']['events_committed']")"
check "backlog is 0 at the end of a converged run" \
        "$(jget "$PASS/summary.json" "d['series']['backlog'][-1] == 0")"
# The outage (F0, 2 s) covers one whole second at least: nothing applied.
check "the outage shows: no applies in a second inside F0" "$(jget "$PASS/summary.json" \
        "0 in d['series']['applies_per_s'][int(d['faults'][0]['start_s']) + 1:int(d['faults'][0]['end_s'])]")"
check "the outage shows: lag above 1 s at its end" "$(jget "$PASS/summary.json" \
        "max(d['series']['lag_s']) > 1.0")"
check "consumer lag: one value a second, 0 at the end" "$(jget "$PASS/summary.json" \
        "len(d['series']['consumer_lag']) == len(d['series']['backlog']) and d['series']['consumer_lag'][-1] == 0")"

# -- JUnit against the common schema --------------------------------------
XSD="$SRC/tests/junit.xsd"
for f in "$PASS/junit.xml" "$FAIL/junit.xml" "$SUITE/junit.xml"; do
        xmllint --noout --schema "$XSD" "$f" >>"$RUNS/xmllint.txt" 2>&1
        check "$f validates against tests/junit.xsd" "$([ $? -eq 0 ] && echo True)"
done
sed 's/<testcase classname="\([^"]*\)" name="[^"]*"/<testcase classname="\1"/' \
        "$SUITE/junit.xml" >"$RUNS/broken.xml"
xmllint --noout --schema "$XSD" "$RUNS/broken.xml" >>"$RUNS/xmllint.txt" 2>&1
check "a junit.xml with a nameless testcase does not validate" "$([ $? -ne 0 ] && echo True)"
for f in "$FAIL/junit.xml" "$SUITE/junit.xml"; do
        check "$(basename "$(dirname "$f")") junit: failure names the class and first examples" \
                "$(grep -q 'message="found [0-9]* (class \(stale\|reordered\); first examples: ' "$f" && echo True)"
        check "$(basename "$(dirname "$f")") junit: failure gives the examples' lineage" \
                "$(grep -q '\[lineage: e-[0-9]* [a-z]* [a-z]*/[A-Z]-[0-9]* v[0-9]*.*crm committed' "$f" && echo True)"
done
check "report.html shows the replay's figures" \
        "$(python3 -c "import re,sys; print(bool(re.search(r'<h3>Replay</h3>.*?<td class=\"n\">2400</td>', open(sys.argv[1]).read(), re.S)))" "$PASS/report.html")"
check "report.md shows lineage of the first examples" \
        "$(grep -q '^e-[0-9]*  [a-z]* [a-z]*/' "$FAIL/report.md" && echo True)"
check "index.html links each run's report.html" \
        "$(grep -q "../$(basename "$PASS")/report.html" "$SUITE/index.html" &&
           grep -q "../$(basename "$FAIL")/report.html" "$SUITE/index.html" && echo True)"
check "report.html shows lineage of the first examples" \
        "$(grep -q '<pre>e-[0-9]*  [a-z]* [a-z]*/' "$FAIL/report.html" && echo True)"

[ $FAILED -eq 0 ] || { echo "--- xmllint"; cat "$RUNS/xmllint.txt"; }
exit $FAILED
