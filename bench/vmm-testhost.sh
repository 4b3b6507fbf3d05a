#!/usr/bin/env bash
# hull-vmm against QEMU's microvm booting a real Linux guest, in the same run, inside the KVM
# test host (scripts/testhost/run.sh: a QEMU TCG VM with a working /dev/kvm, for machines whose
# own /dev/kvm cannot boot Linux). Both VMMs boot the same Debian cloud kernel (kernel.sh) and
# the same initramfs (guest-initramfs.sh: busybox, the virtio modules, a script that prints a
# marker and powers off at once), with the same command line, 256 MiB and 1 vCPU, the console
# to a file. One iteration is one VMM process: start, boot to userspace, ACPI power-off (S5),
# exit. hull-vmm powers off through its ACPI sleep control, QEMU through the microvm's GED.
#
# Prints the median process wall time (hyperfine inside the test host), mean CPU time, peak RSS
# (GNU time -f %M, one run each) and the ratios hull-vmm / QEMU. hyperfine runs in ROUNDS
# rounds, the order of the two VMMs swapped every round (hyperfine itself runs all of one
# command before the other), and the samples of all rounds are pooled. Not a test: it never
# fails on a timing. Timings in the test host are nested under software emulation (TCG): each
# boot takes seconds and the spread is wide; compare ratios from one run of the script.
#
# Usage: bench/vmm-testhost.sh [BUILD_DIR]   (builds nothing; default build/, or HULL_VMM=path)
#   RUNS=20 bench/vmm-testhost.sh     measured boots per VMM (default 10)
#   WARMUP=2                          warm-up boots per VMM, first round only (default 1)
#   ROUNDS=1                          hyperfine rounds (default 2)
#   BREAKDOWN=3                       then 3 more boots per VMM (alternating) of a guest that
#                                     also prints its own dmesg milestones: where the time goes
#                                     (VMM start, kernel, init, exit) and the KVM exits by
#                                     reason (an ftrace histogram in the test host); RUNS=0
#                                     for the breakdown alone
#   HULL_BENCH_OUT=DIR                where the console log and the JSON stay
#                                     (default /tmp/hull-bench-results)
# Needs (Debian): qemu-system-x86, hyperfine, time, busybox-static, cpio, python3; the kernel
# is fetched with apt-get once (scripts/testhost/kernel.sh).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
case $build in /*) ;; *) build=$root/$build ;; esac
vmm=${HULL_VMM:-$build/src/cli/hull_vmm/hull-vmm}
runs=${RUNS:-10}
warmup=${WARMUP:-1}
rounds=${ROUNDS:-2}
breakdown=${BREAKDOWN:-0}
out=${HULL_BENCH_OUT:-/tmp/hull-bench-results}
testhost=$root/scripts/testhost
bios=/usr/share/qemu/bios-microvm.bin

die() { echo "bench/vmm-testhost.sh: $*" >&2; exit 1; }
for tool in hyperfine qemu-system-x86_64 python3 cpio; do
  command -v "$tool" >/dev/null || die "$tool is missing (scripts/setup.sh installs it)"
done
[ -x /usr/bin/time ] || die "/usr/bin/time is missing (Debian package time)"
[ -x /bin/busybox ] || die "/bin/busybox is missing (busybox-static)"
[ -r "$bios" ] || die "$bios is missing (qemu-system-x86)"
[ -x "$vmm" ] || die "no hull-vmm at $vmm (build it: ninja -C build hull-vmm, or set HULL_VMM)"
[ "$rounds" -ge 1 ] && { [ "$runs" -eq 0 ] || [ "$runs" -ge "$rounds" ]; } ||
  die "RUNS ($runs) must be 0 or at least ROUNDS ($rounds)"
cache=$("$testhost/kernel.sh") || die "no Debian cloud kernel (scripts/testhost/kernel.sh)"

work=$(mktemp -d /tmp/hull-bench-vmm-testhost.XXXXXX)
trap 'rm -rf "$work"' EXIT
payload=$work/payload
mkdir -p "$payload" "$out"
"$testhost/add-with-libs.sh" "$vmm" "$payload"
strip "$payload/bin/hull-vmm" 2>/dev/null || true  # debug info only: a smaller test-host initramfs
"$testhost/add-with-libs.sh" qemu-system-x86_64 "$payload"
mkdir -p "$payload/sysroot/usr/share/qemu"
cp -L "$bios" "$payload/sysroot/usr/share/qemu/"
"$testhost/add-with-libs.sh" hyperfine "$payload"
"$testhost/add-with-libs.sh" /usr/bin/time "$payload"
cp "$cache/vmlinuz" "$payload/vmlinuz"
printf 'echo HULL-BENCH-GUEST-UP\npoweroff -f\n' >"$work/guest.sh"
"$testhost/guest-initramfs.sh" "$payload/guest.cpio" "$work/guest.sh"
if [ "$breakdown" -gt 0 ]; then
  # The same guest, which also prints its uptime at the marker and a few dmesg lines (the
  # ring buffer keeps them under `quiet`): printed after the marker, so not in what is timed.
  cat >"$work/guest-breakdown.sh" <<'GUEST'
echo "HULL-BENCH-GUEST-UP"
echo "PHASE uptime $(cut -d' ' -f1 /proc/uptime)"
dmesg | grep -E 'sched offset|NR_IRQS|Freeing initrd memory|Freeing unused kernel image|Run /init' |
  sed 's/^/PHASE /'
poweroff -f
GUEST
  "$testhost/guest-initramfs.sh" "$payload/guest-breakdown.cpio" "$work/guest-breakdown.sh"
fi

# The test-host side (busybox sh, from /payload).
cat >"$payload/bench.sh" <<'INNER'
runs=$1; warmup=$2; rounds=$3; breakdown=$4
boot_timeout=120
marker=HULL-BENCH-GUEST-UP
cmdline="console=ttyS0 quiet panic=-1"
# Same kernel, initramfs, command line, memory, vCPUs for both; the console goes to a file.
vm_cmd() {  # vm_cmd NAME [INITRD]
  initrd=${2:-guest.cpio}
  case $1 in
    hull-vmm) echo "/payload/bin/hull-vmm --kernel vmlinuz --initrd $initrd --cpus 1 --memory 256 --console file:/tmp/$1.log --cmdline '$cmdline'" ;;
    qemu-microvm) echo "/payload/bin/qemu-system-x86_64 -L /usr/share/qemu -M microvm,x-option-roms=off,isa-serial=on,rtc=on,acpi=on -enable-kvm -cpu host -smp 1 -m 256 -nodefaults -no-user-config -display none -no-reboot -serial file:/tmp/$1.log -kernel vmlinuz -initrd $initrd -append '$cmdline'" ;;
  esac
}
names="hull-vmm qemu-microvm"
[ -c /dev/kvm ] || { echo "BENCH no /dev/kvm in the test host"; exit 1; }
echo "BENCH test host: $(uname -r), $(grep -c ^processor /proc/cpuinfo) CPU, THP $(cat /sys/kernel/mm/transparent_hugepage/enabled)"

# Sanity (and peak RSS): each VMM boots the guest to the marker and exits 0.
for name in $names; do
  rm -f /tmp/$name.log
  eval "timeout 300 /payload/bin/time -f %M -o /tmp/$name.rss $(vm_cmd $name)" 2>/tmp/$name.err
  status=$?
  if [ "$status" -eq 0 ] && grep -q $marker /tmp/$name.log; then
    echo "BENCH sanity $name ok rss_kib=$(tail -n1 /tmp/$name.rss)"
  else
    echo "BENCH sanity $name FAIL: exit status $status or no $marker on the console"
    sed 's/^/| /' /tmp/$name.log /tmp/$name.err
    exit 1
  fi
done

style=-N
/payload/bin/hyperfine -N --runs 1 --style none true >/dev/null 2>&1 || style=""
per_round=$(( (runs + rounds - 1) / rounds ))
round=1
while [ "$runs" -gt 0 ] && [ $round -le $rounds ]; do
  if [ $((round % 2)) -eq 1 ]; then order="hull-vmm qemu-microvm"; else order="qemu-microvm hull-vmm"; fi
  w=0; [ $round -eq 1 ] && w=$warmup
  set --
  # A boot that hangs (seen once with QEMU in the nested test host) is stopped after
  # $boot_timeout s and left out of the samples (hyperfine -i keeps going and records the exit
  # codes), so one stuck VMM cannot hold the whole run.
  for name in $order; do set -- "$@" -n $name "timeout $boot_timeout $(vm_cmd $name)"; done
  echo "BENCH round $round/$rounds: $order, $per_round runs each, $w warm-up"
  /payload/bin/hyperfine $style -i --style basic --warmup $w --runs $per_round \
    --export-json /tmp/round$round.json "$@" || { echo "BENCH hyperfine failed"; exit 1; }
  for name in $names; do
    grep -q $marker /tmp/$name.log || echo "BENCH warning: the last timed run of $name has no $marker"
  done
  echo "HULL-BENCH-JSON-BEGIN"; cat /tmp/round$round.json; echo; echo "HULL-BENCH-JSON-END"
  round=$((round + 1))
done

# Breakdown: wall time here (/proc/uptime, 10 ms), the guest's own clock from its dmesg, and
# the KVM exits of each boot by reason (a histogram trigger on the kvm_exit tracepoint).
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
trigger=/sys/kernel/tracing/events/kvm/kvm_exit/trigger
hist='hist:keys=exit_reason:vals=hitcount:sort=hitcount.descending:size=256'
i=1
while [ $i -le "$breakdown" ]; do
  if [ $((i % 2)) -eq 1 ]; then order="hull-vmm qemu-microvm"; else order="qemu-microvm hull-vmm"; fi
  for name in $order; do
    [ -w $trigger ] && echo "$hist" >$trigger
    t0=$(cut -d' ' -f1 /proc/uptime)
    eval "timeout 300 $(vm_cmd $name guest-breakdown.cpio)" >/dev/null 2>&1
    status=$?
    t1=$(cut -d' ' -f1 /proc/uptime)
    echo "PHASE-BEGIN $name $i status=$status wall=$(awk "BEGIN { print $t1 - $t0 }")"
    grep '^PHASE ' /tmp/$name.log
    if [ -w $trigger ]; then
      sed -n 's/^{ exit_reason: *\([0-9]*\) } hitcount: *\([0-9]*\).*/EXITS \1 \2/p' \
        /sys/kernel/tracing/events/kvm/kvm_exit/hist
      echo "!$hist" >$trigger
    fi
    echo "PHASE-END"
  done
  i=$((i + 1))
done
INNER

log=$out/vmm-testhost-console.log
total=0; [ "$runs" -gt 0 ] && total=$((runs + warmup))
echo "== booting the test host: per VMM 1 sanity boot, $total timed (hyperfine: $runs in $rounds round(s) + $warmup warm-up), $breakdown breakdown"
echo "   (each boot takes seconds under nested emulation; the console log goes to $log)"
export HULL_TESTHOST_TIMEOUT=${HULL_TESTHOST_TIMEOUT:-$((600 + 2 * (total + breakdown + 1) * 60))}
set +e
"$testhost/run.sh" "$payload" "sh bench.sh $runs $warmup $rounds $breakdown" |
  tee "$log" | sed -u -e '/HULL-BENCH-JSON-BEGIN/,/HULL-BENCH-JSON-END/d' \
                      -e '/^PHASE/d' -e '/^EXITS/d'
status=${PIPESTATUS[0]}
set -e
[ "$status" -eq 0 ] || die "the test host run failed (status $status); see $log"

python3 - "$log" "$out" <<'PY'
import json, re, statistics, sys
log, out = sys.argv[1:3]
text = open(log, errors="replace").read().replace("\r", "")
names = ("hull-vmm", "qemu-microvm")
labels = {"hull-vmm": "hull-vmm", "qemu-microvm": "qemu microvm"}
rss = {m.group(1): int(m.group(2)) for m in re.finditer(r"BENCH sanity (\S+) ok rss_kib=(\d+)", text)}

samples, cpu = {}, {}
for i, block in enumerate(re.findall(r"HULL-BENCH-JSON-BEGIN\n(.*?)HULL-BENCH-JSON-END", text, re.S)):
    data = json.loads(block)
    json.dump(data, open(f"{out}/vmm-testhost-round{i + 1}.json", "w"), indent=1)
    for r in data["results"]:
        codes = r.get("exit_codes") or [0] * len(r["times"])
        good = [t for t, code in zip(r["times"], codes) if code == 0]
        if len(good) < len(r["times"]):
            print(f"warning: {len(r['times']) - len(good)} boot(s) of {r['command']} in round {i + 1} "
                  "failed or hung (stopped after 120 s) and are left out")
        samples.setdefault(r["command"], []).extend(good)
        cpu.setdefault(r["command"], []).append((len(r["times"]), r["user"] + r["system"]))
if all(n in samples for n in names):
    median = {n: statistics.median(samples[n]) for n in names}
    mean_cpu = {n: sum(k * c for k, c in cpu[n]) / sum(k for k, _ in cpu[n]) for n in names}
    print()
    print(f"{'':14}{'median wall':>12}{'min .. max':>20}{'mean CPU':>10}{'peak RSS':>11}{'samples':>9}")
    for n in names:
        print(f"{labels[n]:14}{median[n]:>10.2f} s{min(samples[n]):>9.2f} .. {max(samples[n]):>5.2f} s"
              f"{mean_cpu[n]:>8.2f} s{rss.get(n, 0)/1024:>8.1f} MB{len(samples[n]):>9}")
    h, q = names
    rss_ratio = f"{rss[h]/rss[q]:>11.3f}" if h in rss and q in rss else f"{'-':>11}"
    print(f"{'ratio':14}{median[h]/median[q]:>12.3f}{min(samples[h])/min(samples[q]):>14.3f} (min)"
          f"{mean_cpu[h]/mean_cpu[q]:>10.3f}{rss_ratio}   (hull-vmm / QEMU; goal <= 1.0, aim 0.8)")
    print()
    print("wall time: one VMM process from start to exit, guest booted to userspace and powered off;")
    print("peak RSS: one boot each (GNU time -f %M); hyperfine JSON and the console log: " + out)
elif "HULL-BENCH-JSON-BEGIN" in text:
    sys.exit("bench/vmm-testhost.sh: incomplete hyperfine results in the console log " + log)

# BREAKDOWN=N: medians over the breakdown boots of each VMM.
boots = {n: [] for n in names}
for name, body in re.findall(r"PHASE-BEGIN (\S+) (.*?)PHASE-END", text, re.S):
    b = {"wall": float(re.search(r"wall=([0-9.]+)", body).group(1)), "exits": {}}
    def stamp(pattern):
        m = re.search(r"PHASE \[\s*([0-9.]+)\][^\n]*" + pattern, body)
        return float(m.group(1)) if m else None
    m = re.search(r"sched offset of (\d+) cycles", body)
    b["offset"] = int(m.group(1)) / 1e9 if m else None
    b["irqs"], b["initrd"] = stamp("NR_IRQS"), stamp("Freeing initrd memory")
    b["kinit"], b["init"] = stamp("Freeing unused kernel image"), stamp("Run /init")
    m = re.search(r"PHASE uptime ([0-9.]+)", body)
    b["marker"] = float(m.group(1)) if m else None
    for code, count in re.findall(r"EXITS (\d+) (\d+)", body):
        b["exits"][int(code)] = int(count)
    if name in boots and None not in b.values():
        boots[name].append(b)
if all(boots[n] for n in names):
    def med(n, f):
        return statistics.median(f(b) for b in boots[n])
    phases = [
        ("whole run (wall, test host)", lambda b: b["wall"]),
        ("VM clock 0 to guest clock 0 *", lambda b: b["offset"]),
        ("guest clock 0 to NR_IRQS", lambda b: b["irqs"]),
        ("  to initramfs unpacked", lambda b: b["initrd"] - b["irqs"]),
        ("  to kernel init done", lambda b: b["kinit"] - b["initrd"]),
        ("  to /init started", lambda b: b["init"] - b["kinit"]),
        ("  to the userspace marker", lambda b: b["marker"] - b["init"]),
        ("rest: VMM start, power-off, exit", lambda b: b["wall"] - b["offset"] - b["marker"]),
    ]
    print()
    print(f"breakdown, medians of {len(boots[names[0]])} and {len(boots[names[1]])} boots (s):")
    print(f"{'':34}{'hull-vmm':>10}{'qemu':>10}{'hull-qemu':>11}")
    for label, f in phases:
        a, b = med(names[0], f), med(names[1], f)
        print(f"{label:34}{a:>10.3f}{b:>10.3f}{a - b:>+11.3f}")
    print("* the guest's kvm-clock sched offset: hull-vmm's clock starts at KVM_CREATE_VM, QEMU's")
    print("  at its first vCPU run (QEMU sets the clock then): firmware, loading, decompression,")
    print("  early setup")
    svm = {0x40 + 14: "#PF", 0x60: "INTR", 0x61: "NMI", 0x64: "VINTR", 0x6e: "RDTSC", 0x72: "CPUID",
           0x74: "IRET", 0x77: "PAUSE", 0x78: "HLT", 0x79: "INVLPG", 0x7b: "IOIO", 0x7c: "MSR",
           0x7f: "SHUTDOWN", 0x81: "VMMCALL", 0x87: "RDTSCP", 0x89: "WBINVD", 0x8d: "XSETBV",
           0x400: "NPF", 0x401: "AVIC_IPI", 0x402: "AVIC_NOACCEL"}
    name_of = lambda c: svm.get(c, f"CR{c & 15} write" if 0x10 <= c < 0x20 else
                                (f"CR{c} read" if c < 0x10 else f"0x{c:x}"))
    codes = set()
    for n in names:
        for b in boots[n]:
            codes |= set(b["exits"])
    if codes:
        per = {n: {c: statistics.median(b["exits"].get(c, 0) for b in boots[n]) for c in codes}
               for n in names}
        print()
        print("KVM exits per boot by SVM exit code (kvm_exit histogram in the test host), medians:")
        print(f"{'':34}{'hull-vmm':>10}{'qemu':>10}")
        print(f"{'all':34}{med(names[0], lambda b: sum(b['exits'].values())):>10.0f}"
              f"{med(names[1], lambda b: sum(b['exits'].values())):>10.0f}")
        for c in sorted(codes, key=lambda c: -max(per[n][c] for n in names)):
            if max(per[n][c] for n in names) >= 100:
                print(f"{name_of(c):34}{per[names[0]][c]:>10.0f}{per[names[1]][c]:>10.0f}")
PY
