#!/usr/bin/env bash
# Fetches a Debian cloud kernel (linux-image-cloud-amd64) once and keeps, in the cache folder,
# what both the KVM test host and the guests booted inside it need:
#   vmlinuz        the bzImage
#   modules/*.ko   KVM for the test host, tun for its taps, the virtio/vsock set for guests
#   version        the kernel release
# Usage: kernel.sh [CACHE_DIR]   (default $HULL_TESTHOST_CACHE or /var/tmp/hull-testhost)
# Prints the cache folder. Only apt-get (Debian's mirror) is used. Safe to run concurrently.
set -euo pipefail
cache=${1:-${HULL_TESTHOST_CACHE:-/var/tmp/hull-testhost}}
package=linux-image-cloud-amd64
modules=(irqbypass kvm kvm-amd tun virtio_ring virtio virtio_mmio virtio_blk failover
         net_failover virtio_net vsock vmw_vsock_virtio_transport_common
         vmw_vsock_virtio_transport virtio-rng)

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [ ! -f "$cache/vmlinuz" ] || [ ! -f "$cache/version" ]; then
  tmp=$(mktemp -d "$cache/fetch.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  find_image() { apt-cache depends "$package" 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}'; }
  image=$(find_image)
  if [ -z "$image" ]; then  # package lists not fetched yet on this machine
    apt-get update -qq >/dev/null 2>&1 || true
    image=$(find_image)
  fi
  [ -n "$image" ] || { echo "kernel.sh: apt-cache knows no $package (is Debian's mirror reachable?)" >&2; exit 1; }
  (cd "$tmp" && apt-get download "$image" >/dev/null 2>"$tmp/apt.err") ||
    { echo "kernel.sh: apt-get download $image failed:" >&2; cat "$tmp/apt.err" >&2; exit 1; }
  dpkg-deb -x "$tmp"/*.deb "$tmp/x"
  mkdir -p "$tmp/modules"
  for name in "${modules[@]}"; do
    file=$(find "$tmp/x/lib/modules" -name "$name.ko" | head -n1)
    [ -n "$file" ] || { echo "kernel.sh: $image has no $name.ko" >&2; exit 1; }
    cp "$file" "$tmp/modules/"
  done
  rm -rf "$cache/modules"
  mv "$tmp/modules" "$cache/modules"
  cp "$tmp"/x/boot/vmlinuz-* "$cache/vmlinuz.new" && mv "$cache/vmlinuz.new" "$cache/vmlinuz"
  echo "${image#linux-image-}" >"$cache/version"
fi
echo "$cache"
