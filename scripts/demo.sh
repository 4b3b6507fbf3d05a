#!/usr/bin/env bash
# The main job on a built-in default: build a busybox-static bundle and run a container with
# hull-runtime, showing its output; then, where scripts/demo-vmm.sh exists, boot a microVM.
set -euo pipefail
build=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
runtime="$here/$build/src/cli/hull_runtime/hull-runtime"
[ -x "$runtime" ] || { echo "demo: $runtime is not built (run: make build)" >&2; exit 1; }
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

work=$(mktemp -d /tmp/hull-demo.XXXXXX)
root="$work/state"
id="hull-demo-$$"
cleanup() {
  $sudo "$runtime" --root "$root" delete --force "$id" >/dev/null 2>&1 || true
  $sudo rm -rf "$work"
}
trap cleanup EXIT

echo "== building a busybox-static bundle in $work/bundle"
mkdir -p "$work/bundle/rootfs"/{bin,etc,proc,sys,dev,tmp,root}
cp /bin/busybox "$work/bundle/rootfs/bin/"
for applet in sh cat echo hostname id ls ps uname grep head; do
  ln -s busybox "$work/bundle/rootfs/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' \
  >"$work/bundle/rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$work/bundle/rootfs/etc/group"

cat >"$work/bundle/rootfs/demo.sh" <<'SCRIPT'
echo "hello from a hull container"
echo "hostname: $(hostname), my pid: $$, $(id)"
echo "processes:"; ps
grep -E '^(CapEff|NoNewPrivs):' /proc/self/status
SCRIPT

# The default config (as `runc spec` writes it), without a terminal, running the script.
"$runtime" spec --bundle "$work/bundle"
sed -i -e 's/"terminal": true/"terminal": false/' \
       -e 's#^\( *\)"sh"$#\1"sh", "/demo.sh"#' "$work/bundle/config.json"

echo "== hull-runtime run $id"
$sudo "$runtime" --root "$root" run --bundle "$work/bundle" "$id"
echo "== the container exited with status $?; its state, cgroup and mounts are gone"

if [ -x "$here/scripts/demo-vmm.sh" ]; then
  "$here/scripts/demo-vmm.sh" "$build"
fi
