#include "linux/bpf_program.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>

namespace hull::linux {

namespace {

// How much of the verifier's log an error keeps: its end says why the program was refused.
constexpr size_t kVerifierLogTail = 2048;
constexpr size_t kVerifierLogSize = 256 * 1024;

uint64_t Pointer(const void* pointer) { return reinterpret_cast<uintptr_t>(pointer); }

// bpf(2) with EINTR retried; also EAGAIN for commands where the kernel means "try again".
long Bpf(int command, bpf_attr* attr, bool retry_again = false) {
  for (int attempt = 0;; ++attempt) {
    long result = ::syscall(SYS_bpf, command, attr, sizeof(*attr));
    if (result >= 0) return result;
    if (errno == EINTR || (retry_again && errno == EAGAIN && attempt < 5)) continue;
    return result;
  }
}

// The last part of the verifier's log, starting at a line boundary.
std::string LogTail(std::string_view log) {
  while (!log.empty() && (log.back() == '\n' || log.back() == '\0')) log.remove_suffix(1);
  if (log.size() > kVerifierLogTail) {
    log.remove_prefix(log.size() - kVerifierLogTail);
    size_t newline = log.find('\n');
    if (newline != std::string_view::npos) log.remove_prefix(newline + 1);
  }
  return std::string(log);
}

}  // namespace

Result<UniqueFd> LoadBpfProgram(bpf_prog_type type, bpf_attach_type expected_attach,
                                const std::vector<bpf_insn>& instructions, const std::string& name,
                                const std::string& license) {
  bpf_attr attr;
  std::memset(&attr, 0, sizeof(attr));
  attr.prog_type = type;
  attr.expected_attach_type = expected_attach;
  attr.insns = Pointer(instructions.data());
  attr.insn_cnt = static_cast<uint32_t>(instructions.size());
  attr.license = Pointer(license.c_str());
  std::memcpy(attr.prog_name, name.data(), std::min(name.size(), sizeof(attr.prog_name) - 1));
  const std::string context = "bpf(BPF_PROG_LOAD) " + Quote(name) + " (" +
                              std::to_string(instructions.size()) + " instructions)";

  long fd = Bpf(BPF_PROG_LOAD, &attr, /*retry_again=*/true);
  if (fd >= 0) return UniqueFd(static_cast<int>(fd));
  const int load_errno = errno;
  if (load_errno != EINVAL && load_errno != EACCES) return FailErrno(context);

  // The verifier refused it: load again with a log to say why (a log costs time, so only now).
  std::string log(kVerifierLogSize, '\0');
  attr.log_level = 1;
  attr.log_buf = Pointer(log.data());
  attr.log_size = static_cast<uint32_t>(log.size());
  fd = Bpf(BPF_PROG_LOAD, &attr, /*retry_again=*/true);
  if (fd >= 0) return UniqueFd(static_cast<int>(fd));  // refused once, accepted now: take it
  log.resize(std::strlen(log.c_str()));
  std::string tail = LogTail(log);
  if (tail.empty()) return Fail(load_errno, context);
  return Fail(load_errno, context + ": verifier: " + tail);
}

Result<void> AttachBpfProgram(int cgroup_fd, int program_fd, bpf_attach_type type, uint32_t flags) {
  bpf_attr attr;
  std::memset(&attr, 0, sizeof(attr));
  attr.target_fd = static_cast<uint32_t>(cgroup_fd);
  attr.attach_bpf_fd = static_cast<uint32_t>(program_fd);
  attr.attach_type = type;
  attr.attach_flags = flags;
  if (Bpf(BPF_PROG_ATTACH, &attr) < 0) return FailErrno("bpf(BPF_PROG_ATTACH)");
  return {};
}

Result<void> DetachBpfProgram(int cgroup_fd, int program_fd, bpf_attach_type type) {
  bpf_attr attr;
  std::memset(&attr, 0, sizeof(attr));
  attr.target_fd = static_cast<uint32_t>(cgroup_fd);
  attr.attach_bpf_fd = static_cast<uint32_t>(program_fd);
  attr.attach_type = type;
  if (Bpf(BPF_PROG_DETACH, &attr) < 0) return FailErrno("bpf(BPF_PROG_DETACH)");
  return {};
}

Result<std::vector<uint32_t>> QueryBpfPrograms(int cgroup_fd, bpf_attach_type type) {
  std::vector<uint32_t> ids(8);
  while (true) {
    bpf_attr attr;
    std::memset(&attr, 0, sizeof(attr));
    attr.query.target_fd = static_cast<uint32_t>(cgroup_fd);
    attr.query.attach_type = type;
    attr.query.prog_ids = Pointer(ids.data());
    attr.query.prog_cnt = static_cast<uint32_t>(ids.size());
    if (Bpf(BPF_PROG_QUERY, &attr) == 0) {
      ids.resize(std::min<size_t>(attr.query.prog_cnt, ids.size()));
      return ids;
    }
    // ENOSPC: more programs than room; prog_cnt now holds how many there are.
    if (errno != ENOSPC || attr.query.prog_cnt <= ids.size())
      return FailErrno("bpf(BPF_PROG_QUERY)");
    ids.resize(attr.query.prog_cnt);
  }
}

Result<UniqueFd> BpfProgramFdById(uint32_t id) {
  bpf_attr attr;
  std::memset(&attr, 0, sizeof(attr));
  attr.prog_id = id;
  long fd = Bpf(BPF_PROG_GET_FD_BY_ID, &attr);
  if (fd < 0) return FailErrno("bpf(BPF_PROG_GET_FD_BY_ID) " + std::to_string(id));
  return UniqueFd(static_cast<int>(fd));
}

}  // namespace hull::linux
