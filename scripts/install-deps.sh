#!/usr/bin/env bash
# Installs the Debian packages flashslim builds and runs with (root or sudo).
# Skips apt entirely when everything is already there.
# --aarch64 (CI's cross stage): also the aarch64 cross compiler, qemu-user and
# the arm64 libraries through Debian multiarch (header-only ones stay amd64).
set -euo pipefail
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
packages=(cmake ninja-build g++ clang pkg-config liburing-dev libhwy-dev nlohmann-json3-dev
          libcli11-dev libfmt-dev libgtest-dev libgmock-dev googletest libbenchmark-dev
          gnuplot-nox stress-ng fio bpftrace)
if [ "${1:-}" = "--aarch64" ]; then
  packages+=(g++-aarch64-linux-gnu qemu-user libfmt-dev:arm64 liburing-dev:arm64
             libgtest-dev:arm64)
  dpkg --print-foreign-architectures | grep -qx arm64 || $SUDO dpkg --add-architecture arm64
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
