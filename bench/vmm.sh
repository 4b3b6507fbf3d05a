#!/usr/bin/env bash
# hull-vmm against QEMU's microvm, in the same run, on this machine's /dev/kvm: a stub guest
# (tests/fixtures/guests/stub_exit.s, a PVH ELF that writes to the debug-exit port at once)
# boots and exits under both. Prints median process wall time (hyperfine) and peak RSS
# (/usr/bin/time -f %M, median of several runs), mean CPU time (user + system) and the ratios
# hull-vmm / QEMU. On this machine most of either process's wall time is KVM creating and
# tearing down the VM in the kernel (memslot and VM destruction wait for SRCU grace periods),
# which CPU time does not include.
# Not a test: it never fails on a timing.
#
# Usage: bench/vmm.sh [BUILD_DIR]   (builds nothing; default build/, or HULL_VMM=path)
#   RUNS=50 bench/vmm.sh         more hyperfine runs
#   TOTAL_VMS=100 PARALLEL_VMS=8 bench/vmm.sh   the VMs-per-second part
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
vmm=${HULL_VMM:-$root/$build/src/cli/hull_vmm/hull-vmm}
runs=${RUNS:-30}
memory_mib=${MEMORY_MIB:-32}
guests=$root/tests/fixtures/guests

for tool in hyperfine qemu-system-x86_64 as ld python3; do
  command -v "$tool" >/dev/null || { echo "bench/vmm.sh: $tool is missing (scripts/setup.sh installs it)" >&2; exit 1; }
done
[ -x /usr/bin/time ] || { echo "bench/vmm.sh: /usr/bin/time is missing (Debian package time)" >&2; exit 1; }
[ -x "$vmm" ] || { echo "bench/vmm.sh: no hull-vmm at $vmm (build it or set HULL_VMM)" >&2; exit 1; }
[ -r /dev/kvm ] || { echo "bench/vmm.sh: /dev/kvm is not available" >&2; exit 1; }

work=$(mktemp -d /tmp/hull-bench-vmm.XXXXXX)
trap 'rm -rf "$work"' EXIT
as --32 -I "$guests" -o "$work/stub.o" "$guests/stub_exit.s"
ld --no-warn-rwx-segments -m elf_i386 -T "$guests/pvh32.ld" -o "$work/stub.elf" "$work/stub.o"

hull_cmd=("$vmm" --kernel "$work/stub.elf" --memory "$memory_mib" --console none)
qemu_cmd=(qemu-system-x86_64 -M microvm -enable-kvm -m "$memory_mib" -nodefaults -no-user-config
          -nographic -display none -serial none -device isa-debug-exit,iobase=0xf4,iosize=4
          -kernel "$work/stub.elf")

# Sanity: both really run the guest to its exit.
"${hull_cmd[@]}" || { echo "bench/vmm.sh: hull-vmm failed on the stub guest" >&2; exit 1; }
status=0
"${qemu_cmd[@]}" 2>/dev/null || status=$?
[ "$status" -eq 1 ] || { echo "bench/vmm.sh: QEMU exited $status, expected 1 (debug exit 0)" >&2; exit 1; }

echo "== wall time: $runs runs each, stub guest, ${memory_mib} MiB guest memory"
hyperfine -N -i --warmup 3 --runs "$runs" --export-json "$work/times.json" \
  -n hull-vmm "${hull_cmd[*]}" \
  -n qemu-microvm "${qemu_cmd[*]}" 2>&1 | grep -v "^ *Warning"

peak_rss() {  # median of 7 runs of peak RSS in KiB
  for _ in 1 2 3 4 5 6 7; do
    /usr/bin/time -f %M -o "$work/rss" "$@" >/dev/null 2>&1 || true
    tail -n1 "$work/rss"
  done | sort -n | sed -n 4p
}
hull_rss=$(peak_rss "${hull_cmd[@]}")
qemu_rss=$(peak_rss "${qemu_cmd[@]}")

# VMs started (and finished) per second: `total` stub VMs, `parallel` at a time.
total=${TOTAL_VMS:-40}
parallel=${PARALLEL_VMS:-4}
throughput() {
  local start end running=0
  start=$(date +%s.%N)
  for ((i = 0; i < total; i++)); do
    "$@" >/dev/null 2>&1 &
    running=$((running + 1))
    if [ "$running" -ge "$parallel" ]; then wait -n || true; running=$((running - 1)); fi
  done
  wait || true
  end=$(date +%s.%N)
  python3 -c "print(f'{$total / ($end - $start):.1f}')"
}
hull_rate=$(throughput "${hull_cmd[@]}")
qemu_rate=$(throughput "${qemu_cmd[@]}")

python3 - "$work/times.json" "$hull_rss" "$qemu_rss" "$hull_rate" "$qemu_rate" "$total" "$parallel" <<'PY'
import json, sys
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
hull, qemu = results["hull-vmm"], results["qemu-microvm"]
cpu = lambda r: r["user"] + r["system"]
hull_rss, qemu_rss = int(sys.argv[2]), int(sys.argv[3])
print()
print(f"{'':14}{'median wall':>14}{'mean CPU':>14}{'peak RSS':>12}")
for name, r, rss in (("hull-vmm", hull, hull_rss), ("qemu microvm", qemu, qemu_rss)):
    print(f"{name:14}{r['median']*1000:>11.2f} ms{cpu(r)*1000:>11.2f} ms{rss/1024:>9.1f} MB")
print(f"{'ratio':14}{hull['median']/qemu['median']:>14.3f}{cpu(hull)/cpu(qemu):>14.3f}"
      f"{hull_rss/qemu_rss:>12.3f}   (hull-vmm / QEMU)")
hull_rate, qemu_rate = float(sys.argv[4]), float(sys.argv[5])
print()
print(f"VMs per second ({sys.argv[6]} stub VMs, {sys.argv[7]} at a time): hull-vmm {hull_rate:.1f}, "
      f"QEMU {qemu_rate:.1f}, ratio {hull_rate/qemu_rate:.2f} (higher is better for hull-vmm)")
PY
