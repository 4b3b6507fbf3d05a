// Thin wrappers for the bpf(2) commands the runtime needs to filter devices on cgroup v2: load a
// program, attach it to a cgroup, list what a cgroup has attached, and detach. Raw bpf(2) over
// <linux/bpf.h>; libbpf is not used. Each wrapper retries EINTR (and EAGAIN for a load, which the
// verifier may return when interrupted) and returns a Result whose message names the command.
//
// These need privileges in the initial user namespace (CAP_SYS_ADMIN covers all of them; newer
// kernels also accept narrower ones such as CAP_BPF for loading). Program descriptors are owned by
// UniqueFd; an attached program stays attached (the cgroup holds its own reference) after its
// descriptor is closed, until it is detached or the cgroup is removed. Descriptors from bpf(2) are
// always close-on-exec.
//
// (Not named linux/bpf.h: with src/ on the include path that would hide the kernel's
// <linux/bpf.h>.)
#pragma once

#include <linux/bpf.h>

#include <cstdint>
#include <string>
#include <vector>

#include "base/error.h"
#include "linux/unique_fd.h"

namespace hull::linux {

// BPF_PROG_LOAD. `name` is truncated to the kernel's 15 characters; `license` matters only for
// GPL-only helpers. When the verifier rejects the program, the load is repeated with a log and
// the error carries the verifier's last lines.
[[nodiscard]] Result<UniqueFd> LoadBpfProgram(bpf_prog_type type, bpf_attach_type expected_attach,
                                              const std::vector<bpf_insn>& instructions,
                                              const std::string& name, const std::string& license);

// BPF_PROG_ATTACH of `program_fd` to the cgroup directory `cgroup_fd` with `flags`
// (BPF_F_ALLOW_MULTI to sit beside other programs). Both fds remain owned by the caller.
[[nodiscard]] Result<void> AttachBpfProgram(int cgroup_fd, int program_fd, bpf_attach_type type,
                                            uint32_t flags);

// BPF_PROG_DETACH of `program_fd` from `cgroup_fd`. Both fds remain owned by the caller.
[[nodiscard]] Result<void> DetachBpfProgram(int cgroup_fd, int program_fd, bpf_attach_type type);

// BPF_PROG_QUERY: ids of the programs attached to `cgroup_fd` itself (not inherited from its
// ancestors) for `type`, in the kernel's order. `cgroup_fd` remains owned by the caller.
[[nodiscard]] Result<std::vector<uint32_t>> QueryBpfPrograms(int cgroup_fd, bpf_attach_type type);

// BPF_PROG_GET_FD_BY_ID: a descriptor for a loaded program (e.g. one QueryBpfPrograms listed).
[[nodiscard]] Result<UniqueFd> BpfProgramFdById(uint32_t id);

}  // namespace hull::linux
