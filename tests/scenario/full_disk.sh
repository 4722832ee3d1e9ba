#!/usr/bin/env bash
# full_disk.sh -- a run whose folder fills up stops at once with exit 2 and
# the reason ("history.jsonl: No space left on device"), prints its
# verdict on stdout all the same, and leaves no truncated summary.json or
# junit.xml. The same run with room to spare passes (no false alarm).
#
# The runs folder is a small tmpfs (needs root, as `make test` runs).
# Where mount is not permitted (an unprivileged container), the file size
# limit (ulimit -f, SIGXFSZ ignored) plays the full disk: writes past it
# fail with EFBIG ("File too large") instead of ENOSPC.
set -u
BIN=$1; SRC=$2
. "$SRC/tests/scenario/lib.sh"
WORK=$(mktemp -d /tmp/crmsync-test.XXXXXX)
MNT=$WORK/mnt
mkdir -p "$MNT"
MOUNTED=0
trap '[ $MOUNTED -eq 1 ] && umount "$MNT"; rm -rf "$WORK"' EXIT
FAILED=0

if mount -t tmpfs -o size=4m tmpfs "$MNT" 2>/dev/null; then
        MOUNTED=1
        # Leave 64 KiB: the run fills it within a few seconds.
        dd if=/dev/zero of="$MNT/filler" bs=1k count=$((4096 - 64)) 2>/dev/null
        REASON='No space left on device'
        LIMIT=unlimited
else
        echo "note: cannot mount a tmpfs here (not root?); using ulimit -f"
        REASON='File too large'
        LIMIT=64 # KiB per file
fi

# 30 s of workload: a run that goes on writing would take that long.
cat >"$WORK/full.json" <<JSON
{ "name": "full-disk", "seed": 11,
  "workload": { "accounts": 100, "changes": 6000, "rate_per_s": 200 } }
JSON
# Progress lines are kept (no --quiet): they show when the run stopped.
(trap '' XFSZ; ulimit -f $LIMIT; exec "$BIN" run "$WORK/full.json" \
        --runs-dir "$MNT/runs") >"$WORK/stdout.txt" 2>"$WORK/stderr.txt"
RC=$?
DIR=$(ls -d "$MNT"/runs/full-disk-* 2>/dev/null | head -1)
at() { sed -n "s/^\[ *\([0-9.]*\)s\] $1.*/\1/p" "$WORK/stderr.txt" | head -1; }
START=$(at 'workload:'); STOP=$(at 'stopping:')
check "full: exit 2 (got $RC)" "$([ $RC -eq 2 ] && echo True)"
check "full: the reason on stderr ($(tail -1 "$WORK/stderr.txt"))" \
        "$(grep -q "^crmsync run: history.jsonl: $REASON" "$WORK/stderr.txt" && echo True)"
check "full: the verdict still on stdout" \
        "$(grep -q '^== crmsync verdict: ERROR' "$WORK/stdout.txt" && grep -q "^error      run: history.jsonl: $REASON" "$WORK/stdout.txt" && echo True)"
check "full: stopped within 10 s of the workload's start (${START:-?} -> ${STOP:-?})" \
        "$(python3 -c "print(float('${STOP:-1e9}') - float('${START:-0}') < 10)")"
check "full: stopped before the workload ended" \
        "$(! grep -q 'workload committed' "$WORK/stderr.txt" && echo True)"
check "full: no truncated summary.json, junit.xml or report.md left" \
        "$(python3 - "$DIR" <<'PY'
import json, os, sys, xml.dom.minidom
d = sys.argv[1]
ok = os.path.isdir(d) and not any(f.endswith('.tmp') for f in os.listdir(d))
try:
    if os.path.exists(d + '/summary.json'):
        json.load(open(d + '/summary.json'))
    if os.path.exists(d + '/junit.xml'):
        xml.dom.minidom.parse(d + '/junit.xml')
    if os.path.exists(d + '/report.md'):
        ok = ok and os.path.getsize(d + '/report.md') > 0
except Exception:
    ok = False
print(ok)
PY
)"
[ $FAILED -eq 0 ] || { tail -5 "$WORK/stderr.txt"; ls -la "$DIR"; }

# -- room to spare: the same code passes ------------------------------------
rm -rf "$MNT/runs" "$MNT/filler"
cat >"$WORK/roomy.json" <<JSON
{ "name": "roomy", "seed": 11,
  "workload": { "accounts": 50, "changes": 400, "rate_per_s": 400 } }
JSON
mkdir -p "$MNT/runs"
(trap '' XFSZ; [ "$LIMIT" = unlimited ] || LIMIT=2048; ulimit -f $LIMIT
 exec "$BIN" run "$WORK/roomy.json" --runs-dir "$MNT/runs" --quiet) \
        >"$WORK/stdout2.txt" 2>"$WORK/stderr2.txt"
RC=$?
SUMMARY=$(ls "$MNT"/runs/roomy-*/summary.json 2>/dev/null | head -1)
check "roomy: exit 0 (got $RC)" "$([ $RC -eq 0 ] && echo True)"
check "roomy: verdict pass, summary complete" \
        "$([ -n "$SUMMARY" ] && jget "$SUMMARY" "d['verdict']=='pass' and 'error' not in d")"
check "roomy: no error printed" "$(! grep -q 'No space\|too large\|cannot write' "$WORK/stderr2.txt" "$WORK/stdout2.txt" && echo True)"
exit $FAILED
