#!/usr/bin/env bash
# http_errors.sh -- every HTTP server of crmsync (the mock CRM, the sink,
# the connector's webhook receiver) answers hostile requests with a JSON
# error, never libevent's HTML page: a malformed request line (400
# bad_request), a head over 64 KiB (431 header_too_large), a body over the
# server's hard limit (413 body_too_large), an unknown method (501
# not_implemented). A 64 MiB header is refused within seconds, and the
# server still answers a normal request afterwards. Raw sockets (python3).
set -u
BIN=$1; SRC=$2
. "$SRC/tests/scenario/lib.sh"
DIR=$(mktemp -d /tmp/crmsync-test.XXXXXX)
PIDS=""
trap 'for p in $PIDS; do kill $p 2>/dev/null; done; rm -rf "$DIR"' EXIT
FAILED=0

wait_line() { # FILE REGEX -> prints the first match (5 s at most)
        for _ in $(seq 1 50); do
                grep -m1 -o "$2" "$1" 2>/dev/null && return 0
                sleep 0.1
        done
        return 1
}

"$BIN" broker --brokers 1 --partitions 1 >"$DIR/broker.out" 2>&1 &
PIDS="$PIDS $!"
"$BIN" crm --accounts 5 --changes 40 >"$DIR/crm.out" 2>&1 &
PIDS="$PIDS $!"
"$BIN" sink --max-body-bytes 1000 >"$DIR/sink.out" 2>&1 &
PIDS="$PIDS $!"
BOOT=$(wait_line "$DIR/broker.out" 'bootstrap.servers=.*' | cut -d= -f2)
CRM=$(wait_line "$DIR/crm.out" 'http://127\.0\.0\.1:[0-9]*')
SINK=$(wait_line "$DIR/sink.out" 'http://127\.0\.0\.1:[0-9]*')
[ -n "$BOOT" ] && [ -n "$CRM" ] && [ -n "$SINK" ] || {
        echo "FAIL: a server did not start"; cat "$DIR"/*.out; exit 1; }
# Webhook mode without --crm-url: the receiver only (nobody subscribes).
"$BIN" connector --mode webhook --bootstrap "$BOOT" \
        >"$DIR/connector.out" 2>"$DIR/connector.err" &
PIDS="$PIDS $!"
HOOK=$(wait_line "$DIR/connector.out" 'http://127\.0\.0\.1:[0-9]*/hook')
[ -n "$HOOK" ] || { echo "FAIL: receiver did not start"; cat "$DIR"/connector.*; exit 1; }

probe() { # NAME URL BODY_LIMIT_BYTES PATH
        python3 - "$@" <<'PY'
import json, socket, sys, time

name, url, body_limit, path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
host, port = url.split("//")[1].split("/")[0].split(":")
port = int(port)
failed = 0

def check(what, ok, detail=""):
    global failed
    print(("ok: " if ok else "FAIL: ") + name + ": " + what +
          ("" if ok else " (" + detail + ")"))
    failed |= not ok

def exchange(chunks, timeout=10):
    """Send chunks (stopping when the server closes), read the answer."""
    s = socket.create_connection((host, port), timeout=timeout)
    t0 = time.monotonic()
    try:
        for c in chunks:
            s.sendall(c)
    except OSError:
        pass  # refused mid-way: read what it answered
    out = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            out += d
    except OSError:
        pass
    s.close()
    return out, time.monotonic() - t0

def json_error(what, chunks, status, code):
    out, _ = exchange(chunks)
    head, _, body = out.partition(b"\r\n\r\n")
    line = head.split(b"\r\n")[0].decode("latin-1")
    try:
        j = json.loads(body)
    except ValueError:
        j = None
    ok = (line.startswith("HTTP/1.1 %d " % status) and
          b"application/json" in head and isinstance(j, dict) and
          j.get("error") == code)
    check("%s -> %d {\"error\":\"%s\"}" % (what, status, code), ok, repr(out[:300]))

json_error("malformed request line", [b"GARBAGE\r\n\r\n"], 400, "bad_request")
json_error("bad HTTP version", [b"GET / HTTP/9\r\n\r\n"], 400, "bad_request")
json_error("header line without a colon",
           [b"GET / HTTP/1.1\r\nNoColon\r\n\r\n"], 400, "bad_request")
json_error("method not allowed (TRACE)", [b"TRACE / HTTP/1.1\r\nHost: a\r\n\r\n"],
           501, "not_implemented")
json_error("70 KB header", [b"GET / HTTP/1.1\r\nX-A: " + b"a" * 70000 +
                             b"\r\n\r\n"], 431, "header_too_large")
json_error("many small header lines over 64 KiB",
           [b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: %s\r\n" % (i, b"b" * 60)
                                            for i in range(1200)) + b"\r\n"],
           431, "header_too_large")
big = body_limit + 1
json_error("declared body of %d bytes" % big,
           [b"POST " + path.encode() + b" HTTP/1.1\r\nHost: a\r\n"
            b"Content-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % big, b"[" * 1000],
           413, "body_too_large")

mib = b"X-B: " + b"b" * (1 << 20) + b"\r\n"
out, secs = exchange([b"GET / HTTP/1.1\r\n"] + [mib] * 64 + [b"\r\n"])
check("64 MiB header refused within 5 s (took %.2f s)" % secs,
      secs < 5 and b"text/html" not in out, repr(out[:200]))
out, _ = exchange([b"GET /nowhere HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"])
check("still answers afterwards", out.startswith(b"HTTP/1.1 404") or
      out.startswith(b"HTTP/1.1 405"), repr(out[:200]))
sys.exit(failed)
PY
}

# Hard body limits: the sink cuts at 2 x --max-body-bytes + 64 KiB, the CRM
# at 4 x 64 KiB, the receiver at 16 MiB.
probe crm "$CRM" $((4 * 65536)) /v1/subscriptions || FAILED=1
probe sink "$SINK" $((2 * 1000 + 65536)) /v1/profiles/_bulk || FAILED=1
probe webhook "$HOOK" $((16 << 20)) /hook || FAILED=1
exit $FAILED
