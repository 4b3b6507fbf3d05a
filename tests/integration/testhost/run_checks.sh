#!/usr/bin/env bash
# Boots the KVM test host once and runs every full-guest check in it (see
# tests/fixtures/testhost/checks.sh): builds the payload (hull-vmm and curl with their
# libraries, the static vsock probe, the Debian cloud kernel, a guest initramfs from Debian's
# busybox-static and the kernel's virtio modules).
# Usage: run_checks.sh HULL_VMM VSOCK_PROBE TRIPLE_FAULT_GUEST SEED
# Exit status: run.sh's; 77 when a prerequisite is missing (the caller reports a skip).
set -euo pipefail
vmm=${1:?hull-vmm}; probe=${2:?vsock_probe}; triple_fault=${3:?triple_fault.elf}; seed=${4:?seed}
source_dir=$(cd "$(dirname "$0")/../../.." && pwd)
testhost=$source_dir/scripts/testhost
fixtures=$source_dir/tests/fixtures/testhost

for tool in qemu-system-x86_64 cpio curl; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed (scripts/setup.sh)"; exit 77; }
done
cache=$("$testhost/kernel.sh" 2>&1) ||
  { echo "SKIP: no Debian cloud kernel: $cache"; exit 77; }

payload=$(mktemp -d /tmp/hull-testhost-payload.XXXXXX)
trap 'rm -rf "$payload"' EXIT
"$testhost/add-with-libs.sh" "$vmm" "$payload"
"$testhost/add-with-libs.sh" curl "$payload"
cp "$probe" "$payload/bin/vsock_probe"
mkdir -p "$payload/guest-extra/bin"
cp "$probe" "$payload/guest-extra/bin/vsock_probe"
"$testhost/guest-initramfs.sh" "$payload/guest.cpio" "$fixtures/guest.sh" "$payload/guest-extra"
rm -rf "$payload/guest-extra"
cp "$cache/vmlinuz" "$fixtures/checks.sh" "$triple_fault" "$payload/"
exec "$testhost/run.sh" "$payload" "sh checks.sh $seed"
