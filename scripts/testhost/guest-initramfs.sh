#!/usr/bin/env bash
# Builds a guest initramfs from Debian packages only: busybox-static, the virtio/vsock modules of
# the cached Debian cloud kernel (kernel.sh), and a script to run. Its /init mounts the usual
# filesystems, loads the modules in dependency order (the package has no modules.dep), runs
# /guest.sh, and powers the VM off when the script returns.
# Usage: guest-initramfs.sh OUTPUT.cpio GUEST_SCRIPT [EXTRA_DIR]
#   EXTRA_DIR's contents are copied to the initramfs root (e.g. bin/ with static test programs).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
output=${1:?usage: guest-initramfs.sh OUTPUT.cpio GUEST_SCRIPT [EXTRA_DIR]}
script=${2:?usage: guest-initramfs.sh OUTPUT.cpio GUEST_SCRIPT [EXTRA_DIR]}
extra=${3:-}
[ -f "$script" ] || { echo "guest-initramfs.sh: no script $script" >&2; exit 2; }
cache=$("$here/kernel.sh")

root=$(mktemp -d /tmp/hull-guest-root.XXXXXX)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,dev,proc,sys,tmp,mod}
cp /bin/busybox "$root/bin/"
for module in virtio_ring virtio virtio_mmio virtio_blk failover net_failover virtio_net \
              vsock vmw_vsock_virtio_transport_common vmw_vsock_virtio_transport virtio-rng; do
  cp "$cache/modules/$module.ko" "$root/mod/"
done
[ -z "$extra" ] || cp -a "$extra/." "$root/"
cp "$script" "$root/guest.sh"
cat >"$root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t devtmpfs dev /dev; mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t tmpfs tmp /tmp
for m in virtio_ring virtio virtio_mmio virtio_blk failover net_failover virtio_net \
         vsock vmw_vsock_virtio_transport_common vmw_vsock_virtio_transport virtio-rng; do
  insmod /mod/$m.ko 2>/dev/null || echo "guest: insmod $m failed"
done
ip link set lo up
sh /guest.sh
poweroff -f
INIT
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet) >"$output"
