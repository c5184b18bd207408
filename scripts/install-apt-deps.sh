#!/usr/bin/env bash
# Installs the Debian packages listed in scripts/apt-deps.txt that are missing.
# Idempotent: when everything is installed it only runs dpkg-query and exits.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
mapfile -t wanted < <(grep -v '^\s*#' "$here/apt-deps.txt" | sed '/^\s*$/d')
missing=()
for line in "${wanted[@]}"; do
  read -r pkg cmd <<<"$line"
  if [ -n "${cmd:-}" ] && command -v "$cmd" >/dev/null 2>&1; then continue; fi
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "apt: all ${#wanted[@]} packages present"
  exit 0
fi
echo "apt: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
