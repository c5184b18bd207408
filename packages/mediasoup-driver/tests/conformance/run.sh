#!/usr/bin/env bash
# Runs mediasoup's own Node test suite (node/lib/test/test-*.js from the same
# npm tarball we build the worker from) against OUR worker binary, through
# MEDIASOUP_WORKER_BIN. This is the conformance check of the offline build:
# shims, compatibility headers and the DTLS patch must not change behaviour.
# Extra arguments go to jest (e.g. --json --outputFile=...). With --prepare-only
# it only installs the Node library and its test dependencies into
# $MEDIASOUP_TEST_WORK/conformance (benchmarks use that as the Node baseline),
# prints the Node lib's path and exits.
#   MEDIASOUP_PACKAGE_DIR  the unpacked mediasoup npm package (node/lib/test inside)
#   MEDIASOUP_WORKER_BIN   the worker binary under test
#   MEDIASOUP_TEST_WORK    scratch directory (default: build/ beside this package)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
driver="$(cd "$here/../.." && pwd)"
pkg="${MEDIASOUP_PACKAGE_DIR:?set MEDIASOUP_PACKAGE_DIR to the unpacked mediasoup npm package}"
work="${MEDIASOUP_TEST_WORK:-$driver/build}/conformance"
worker_bin="${MEDIASOUP_WORKER_BIN:?set MEDIASOUP_WORKER_BIN to the worker binary}"

[ -d "$pkg/node/lib/test" ] || { echo "conformance: no node/lib/test in $pkg" >&2; exit 2; }
[ -x "$worker_bin" ] || { echo "conformance: no worker at $worker_bin" >&2; exit 2; }

mkdir -p "$work"
# Test dependencies, pinned by the committed lockfile; reinstalled only when it changes.
if ! cmp -s "$here/package-lock.json" "$work/package-lock.json" || [ ! -d "$work/node_modules" ]; then
  cp "$here/package.json" "$here/package-lock.json" "$work/"
  (cd "$work" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
fi
# The Node library and its tests, as shipped; node_modules resolve from $work.
rm -rf "$work/mediasoup"
mkdir -p "$work/mediasoup"
cp -a "$pkg/node" "$pkg/package.json" "$work/mediasoup/"
# test-Worker needs a certificate pair that the tarball does not ship.
data="$work/mediasoup/node/lib/test/data"
mkdir -p "$data"
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=vasms-conformance" \
  -keyout "$data/dtls-key.pem" -out "$data/dtls-cert.pem" >/dev/null 2>&1

if [ "${1:-}" = "--prepare-only" ]; then
  echo "$work/mediasoup/node/lib"
  exit 0
fi

cd "$work"
export MEDIASOUP_WORKER_BIN
MEDIASOUP_WORKER_BIN="$(readlink -f "$worker_bin")"
exec node_modules/.bin/jest --rootDir "$work/mediasoup/node/lib/test" \
  --testMatch '**/test-*.js' --ci "$@"
