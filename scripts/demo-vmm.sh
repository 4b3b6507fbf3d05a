#!/usr/bin/env bash
# The microVM half of the main job: boots a Debian cloud kernel (from Debian's mirror, cached by
# scripts/testhost/kernel.sh) with a busybox initramfs under hull-vmm, and shows its console.
# Natively where /dev/kvm can run Linux guests (hardware virtualisation: vmx or svm); otherwise
# inside the KVM test host (scripts/testhost/run.sh), saying so.
# Usage: scripts/demo-vmm.sh [BUILD_DIR]; HULL_DEMO_VMM=native|testhost forces the choice.
set -euo pipefail
build=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
vmm="$here/$build/src/cli/hull_vmm/hull-vmm"
[ -x "$vmm" ] || { echo "demo: $vmm is not built (run: make build)" >&2; exit 1; }

where=${HULL_DEMO_VMM:-}
if [ -z "$where" ]; then
  if [ -c /dev/kvm ] && grep -qw -E 'vmx|svm' /proc/cpuinfo && [ ! -d /sys/module/kvm_pvm ]; then
    where=native
  else
    where=testhost
  fi
fi

work=$(mktemp -d /tmp/hull-demo-vmm.XXXXXX)
trap 'rm -rf "$work"' EXIT
cache=$("$here/scripts/testhost/kernel.sh")
cat >"$work/guest.sh" <<'GUEST'
echo "hello from a hull microVM"
echo "kernel: $(uname -r), cpus: $(grep -c ^processor /proc/cpuinfo), memory: $(sed -n 's/MemTotal: *//p' /proc/meminfo)"
echo "virtio devices: $(ls /sys/bus/virtio/devices | tr '\n' ' ')"
echo "random bytes from virtio-rng: $(head -c 8 /dev/hwrng | od -An -tx1 | tr -d ' \n')"
GUEST
"$here/scripts/testhost/guest-initramfs.sh" "$work/guest.cpio" "$work/guest.sh"
flags="--kernel vmlinuz --initrd guest.cpio --cpus 1 --memory 256 --rng --console stdio"
cmdline="console=ttyS0 quiet panic=-1 pci=off"

if [ "$where" = native ]; then
  echo "== booting a microVM with hull-vmm on this machine's /dev/kvm"
  cp "$cache/vmlinuz" "$work/"
  cd "$work"
  status=0
  # shellcheck disable=SC2086  # $flags is a list of words
  "$vmm" $flags --cmdline "$cmdline" </dev/null || status=$?
  echo "== hull-vmm exited with status $status (0: the guest powered off)"
  exit "$status"
fi

echo "== this machine's /dev/kvm cannot boot Linux guests (no vmx/svm: nested or emulated KVM);"
echo "== booting the microVM inside the KVM test host instead (QEMU TCG with a real /dev/kvm; about 15 s)"
payload="$work/payload"
mkdir -p "$payload"
"$here/scripts/testhost/add-with-libs.sh" "$vmm" "$payload"
cp "$cache/vmlinuz" "$work/guest.cpio" "$payload/"
# Show the guest's console, not the test host's firmware banner and escape sequences.
set +e
"$here/scripts/testhost/run.sh" "$payload" \
  "./bin/hull-vmm $flags --cmdline '$cmdline' </dev/null; status=\$?; echo \"== hull-vmm exited with status \$status (0: the guest powered off)\"; exit \$status" |
  sed -e 's/\x1b\[[0-9;?]*[a-zA-Z]//g' -e 's/\x1bc//g' -e 's/\r$//' |
  grep -v -E '^(SeaBIOS|Booting from ROM|HULL-TESTHOST-EXIT=)|reboot: Power down'
statuses=("${PIPESTATUS[@]}")
exit "${statuses[0]}"
