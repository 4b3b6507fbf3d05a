// The cgroup v2 device program on this host, as root. The machines are hybrid (a v1 devices
// hierarchy exists, so containers use it); these tests force the v2 path with a layout that has
// only the cgroup2 mount (/sys/fs/cgroup/unified here). The kernel runs device programs of the
// cgroup2 hierarchy before the v1 rules, so a program attached there is enforced on this host.
//
// A forked child is moved into the cgroup and reports the errno of each open/mknod it tries.
// Each test works under "/hull-test-devices/<pid>-<n>" in the cgroup2 hierarchy and removes it.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "container/cgroup.h"
#include "container/cgroup_internal.h"
#include "container/device_filter.h"
#include "linux/bpf_program.h"
#include "linux/cgroupfs.h"
#include "linux/file.h"
#include "support/leaks.h"

namespace hull::container {
namespace {

constexpr const char* kTestRoot = "/hull-test-devices";

using oci::DeviceCgroupRule;

DeviceCgroupRule Allow(std::string type, std::optional<int64_t> major, std::optional<int64_t> minor,
                       std::string access) {
  return {.allow = true,
          .type = std::move(type),
          .major = major,
          .minor = minor,
          .access = std::move(access)};
}
DeviceCgroupRule Deny(std::string type, std::optional<int64_t> major, std::optional<int64_t> minor,
                      std::string access) {
  return {.allow = false,
          .type = std::move(type),
          .major = major,
          .minor = minor,
          .access = std::move(access)};
}

// One thing the child tries: open(path, flags), or mknod(path, S_IFCHR, device) then unlink.
struct Probe {
  std::string path;
  int flags = O_RDONLY;
  bool mknod = false;
  dev_t device = 0;
};
Probe Open(std::string path, int flags) { return {std::move(path), flags, false, 0}; }
Probe Mknod(std::string path, unsigned major, unsigned minor) {
  return {std::move(path), 0, true, makedev(major, minor)};
}

void RemoveTree(const std::string& dir) {
  auto children = linux::ListCgroupChildren(dir);
  if (children)
    for (const std::string& child : *children) RemoveTree(dir + "/" + child);
  for (int i = 0; i < 100 && ::rmdir(dir.c_str()) != 0 && errno == EBUSY; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

class DeviceFilterRootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    auto host = DetectCgroupLayout();
    ASSERT_TRUE(host) << host.error().ToString();
    host_ = *host;
    if (host_.unified_mount.empty()) GTEST_SKIP() << "no cgroup2 mount on this host";
    for (const char* device : {"/dev/null", "/dev/zero", "/dev/kmsg"})
      if (!linux::Exists(device)) GTEST_SKIP() << device << " is missing";
    // The v2 path forced: only the cgroup2 hierarchy, no controllers to enable on it.
    forced_.mode = CgroupLayout::Mode::kV2;
    forced_.unified_mount = host_.unified_mount;
    static int counter = 0;
    path_ =
        std::string(kTestRoot) + "/" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
    dir_ = forced_.unified_mount + path_;
    char scratch[] = "/tmp/hull-devices-XXXXXX";
    ASSERT_NE(::mkdtemp(scratch), nullptr) << std::strerror(errno);
    scratch_ = scratch;
    fds_before_ = testing::OpenFds();
  }

  void TearDown() override {
    if (dir_.empty()) return;
    RemoveTree(dir_);
    ::rmdir((forced_.unified_mount + kTestRoot).c_str());  // fails harmlessly while in use
    if (!scratch_.empty()) (void)linux::RemoveAll(scratch_);
  }

  // Forks a child, lets `enter(pid)` put it into a cgroup (or not), and returns the errno of
  // each probe (0 for success) as the child saw it.
  std::vector<int> Run(const std::vector<Probe>& probes,
                       const std::function<Result<void>(pid_t)>& enter) {
    int go[2], results[2];
    if (::pipe2(go, O_CLOEXEC) != 0 || ::pipe2(results, O_CLOEXEC) != 0) {
      ADD_FAILURE() << "pipe: " << std::strerror(errno);
      return {};
    }
    pid_t pid = ::fork();
    if (pid == 0) {
      ::close(go[1]);
      ::close(results[0]);
      char byte = 0;
      if (::read(go[0], &byte, 1) != 1) ::_exit(1);
      for (const Probe& probe : probes) {
        int error = 0;
        if (probe.mknod) {
          if (::mknod(probe.path.c_str(), S_IFCHR | 0600, probe.device) == 0)
            ::unlink(probe.path.c_str());
          else
            error = errno;
        } else {
          int fd = ::open(probe.path.c_str(), probe.flags | O_CLOEXEC | O_NONBLOCK);
          if (fd >= 0)
            ::close(fd);
          else
            error = errno;
        }
        if (::write(results[1], &error, sizeof(error)) != sizeof(error)) ::_exit(1);
      }
      ::_exit(0);
    }
    ::close(go[0]);
    ::close(results[1]);
    std::vector<int> errors;
    Result<void> entered = enter(pid);
    EXPECT_TRUE(entered) << entered.error().ToString();
    if (entered && ::write(go[1], "x", 1) == 1) {
      int error = 0;
      while (errors.size() < probes.size() &&
             ::read(results[0], &error, sizeof(error)) == static_cast<ssize_t>(sizeof(error)))
        errors.push_back(error);
    }
    ::close(go[1]);
    ::close(results[0]);
    if (errors.size() != probes.size()) ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_EQ(errors.size(), probes.size()) << "the child did not report every probe";
    return errors;
  }

  std::vector<int> RunIn(const Cgroup& cgroup, const std::vector<Probe>& probes) {
    return Run(probes, [&](pid_t pid) { return cgroup.AddProcess(pid); });
  }
  std::vector<int> RunInDir(const std::string& dir, const std::vector<Probe>& probes) {
    return Run(probes, [&](pid_t pid) {
      return linux::WriteCgroupFile(dir + "/cgroup.procs", std::to_string(pid));
    });
  }
  std::vector<int> RunOutside(const std::vector<Probe>& probes) {
    return Run(probes, [](pid_t) { return Result<void>(); });
  }

  // The device programs attached to `dir` itself.
  std::vector<uint32_t> Attached(const std::string& dir) {
    auto fd = linux::Open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (!fd) {
      ADD_FAILURE() << fd.error().ToString();
      return {};
    }
    auto ids = linux::QueryBpfPrograms(fd->get(), BPF_CGROUP_DEVICE);
    if (!ids) {
      ADD_FAILURE() << ids.error().ToString();
      return {};
    }
    return *ids;
  }

  // A program freed by the kernel can no longer be opened by id (freeing is deferred a little).
  bool ProgramGoneSoon(uint32_t id) {
    for (int i = 0; i < 300; ++i) {
      auto fd = linux::BpfProgramFdById(id);
      if (!fd && fd.error().code() == ENOENT) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

  void ExpectNoFdLeak() {
    EXPECT_EQ(testing::JoinLines(testing::OpenFds()), testing::JoinLines(fds_before_));
  }

  Result<Cgroup> Create(std::vector<DeviceCgroupRule> rules) {
    oci::Resources resources;
    resources.devices = std::move(rules);
    return Cgroup::Create(forced_, path_, "unused", &resources, /*systemd=*/false);
  }

  CgroupLayout host_, forced_;
  std::string path_, dir_, scratch_;
  std::vector<std::string> fds_before_;
};

TEST_F(DeviceFilterRootTest, TheForcedLayoutChoosesTheProgram) {
  DeviceControl control = ChooseDeviceControl(forced_, path_);
  EXPECT_EQ(control.kind, DeviceControl::Kind::kBpfProgram);
  EXPECT_EQ(control.dir, dir_);
  // The host itself: a v1 devices hierarchy, where there is one, stays in use.
  DeviceControl on_host = ChooseDeviceControl(host_, path_);
  if (LocateController(host_, path_, "devices") && !LocateController(host_, path_, "devices")->v2)
    EXPECT_EQ(on_host.kind, DeviceControl::Kind::kV1Files);
  else
    EXPECT_EQ(on_host.kind, DeviceControl::Kind::kBpfProgram);
}

TEST_F(DeviceFilterRootTest, CreateAttachesOneProgramThatEnforcesTheRules) {
  const std::vector<Probe> probes = {Open("/dev/null", O_RDWR), Open("/dev/zero", O_RDONLY),
                                     Open("/dev/kmsg", O_RDONLY), Mknod(scratch_ + "/null", 1, 3)};
  // Outside the cgroup everything works (so an EPERM below is the program's).
  EXPECT_EQ(RunOutside(probes), (std::vector<int>{0, 0, 0, 0}));

  auto cgroup = Create({Deny("a", {}, {}, "rwm")});
  ASSERT_TRUE(cgroup) << cgroup.error().ToString();
  EXPECT_EQ(Attached(dir_).size(), 1u);
  // null and zero are default devices; kmsg is not; mknod of anything is a default.
  EXPECT_EQ(RunIn(*cgroup, probes), (std::vector<int>{0, 0, EPERM, 0}));
  ExpectNoFdLeak();
}

TEST_F(DeviceFilterRootTest, UpdateReplacesTheProgram) {
  auto cgroup = Create({Deny("a", {}, {}, "rwm")});
  ASSERT_TRUE(cgroup) << cgroup.error().ToString();
  std::vector<uint32_t> before = Attached(dir_);
  ASSERT_EQ(before.size(), 1u);

  oci::Resources update;
  update.devices = {Deny("a", {}, {}, "rwm"), Allow("c", 1, 11, "r")};
  Result<void> updated = cgroup->Update(update);
  ASSERT_TRUE(updated) << updated.error().ToString();
  std::vector<uint32_t> after = Attached(dir_);
  ASSERT_EQ(after.size(), 1u) << "exactly one device program after update";
  EXPECT_NE(after[0], before[0]);
  EXPECT_TRUE(ProgramGoneSoon(before[0])) << "the replaced program is still loaded";
  EXPECT_EQ(RunIn(*cgroup, {Open("/dev/kmsg", O_RDONLY), Open("/dev/kmsg", O_WRONLY),
                            Open("/dev/null", O_RDWR)}),
            (std::vector<int>{0, EPERM, 0}));

  // Again, back to the first rules.
  update.devices = {Deny("a", {}, {}, "rwm")};
  updated = cgroup->Update(update);
  ASSERT_TRUE(updated) << updated.error().ToString();
  EXPECT_EQ(Attached(dir_).size(), 1u);
  EXPECT_EQ(RunIn(*cgroup, {Open("/dev/kmsg", O_RDONLY)}), (std::vector<int>{EPERM}));
  ExpectNoFdLeak();
}

TEST_F(DeviceFilterRootTest, DestroyDropsTheProgram) {
  auto cgroup = Create({Deny("a", {}, {}, "rwm")});
  ASSERT_TRUE(cgroup) << cgroup.error().ToString();
  std::vector<uint32_t> ids = Attached(dir_);
  ASSERT_EQ(ids.size(), 1u);
  Result<void> destroyed = cgroup->Destroy();
  ASSERT_TRUE(destroyed) << destroyed.error().ToString();
  EXPECT_FALSE(linux::Exists(dir_));
  EXPECT_TRUE(ProgramGoneSoon(ids[0])) << "the program outlived its cgroup";
  ExpectNoFdLeak();
}

// The compiled rules alone (no default devices), attached with the bpf wrappers directly.
TEST_F(DeviceFilterRootTest, RulesWithoutDefaults) {
  ASSERT_TRUE(linux::MkdirAll(dir_));
  auto cgroup_fd = linux::Open(dir_, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_TRUE(cgroup_fd) << cgroup_fd.error().ToString();
  auto attach = [&](const std::vector<DeviceCgroupRule>& rules) -> Result<linux::UniqueFd> {
    std::vector<bpf_insn> program = TRY(CompileDeviceFilter(rules));
    linux::UniqueFd fd = TRY(linux::LoadBpfProgram(BPF_PROG_TYPE_CGROUP_DEVICE, BPF_CGROUP_DEVICE,
                                                   program, "hull_test", "x"));
    TRY(linux::AttachBpfProgram(cgroup_fd->get(), fd.get(), BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI));
    return fd;
  };
  const std::vector<Probe> probes = {Open("/dev/null", O_RDWR), Open("/dev/zero", O_RDONLY),
                                     Mknod(scratch_ + "/null", 1, 3)};

  // Read and write of null only: no zero, and no mknod even of null itself.
  auto only_null = attach({Allow("c", 1, 3, "rw")});
  ASSERT_TRUE(only_null) << only_null.error().ToString();
  EXPECT_EQ(RunInDir(dir_, probes), (std::vector<int>{0, EPERM, EPERM}));
  ASSERT_TRUE(linux::DetachBpfProgram(cgroup_fd->get(), only_null->get(), BPF_CGROUP_DEVICE));
  EXPECT_EQ(Attached(dir_).size(), 0u);
  EXPECT_EQ(RunInDir(dir_, probes), (std::vector<int>{0, 0, 0}));

  // Everything, then a deny of zero: the later rule wins.
  auto all_but_zero = attach({Allow("a", {}, {}, "rwm"), Deny("c", 1, 5, "rwm")});
  ASSERT_TRUE(all_but_zero) << all_but_zero.error().ToString();
  EXPECT_EQ(RunInDir(dir_, probes), (std::vector<int>{0, EPERM, 0}));
  ASSERT_TRUE(linux::DetachBpfProgram(cgroup_fd->get(), all_but_zero->get(), BPF_CGROUP_DEVICE));
}

// The kernel's verifier accepts every shape of program the compiler emits (the unit tests check
// what the programs decide).
TEST_F(DeviceFilterRootTest, TheVerifierAcceptsEveryShape) {
  const std::vector<std::vector<DeviceCgroupRule>> rule_sets = {
      {},
      {Deny("a", {}, {}, "rwm")},
      {Allow("a", {}, {}, "rwm")},
      WithDefaultDeviceRules({Deny("", {}, {}, "")}),
      WithDefaultDeviceRules({Allow("c", 4294967295, 2147483648, "rw"), Deny("b", 8, {}, "w")}),
      {Deny("c", 1, 5, "rwm"), Deny("b", {}, 0, "m")},  // no allow at all
      {Allow("c", 1, 3, "rwm"), Deny("", {}, {}, "")},  // everything before the deny left out
      {Allow("", {}, {}, "r"), Deny("", {}, {}, "w"), Allow("c", 1, -1, "m")},
  };
  for (size_t i = 0; i < rule_sets.size(); ++i) {
    SCOPED_TRACE("rule set " + std::to_string(i));
    auto program = CompileDeviceFilter(rule_sets[i]);
    ASSERT_TRUE(program) << program.error().ToString();
    auto loaded = linux::LoadBpfProgram(BPF_PROG_TYPE_CGROUP_DEVICE, BPF_CGROUP_DEVICE, *program,
                                        "hull_test", "x");
    EXPECT_TRUE(loaded) << loaded.error().ToString();
  }
  ExpectNoFdLeak();
}

TEST_F(DeviceFilterRootTest, BadRuleNamesTheRuleAndLeavesNothing) {
  auto cgroup = Create({Deny("a", {}, {}, "rwm"), Allow("x", 1, 3, "r")});
  ASSERT_FALSE(cgroup);
  EXPECT_EQ(cgroup.error().ToString(),
            R"(linux.resources.devices[1].type: unknown device type "x" (expected a, b or c))");
  EXPECT_FALSE(linux::Exists(dir_));
  ExpectNoFdLeak();
}

TEST_F(DeviceFilterRootTest, VerifierRefusalCarriesTheLog) {
  // A program that reads r0 before setting it: the verifier refuses it and says why.
  std::vector<bpf_insn> program(1);
  program[0].code = BPF_JMP | BPF_EXIT;
  auto loaded = linux::LoadBpfProgram(BPF_PROG_TYPE_CGROUP_DEVICE, BPF_CGROUP_DEVICE, program,
                                      "hull_bad", "x");
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().code(), EACCES);
  EXPECT_NE(loaded.error().ToString().find("verifier: "), std::string::npos)
      << loaded.error().ToString();
  EXPECT_NE(loaded.error().ToString().find("R0 !read_ok"), std::string::npos)
      << loaded.error().ToString();
  ExpectNoFdLeak();
}

}  // namespace
}  // namespace hull::container
