#!/usr/bin/env bash
# Runs a command inside the KVM test host: a throwaway VM under QEMU's software emulator (TCG)
# that exposes AMD SVM to its guest, so that a Debian kernel inside it loads kvm-amd and has a
# real /dev/kvm with nested paging. Machines whose own /dev/kvm cannot run Linux guests (nested
# without VMX/SVM, as this project's are) boot full Linux guests there instead (README.md).
#
# Usage: run.sh PAYLOAD_DIR 'command'
#   PAYLOAD_DIR is copied to /payload in the test host and the command runs there, under busybox
#   sh, as root, with /dev/kvm and /dev/net/tun present. PAYLOAD_DIR/sysroot/ (shared libraries
#   of dynamic programs, see add-with-libs.sh) is copied to /.
#   The test host's console (the command's output) goes to stdout. The exit status is the
#   command's, 124 when the test host timed out, 125 when it ended without reporting one.
# Environment: HULL_TESTHOST_CACHE (kernel cache, see kernel.sh), HULL_TESTHOST_TIMEOUT
#   (seconds, default 900), HULL_TESTHOST_MEM (MiB, default 2048), HULL_TESTHOST_CPUS
#   (default 1: a second emulated CPU does not make nested guests faster).
# Needs (Debian): qemu-system-x86, busybox-static, cpio.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
payload=${1:?usage: run.sh PAYLOAD_DIR COMMAND}
command=${2:?usage: run.sh PAYLOAD_DIR COMMAND}
[ -d "$payload" ] || { echo "run.sh: payload $payload is not a directory" >&2; exit 2; }
for tool in qemu-system-x86_64 cpio; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing (scripts/setup.sh installs it)" >&2; exit 2; }
done
[ -x /bin/busybox ] || { echo "run.sh: /bin/busybox is missing (busybox-static)" >&2; exit 2; }
cache=$("$here/kernel.sh")

root=$(mktemp -d /tmp/hull-testhost-root.XXXXXX)
console=$(mktemp /tmp/hull-testhost-console.XXXXXX)
trap 'rm -rf "$root" "$console"' EXIT
mkdir -p "$root"/{bin,dev,proc,sys,tmp,run,mod,payload}
cp /bin/busybox "$root/bin/"
cp "$cache"/modules/{irqbypass,kvm,kvm-amd,tun}.ko "$root/mod/"
cp -a "$payload/." "$root/payload/"
if [ -d "$payload/sysroot" ]; then
  cp -a "$payload/sysroot/." "$root/"
  rm -rf "$root/payload/sysroot"
fi
# The command goes in a file of its own: no quoting of it inside the init script.
printf '%s\n' "$command" >"$root/command.sh"
cat >"$root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t devtmpfs dev /dev; mount -t proc proc /proc; mount -t sysfs sys /sys
mount -t tmpfs tmp /tmp; mount -t tmpfs run /run
for m in irqbypass kvm kvm-amd tun; do insmod /mod/$m.ko || echo "testhost: insmod $m failed"; done
ip link set lo up
[ -c /dev/kvm ] || echo "testhost: no /dev/kvm (kvm-amd did not load)"
cd /payload
sh /command.sh
echo "HULL-TESTHOST-EXIT=$?"
poweroff -f
INIT
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet) >"$root.cpio"
trap 'rm -rf "$root" "$root.cpio" "$console"' EXIT

# QEMU runs in the background so that a signal to this script (a test's timeout) stops it too.
timeout "${HULL_TESTHOST_TIMEOUT:-900}" qemu-system-x86_64 \
  -M pc -accel tcg,thread=multi -cpu max -smp "${HULL_TESTHOST_CPUS:-1}" \
  -m "${HULL_TESTHOST_MEM:-2048}" -nodefaults -no-user-config -nographic -serial stdio \
  -no-reboot -kernel "$cache/vmlinuz" -initrd "$root.cpio" \
  -append 'console=ttyS0 quiet loglevel=3 panic=-1' </dev/null >"$console" 2>&1 &
qemu=$!
trap 'kill "$qemu" 2>/dev/null; rm -rf "$root" "$root.cpio" "$console"; exit 143' TERM INT HUP
tail -f --pid="$qemu" "$console" &
status=0
wait "$qemu" || status=$?
wait
[ "$status" -eq 124 ] && { echo "run.sh: the test host timed out" >&2; exit 124; }
code=$(sed -n 's/.*HULL-TESTHOST-EXIT=\([0-9]*\).*/\1/p' "$console" | tail -n1)
exit "${code:-125}"
