// A cache of compiled seccomp programs. libseccomp needs about 10 ms of CPU for a profile the
// size of Docker's default with its three x86 architectures, which is more than the rest of a
// container start; the same profile is used for container after container, so the program is
// kept on disk keyed by the profile.
//
// A cache file holds the complete key (the profile in a canonical form, the libseccomp version
// and the native architecture) before the program; a file is used only if its key matches
// byte for byte, so the file-name hash needs no collision resistance.
#include <fcntl.h>
#include <seccomp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "base/log.h"
#include "container/security.h"
#include "linux/file.h"

namespace hull::container {
namespace {

constexpr std::string_view kFormat = "hull seccomp cache 1\n";

void Append(std::string* out, std::string_view text) {
  *out += std::to_string(text.size());
  *out += ':';
  *out += text;
  *out += ';';
}
void Append(std::string* out, uint64_t number) { Append(out, std::to_string(number)); }
void Append(std::string* out, const std::optional<unsigned>& number) {
  Append(out, number ? std::to_string(*number) : std::string("-"));
}

// Everything the compiled program depends on, unambiguously (every item length-prefixed).
std::string CacheKey(const oci::Seccomp& seccomp) {
  std::string key(kFormat);
  const scmp_version* version = seccomp_version();
  Append(&key, version ? std::to_string(version->major) + "." + std::to_string(version->minor) +
                             "." + std::to_string(version->micro)
                       : std::string("?"));
  Append(&key, seccomp_arch_native());
  Append(&key, seccomp.default_action);
  Append(&key, seccomp.default_errno_ret);
  Append(&key, seccomp.architectures.size());
  for (const auto& arch : seccomp.architectures) Append(&key, arch);
  Append(&key, seccomp.flags.size());
  for (const auto& flag : seccomp.flags) Append(&key, flag);
  Append(&key, seccomp.listener_path);
  Append(&key, seccomp.syscalls.size());
  for (const auto& rule : seccomp.syscalls) {
    Append(&key, rule.names.size());
    for (const auto& name : rule.names) Append(&key, name);
    Append(&key, rule.action);
    Append(&key, rule.errno_ret);
    Append(&key, rule.args.size());
    for (const auto& arg : rule.args) {
      Append(&key, arg.index);
      Append(&key, arg.value);
      Append(&key, arg.value_two);
      Append(&key, arg.op);
    }
  }
  return key;
}

std::string FileName(std::string_view key) {
  uint64_t hash = 0xcbf29ce484222325ull;  // FNV-1a, 64 bits: only spreads names
  for (unsigned char c : key) {
    hash ^= c;
    hash *= 0x100000001b3ull;
  }
  char name[32];
  std::snprintf(name, sizeof name, "%016llx.bpf", static_cast<unsigned long long>(hash));
  return name;
}

// File layout: key size (u64), key, flags (u32), instruction count (u64), instructions.
std::string Serialize(std::string_view key, const SeccompPlan& plan) {
  std::string out;
  auto put = [&out](const void* data, size_t size) {
    out.append(static_cast<const char*>(data), size);
  };
  const uint64_t key_size = key.size();
  const uint32_t flags = plan.flags;
  const uint64_t count = plan.program.size();
  put(&key_size, sizeof key_size);
  put(key.data(), key.size());
  put(&flags, sizeof flags);
  put(&count, sizeof count);
  put(plan.program.data(), plan.program.size() * sizeof(sock_filter));
  return out;
}

std::optional<SeccompPlan> Deserialize(std::string_view data, std::string_view key) {
  size_t offset = 0;
  auto take = [&](void* into, size_t size) {
    if (data.size() - offset < size) return false;
    std::memcpy(into, data.data() + offset, size);
    offset += size;
    return true;
  };
  uint64_t key_size = 0;
  if (!take(&key_size, sizeof key_size) || key_size != key.size()) return std::nullopt;
  if (data.size() - offset < key_size || data.substr(offset, key_size) != key) return std::nullopt;
  offset += key_size;
  SeccompPlan plan;
  uint64_t count = 0;
  if (!take(&plan.flags, sizeof plan.flags) || !take(&count, sizeof count)) return std::nullopt;
  if (count == 0 || count > 4096 || data.size() - offset != count * sizeof(sock_filter)) {
    return std::nullopt;
  }
  plan.program.resize(count);
  take(plan.program.data(), count * sizeof(sock_filter));
  return plan;
}

// The cache directory must belong to us and be writable by nobody else: whoever can write it
// chooses the filter of the next container.
Result<void> CheckDirectory(const std::string& dir) {
  TRY(linux::MkdirAll(dir, 0700));
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) return FailErrno("stat " + Quote(dir));
  if (!S_ISDIR(st.st_mode)) return Fail(Quote(dir) + " is not a directory");
  if (st.st_uid != ::geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH))) {
    return Fail(Quote(dir) + " is writable by another user");
  }
  return {};
}

Result<void> Store(const std::string& path, std::string_view data) {
  // A name of our own, so that runtimes filling the same entry at once do not mix their writes.
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  TRY(linux::WriteFile(tmp, data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int saved = errno;
    ::unlink(tmp.c_str());
    return Fail(saved, "rename " + Quote(tmp) + " to " + Quote(path));
  }
  return {};
}

}  // namespace

Result<SeccompPlan> CompileSeccompCached(const oci::Seccomp& seccomp,
                                         const std::string& cache_dir) {
  if (auto usable = CheckDirectory(cache_dir); !usable) {
    log::Warning("seccomp cache not used: " + usable.error().ToString());
    return CompileSeccomp(seccomp);
  }
  const std::string key = CacheKey(seccomp);
  const std::string path = cache_dir + "/" + FileName(key);
  if (auto data = linux::ReadFile(path)) {
    if (auto plan = Deserialize(*data, key)) return std::move(*plan);
    log::Debug("seccomp cache: " + Quote(path) + " is stale or damaged; recompiling");
  }
  SeccompPlan plan = TRY(CompileSeccomp(seccomp));
  if (auto stored = Store(path, Serialize(key, plan)); !stored) {
    log::Warning("seccomp cache: " + stored.error().ToString());
  }
  return plan;
}

}  // namespace hull::container
