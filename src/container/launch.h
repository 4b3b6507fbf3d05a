// Internal to the container library: the shared path of `create` and `run` up to the moment
// the init reports it is ready, and helpers common to the lifecycle commands.
#pragma once

#include <optional>
#include <string>

#include "base/error.h"
#include "container/cgroup.h"
#include "container/container.h"
#include "container/state_store.h"
#include "linux/unique_fd.h"
#include "oci/runtime_spec.h"

namespace hull::container {

struct Launched {
  ContainerRecord record;
  oci::Spec spec;
  linux::UniqueFd pidfd;
  linux::UniqueFd sync;  // runtime end of the sync socket
};

enum class LaunchMode { kCreate, kRun };

// Validates, creates the state directory, cgroup and namespaces, and drives the init until it
// reports kReady. On failure nothing is left behind. The record is saved before returning.
[[nodiscard]] Result<Launched> Launch(const StateStore& store, const CreateOptions& options,
                                      LaunchMode mode);

// The spec state JSON of a container for hooks' stdin and `state`.
std::string HookState(const ContainerRecord& record, const char* status, bool pretty);

// Tears down what a container leaves on the host: kills what is left in its cgroup, removes
// the cgroup, runs poststop hooks (failures are warnings), removes the state directory.
[[nodiscard]] Result<void> Destroy(const StateStore& store, const ContainerRecord& record,
                                   const oci::Spec* spec);

// The cgroup of a recorded container, reopened on the host's current layout.
[[nodiscard]] Result<Cgroup> OpenContainerCgroup(const ContainerRecord& record);

// Waits until the process behind the runtime end of a sync socket executes (EOF: its end was
// close-on-exec) or reports why it could not (kFailed).
[[nodiscard]] Result<void> WaitForExec(int sync_fd);

// Waits for `pid` (a child of this process, with `pidfd` borrowed) while passing on the signals
// a user sends to the runtime; returns its exit code (128+N for a signal).
[[nodiscard]] Result<int> ForwardSignalsAndWait(pid_t pid, int pidfd);

}  // namespace hull::container
