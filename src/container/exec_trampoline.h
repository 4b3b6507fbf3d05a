// The exec trampoline: how the runtime keeps its binary out of a container's reach without
// copying the whole runtime (see linux/sealed_self.h for the attack, CVE-2019-5736).
//
// A process the runtime starts in a container (the init of `create`/`run`, or the process of
// `exec`) is the runtime's binary until its last execve(). If that execve() ran the container's
// program directly, a program whose interpreter is /proc/self/exe would have the kernel run the
// runtime's binary inside the container, where any process could open its /proc/PID/exe and
// write to it once no runtime runs. Instead the process executes a tiny trampoline from a
// sealed memfd, which then executes the program: /proc/self/exe is the sealed trampoline at that
// moment. Before that last step the process is non-dumpable, which keeps /proc/PID/exe closed
// to the container unless it has CAP_SYS_PTRACE; for such a container (ContainerMayPtrace) the
// runtime re-executes itself from a sealed copy of its whole binary first.
#pragma once

#include "base/error.h"
#include "container/init.h"
#include "linux/unique_fd.h"
#include "oci/runtime_spec.h"

namespace hull::container {

// A sealed memfd (close-on-exec) with the trampoline (container/trampoline/trampoline.c).
// It is run with argv [report fd, program path, argv0, argv1, ...].
[[nodiscard]] Result<linux::UniqueFd> MakeExecTrampoline();

// Makes ExecProcess() start `process` through the trampoline, which reports a failed execve of
// the program on `report_fd` (the child's end of the sync socket, a number valid in the child).
// Returns the trampoline's memfd, which the caller keeps open until the child is cloned; the
// plan refers to it and to `process.args`, so neither may move before then.
[[nodiscard]] Result<linux::UniqueFd> UseExecTrampoline(ProcessPlan& process, int report_fd);

// Whether processes of the container may hold CAP_SYS_PTRACE (it is in the bounding set of its
// process), which lets them open /proc/PID/exe of a non-dumpable process: the runtime's
// processes in such a container must run from a sealed copy of the runtime.
bool ContainerMayPtrace(const oci::Spec& spec);

}  // namespace hull::container
