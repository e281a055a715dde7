#!/usr/bin/env bash
# Installs the Debian packages flashslim builds and runs with (root or sudo).
# Skips apt entirely when everything is already there.
set -euo pipefail
packages=(cmake ninja-build g++ clang pkg-config liburing-dev libhwy-dev nlohmann-json3-dev
          libcli11-dev libfmt-dev libgtest-dev libgmock-dev googletest libbenchmark-dev
          gnuplot-nox stress-ng fio)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
