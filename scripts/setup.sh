#!/usr/bin/env bash
# setup.sh -- install the Debian packages crmsync needs, only those missing.
# Run as root on Debian 12 (make demo / make test call it).
set -euo pipefail

PKGS="gcc cmake pkg-config librdkafka-dev libcurl4-openssl-dev libevent-dev
libjansson-dev libcmocka-dev libssl-dev zlib1g-dev kcat curl python3
python3-confluent-kafka clang libclang-rt-14-dev libxml2-utils clang-format
chromium fonts-dejavu-core
postgresql libpq-dev python3-psycopg2"

missing=""
for p in $PKGS; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
                missing="$missing $p"
done
# Node.js and npm for tests/clients (connectors on the vendors' SDKs).
# Debian's packages; a node that is already there (with its npm) is used.
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"

# The npm packages of tests/clients, exactly as its lockfile says.
npm_clients() {
        local dir
        dir="$(cd "$(dirname "$0")/.." && pwd)/tests/clients"
        [ -f "$dir/package-lock.json" ] || return 0
        if [ -d "$dir/node_modules" ] &&
                [ "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ]; then
                return 0
        fi
        echo "setup: npm ci in tests/clients"
        (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
}

if [ -z "$missing" ]; then
        npm_clients
        exit 0
fi

if [ "$(id -u)" != 0 ]; then
        echo "setup: missing packages:$missing (run as root, or install them)" >&2
        exit 1
fi
echo "setup: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
npm_clients
