#!/usr/bin/env bash
# Benchmark: hull-runtime against crun and runc, measured in the same run on the same bundle.
#
#   bench/runtime.sh [BUILD_DIR]        (make bench)
#
# Scenarios (hyperfine, no shell in between unless said):
#   run        `RUNTIME run --bundle B ID` of /bin/true (run deletes the container on exit, so
#              one id serves every iteration)
#   lifecycle  create + start + delete --force of /bin/true, through one small sh wrapper per
#              iteration (the wrapper's cost is the same for every runtime)
#   exec       `RUNTIME exec ID /bin/true` into a running container
# plus the peak RSS of one `run` (/usr/bin/time -f %M, median of HULL_BENCH_RSS_RUNS).
#
# Prints medians and the ratios hull/crun and hull/runc; hyperfine's JSON and CSV exports stay in
# HULL_BENCH_OUT (default /tmp/hull-bench-results). A benchmark, not a
# test: it never fails on a timing. A missing hull-runtime is reported and the peers are still
# measured.
#
# Environment: HULL_RUNTIME (the hull binary; default BUILD_DIR's), HULL_BENCH_RUNS (200),
# HULL_BENCH_WARMUP (20), HULL_BENCH_RSS_RUNS (20), HULL_BENCH_OUT.
#
# On a hybrid-cgroup host whose cgroup2 mount has controllers (TESTBED.md), Debian's crun refuses
# to run; the script then mounts the hugetlb controller on a v1 hierarchy for the whole run (for
# every runtime alike, so all see the same host) and always unmounts it on exit.
set -euo pipefail

build=${1:-build}
hull=${HULL_RUNTIME:-$build/src/cli/hull_runtime/hull-runtime}
runs=${HULL_BENCH_RUNS:-200}
warmup=${HULL_BENCH_WARMUP:-20}
rss_runs=${HULL_BENCH_RSS_RUNS:-20}

die() { echo "bench: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root (containers with cgroups)"
command -v hyperfine >/dev/null || die "hyperfine not installed (scripts/setup.sh)"
[ -x /usr/bin/time ] || die "/usr/bin/time not installed (Debian package time)"
busybox=$(command -v busybox) || die "busybox-static not installed"

runtimes=()
names=()
for candidate in crun:/usr/bin/crun runc:/usr/sbin/runc "hull:$hull"; do
  name=${candidate%%:*}
  path=${candidate#*:}
  if [ -x "$path" ]; then
    runtimes+=("$(readlink -f "$path")")
    names+=("$name")
  elif [ "$name" = hull ]; then
    echo "hull-runtime not built ($path): measuring the peers only"
  else
    echo "$name not installed ($path): skipped"
  fi
done
[ ${#runtimes[@]} -gt 0 ] || die "no runtime to measure"

work=$(mktemp -d /tmp/hull-bench-XXXXXX)
out=${HULL_BENCH_OUT:-/tmp/hull-bench-results}
mkdir -p "$out"
rm -f "$out"/run-* "$out"/lifecycle-* "$out"/exec-* "$out"/rss-*
hugetlb_dir=""

cleanup() {
  set +e
  for i in "${!runtimes[@]}"; do
    root="$work/state-${names[$i]}"
    [ -d "$root" ] || continue
    for id in $("${runtimes[$i]}" --root "$root" list -q 2>/dev/null); do
      "${runtimes[$i]}" --root "$root" delete --force "$id" >/dev/null 2>&1
    done
  done
  if [ -n "$hugetlb_dir" ]; then
    umount "$hugetlb_dir" 2>/dev/null || umount -l "$hugetlb_dir"
    rmdir "$hugetlb_dir" "${hugetlb_dir%/*}" 2>/dev/null
  fi
  rm -rf "$work"  # bundles and states; the results in $out stay
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the hugetlb trick (only where needed) ---------------------------------------------------
needs_trick() {
  local has_v1=no has_v2_controllers=no
  while read -r mount_point fstype; do
    [ "$fstype" = cgroup ] && has_v1=yes
    # (cgroupfs files report size 0: read them, do not test -s)
    if [ "$fstype" = cgroup2 ] && [ -n "$(tr -d ' \n' < "$mount_point/cgroup.controllers")" ]; then
      has_v2_controllers=yes
    fi
  done < <(awk '{ split($0, parts, " - "); split(parts[2], tail, " "); print $5, tail[1] }' /proc/self/mountinfo)
  [ "$has_v1" = yes ] && [ "$has_v2_controllers" = yes ]
}
if needs_trick; then
  # Same layout as the tests' helper (tests/integration/support/hugetlb.h): <pid>-<tag>/hugetlb,
  # so the tests' cleanup fixture would recognise it as ours and leave it while we live.
  hugetlb_dir=/run/hull-test-hugetlb/$$-bench/hugetlb
  mkdir -p "$hugetlb_dir"
  mount -t cgroup -o hugetlb none "$hugetlb_dir" || { hugetlb_dir=""; echo "bench: hugetlb trick failed; crun may refuse to run"; }
fi

# --- bundle -----------------------------------------------------------------------------------
bundle=$work/bundle
mkdir -p "$bundle/rootfs/bin" "$bundle/rootfs/proc" "$bundle/rootfs/dev" "$bundle/rootfs/sys" \
         "$bundle/rootfs/tmp" "$bundle/rootfs/etc"
cp "$busybox" "$bundle/rootfs/bin/busybox"
for applet in $("$busybox" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$bundle/rootfs/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$bundle/rootfs/etc/passwd"
printf 'root:x:0:\n' > "$bundle/rootfs/etc/group"

write_config() { # ARGS_JSON
  cat > "$bundle/config.json" <<EOF
{
  "ociVersion": "1.0.2",
  "process": {
    "terminal": false,
    "user": {"uid": 0, "gid": 0},
    "args": $1,
    "env": ["PATH=/bin"],
    "cwd": "/",
    "capabilities": {
      "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    },
    "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
    "noNewPrivileges": true
  },
  "root": {"path": "rootfs", "readonly": true},
  "hostname": "bench",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
     "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
     "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
    {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
     "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs",
     "options": ["nosuid", "noexec", "nodev", "ro"]}
  ],
  "linux": {
    "resources": {"devices": [{"allow": false, "access": "rwm"}]},
    "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"},
                   {"type": "mount"}],
    "maskedPaths": ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"],
    "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
  }
}
EOF
}

# Long-running containers for `exec` use a second bundle sharing the rootfs.
exec_bundle=$work/exec-bundle
mkdir -p "$exec_bundle"
write_config '["sleep", "1000000"]'
sed "s|\"path\": \"rootfs\"|\"path\": \"$bundle/rootfs\"|" "$bundle/config.json" > "$exec_bundle/config.json"
write_config '["/bin/true"]'

cat > "$work/lifecycle.sh" <<'EOF'
#!/bin/sh
# create + start + delete of one container; $1 runtime, $2 root, $3 bundle
set -e
"$1" --root "$2" create --bundle "$3" lifecycle
"$1" --root "$2" start lifecycle
"$1" --root "$2" delete --force lifecycle
EOF
chmod +x "$work/lifecycle.sh"

# --- sanity: every runtime must run the bundle once, else it is left out ----------------------
usable=()
for i in "${!runtimes[@]}"; do
  root="$work/state-${names[$i]}"
  mkdir -p "$root"
  if "${runtimes[$i]}" --root "$root" run --bundle "$bundle" sanity >/dev/null 2>"$work/sanity.err"; then
    usable+=("$i")
  else
    echo "bench: ${names[$i]} cannot run the bundle, left out: $(head -c 300 "$work/sanity.err")"
  fi
done
[ ${#usable[@]} -gt 0 ] || die "no runtime could run the bundle"

# --- measurements -----------------------------------------------------------------------------
measure() { # SCENARIO NAME COMMAND...
  local scenario=$1 name=$2
  shift 2
  if ! hyperfine -N --style none --warmup "$warmup" --runs "$runs" \
       --export-json "$out/$scenario-$name.json" --export-csv "$out/$scenario-$name.csv" \
       --command-name "$name" "$*" >/dev/null 2>"$out/$scenario-$name.err"; then
    echo "bench: $scenario with $name failed (see $out/$scenario-$name.err)"
    rm -f "$out/$scenario-$name.csv"
  fi
}

for i in "${usable[@]}"; do
  rt=${runtimes[$i]} name=${names[$i]} root="$work/state-${names[$i]}"
  echo "measuring $name ($rt)"
  measure run "$name" "$rt --root $root run --bundle $bundle bench-run"
  measure lifecycle "$name" "$work/lifecycle.sh $rt $root $bundle"
  if "$rt" --root "$root" run --detach --bundle "$exec_bundle" execbox >/dev/null 2>&1; then
    measure exec "$name" "$rt --root $root exec execbox /bin/true"
    "$rt" --root "$root" delete --force execbox >/dev/null 2>&1 || true
  else
    echo "bench: $name could not start the exec target container"
  fi
  : > "$out/rss-$name.txt"
  for _ in $(seq "$rss_runs"); do
    /usr/bin/time -f %M -a -o "$out/rss-$name.txt" "$rt" --root "$root" run --bundle "$bundle" rss \
      >/dev/null 2>&1 || true
  done
done

# --- report -----------------------------------------------------------------------------------
median_ms() { # CSV -> median in ms (hyperfine CSV: command,mean,stddev,median,user,system,min,max)
  [ -f "$1" ] && awk -F, 'NR == 2 { printf "%.2f", $4 * 1000 }' "$1"
}
median_rss() { # file of KB values -> median in MB
  [ -s "$1" ] && sort -n "$1" | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.1f", m / 1024 }'
}
ratio() { # A B -> A/B
  if [ -n "$1" ] && [ -n "$2" ]; then awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; else echo "-"; fi
}

echo
printf '%-16s %10s %10s %10s %10s %10s\n' scenario "crun" "runc" "hull" hull/crun hull/runc
for scenario in run lifecycle exec; do
  c=$(median_ms "$out/$scenario-crun.csv" || true)
  r=$(median_ms "$out/$scenario-runc.csv" || true)
  h=$(median_ms "$out/$scenario-hull.csv" || true)
  printf '%-16s %10s %10s %10s %10s %10s\n' "$scenario (ms)" "${c:--}" "${r:--}" "${h:--}" \
    "$(ratio "$h" "$c")" "$(ratio "$h" "$r")"
done
c=$(median_rss "$out/rss-crun.txt" || true)
r=$(median_rss "$out/rss-runc.txt" || true)
h=$(median_rss "$out/rss-hull.txt" || true)
printf '%-16s %10s %10s %10s %10s %10s\n' "RSS (MB)" "${c:--}" "${r:--}" "${h:--}" \
  "$(ratio "$h" "$c")" "$(ratio "$h" "$r")"
echo
echo "medians of $runs runs after $warmup warm-up runs; peak RSS: median of $rss_runs runs"
echo "hyperfine exports (JSON, CSV): $out"
