#!/usr/bin/env bash
# bench_crm.sh -- pages of 200 events per second served by `crmsync crm`,
# measured with wrk on 127.0.0.1, next to a private nginx serving the
# identical bytes of one page as a static file (the ceiling for "send a
# ready buffer"). Prints both figures and the ratio.
#
# wrk rotates through CURSORS request paths (a Lua script): the first page
# and cursors spread evenly over the whole commit log, every one a full
# page. nginx gets the same paths and answers each with the first page.
#
# usage: bench/bench_crm.sh [build-dir] [duration-s]
# env:   WRK_THREADS (2), WRK_CONNS (32), ACCOUNTS (1000), CHANGES (20000),
#        SEED (42), PAGE (200), CURSORS (16; 1 = the first page only)
# Only processes this script starts are stopped, by their pid.
set -euo pipefail

BUILD=${1:-build}
DURATION=${2:-10}
THREADS=${WRK_THREADS:-2}
CONNS=${WRK_CONNS:-32}
ACCOUNTS=${ACCOUNTS:-1000}
CHANGES=${CHANGES:-20000}
SEED=${SEED:-42}
PAGE=${PAGE:-200}
CURSORS=${CURSORS:-16}
BIN=$BUILD/crmsync

die() {
        echo "bench_crm: $*" >&2
        exit 1
}

for tool in wrk nginx curl python3; do
        command -v "$tool" >/dev/null 2>&1 || die "$tool not installed"
done
[ -x "$BIN" ] || die "$BIN not found (build first)"
case $DURATION in
'' | *[!0-9]*) die "duration must be whole seconds" ;;
esac
[ "$DURATION" -ge 1 ] && [ "$DURATION" -le 120 ] ||
        die "duration must be 1..120 s"
case $CURSORS in
'' | *[!0-9]*) die "CURSORS must be a whole number" ;;
esac
[ "$CURSORS" -ge 1 ] && [ "$CURSORS" -le 1000 ] || die "CURSORS must be 1..1000"

TMP=$(mktemp -d /tmp/crmsync-bench.XXXXXX)
CRM_PID=
NGINX_PID=
cleanup() {
        set +e
        if [ -n "$CRM_PID" ]; then
                kill "$CRM_PID" 2>/dev/null
                wait "$CRM_PID" 2>/dev/null
        fi
        if [ -n "$NGINX_PID" ]; then
                kill "$NGINX_PID" 2>/dev/null # master: stops its worker
                wait "$NGINX_PID" 2>/dev/null
        fi
        rm -rf "$TMP"
}
trap cleanup EXIT

free_port() {
        python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# wait_http URL: up to 10 s for any HTTP answer.
wait_http() {
        for _ in $(seq 1 100); do
                curl -s -o /dev/null "$1" && return 0
                sleep 0.1
        done
        return 1
}

# run_wrk URL NAME: prints "requests_per_s non2xx requests"; wrk requests
# the paths of $TMP/paths.lua in turn.
run_wrk() {
        local out rps non2xx reqs
        out=$(wrk -t "$THREADS" -c "$CONNS" -d "${DURATION}s" --timeout 2s \
                --latency -s "$TMP/paths.lua" "$1" 2>"$TMP/wrk.err")
        [ ! -s "$TMP/wrk.err" ] || die "wrk: $(head -3 "$TMP/wrk.err")"
        echo "$out" >"$TMP/wrk.$2.txt"
        rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
        non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' <<<"$out")
        reqs=$(awk '/requests in/ {print $1}' <<<"$out")
        [ -n "$rps" ] || die "wrk gave no Requests/sec for $1"
        echo "$rps ${non2xx:-0} ${reqs:-0}"
}

# ---- the mock CRM ----
CRM_PORT=$(free_port)
# A rate high enough that the whole commit log is visible within a second.
"$BIN" crm --port "$CRM_PORT" --seed "$SEED" --accounts "$ACCOUNTS" \
        --changes "$CHANGES" --rate 1000000 >"$TMP/crm.log" 2>&1 &
CRM_PID=$!
URL_PATH="/v1/changes?limit=$PAGE"
CRM_URL="http://127.0.0.1:$CRM_PORT$URL_PATH"
wait_http "$CRM_URL" || {
        cat "$TMP/crm.log" >&2
        die "crmsync crm did not answer on port $CRM_PORT"
}
# Wait (bounded) until the first page is full.
full=0
for _ in $(seq 1 50); do
        curl -s -o "$TMP/page.json" -w '%{http_code}' "$CRM_URL" >"$TMP/code" || true
        n=$(grep -o '"event_id"' "$TMP/page.json" | wc -l || true)
        if [ "$(cat "$TMP/code")" = 200 ] && [ "$n" -ge "$PAGE" ]; then
                full=1
                break
        fi
        sleep 0.2
done
[ "$full" = 1 ] || die "first page never held $PAGE events (got ${n:-0}, HTTP $(cat "$TMP/code"))"
PAGE_BYTES=$(wc -c <"$TMP/page.json")

# Walk the whole feed (bounded: at most 10000 pages) and keep CURSORS
# paths spread evenly over it, each serving a full page of PAGE events.
# Each picked page is saved for nginx: www/pages/<cursor>.json (the first
# page, no cursor, is www/page.json).
mkdir -p "$TMP/www/pages"
python3 - "http://127.0.0.1:$CRM_PORT" "$PAGE" "$CURSORS" "$TMP" <<'PY' ||
import json, sys, urllib.request
base, page, want, tmp = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
full, cur = [], None  # (cursor or None, body) of every full page
for _ in range(10000):
    path = "/v1/changes?limit=%d" % page + ("&cursor=" + cur if cur else "")
    body = urllib.request.urlopen(base + path, timeout=5).read()
    d = json.loads(body)
    if len(d["events"]) == page:
        full.append((cur, body))
    if not d["has_more"]:
        break
    cur = d["next_cursor"]
else:
    sys.exit("feed walk did not reach the head")
if len(full) < want or full[0][0] is not None:
    sys.exit("only %d full pages, %d cursors wanted" % (len(full), want))
pick = [full[(i * (len(full) - 1)) // max(want - 1, 1)] for i in range(want)]
paths = []
for c, body in pick:
    paths.append("/v1/changes?limit=%d" % page + ("&cursor=" + c if c else ""))
    name = tmp + ("/www/pages/%s.json" % c if c else "/www/page.json")
    with open(name, "wb") as f:
        f.write(body)
with open(tmp + "/paths.lua", "w") as f:
    f.write("local paths = {\n")
    for p in paths:
        f.write('  "%s",\n' % p)
    f.write("}\nlocal n = 0\nrequest = function()\n  n = n + 1\n"
            "  return wrk.format(\"GET\", paths[(n % #paths) + 1])\nend\n")
with open(tmp + "/paths.txt", "w") as f:
    f.write("\n".join(paths) + "\n")
size = [len(b) for _, b in pick]
with open(tmp + "/sizes.txt", "w") as f:
    f.write("%d %d %d %d\n" % (len(full), min(size), max(size),
                                sum(size) // len(size)))
PY
        die "cannot pick $CURSORS cursors over the feed"
read -r FULL_PAGES MIN_BYTES MAX_BYTES AVG_BYTES <"$TMP/sizes.txt"

# ---- a private nginx serving the same bytes ----
NGINX_PORT=$(free_port)
mkdir -p "$TMP/nginx/logs" "$TMP/nginx/tmp"
# nginx started as root serves from an unprivileged worker: let it read.
chmod 755 "$TMP" "$TMP/www" "$TMP/www/pages"
chmod 644 "$TMP/www/page.json" "$TMP"/www/pages/*.json 2>/dev/null || true
cat >"$TMP/nginx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/logs/error.log warn;
events { worker_connections 1024; }
http {
        access_log off;
        sendfile on;
        tcp_nopush on;
        keepalive_requests 1000000;
        keepalive_timeout 65;
        client_body_temp_path $TMP/nginx/tmp/body;
        proxy_temp_path $TMP/nginx/tmp/proxy;
        fastcgi_temp_path $TMP/nginx/tmp/fastcgi;
        uwsgi_temp_path $TMP/nginx/tmp/uwsgi;
        scgi_temp_path $TMP/nginx/tmp/scgi;
        server {
                listen 127.0.0.1:$NGINX_PORT;
                root $TMP/www;
                location /v1/changes {
                        default_type application/json;
                        try_files /pages/\$arg_cursor.json /page.json;
                }
        }
}
EOF
nginx -e "$TMP/nginx/logs/error.log" -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" &
NGINX_PID=$!
NGINX_URL="http://127.0.0.1:$NGINX_PORT$URL_PATH"
wait_http "$NGINX_URL" || {
        cat "$TMP/nginx/logs/error.log" >&2
        die "nginx did not start on port $NGINX_PORT"
}
cmp -s <(curl -s "$NGINX_URL") "$TMP/page.json" ||
        die "nginx does not serve the identical page bytes"
while read -r p; do
        cmp -s <(curl -s "http://127.0.0.1:$NGINX_PORT$p") \
                <(curl -s "http://127.0.0.1:$CRM_PORT$p") ||
                die "nginx and crmsync crm differ for $p"
done <"$TMP/paths.txt"

echo "page: $PAGE events; $CURSORS paths over $FULL_PAGES full pages, $MIN_BYTES..$MAX_BYTES bytes (mean $AVG_BYTES; first page $PAGE_BYTES); both servers send identical bytes per path"
echo "wrk -t$THREADS -c$CONNS -d${DURATION}s; $(nproc) CPUs; load average $(cut -d' ' -f1-3 /proc/loadavg)"
CRM_RES=$(run_wrk "$CRM_URL" crm)
NGX_RES=$(run_wrk "$NGINX_URL" nginx)
read -r CRM_RPS CRM_NON2XX CRM_REQS <<<"$CRM_RES"
read -r NGX_RPS NGX_NON2XX NGX_REQS <<<"$NGX_RES"

printf 'crmsync crm : %12.1f pages/s  (%s requests, %s non-2xx)\n' \
        "$CRM_RPS" "$CRM_REQS" "$CRM_NON2XX"
printf 'nginx static: %12.1f pages/s  (%s requests, %s non-2xx)\n' \
        "$NGX_RPS" "$NGX_REQS" "$NGX_NON2XX"
awk -v a="$CRM_RPS" -v b="$NGX_RPS" \
        'BEGIN { printf "ratio crm/nginx: %.3f\n", (b > 0 ? a / b : 0) }'
awk -v a="$CRM_RPS" -v n="$PAGE" \
        'BEGIN { printf "events/s served by crm: %.0f\n", a * n }'
if [ "$CRM_NON2XX" != 0 ]; then
        echo "WARNING: crmsync crm answered $CRM_NON2XX non-2xx responses" \
                "(throttling?); the crm figure is not a clean page rate" >&2
        exit 1
fi
