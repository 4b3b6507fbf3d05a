#include "container/state_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "linux/file.h"
#include "oci/validate.h"

namespace hull::container {

using nlohmann::json;

const char* StatusName(Status status) {
  switch (status) {
    case Status::kCreating: return "creating";
    case Status::kCreated: return "created";
    case Status::kRunning: return "running";
    case Status::kPaused: return "paused";
    case Status::kStopped: return "stopped";
  }
  return "unknown";
}

Result<std::string> StateStore::Dir(const std::string& id) const {
  TRY(oci::ValidateContainerId(id));
  return root_ + "/" + id;
}

Result<std::string> StateStore::FifoPath(const std::string& id) const {
  return TRY(Dir(id)) + "/exec.fifo";
}

Result<void> StateStore::CreateDir(const std::string& id) const {
  std::string dir = TRY(Dir(id));
  if (::mkdir(root_.c_str(), 0700) != 0 && errno != EEXIST) {
    TRY_CTX(linux::MkdirAll(root_, 0700), "create state root");
  }
  if (::mkdir(dir.c_str(), 0700) != 0) {
    if (errno == EEXIST) return Fail(EEXIST, "container " + Quote(id) + " already exists");
    return FailErrno("mkdir " + Quote(dir));
  }
  return {};
}

Result<void> StateStore::Save(const ContainerRecord& r) const {
  json j = {{"id", r.id},
            {"pid", r.pid},
            {"pid_start_time", r.pid_start_time},
            {"bundle", r.bundle},
            {"rootfs", r.rootfs},
            {"created", r.created},
            {"owner", r.owner},
            {"cgroups_path", r.cgroups_path},
            {"systemd_cgroup", r.systemd_cgroup},
            {"has_pid_namespace", r.has_pid_namespace},
            {"no_new_keyring", r.no_new_keyring},
            {"annotations", r.annotations}};
  return linux::WriteFileAtomic(TRY(Dir(r.id)) + "/state.json", j.dump(), 0600);
}

Result<ContainerRecord> StateStore::Load(const std::string& id) const {
  std::string dir = TRY(Dir(id));
  std::string path = dir + "/state.json";
  auto text = linux::ReadFile(path);
  if (!text) {
    if (text.error().code() == ENOENT) {
      if (!linux::Exists(dir)) return Fail(ENOENT, "container " + Quote(id) + " does not exist");
      return Fail(EAGAIN, "container " + Quote(id) + " is still being created");
    }
    return tl::unexpected(text.error());
  }
  try {
    json j = json::parse(*text);
    ContainerRecord r;
    r.id = j.at("id").get<std::string>();
    r.pid = j.at("pid").get<pid_t>();
    r.pid_start_time = j.at("pid_start_time").get<uint64_t>();
    r.bundle = j.at("bundle").get<std::string>();
    r.rootfs = j.at("rootfs").get<std::string>();
    r.created = j.at("created").get<std::string>();
    r.owner = j.value("owner", "");
    r.cgroups_path = j.at("cgroups_path").get<std::string>();
    r.systemd_cgroup = j.value("systemd_cgroup", false);
    r.has_pid_namespace = j.value("has_pid_namespace", true);
    r.no_new_keyring = j.value("no_new_keyring", false);
    r.annotations = j.value("annotations", std::map<std::string, std::string>{});
    return r;
  } catch (const json::exception& e) {
    return Fail(EINVAL, "state file " + Quote(path) + " is corrupt: " + e.what());
  }
}

Result<std::string> StateStore::LoadConfig(const std::string& id) const {
  return linux::ReadFile(TRY(Dir(id)) + "/config.json");
}

Result<void> StateStore::SaveConfig(const std::string& id, std::string_view config) const {
  return linux::WriteFile(TRY(Dir(id)) + "/config.json", config, O_WRONLY | O_CREAT | O_TRUNC,
                          0600);
}

Result<void> StateStore::Remove(const std::string& id) const {
  return linux::RemoveAll(TRY(Dir(id)));
}

Result<std::vector<std::string>> StateStore::List() const {
  std::vector<std::string> ids;
  DIR* dir = ::opendir(root_.c_str());
  if (!dir) {
    if (errno == ENOENT) return ids;
    return FailErrno("opendir " + Quote(root_));
  }
  while (dirent* e = ::readdir(dir)) {
    std::string name = e->d_name;
    // Anything else in ROOT (not made by us) is no container: Load would refuse its name.
    if (!oci::ValidateContainerId(name)) continue;
    if (e->d_type == DT_DIR || e->d_type == DT_UNKNOWN) ids.push_back(name);
  }
  ::closedir(dir);
  std::sort(ids.begin(), ids.end());
  return ids;
}

Result<ContainerLock> ContainerLock::Acquire(const StateStore& store, const std::string& id) {
  std::string dir = TRY(store.Dir(id));
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Fail(ENOENT, "container " + Quote(id) + " does not exist");
    return FailErrno("open " + Quote(dir));
  }
  linux::UniqueFd owned(fd);
  while (::flock(fd, LOCK_EX) != 0) {
    if (errno != EINTR) return FailErrno("lock " + Quote(dir));
  }
  return ContainerLock(std::move(owned));
}

std::string SeccompCacheDir() {
  if (::geteuid() == 0) return "/run/hull/seccomp-cache";
  const char* runtime_dir = std::getenv("XDG_RUNTIME_DIR");
  if (runtime_dir && *runtime_dir) return std::string(runtime_dir) + "/hull/seccomp-cache";
  return "";
}

uint64_t ProcessStartTime(pid_t pid) {
  if (pid <= 0) return 0;
  auto stat = linux::ReadFile("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return 0;
  // The command name (field 2) may contain spaces and parentheses: parse after the last ')'.
  size_t close = stat->rfind(')');
  if (close == std::string::npos) return 0;
  // Fields after ')' start with field 3 (state); start time is field 22.
  const char* p = stat->c_str() + close + 2;
  int field = 3;
  char state = *p;
  while (*p && field < 22) {
    if (*p == ' ') ++field;
    ++p;
  }
  if (state == 'Z' || state == 'X') return 0;
  return std::strtoull(p, nullptr, 10);
}

bool ProcessAlive(pid_t pid, uint64_t start_time) {
  uint64_t now = ProcessStartTime(pid);
  return now != 0 && now == start_time;
}

Status CurrentStatus(const StateStore& store, const ContainerRecord& record, bool frozen) {
  if (!ProcessAlive(record.pid, record.pid_start_time)) return Status::kStopped;
  if (frozen) return Status::kPaused;
  auto fifo = store.FifoPath(record.id);
  if (fifo && linux::Exists(*fifo)) return Status::kCreated;
  return Status::kRunning;
}

}  // namespace hull::container
