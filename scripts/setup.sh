#!/usr/bin/env bash
# setup.sh -- install the Debian packages crmsync needs, only those missing.
# Run as root on Debian 12 (make demo / make test call it).
set -euo pipefail

PKGS="gcc cmake pkg-config librdkafka-dev libcurl4-openssl-dev libevent-dev
libjansson-dev libcmocka-dev libssl-dev zlib1g-dev kcat curl python3
python3-confluent-kafka clang libclang-rt-14-dev libxml2-utils clang-format
postgresql libpq-dev python3-psycopg2"

missing=""
for p in $PKGS; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
                missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
        echo "setup: missing packages:$missing (run as root, or install them)" >&2
        exit 1
fi
echo "setup: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
