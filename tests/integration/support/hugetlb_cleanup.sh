#!/bin/sh
# CTest FIXTURES_CLEANUP for the hugetlb trick (support/hugetlb.h): unmounts every hugetlb v1
# mount under /run/hull-test-hugetlb whose owning test process (named in the directory) is gone,
# for example because CTest killed it at its timeout. Never touches a live test's mount.
base=/run/hull-test-hugetlb
[ -d "$base" ] || exit 0
for dir in "$base"/*; do
  [ -d "$dir" ] || continue
  pid=${dir##*/}
  pid=${pid%%-*}
  if [ -n "$pid" ] && [ -d "/proc/$pid" ]; then
    continue
  fi
  for mount_point in "$dir/hugetlb" "$dir"; do
    if grep -q " $mount_point " /proc/self/mountinfo; then
      umount "$mount_point" 2>/dev/null || umount -l "$mount_point" 2>/dev/null
    fi
  done
  rmdir "$dir/hugetlb" "$dir" 2>/dev/null
done
exit 0
