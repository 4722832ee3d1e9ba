#!/usr/bin/env bash
# broker_kcat.sh -- `crmsync broker` speaks real Kafka: kcat lists 3 brokers
# and the pipeline topics, and 10 keyed messages produced with kcat are
# consumed back. Usage: broker_kcat.sh <crmsync-binary> <source-dir>
set -u

BIN=${1:?usage: broker_kcat.sh <crmsync-binary> <source-dir>}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/broker_kcat.XXXXXX")
BROKER_PID=

cleanup() {
        if [ -n "$BROKER_PID" ] && kill -0 "$BROKER_PID" 2>/dev/null; then
                kill -TERM "$BROKER_PID" 2>/dev/null
                for _ in $(seq 1 50); do
                        kill -0 "$BROKER_PID" 2>/dev/null || break
                        sleep 0.1
                done
                kill -KILL "$BROKER_PID" 2>/dev/null
        fi
        rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
        echo "FAIL: $*" >&2
        echo "--- broker stderr ---" >&2
        cat "$WORK/broker.err" >&2 2>/dev/null
        exit 1
}

command -v kcat >/dev/null || fail "kcat not installed"

"$BIN" broker --brokers 3 --partitions 12 >"$WORK/broker.out" \
        2>"$WORK/broker.err" &
BROKER_PID=$!

BS=
for _ in $(seq 1 100); do          # at most 10 s
        BS=$(sed -n 's/^bootstrap\.servers=//p' "$WORK/broker.out")
        [ -n "$BS" ] && break
        kill -0 "$BROKER_PID" 2>/dev/null || fail "broker exited early"
        sleep 0.1
done
[ -n "$BS" ] || fail "no bootstrap.servers line within 10 s"
echo "bootstrap.servers=$BS"
grep -q '^topic=crm.changes partitions=12' "$WORK/broker.out" ||
        fail "no topic line for crm.changes"

timeout 20 kcat -L -b "$BS" >"$WORK/meta.txt" 2>&1 || fail "kcat -L failed"
grep -q '^ 3 brokers:' "$WORK/meta.txt" || fail "kcat -L does not list 3 brokers"
for t in crm.changes crm.changes.dlq crmsync.connector.offsets; do
        grep -q "topic \"$t\"" "$WORK/meta.txt" || fail "topic $t not listed"
done
grep -q 'topic "crm.changes" with 12 partitions' "$WORK/meta.txt" ||
        fail "crm.changes does not have 12 partitions"

for i in $(seq 1 10); do
        printf 'A-%06d:{"n":%d}\n' "$i" "$i"
done >"$WORK/in.txt"
timeout 30 kcat -P -b "$BS" -t crm.changes -K : -X linger.ms=5 \
        -l "$WORK/in.txt" 2>"$WORK/produce.err" ||
        fail "kcat -P failed: $(cat "$WORK/produce.err")"

timeout 30 kcat -C -b "$BS" -t crm.changes -o beginning -e -q \
        -f '%k:%s\n' >"$WORK/out.txt" 2>"$WORK/consume.err" ||
        fail "kcat -C failed: $(cat "$WORK/consume.err")"

sort "$WORK/in.txt" >"$WORK/in.sorted"
sort "$WORK/out.txt" >"$WORK/out.sorted"
n=$(wc -l <"$WORK/out.txt")
[ "$n" -eq 10 ] || fail "consumed $n messages, expected 10"
cmp -s "$WORK/in.sorted" "$WORK/out.sorted" ||
        fail "consumed messages differ: $(diff "$WORK/in.sorted" "$WORK/out.sorted")"

kill -TERM "$BROKER_PID"
for _ in $(seq 1 50); do
        kill -0 "$BROKER_PID" 2>/dev/null || break
        sleep 0.1
done
kill -0 "$BROKER_PID" 2>/dev/null && fail "broker did not stop within 5 s of SIGTERM"
wait "$BROKER_PID"
rc=$?
BROKER_PID=
[ "$rc" -eq 0 ] || fail "broker exited with $rc after SIGTERM"
echo "PASS: 3 brokers, 3 topics, 10/10 messages round-tripped"
