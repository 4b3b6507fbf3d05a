// Real cgroups on this host, as root: create with limits, move a process in, freeze, read
// statistics, update and destroy; a failed create leaves nothing behind. Each test works under
// its own "/hull-test/<pid>-<n>" and removes it (and "/hull-test") again even when it fails.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "base/strings.h"
#include "container/cgroup.h"
#include "container/cgroup_internal.h"
#include "linux/cgroupfs.h"
#include "linux/file.h"

namespace hull::container {
namespace {

constexpr const char* kTestRoot = "/hull-test";

std::string Read(const std::string& path) {
  auto text = linux::ReadCgroupFile(path);
  return text ? std::string(Trim(*text)) : "<" + text.error().ToString() + ">";
}

bool IsDir(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

void RemoveTree(const std::string& dir) {
  auto children = linux::ListCgroupChildren(dir);
  if (children)
    for (const std::string& child : *children) RemoveTree(dir + "/" + child);
  for (int i = 0; i < 100 && ::rmdir(dir.c_str()) != 0 && errno == EBUSY; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

class CgroupRootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    auto layout = DetectCgroupLayout();
    ASSERT_TRUE(layout) << layout.error().ToString();
    layout_ = *layout;
    static int counter = 0;
    path_ =
        std::string(kTestRoot) + "/" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
    if (!layout_.unified_mount.empty())
      unified_subtree_before_ = Read(layout_.unified_mount + "/cgroup.subtree_control");
  }

  void TearDown() override {
    if (::geteuid() != 0) return;
    // A task in a frozen v1 cgroup cannot die, so thaw before killing.
    for (const std::string& mount : Mounts()) {
      if (linux::Exists(mount + path_ + "/freezer.state"))
        (void)linux::WriteCgroupFile(mount + path_ + "/freezer.state", "THAWED");
      if (linux::Exists(mount + path_ + "/cgroup.freeze"))
        (void)linux::WriteCgroupFile(mount + path_ + "/cgroup.freeze", "0");
    }
    for (pid_t pid : children_) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    for (const std::string& mount : Mounts()) {
      RemoveTree(mount + path_);
      ::rmdir((mount + kTestRoot).c_str());  // fails harmlessly while another test uses it
    }
    // Give back a controller this test enabled on the shared unified root.
    if (!layout_.unified_mount.empty()) {
      std::vector<std::string> before = Split(unified_subtree_before_, ' ');
      for (const std::string& controller :
           Split(Read(layout_.unified_mount + "/cgroup.subtree_control"), ' ')) {
        if (!controller.empty() &&
            std::find(before.begin(), before.end(), controller) == before.end())
          (void)linux::WriteCgroupFile(layout_.unified_mount + "/cgroup.subtree_control",
                                       "-" + controller);
      }
    }
  }

  std::vector<std::string> Mounts() const {
    std::vector<std::string> mounts;
    for (const auto& [mount, controllers] : layout_.v1_hierarchies) mounts.push_back(mount);
    if (!layout_.unified_mount.empty()) mounts.push_back(layout_.unified_mount);
    return mounts;
  }

  // The container's directory for `controller`; fails the test when the host lacks it.
  std::string Dir(const char* controller) const {
    auto dir = LocateController(layout_, path_, controller);
    return dir ? dir->path : "<no " + std::string(controller) + " controller>";
  }
  bool V1(const char* controller) const {
    auto dir = LocateController(layout_, path_, controller);
    return dir && !dir->v2;
  }

  // A child that waits for a byte on a pipe, burns about 100 ms of CPU, then sleeps.
  pid_t SpawnChild() {
    int fds[2];
    if (::pipe(fds) != 0) return -1;
    pid_t pid = ::fork();
    if (pid == 0) {
      ::close(fds[1]);
      char byte;
      if (::read(fds[0], &byte, 1) == 1) {
        struct timespec start, now;
        ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &start);
        do {
          ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
        } while ((now.tv_sec - start.tv_sec) * 1000000000L + (now.tv_nsec - start.tv_nsec) <
                 100000000L);
      }
      while (true) ::pause();
    }
    ::close(fds[0]);
    if (pid > 0) {
      children_.push_back(pid);
      go_fds_.push_back(fds[1]);
    } else {
      ::close(fds[1]);
    }
    return pid;
  }
  void LetChildBurn() {
    for (int fd : go_fds_) {
      (void)!::write(fd, "x", 1);
      ::close(fd);
    }
    go_fds_.clear();
  }

  CgroupLayout layout_;
  std::string path_;
  std::string unified_subtree_before_;
  std::vector<pid_t> children_;
  std::vector<int> go_fds_;
};

TEST_F(CgroupRootTest, CreateMakesEveryHierarchyAndAppliesLimits) {
  oci::Resources resources;
  resources.memory = oci::MemoryResources{};
  resources.memory->limit = 64 << 20;
  resources.memory->reservation = 32 << 20;
  resources.cpu = oci::CpuResources{};
  resources.cpu->shares = 512;
  resources.cpu->quota = 50000;
  resources.cpu->period = 100000;
  resources.cpu->cpus = "0";
  resources.cpu->mems = "0";
  resources.pids = oci::PidsResources{42};

  auto cgroup = Cgroup::Create(layout_, path_, "c1", &resources, false);
  ASSERT_TRUE(cgroup) << cgroup.error().ToString();
  EXPECT_EQ(cgroup->path(), path_);
  for (const CgroupMountPoint& mount : cgroup->MountPoints())
    EXPECT_TRUE(IsDir(mount.host_path)) << mount.host_path;
  for (const std::string& mount : Mounts()) EXPECT_TRUE(IsDir(mount + path_)) << mount;

  if (V1("memory")) {
    EXPECT_EQ(Read(Dir("memory") + "/memory.limit_in_bytes"), std::to_string(64 << 20));
    EXPECT_EQ(Read(Dir("memory") + "/memory.soft_limit_in_bytes"), std::to_string(32 << 20));
  } else {
    EXPECT_EQ(Read(Dir("memory") + "/memory.max"), std::to_string(64 << 20));
  }
  if (V1("cpu")) {
    EXPECT_EQ(Read(Dir("cpu") + "/cpu.shares"), "512");
    EXPECT_EQ(Read(Dir("cpu") + "/cpu.cfs_quota_us"), "50000");
    EXPECT_EQ(Read(Dir("cpu") + "/cpu.cfs_period_us"), "100000");
  } else {
    EXPECT_EQ(Read(Dir("cpu") + "/cpu.max"), "50000 100000");
  }
  EXPECT_EQ(Read(Dir("cpuset") + "/cpuset.cpus"), "0");
  EXPECT_EQ(Read(Dir("cpuset") + "/cpuset.mems"), "0");
  EXPECT_EQ(Read(Dir("pids") + "/pids.max"), "42");
}

TEST_F(CgroupRootTest, CpusetIsInheritedSoTasksCanJoin) {
  if (!V1("cpuset")) GTEST_SKIP() << "no v1 cpuset hierarchy";
  auto cgroup = Cgroup::Create(layout_, path_, "c1", nullptr, false);
  ASSERT_TRUE(cgroup) << cgroup.error().ToString();
  EXPECT_FALSE(Read(Dir("cpuset") + "/cpuset.cpus").empty());
  EXPECT_FALSE(Read(Dir("cpuset") + "/cpuset.mems").empty());
  pid_t child = SpawnChild();
  ASSERT_GT(child, 0);
  EXPECT_TRUE(cgroup->AddProcess(child));
}

TEST_F(CgroupRootTest, ProcessJoinsFreezesAndIsCounted) {
  oci::Resources resources;
  resources.pids = oci::PidsResources{-1};
  auto cgroup = Cgroup::Create(layout_, path_, "c1", &resources, false);
  ASSERT_TRUE(cgroup) << cgroup.error().ToString();
  pid_t child = SpawnChild();
  ASSERT_GT(child, 0);
  auto added = cgroup->AddProcess(child);
  ASSERT_TRUE(added) << added.error().ToString();

  // The kernel agrees in every hierarchy.
  std::ifstream proc_cgroup("/proc/" + std::to_string(child) + "/cgroup");
  std::string line;
  int lines = 0;
  std::set<std::string> mounted;  // v1 controllers with a mount in this namespace
  for (const auto& [mount, controllers] : layout_.v1_hierarchies)
    mounted.insert(controllers.begin(), controllers.end());
  while (std::getline(proc_cgroup, line)) {
    // A v1 hierarchy can outlive its last mount (the kernel keeps it while references remain,
    // e.g. hugetlb after a peer test moved it off cgroup2): it is listed here but is no
    // hierarchy the runtime can see or use.
    auto first = line.find(':'), second = line.find(':', first + 1);
    std::string controllers = line.substr(first + 1, second - first - 1);
    bool visible = controllers.empty();
    std::stringstream names(controllers);
    for (std::string name; std::getline(names, name, ',');) visible |= mounted.count(name) > 0;
    if (!visible) continue;
    ++lines;
    EXPECT_TRUE(line.size() >= path_.size() &&
                line.compare(line.size() - path_.size(), path_.size(), path_) == 0)
        << line;
  }
  EXPECT_EQ(lines, static_cast<int>(Mounts().size()));

  auto pids = cgroup->Pids();
  ASSERT_TRUE(pids) << pids.error().ToString();
  EXPECT_EQ(*pids, std::vector<pid_t>{child});

  auto frozen = cgroup->Freeze();
  ASSERT_TRUE(frozen) << frozen.error().ToString();
  EXPECT_EQ(cgroup->IsFrozen().value_or(false), true);
  auto thawed = cgroup->Thaw();
  ASSERT_TRUE(thawed) << thawed.error().ToString();
  EXPECT_EQ(cgroup->IsFrozen().value_or(true), false);

  LetChildBurn();
  CgroupStats stats;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  do {
    auto read = cgroup->Stats();
    ASSERT_TRUE(read) << read.error().ToString();
    stats = *read;
    if (stats.cpu_usage_total >= 50000000) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  } while (std::chrono::steady_clock::now() < deadline);
  EXPECT_GE(stats.cpu_usage_total, 50000000u);  // at least half of the 100 ms burnt
  if (V1("cpuacct")) {
    EXPECT_FALSE(stats.cpu_usage_percpu.empty());
  }
  EXPECT_EQ(stats.pids_current, 1u);
  EXPECT_EQ(stats.pids_limit, 0u);  // "max"
  EXPECT_FALSE(stats.memory_raw.empty());
  EXPECT_NE(FormatStatsEvent("c1", stats).find("\"type\":\"stats\""), std::string::npos);
}

TEST_F(CgroupRootTest, UpdateChangesOnlyPresentFields) {
  auto memory_root = LocateController(layout_, "", "memory");
  bool memsw = V1("memory") && linux::Exists(memory_root->path + "/memory.memsw.limit_in_bytes");
  oci::Resources resources;
  resources.memory = oci::MemoryResources{};
  resources.memory->limit = 64 << 20;
  if (memsw) resources.memory->swap = 128 << 20;
  resources.pids = oci::PidsResources{10};
  auto cgroup = Cgroup::Create(layout_, path_, "c1", &resources, false);
  ASSERT_TRUE(cgroup) << cgroup.error().ToString();

  const std::string limit_file =
      Dir("memory") + (V1("memory") ? "/memory.limit_in_bytes" : "/memory.max");
  // Raising both above the current memory+swap limit needs memsw to move first on v1.
  oci::Resources raise;
  raise.memory = oci::MemoryResources{};
  raise.memory->limit = 256 << 20;
  if (memsw) raise.memory->swap = 512 << 20;
  auto raised = cgroup->Update(raise);
  ASSERT_TRUE(raised) << raised.error().ToString();
  EXPECT_EQ(Read(limit_file), std::to_string(256 << 20));
  if (memsw) {
    EXPECT_EQ(Read(Dir("memory") + "/memory.memsw.limit_in_bytes"), std::to_string(512 << 20));
  }
  EXPECT_EQ(Read(Dir("pids") + "/pids.max"), "10");  // untouched

  // Lowering both below the current limit needs the limit to move first.
  oci::Resources lower;
  lower.memory = oci::MemoryResources{};
  lower.memory->limit = 32 << 20;
  if (memsw) lower.memory->swap = 48 << 20;
  auto lowered = cgroup->Update(lower);
  ASSERT_TRUE(lowered) << lowered.error().ToString();
  EXPECT_EQ(Read(limit_file), std::to_string(32 << 20));
  if (memsw) {
    EXPECT_EQ(Read(Dir("memory") + "/memory.memsw.limit_in_bytes"), std::to_string(48 << 20));
  }

  oci::Resources pids;
  pids.pids = oci::PidsResources{20};
  auto updated = cgroup->Update(pids);
  ASSERT_TRUE(updated) << updated.error().ToString();
  EXPECT_EQ(Read(Dir("pids") + "/pids.max"), "20");
  EXPECT_EQ(Read(limit_file), std::to_string(32 << 20));  // untouched
}

TEST_F(CgroupRootTest, OpenFindsTheSameCgroup) {
  auto created = Cgroup::Create(layout_, path_, "c1", nullptr, false);
  ASSERT_TRUE(created) << created.error().ToString();
  auto opened = Cgroup::Open(layout_, path_, "c1", false);
  ASSERT_TRUE(opened) << opened.error().ToString();
  oci::Resources resources;
  resources.pids = oci::PidsResources{7};
  auto updated = opened->Update(resources);
  ASSERT_TRUE(updated) << updated.error().ToString();
  EXPECT_EQ(Read(Dir("pids") + "/pids.max"), "7");
}

TEST_F(CgroupRootTest, DestroyRemovesEveryDirectoryIncludingSubCgroups) {
  auto cgroup = Cgroup::Create(layout_, path_, "c1", nullptr, false);
  ASSERT_TRUE(cgroup) << cgroup.error().ToString();
  // Sub-cgroups the container made itself, in every hierarchy.
  for (const std::string& mount : Mounts()) {
    ASSERT_EQ(::mkdir((mount + path_ + "/sub").c_str(), 0755), 0) << mount;
    ASSERT_EQ(::mkdir((mount + path_ + "/sub/deeper").c_str(), 0755), 0) << mount;
  }
  pid_t child = SpawnChild();
  ASSERT_GT(child, 0);
  ASSERT_TRUE(cgroup->AddProcess(child));
  auto pids = cgroup->Pids();
  ASSERT_TRUE(pids);
  EXPECT_EQ(pids->size(), 1u);
  // The process dies just before the removal, as in `delete` after `kill`.
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  children_.clear();

  auto destroyed = cgroup->Destroy();
  ASSERT_TRUE(destroyed) << destroyed.error().ToString();
  for (const std::string& mount : Mounts()) EXPECT_FALSE(IsDir(mount + path_)) << mount;
  // Destroying again is fine: the directories are already gone.
  EXPECT_TRUE(cgroup->Destroy());
}

TEST_F(CgroupRootTest, FailedCreateLeavesNothingBehind) {
  bool root_existed = false;
  for (const std::string& mount : Mounts()) root_existed |= IsDir(mount + kTestRoot);
  oci::Resources resources;
  resources.pids = oci::PidsResources{5};
  resources.cpu = oci::CpuResources{};
  resources.cpu->cpus = "999999";
  auto cgroup = Cgroup::Create(layout_, path_, "c1", &resources, false);
  ASSERT_FALSE(cgroup);
  std::string message = cgroup.error().ToString();
  EXPECT_EQ(message.rfind("linux.resources.cpu.cpus: write \"", 0), 0u) << message;
  EXPECT_NE(message.find("cpuset.cpus\": "), std::string::npos) << message;
  for (const std::string& mount : Mounts()) {
    EXPECT_FALSE(IsDir(mount + path_)) << mount;
    if (!root_existed) {
      EXPECT_FALSE(IsDir(mount + kTestRoot)) << mount;
    }
  }
}

// A cgroup with processes in it is another container's: taking it over would change its limits
// and let our delete remove it. Refused (as runc 1.2 does), with its limits untouched; an
// existing empty cgroup is taken.
TEST_F(CgroupRootTest, CreateRefusesACgroupThatHasProcesses) {
  oci::Resources first_resources;
  first_resources.pids = oci::PidsResources{42};
  auto first = Cgroup::Create(layout_, path_, "c1", &first_resources, false);
  ASSERT_TRUE(first) << first.error().ToString();
  auto empty_again = Cgroup::Create(layout_, path_, "c2", nullptr, false);
  EXPECT_TRUE(empty_again) << "an existing empty cgroup: " << empty_again.error().ToString();
  pid_t child = SpawnChild();
  ASSERT_GT(child, 0);
  ASSERT_TRUE(first->AddProcess(child));

  oci::Resources second_resources;
  second_resources.pids = oci::PidsResources{7};
  auto second = Cgroup::Create(layout_, path_, "c2", &second_resources, false);
  ASSERT_FALSE(second) << "a populated cgroup was taken over";
  std::string message = second.error().ToString();
  EXPECT_EQ(second.error().code(), EBUSY) << message;
  EXPECT_EQ(message.rfind("linux.cgroupsPath: cgroup \"" + path_ + "\" already has 1 process", 0),
            0u)
      << message;
  EXPECT_NE(message.find(std::to_string(child)), std::string::npos) << message;
  EXPECT_EQ(Read(Dir("pids") + "/pids.max"), "42");
  for (const std::string& mount : Mounts()) EXPECT_TRUE(IsDir(mount + path_)) << mount;
}

// On a v1 or hybrid host the cgroup may exist in one hierarchy only. A process there refuses
// the container before any hierarchy is changed: the directory is never made in the others,
// not even for a moment (watched with inotify in each of them).
TEST_F(CgroupRootTest, CreateRefusesACgroupPopulatedInOneHierarchyOnly) {
  std::vector<std::string> mounts = Mounts();
  if (mounts.size() < 2) GTEST_SKIP() << "a single cgroup hierarchy";
  // The last hierarchy in creation order, so that the others come first; not cpuset, where a new
  // cgroup has no cpus for a process yet.
  std::string populated;
  for (const auto& [mount, controllers] : layout_.v1_hierarchies)
    if (std::find(controllers.begin(), controllers.end(), "cpuset") == controllers.end())
      populated = mount;
  if (!layout_.unified_mount.empty()) populated = layout_.unified_mount;
  ASSERT_TRUE(linux::MkdirAll(populated + path_));
  pid_t child = SpawnChild();
  ASSERT_GT(child, 0);
  ASSERT_TRUE(linux::WriteCgroupFile(populated + path_ + "/cgroup.procs", std::to_string(child)));

  const std::string name = path_.substr(path_.rfind('/') + 1);
  linux::UniqueFd inotify(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  ASSERT_TRUE(inotify.valid());
  for (const std::string& mount : mounts) {
    if (mount == populated) continue;
    ASSERT_TRUE(linux::MkdirAll(mount + kTestRoot));
    ASSERT_GE(::inotify_add_watch(inotify.get(), (mount + kTestRoot).c_str(), IN_CREATE), 0)
        << mount;
  }

  auto cgroup = Cgroup::Create(layout_, path_, "c1", nullptr, false);
  ASSERT_FALSE(cgroup) << "a cgroup populated in " << populated << " was taken over";
  std::string message = cgroup.error().ToString();
  EXPECT_EQ(cgroup.error().code(), EBUSY) << message;
  EXPECT_EQ(message.rfind("linux.cgroupsPath: cgroup \"" + path_ + "\" already has 1 process", 0),
            0u)
      << message;
  EXPECT_NE(message.find(populated + path_), std::string::npos) << message;
  for (const std::string& mount : mounts) {
    if (mount == populated) continue;
    EXPECT_FALSE(IsDir(mount + path_)) << mount;
  }
  // Other tests may make their own cgroups beside ours: only our name counts.
  alignas(inotify_event) char events[4096];
  ssize_t length;
  while ((length = ::read(inotify.get(), events, sizeof events)) > 0) {
    for (ssize_t offset = 0; offset < length;) {
      const auto* event = reinterpret_cast<const inotify_event*>(events + offset);
      if (event->len > 0) {
        EXPECT_NE(std::string(event->name), name) << "made for a moment";
      }
      offset += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
    }
  }
}

TEST_F(CgroupRootTest, DotDotOutOfTheRootIsRefused) {
  auto cgroup = Cgroup::Create(layout_, "/../../escape", "c1", nullptr, false);
  ASSERT_FALSE(cgroup);
  EXPECT_NE(cgroup.error().ToString().find("linux.cgroupsPath"), std::string::npos);
}

TEST_F(CgroupRootTest, DeviceRulesApplyInOrderOnV1) {
  if (!V1("devices")) GTEST_SKIP() << "no v1 devices hierarchy";
  oci::Resources resources;
  resources.devices.push_back({false, "", std::nullopt, std::nullopt, "rwm"});
  resources.devices.push_back({true, "c", 10, 200, "rwm"});   // /dev/net/tun
  resources.devices.push_back({true, "c", 10, 229, "rwm"});   // /dev/fuse ...
  resources.devices.push_back({false, "c", 10, 229, "rwm"});  // ... not after all
  auto cgroup = Cgroup::Create(layout_, path_, "c1", &resources, false);
  ASSERT_TRUE(cgroup) << cgroup.error().ToString();
  std::string list = Read(Dir("devices") + "/devices.list");
  EXPECT_NE(list.find("c 10:200 rwm"), std::string::npos) << list;
  EXPECT_NE(list.find("c 1:3 rwm"), std::string::npos) << list;  // default /dev/null
  EXPECT_EQ(list.find("c 10:229 "), std::string::npos) << list;
  EXPECT_EQ(list.find("a *:* rwm"), std::string::npos) << list;
}

TEST_F(CgroupRootTest, HugetlbLimitLandsWhereTheControllerIs) {
  if (!LocateController(layout_, path_, "hugetlb")) GTEST_SKIP() << "no hugetlb controller";
  if (!linux::Exists("/sys/kernel/mm/hugepages/hugepages-2048kB")) GTEST_SKIP() << "no 2MB pages";
  oci::Resources resources;
  resources.hugepage_limits.push_back({"2MB", 4 << 20});
  auto cgroup = Cgroup::Create(layout_, path_, "c1", &resources, false);
  ASSERT_TRUE(cgroup) << cgroup.error().ToString();
  auto dir = LocateController(layout_, path_, "hugetlb");
  std::string file = dir->path + (dir->v2 ? "/hugetlb.2MB.max" : "/hugetlb.2MB.limit_in_bytes");
  EXPECT_EQ(Read(file), std::to_string(4 << 20));
  auto stats = cgroup->Stats();
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->hugetlb_usage.count("2MB"), 1u);
  ASSERT_TRUE(cgroup->Destroy());
}

TEST_F(CgroupRootTest, SystemdDriverNamesPidOne) {
  std::string comm = Read("/proc/1/comm");
  if (comm == "systemd") GTEST_SKIP() << "PID 1 is systemd";
  auto cgroup = Cgroup::Create(layout_, "system.slice:hull:c1", "c1", nullptr, true);
  ASSERT_FALSE(cgroup);
  EXPECT_EQ(cgroup.error().ToString(),
            "--systemd-cgroup: systemd is not running on this host (PID 1 is \"" + comm + "\")");
  for (const std::string& mount : Mounts()) EXPECT_FALSE(IsDir(mount + "/system.slice:hull:c1"));
}

}  // namespace
}  // namespace hull::container
