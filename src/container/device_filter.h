// linux.resources.devices as an eBPF program for cgroup v2 (BPF_PROG_TYPE_CGROUP_DEVICE).
//
// cgroup v2 has no devices.allow/devices.deny files: the kernel runs the programs attached to a
// cgroup (type BPF_CGROUP_DEVICE) on every open/mknod of a device node by its processes, with a
// `struct bpf_cgroup_dev_ctx` {access_type = (access << 16) | type, major, minor}; 1 allows, 0
// refuses with EPERM. This file only compiles the rules; loading and attaching are in
// cgroup_devices.cc over linux/bpf_program.h. Pure: no system calls, so every decision is
// unit-testable.
//
// Semantics (those of the OCI runtime-spec; v1 gives the same answers except where noted):
// - Everything is denied unless a rule allows it.
// - Rules apply in order and a later rule overrides an earlier one, access by access: a request
//   is allowed when, for each access it asks for (r, w, m), the last rule that matches the
//   device and names that access allows it. So [allow c 1:3 rwm, deny c 1:3 w] leaves c 1:3
//   readable and mknod-able but not writable. (v1 takes a deny out of an earlier allow only
//   when both name the same numbers, so there [allow c *:* m, deny c 1:3 m] still lets
//   c 1:3 be created; here it does not.)
// - type "a" or empty matches block and char devices; an absent major/minor (or -1) matches any
//   number; an empty access means "rwm".
// - The runtime appends DefaultDeviceRules() after the config's own rules, for v1 and v2 alike.
#pragma once

#include <linux/bpf.h>

#include <vector>

#include "base/error.h"
#include "oci/runtime_spec.h"

namespace hull::container {

// Devices every container gets after the config's own rules (configs usually start with a
// deny-all rule, which would otherwise drop them): the runtime-spec's default devices (null,
// zero, full, random, urandom, tty, console, ptmx), the pty slaves, and mknod of any node
// (creating a node grants no access to it).
const std::vector<oci::DeviceCgroupRule>& DefaultDeviceRules();

// `rules` followed by DefaultDeviceRules().
std::vector<oci::DeviceCgroupRule> WithDefaultDeviceRules(
    const std::vector<oci::DeviceCgroupRule>& rules);

// The program deciding exactly `rules` (defaults are not added here). Errors name the rule:
// `linux.resources.devices[2].type: unknown device type "x" (expected a, b or c)`.
[[nodiscard]] Result<std::vector<bpf_insn>> CompileDeviceFilter(
    const std::vector<oci::DeviceCgroupRule>& rules);

}  // namespace hull::container
