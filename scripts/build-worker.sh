#!/usr/bin/env bash
# Builds mediasoup-worker from the npm tarball of mediasoup with Debian's libraries,
# offline (no meson wrap downloads), and caches the binary outside the work tree.
#
#   scripts/build-worker.sh            build (or reuse the cached build)
#
# Inputs: the npm registry (tarball, integrity-checked), Debian -dev packages
# (scripts/apt-deps.txt), meson from the project's virtualenv (PyPI), and the
# shims + patch in third_party/mediasoup-worker/. The cache key is the mediasoup
# version plus a hash of those repo files, so changing a shim or the patch
# rebuilds, and anything else reuses the binary in seconds.
#
# Output: build/worker/mediasoup-worker (a symlink into the cache) and
# build/worker/build-info.json; build/mediasoup-package (the unpacked tarball,
# used for FlatBuffers codegen and mediasoup's own conformance tests).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
tp="$root/third_party/mediasoup-worker"
# shellcheck source=/dev/null
source "$tp/version.env"   # MEDIASOUP_VERSION, MEDIASOUP_INTEGRITY
cache_root="${VASMS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/vasms}"
meson="${MESON:-$root/.venv/bin/meson}"
jobs="${VASMS_BUILD_JOBS:-2}"

log() { echo "worker: $*"; }

# --- 1. The npm tarball, verified against the pinned sha512 -------------------
pkg_dir="$cache_root/mediasoup/$MEDIASOUP_VERSION"
tarball="$pkg_dir/mediasoup-$MEDIASOUP_VERSION.tgz"
integrity_of() { echo "sha512-$(openssl dgst -sha512 -binary "$1" | base64 -w0)"; }
if [ ! -f "$tarball" ] || [ "$(integrity_of "$tarball")" != "$MEDIASOUP_INTEGRITY" ]; then
  log "fetching mediasoup@$MEDIASOUP_VERSION from the npm registry"
  mkdir -p "$pkg_dir"
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "mediasoup@$MEDIASOUP_VERSION" >/dev/null)
  got="$(integrity_of "$tmp/mediasoup-$MEDIASOUP_VERSION.tgz")"
  if [ "$got" != "$MEDIASOUP_INTEGRITY" ]; then
    echo "worker: integrity mismatch for mediasoup@$MEDIASOUP_VERSION: got $got" >&2
    exit 1
  fi
  published="$(npm view "mediasoup@$MEDIASOUP_VERSION" dist.integrity 2>/dev/null || true)"
  if [ -n "$published" ] && [ "$published" != "$MEDIASOUP_INTEGRITY" ]; then
    echo "worker: registry publishes $published, pinned $MEDIASOUP_INTEGRITY" >&2
    exit 1
  fi
  mv "$tmp/mediasoup-$MEDIASOUP_VERSION.tgz" "$tarball"
  rm -rf "$tmp" "$pkg_dir/package"
fi
if [ ! -d "$pkg_dir/package" ]; then
  tar -xzf "$tarball" -C "$pkg_dir"
fi
mkdir -p "$root/build"
ln -sfn "$pkg_dir/package" "$root/build/mediasoup-package"

# --- 2. Cache key: version + every file of ours the build reads ----------------
# (Docs such as third_party/mediasoup-worker/README.md are not inputs.)
shim_hash="$(cd "$tp" && find subprojects patches stub version.env -type f -print0 \
  | LC_ALL=C sort -z | xargs -0 sha256sum | cat - "$root/scripts/build-worker.sh" \
  | sha256sum | cut -c1-16)"
patch_hash="$(cd "$tp/patches" && sha256sum ./*.patch | sha256sum | cut -c1-16)"
out_dir="$cache_root/worker/$MEDIASOUP_VERSION-$shim_hash"
bin="$out_dir/mediasoup-worker"

link_outputs() {
  mkdir -p "$root/build/worker"
  ln -sfn "$bin" "$root/build/worker/mediasoup-worker"
  cp "$out_dir/build-info.json" "$root/build/worker/build-info.json"
}

if [ -x "$bin" ] && [ -f "$out_dir/build-info.json" ]; then
  log "cache hit: $bin"
  link_outputs
  exit 0
fi
log "cache miss: building into $out_dir"

# --- 3. Source tree: pristine worker + our shims + our patch ------------------
src="$(mktemp -d "${TMPDIR:-/tmp}/vasms-worker-src.XXXXXX")"
trap 'rm -rf "$src"' EXIT
cp -a "$pkg_dir/package/worker" "$src/worker"
for shim in "$tp"/subprojects/*/; do
  name="$(basename "$shim")"
  cp -a "$shim" "$src/worker/subprojects/$name"
  cp "$tp/stub/empty.c" "$src/worker/subprojects/$name/empty.c"
done
for p in "$tp"/patches/*.patch; do
  log "applying $(basename "$p")"
  patch -d "$src" -p1 --forward --quiet < "$p"
done

# --- 4. Configure and build only the worker executable ------------------------
# The default (libwebrtc) bandwidth estimator is kept, as in mediasoup's official
# builds, so our binary behaves like the one the Node library ships; it costs
# the abseil dependency (Debian's libabsl-dev) and ~1 minute of build time.
# --wrap-mode=nodownload: a missing shim must fail here, never reach the network.
"$meson" setup --wrap-mode=nodownload --buildtype release -Db_ndebug=true \
  "$src/worker/build" "$src/worker" >"$src/meson-setup.log" 2>&1 || {
  cat "$src/meson-setup.log" >&2; exit 1; }
ninja -C "$src/worker/build" -j"$jobs" mediasoup-worker

mkdir -p "$out_dir"
install -m 0755 "$src/worker/build/mediasoup-worker" "$bin.tmp"
mv "$bin.tmp" "$bin"
cat > "$out_dir/build-info.json" <<JSON
{
  "mediasoup_version": "$MEDIASOUP_VERSION",
  "tarball_integrity": "$MEDIASOUP_INTEGRITY",
  "shim_hash": "$shim_hash",
  "patch_hash": "$patch_hash",
  "patches": [$(for p in "$tp"/patches/*.patch; do printf '"%s",' "$(basename "$p")"; done | sed 's/,$//')],
  "built_at": "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
}
JSON
log "built $bin"
link_outputs
