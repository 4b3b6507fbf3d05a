// The container's init: everything the process created by clone() does before execve().
//
// The runtime builds an InitPlan (all allocation, parsing, path and name resolution happen
// there), then clones; the child runs RunInit(), which only reads the plan and makes system
// calls. Parent and child talk over a SOCK_SEQPACKET socketpair (CLOEXEC on both ends, so the
// runtime sees EOF the moment the container's process executes):
//
//   runtime                                   init
//   clone3 ----------------------------------> waits for kContinue
//   cgroup, id maps, oom_score_adj, kContinue > setns/unshare
//                                   <--------- kUserNamespaceReady (only when it makes the user
//   id maps, kContinue --------------------->   namespace itself, after joining namespaces)
//                                   <--------- kInitForked(pid)    (only when it makes the pid
//   reaps it, kContinue(pid) --------------->   namespace itself: its child is the init)
//                                              hostname
//                                   <--------- kNamespacesReady   (only with createRuntime hooks)
//   createRuntime/prestart hooks, kContinue >
//                                              mounts (PrepareRootfs)
//                                   <--------- kMountsReady       (only with createContainer hooks)
//   createContainer hooks (in its ns), kContinue >
//                                              pivot_root, masks, sysctl, console, cwd,
//                                              rlimits, executable lookup
//                                   <--------- kReady
//   create: save state and exit                open(exec.fifo) blocks until `start`
//   run:    save state, kStart ------------->
//                                              startContainer hooks, user, caps, seccomp,
//                                              execve of the sealed trampoline (unless the
//                                              runtime runs from a sealed copy), which executes
//                                   <--------- the program: EOF (exec'd) or kFailed
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "container/child_report.h"
#include "container/hooks.h"
#include "container/namespaces.h"
#include "container/rootfs.h"
#include "container/security.h"

namespace hull::container {

struct SyncMessage {
  enum Type : int {
    kContinue = 1,
    kNamespacesReady,
    kMountsReady,
    kReady,
    kStart,
    kFailed,  // 6, as the exec trampoline writes it
    kUserNamespaceReady,
    kInitForked,
  };
  int type = 0;
  // With kInitForked: the init's pid. With the kContinue that follows the first message to a
  // process (clone3, kInitForked): that process's pid in the runtime's pid namespace.
  pid_t pid = 0;
  ChildReport report;  // with kFailed
};

// The process to execute and its credentials; shared by create/run and exec.
struct ProcessPlan {
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::vector<char*> argv;  // into args
  std::vector<char*> envp;  // into env
  // Where argv[0] may be: itself if it has a '/', else each directory of the container's PATH.
  std::vector<std::string> exec_candidates;
  std::string cwd = "/";
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> additional_gids;
  std::optional<mode_t> umask;
  std::vector<RlimitPlan> rlimits;
  std::optional<CapabilityPlan> capabilities;
  bool no_new_privileges = false;
  std::optional<SeccompPlan> seccomp;
  std::optional<unsigned long> personality;
  std::string apparmor_profile;  // empty, or applied via /proc/self/attr/apparmor/exec
  std::string selinux_label;     // empty, or applied via /proc/self/attr/exec
  bool terminal = false;
  unsigned console_height = 0, console_width = 0;
  int console_socket = -1;  // connected --console-socket, owned by the runtime's plan holder
  int preserve_fds = 0;     // fds 3 .. 3+N-1 stay open
  // With an exec trampoline (exec_trampoline.h): its sealed memfd, the sync socket it reports a
  // failed execve on, and its argv [report fd, program (set in the child), args..., NULL].
  int trampoline_fd = -1;
  int trampoline_report_fd = -1;
  std::string trampoline_report_fd_text;
  mutable std::vector<char*> trampoline_argv;
};

struct InitPlan {
  enum class Mode { kCreate, kRun };
  Mode mode = Mode::kCreate;
  int sync_fd = -1;  // child end of the socketpair
  int lock_fd = -1;  // the runtime's container lock: closed first so only the runtime holds it
  NamespacePlan namespaces;
  // Namespaces the init makes itself, after its joins, when they must be owned by a user
  // namespace that clone3() could not give it: a joined one, or a new one that can only be made
  // after joining namespaces owned by the runtime's (the joins need the runtime's privileges).
  // unshare_user: unshare(CLONE_NEWUSER) first and wait while the runtime writes the id maps.
  bool unshare_user = false;
  int unshare_flags = 0;  // the other CLONE_NEW* for unshare()
  // With CLONE_NEWPID among unshare_flags: unshare() places only children in the new pid
  // namespace, so the init forks (CLONE_PARENT: the runtime's child) and its child carries on
  // as pid 1, while it exits.
  bool fork_into_pid_namespace = false;
  // With a new time namespace and offsets, the init unshares it itself (offsets must be written
  // before any process enters) and then joins it through time_for_children.
  bool unshare_time = false;
  std::string time_offsets;
  bool become_root_in_userns = false;
  // The session keyring the init joins (KEYCTL_JOIN_SESSION_KEYRING), "_ses.ID" as runc and crun
  // name it, so the container never shares the caller's; empty with --no-new-keyring. The
  // permission bits it adds to the keyring (search for its owner, or for others in a user
  // namespace), so that `exec` can find it by name and join it too.
  std::string session_keyring;
  uint32_t session_keyring_search = 0;
  std::optional<std::string> hostname;
  std::optional<std::string> domainname;
  bool has_mount_namespace = true;
  RootfsPlan rootfs;
  std::vector<std::pair<std::string, std::string>> sysctl;  // "/proc/sys/net/..." -> value
  bool wait_after_namespaces = false;  // createRuntime/prestart hooks exist
  bool wait_after_mounts = false;      // createContainer hooks exist
  int exec_fifo_fd = -1;               // O_PATH of ROOT/ID/exec.fifo (create mode)
  std::vector<PreparedHook> start_container_hooks;
  // For startContainer hooks' stdin. Built before clone with blanks at state_pid_offset where
  // the init writes its pid (JSON allows the spaces that remain).
  std::string state_json;
  size_t state_pid_offset = 0;
  ProcessPlan process;
};

// Builds the process part of the plan from a spec process (used by create, run and exec).
// `field` prefixes error messages ("process"). Compiled seccomp programs are cached in
// `seccomp_cache_dir` ("" disables the cache).
[[nodiscard]] Result<ProcessPlan> PlanProcess(const oci::Process& process,
                                              const std::optional<oci::Seccomp>& seccomp,
                                              const std::string& seccomp_cache_dir,
                                              std::string_view field);

// Child side. Never returns: execs the container process or exits non-zero after sending
// kFailed with the reason.
[[noreturn]] void RunInit(InitPlan& plan) noexcept;

// Child side: waits for a message of `type` from the runtime and returns it; anything else, or
// EOF (the runtime died), ends the process.
SyncMessage AwaitRuntime(int sync_fd, int type) noexcept;

// Child side, shared with exec, after the user namespace is entered: joins the session keyring
// `name` of our user (the one with that name we may search, else a new one) and adds
// `add_permissions` to it (0: leaves them). keyctl failing with ENOSYS (a seccomp profile of
// the runtime's own container that refuses keyrings, as LXC's does) leaves the session keyring
// as it was, as in runc and crun; any other failure is one (0 or -1 with `report` filled).
int JoinSessionKeyring(const char* name, uint32_t add_permissions, ChildReport* report) noexcept;

// Child side, shared with exec, after the namespaces are entered: console (with a terminal),
// cwd (checked to lie inside the root), rlimits, personality. 0 or -1 with `report` filled.
int PrepareProcess(const ProcessPlan& process, ChildReport* report) noexcept;

// Child side, shared with exec: applies credentials, umask, closes fds, NNP, caps and seccomp,
// then execs the process. Returns only on failure (-1, report filled).
int ExecProcess(const ProcessPlan& process, ChildReport* report) noexcept;

// Child side: finds the executable among the candidates (regular file, executable); returns its
// index or -1 with the report filled. `cwd_known` is false before chdir.
int FindExecutable(const ProcessPlan& process, ChildReport* report) noexcept;

}  // namespace hull::container
