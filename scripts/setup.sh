#!/usr/bin/env bash
# Installs every build, test and benchmark dependency from Debian packages. Idempotent: does
# nothing (not even `apt-get update`) when everything is already installed.
set -euo pipefail

packages=(
  # build
  g++ cmake ninja-build pkg-config make
  libexpected-dev nlohmann-json3-dev libcli11-dev libseccomp-dev libcap-dev
  # tests
  googletest libgtest-dev libgmock-dev busybox-static bsdutils acpica-tools cpio curl
  # peers and real clients
  crun runc podman containerd skopeo umoci iproute2
  # benchmarks
  hyperfine time python3
  # the VMM peer, and the emulator of the KVM test host
  qemu-system-x86
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "setup: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
