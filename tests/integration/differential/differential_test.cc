// The same bundle under crun (the reference) and under HULL_RUNTIME: what the container's
// process observes must match. Each comparison runs one script in two fresh containers with the
// same config and compares normalised output.
//
// The reference is $HULL_REFERENCE_RUNTIME or /usr/bin/crun; with HULL_RUNTIME=/usr/bin/crun the
// comparisons are trivial, with HULL_RUNTIME=/usr/sbin/runc they check the tests themselves.
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "support/leaks.h"
#include "support/runtime_test.h"

namespace hull::testing {
namespace {

using nlohmann::json;

std::string ReferenceRuntime() {
  const char* configured = std::getenv("HULL_REFERENCE_RUNTIME");
  return configured && *configured ? configured : "/usr/bin/crun";
}

struct Pair {
  CommandResult reference;
  CommandResult tested;
};

class DifferentialTest : public RuntimeTest {
 protected:
  void SetUp() override {
    if (::access(ReferenceRuntime().c_str(), X_OK) != 0)
      GTEST_SKIP() << "reference runtime not installed: " << ReferenceRuntime();
    // The reference may be crun, which needs the trick on this host; it stays in place for
    // both runs so both see the same host.
    hugetlb_ = std::make_unique<HugetlbOnV1>();
    if (!hugetlb_->error().empty()) GTEST_SKIP() << hugetlb_->error();
    RuntimeTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    MakeDirs(work() + "/reference-state", 0700);
    reference_ = std::make_unique<Runtime>(ReferenceRuntime(), work() + "/reference-state");
  }
  void TearDown() override {
    if (reference_) {
      for (const auto& entry : ListDir(reference_->root())) {
        ADD_FAILURE() << "reference runtime left state: " << entry;
        reference_->Run({"delete", "--force", entry});
      }
    }
    RuntimeTest::TearDown();
    reference_.reset();
    hugetlb_.reset();
  }

  // Runs `script` under both runtimes with the same configuration.
  Pair Both(const std::string& script, const std::function<void(Bundle&)>& configure = {}) {
    Pair pair;
    for (int side = 0; side < 2; ++side) {
      std::string id = NewId(side == 0 ? "ref" : "dut");
      Bundle& bundle = NewBundle(id, /*shared_rootfs=*/true);
      bundle.Shell(script);
      if (configure) configure(bundle);
      EXPECT_TRUE(bundle.Write());
      const Runtime& runtime = side == 0 ? *reference_ : this->runtime();
      CommandResult result = runtime.Run({"run", "--bundle", bundle.path(), id});
      (side == 0 ? pair.reference : pair.tested) = result;
    }
    return pair;
  }

  std::unique_ptr<HugetlbOnV1> hugetlb_;
  std::unique_ptr<Runtime> reference_;
};

std::string Explain(const Pair& pair) {
  return "reference:\n" + pair.reference.Describe() + "tested:\n" + pair.tested.Describe();
}

// Keeps the lines of /proc/self/status that describe privileges.
std::string PrivilegeLines(const std::string& status) {
  std::string kept;
  for (const auto& line : SplitLines(status))
    for (const char* key : {"CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:", "NoNewPrivs:",
                            "Seccomp:", "Uid:", "Gid:", "Groups:"})
      if (line.rfind(key, 0) == 0) kept += line + "\n";
  return kept;
}

// /proc/self/mounts reduced to what a user relies on: mount point, filesystem type and the
// security-relevant flags, sorted. Sources and size/mode details differ harmlessly between
// runtimes (e.g. "shm" vs "tmpfs" as the source name). Masked files are bind mounts of a
// /dev/null, the container's (runc: tmpfs, rw) or the host's (crun: devtmpfs, ro): either hides
// the file, so they compare as "masked". /sys/fs/cgroup/hugetlb exists only while the hugetlb
// trick for crun is in place.
std::string NormalisedMounts(const std::string& mounts) {
  static const std::set<std::string> masked_files = {
      "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
      "/proc/timer_stats", "/proc/sched_debug"};
  std::vector<std::string> lines;
  for (const auto& line : SplitLines(mounts)) {
    std::istringstream fields(line);
    std::string source, target, type, options;
    fields >> source >> target >> type >> options;
    if (target == "/sys/fs/cgroup/hugetlb") continue;
    // On a hybrid host hull also binds the container's cgroup2 directory (where hugetlb lives
    // here); crun and runc show only the v1 hierarchies.
    if (target == "/sys/fs/cgroup/unified") continue;
    if (masked_files.count(target)) {
      lines.push_back(target + " masked");
      continue;
    }
    std::set<std::string> flags;
    std::istringstream option_stream(options);
    std::string option;
    while (std::getline(option_stream, option, ','))
      if (option == "ro" || option == "rw" || option == "nosuid" || option == "nodev" ||
          option == "noexec")
        flags.insert(option);
    // The tmpfs holding the v1 hierarchies: runc and hull remount it read-only with a
    // read-only cgroup mount, crun leaves it writable. Its other flags still count.
    if (target == "/sys/fs/cgroup" && type == "tmpfs") {
      flags.erase("ro");
      flags.erase("rw");
    }
    std::string flag_text;
    for (const auto& flag : flags) flag_text += flag + ",";
    lines.push_back(target + " " + type + " " + flag_text);
  }
  std::sort(lines.begin(), lines.end());
  std::string joined;
  for (const auto& line : lines) joined += line + "\n";
  return joined;
}

TEST_F(DifferentialTest, ExitCodes) {
  for (const char* script : {"true", "exit 1", "exit 3", "exit 255", "kill -KILL $$; exit 9"}) {
    Pair pair = Both(script);
    EXPECT_EQ(pair.tested.exit_code, pair.reference.exit_code) << script << "\n" << Explain(pair);
  }
}

TEST_F(DifferentialTest, NonexistentBinaryFailsInBoth) {
  Pair pair = Both("", [](Bundle& b) { b.Args({"/no/such/program"}); });
  EXPECT_NE(pair.reference.exit_code, 0);
  EXPECT_NE(pair.tested.exit_code, 0) << Explain(pair);
}

TEST_F(DifferentialTest, PrivilegesDefaultConfig) {
  Pair pair = Both("cat /proc/self/status");
  ASSERT_TRUE(pair.reference.ok() && pair.tested.ok()) << Explain(pair);
  EXPECT_EQ(PrivilegeLines(pair.tested.out), PrivilegeLines(pair.reference.out));
}

TEST_F(DifferentialTest, PrivilegesNonRootWithAmbientAndSeccomp) {
  Pair pair = Both("cat /proc/self/status", [](Bundle& b) {
    b.User(1000, 1000, {1001});
    b.process()["capabilities"] = {{"bounding", {"CAP_NET_BIND_SERVICE", "CAP_KILL"}},
                                   {"effective", {"CAP_NET_BIND_SERVICE"}},
                                   {"permitted", {"CAP_NET_BIND_SERVICE"}},
                                   {"inheritable", {"CAP_NET_BIND_SERVICE"}},
                                   {"ambient", {"CAP_NET_BIND_SERVICE"}}};
    b.SeccompDeny({"mkdir"}, 1);
    b.NoNewPrivileges(false);
  });
  ASSERT_TRUE(pair.reference.ok() && pair.tested.ok()) << Explain(pair);
  EXPECT_EQ(PrivilegeLines(pair.tested.out), PrivilegeLines(pair.reference.out));
}

TEST_F(DifferentialTest, MountList) {
  Pair pair = Both("cat /proc/self/mounts");
  ASSERT_TRUE(pair.reference.ok() && pair.tested.ok()) << Explain(pair);
  EXPECT_EQ(NormalisedMounts(pair.tested.out), NormalisedMounts(pair.reference.out))
      << Explain(pair);
}

TEST_F(DifferentialTest, MountListReadonlyRootWithExtraMounts) {
  TempDir host("hull-diff-bind");
  Pair pair = Both("cat /proc/self/mounts", [&](Bundle& b) {
    b.ReadonlyRoot(true);
    b.BindMount(host.path(), "/data", /*readonly=*/true);
    b.Mount("/scratch", "tmpfs", "tmpfs", {"nosuid", "nodev", "size=1m"});
  });
  ASSERT_TRUE(pair.reference.ok() && pair.tested.ok()) << Explain(pair);
  EXPECT_EQ(NormalisedMounts(pair.tested.out), NormalisedMounts(pair.reference.out))
      << Explain(pair);
}

TEST_F(DifferentialTest, DevEntries) {
  // runc also adds /dev/core -> /proc/kcore; crun does not. Neither is wrong.
  Pair pair = Both("ls -l /dev | grep -v ' core ->' | awk '{print $1, $NF}'");
  ASSERT_TRUE(pair.reference.ok() && pair.tested.ok()) << Explain(pair);
  EXPECT_EQ(pair.tested.out, pair.reference.out);
}

TEST_F(DifferentialTest, CgroupLimitsSeenInside) {
  const char* script =
      "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max;"
      "cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max;"
      "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null || cat /sys/fs/cgroup/cpu.max";
  Pair pair = Both(script, [](Bundle& b) {
    b.Resources({{"memory", {{"limit", 48 * 1024 * 1024}}},
                 {"pids", {{"limit", 33}}},
                 {"cpu", {{"quota", 50000}, {"period", 100000}}}});
  });
  ASSERT_TRUE(pair.reference.ok() && pair.tested.ok()) << Explain(pair);
  EXPECT_EQ(pair.tested.out, pair.reference.out);
}

TEST_F(DifferentialTest, IdOutput) {
  for (auto user : std::vector<std::vector<unsigned>>{{0, 0}, {1000, 1000, 1001}, {65534, 65534}}) {
    Pair pair = Both("id", [&](Bundle& b) {
      b.User(user[0], user[1], std::vector<unsigned>(user.begin() + 2, user.end()));
    });
    ASSERT_TRUE(pair.reference.ok() && pair.tested.ok()) << Explain(pair);
    EXPECT_EQ(pair.tested.out, pair.reference.out);
  }
}

TEST_F(DifferentialTest, Ulimits) {
  Pair pair = Both("ulimit -a; echo; ulimit -Hn; ulimit -Sn", [](Bundle& b) {
    b.Rlimit("RLIMIT_NOFILE", 256, 512).Rlimit("RLIMIT_CORE", 0, 0);
  });
  ASSERT_TRUE(pair.reference.ok() && pair.tested.ok()) << Explain(pair);
  EXPECT_EQ(pair.tested.out, pair.reference.out);
}

TEST_F(DifferentialTest, HostnameEnvCwdUmask) {
  Pair pair = Both("hostname; env | sort; pwd; umask", [](Bundle& b) {
    b.Hostname("diff-host").Cwd("/tmp").Env("EXTRA=1").Umask(022);
  });
  ASSERT_TRUE(pair.reference.ok() && pair.tested.ok()) << Explain(pair);
  // The marker variable names the container id, which differs by construction.
  auto strip_marker = [](const std::string& text) {
    std::string kept;
    for (const auto& line : SplitLines(text))
      if (line.rfind(kContainerMarker, 0) != 0) kept += line + "\n";
    return kept;
  };
  EXPECT_EQ(strip_marker(pair.tested.out), strip_marker(pair.reference.out));
}

TEST_F(DifferentialTest, SeccompDenialErrno) {
  for (int errno_value : {1, 13, 38}) {
    Pair pair = Both("mkdir /tmp/x; echo rc=$?",
                     [&](Bundle& b) { b.SeccompDeny({"mkdir", "mkdirat"}, errno_value); });
    ASSERT_TRUE(pair.reference.ok() && pair.tested.ok()) << Explain(pair);
    EXPECT_EQ(pair.tested.out, pair.reference.out);
    EXPECT_EQ(pair.tested.err, pair.reference.err) << "errno " << errno_value;
  }
}

TEST_F(DifferentialTest, MaskedAndReadonlyPaths) {
  Pair pair = Both(
      "for p in /proc/kcore /proc/keys /proc/timer_list /sys/firmware /proc/acpi /proc/scsi; do "
      "[ -e $p ] && echo $p $(ls $p 2>/dev/null | wc -l) $(wc -c < $p 2>/dev/null); done; "
      "echo 1 > /proc/sys/kernel/ns_last_pid 2>/dev/null; echo sys=$?; "
      "echo 1 > /proc/sysrq-trigger 2>/dev/null; echo sysrq=$?");
  ASSERT_TRUE(pair.reference.ok() && pair.tested.ok()) << Explain(pair);
  EXPECT_EQ(pair.tested.out, pair.reference.out);
}

TEST_F(DifferentialTest, NamespacesPresent) {
  Pair pair = Both("echo $$; cat /proc/net/dev | wc -l; ls /proc | grep -c '^[0-9]'");
  ASSERT_TRUE(pair.reference.ok() && pair.tested.ok()) << Explain(pair);
  EXPECT_EQ(pair.tested.out, pair.reference.out);
}

}  // namespace
}  // namespace hull::testing
