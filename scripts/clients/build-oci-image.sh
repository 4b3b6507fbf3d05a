#!/bin/sh
# Builds an OCI image archive from a root filesystem directory with Debian's umoci and skopeo, no
# registry involved:  build-oci-image.sh ROOTFS_DIR OUTPUT.tar NAME[:TAG] [CMD...]
# The archive can be loaded with `ctr images import` or `podman load`.
set -eu
[ $# -ge 3 ] || { echo "usage: $0 ROOTFS_DIR OUTPUT.tar NAME[:TAG] [CMD...]" >&2; exit 2; }
rootfs=$1 output=$2 name=$3
shift 3
work=$(mktemp -d /tmp/hull-oci-image-XXXXXX)
trap 'rm -rf "$work"' EXIT
umoci init --layout "$work/layout"
umoci new --image "$work/layout:latest"
umoci unpack --image "$work/layout:latest" "$work/bundle" >/dev/null
cp -a "$rootfs"/. "$work/bundle/rootfs/"
umoci repack --image "$work/layout:latest" "$work/bundle"
set -- ${@:-/bin/sh}
config_args=""
for word in "$@"; do config_args="$config_args --config.cmd=$word"; done
# shellcheck disable=SC2086
umoci config --image "$work/layout:latest" --os linux --architecture amd64 $config_args
rm -f "$output"
skopeo copy --quiet "oci:$work/layout:latest" "oci-archive:$output:$name"
