// What the container's process sees of its config: hostname, environment, working directory,
// user and groups, umask, rlimits, privileges, capabilities, the root filesystem, masked and
// read-only paths, mounts, namespaces, devices and seccomp.
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "support/runtime_test.h"

namespace hull::testing {
namespace {

using nlohmann::json;

class ProcessTest : public RuntimeTest {
 protected:
  // Runs `script` in a fresh container configured by `configure`; returns the run result.
  template <typename Configure>
  CommandResult RunScript(const std::string& script, Configure configure) {
    std::string id = NewId();
    Bundle& bundle = NewBundle(id);
    bundle.Shell(script);
    configure(bundle);
    return RunContainer(id, bundle);
  }
  CommandResult RunScript(const std::string& script) {
    return RunScript(script, [](Bundle&) {});
  }
};

std::string StatusLine(const std::string& status, const std::string& key) {
  for (const auto& line : SplitLines(status))
    if (line.rfind(key + ":", 0) == 0) return Trim(line.substr(key.size() + 1));
  return "(missing " + key + ")";
}

TEST_F(ProcessTest, Hostname) {
  CommandResult run = RunScript("hostname", [](Bundle& b) { b.Hostname("box-42"); });
  ASSERT_TRUE(run.ok()) << run.Describe();
  EXPECT_EQ(Trim(run.out), "box-42");
}

// Podman sets net.ipv4.ping_group_range on every container while /proc/sys is read-only.
TEST_F(ProcessTest, SysctlIsSetWithReadonlyProcSys) {
  CommandResult run = RunScript("cat /proc/sys/net/ipv4/ping_group_range /proc/sys/kernel/shmmni",
                                [](Bundle& b) {
                                  b.ReadonlyPaths({"/proc/sys"});
                                  b.linux()["sysctl"] = {{"net.ipv4.ping_group_range", "0 0"},
                                                         {"kernel.shmmni", "1234"}};
                                });
  ASSERT_TRUE(run.ok()) << run.Describe();
  EXPECT_TRUE(Contains(run.out, "0\t0\n1234\n")) << run.out;
}

// A sysctl of no namespace of the container's would change the host: refused.
TEST_F(ProcessTest, HostSysctlIsRefused) {
  std::string before = ReadFile("/proc/sys/kernel/core_pattern");
  CommandResult run = RunScript("true", [](Bundle& b) {
    b.linux()["sysctl"] = {{"kernel.core_pattern", "|/tmp/evil"}};
  });
  EXPECT_NE(run.exit_code, 0) << run.Describe();
  EXPECT_TRUE(Contains(run.err, "kernel.core_pattern")) << run.Describe();
  EXPECT_EQ(ReadFile("/proc/sys/kernel/core_pattern"), before);
}

TEST_F(ProcessTest, EnvironmentIsExactlyTheConfigPlusHome) {
  CommandResult run = RunScript("env | sort", [](Bundle& b) { b.Env("FOO=bar baz"); });
  ASSERT_TRUE(run.ok()) << run.Describe();
  EXPECT_TRUE(Contains(run.out, "FOO=bar baz\n")) << run.out;
  EXPECT_TRUE(Contains(run.out, "PATH=/bin:/sbin:/usr/bin\n")) << run.out;
  // runc and crun add HOME from the container's /etc/passwd when the config has none.
  EXPECT_TRUE(Contains(run.out, "HOME=/root\n")) << run.out;
  // Nothing of the runtime's own environment leaks in.
  EXPECT_FALSE(Contains(run.out, "HULL_RUNTIME=")) << run.out;
  EXPECT_FALSE(Contains(run.out, "_LIBCONTAINER")) << run.out;
}

TEST_F(ProcessTest, Cwd) {
  CommandResult run = RunScript("pwd", [](Bundle& b) { b.Cwd("/etc"); });
  ASSERT_TRUE(run.ok()) << run.Describe();
  EXPECT_EQ(Trim(run.out), "/etc");
}

TEST_F(ProcessTest, UserGroupsAndAdditionalGids) {
  CommandResult run = RunScript("cat /proc/self/status; echo HOME=$HOME",
                                [](Bundle& b) { b.User(1000, 1000, {1001, 5}); });
  ASSERT_TRUE(run.ok()) << run.Describe();
  EXPECT_EQ(StatusLine(run.out, "Uid"), "1000\t1000\t1000\t1000");
  EXPECT_EQ(StatusLine(run.out, "Gid"), "1000\t1000\t1000\t1000");
  EXPECT_EQ(StatusLine(run.out, "Groups"), "5 1001");
  EXPECT_TRUE(Contains(run.out, "HOME=/home/tester")) << run.out;
}

TEST_F(ProcessTest, UserWithoutPasswdEntry) {
  CommandResult run = RunScript("id -u; id -g", [](Bundle& b) { b.User(4321, 8765); });
  ASSERT_TRUE(run.ok()) << run.Describe();
  EXPECT_EQ(run.out, "4321\n8765\n");
}

TEST_F(ProcessTest, Umask) {
  CommandResult run = RunScript("umask; touch /tmp/f; stat -c %a /tmp/f",
                                [](Bundle& b) { b.Umask(027); });
  ASSERT_TRUE(run.ok()) << run.Describe();
  EXPECT_EQ(run.out, "0027\n640\n");
}

TEST_F(ProcessTest, RlimitsLowered) {
  CommandResult run = RunScript("ulimit -Sn; ulimit -Hn; ulimit -Su; ulimit -Hu", [](Bundle& b) {
    b.Rlimit("RLIMIT_NOFILE", 512, 768).Rlimit("RLIMIT_NPROC", 300, 400);
  });
  ASSERT_TRUE(run.ok()) << run.Describe();
  EXPECT_EQ(run.out, "512\n768\n300\n400\n");
}

TEST_F(ProcessTest, RaisingHardRlimitBeyondOursFails) {
  // This host lacks CAP_SYS_RESOURCE: nobody may raise a hard limit (TESTBED.md).
  struct rlimit ours;
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &ours), 0);
  if (ours.rlim_max == RLIM_INFINITY) GTEST_SKIP() << "hard NOFILE limit is unlimited";
  std::string id = NewId();
  Bundle& bundle = NewBundle(id);
  bundle.Rlimit("RLIMIT_NOFILE", ours.rlim_max + 1, ours.rlim_max + 1);
  CommandResult run = RunContainer(id, bundle);
  EXPECT_NE(run.exit_code, 0) << run.Describe();
  EXPECT_TRUE(State(id).is_null());
}

TEST_F(ProcessTest, NoNewPrivileges) {
  CommandResult on = RunScript("grep NoNewPrivs /proc/self/status");
  ASSERT_TRUE(on.ok()) << on.Describe();
  EXPECT_EQ(Trim(on.out), "NoNewPrivs:\t1");
  CommandResult off = RunScript("grep NoNewPrivs /proc/self/status",
                                [](Bundle& b) { b.NoNewPrivileges(false); });
  ASSERT_TRUE(off.ok()) << off.Describe();
  EXPECT_EQ(Trim(off.out), "NoNewPrivs:\t0");
}

TEST_F(ProcessTest, DefaultCapabilities) {
  CommandResult run = RunScript("cat /proc/self/status");
  ASSERT_TRUE(run.ok()) << run.Describe();
  // AUDIT_WRITE (29), KILL (5), NET_BIND_SERVICE (10).
  EXPECT_EQ(StatusLine(run.out, "CapPrm"), "0000000020000420");
  EXPECT_EQ(StatusLine(run.out, "CapEff"), "0000000020000420");
  EXPECT_EQ(StatusLine(run.out, "CapBnd"), "0000000020000420");
  EXPECT_EQ(StatusLine(run.out, "CapInh"), "0000000000000000");
}

TEST_F(ProcessTest, ExplicitCapabilities) {
  CommandResult run = RunScript("cat /proc/self/status", [](Bundle& b) {
    b.Capabilities({"CAP_CHOWN", "CAP_SYS_ADMIN"});
  });
  ASSERT_TRUE(run.ok()) << run.Describe();
  // CHOWN (0), SYS_ADMIN (21).
  EXPECT_EQ(StatusLine(run.out, "CapPrm"), "0000000000200001");
  EXPECT_EQ(StatusLine(run.out, "CapEff"), "0000000000200001");
  EXPECT_EQ(StatusLine(run.out, "CapBnd"), "0000000000200001");
  EXPECT_EQ(StatusLine(run.out, "CapAmb"), "0000000000000000");
}

TEST_F(ProcessTest, AmbientCapabilitiesForNonRoot) {
  CommandResult run = RunScript("grep -E '^Cap(Eff|Amb)' /proc/self/status", [](Bundle& b) {
    b.User(1000, 1000);
    b.process()["capabilities"] = {{"bounding", {"CAP_NET_BIND_SERVICE"}},
                                   {"effective", {"CAP_NET_BIND_SERVICE"}},
                                   {"permitted", {"CAP_NET_BIND_SERVICE"}},
                                   {"inheritable", {"CAP_NET_BIND_SERVICE"}},
                                   {"ambient", {"CAP_NET_BIND_SERVICE"}}};
  });
  ASSERT_TRUE(run.ok()) << run.Describe();
  EXPECT_EQ(run.out, "CapEff:\t0000000000000400\nCapAmb:\t0000000000000400\n");
}

TEST_F(ProcessTest, NonRootKeepsOnlyTheBoundingSetWithoutAmbient) {
  // Switching to a non-root uid clears the permitted and effective sets unless the caps are
  // ambient; the bounding set stays as configured.
  CommandResult run = RunScript("grep -E '^Cap(Prm|Eff|Bnd)' /proc/self/status",
                                [](Bundle& b) { b.User(1000, 1000).Capabilities({"CAP_KILL"}); });
  ASSERT_TRUE(run.ok()) << run.Describe();
  EXPECT_EQ(run.out,
            "CapPrm:\t0000000000000000\nCapEff:\t0000000000000000\nCapBnd:\t0000000000000020\n");
}

TEST_F(ProcessTest, ReadonlyRoot) {
  CommandResult run = RunScript("touch /newfile 2>&1; echo rc=$?; touch /dev/shm/ok && echo shm-ok",
                                [](Bundle& b) { b.ReadonlyRoot(true); });
  ASSERT_TRUE(run.ok()) << run.Describe();
  EXPECT_TRUE(Contains(run.out, "Read-only file system")) << run.out;
  EXPECT_TRUE(Contains(run.out, "rc=1")) << run.out;
  EXPECT_TRUE(Contains(run.out, "shm-ok")) << run.out;
}

TEST_F(ProcessTest, MaskedPaths) {
  std::string id = NewId();
  Bundle& bundle = NewBundle(id);
  ASSERT_TRUE(WriteFile(bundle.rootfs() + "/etc/secret", "top secret\n"));
  ASSERT_TRUE(MakeDirs(bundle.rootfs() + "/secretdir"));
  ASSERT_TRUE(WriteFile(bundle.rootfs() + "/secretdir/inner", "hidden\n"));
  bundle.MaskedPaths({"/etc/secret", "/secretdir", "/proc/timer_list", "/does/not/exist"});
  // A masked file reads as empty (and writes go nowhere); a masked directory is an empty
  // read-only directory.
  bundle.Shell("cat /etc/secret; echo x > /etc/secret; echo files:$(ls /secretdir); "
               "wc -c < /proc/timer_list; touch /secretdir/x 2>/dev/null && echo dir-writable; "
               "echo done");
  CommandResult run = RunContainer(id, bundle);
  ASSERT_TRUE(run.ok()) << run.Describe();
  EXPECT_EQ(run.out, "files:\n0\ndone\n");
  EXPECT_EQ(ReadFile(bundle.rootfs() + "/etc/secret"), "top secret\n");
}

TEST_F(ProcessTest, ReadonlyPaths) {
  std::string id = NewId();
  Bundle& bundle = NewBundle(id);
  ASSERT_TRUE(MakeDirs(bundle.rootfs() + "/data"));
  ASSERT_TRUE(WriteFile(bundle.rootfs() + "/data/file", "keep\n"));
  bundle.ReadonlyPaths({"/data", "/proc/sys", "/does/not/exist"});
  bundle.Shell("cat /data/file; touch /data/new 2>/dev/null && echo data-writable; "
               "echo 1 > /proc/sys/kernel/ns_last_pid 2>/dev/null && echo procsys-writable; "
               "touch /elsewhere && echo root-writable");
  CommandResult run = RunContainer(id, bundle);
  ASSERT_TRUE(run.ok()) << run.Describe();
  EXPECT_EQ(run.out, "keep\nroot-writable\n");
}

TEST_F(ProcessTest, MountsFromConfig) {
  TempDir host("hull-bind");
  ASSERT_TRUE(WriteFile(host / "from-host", "hello from host\n"));
  CommandResult run = RunScript(
      "cat /ro/from-host; touch /ro/x 2>/dev/null && echo ro-writable; "
      "grep ' /scratch ' /proc/self/mounts; touch /scratch/ok && echo scratch-ok",
      [&](Bundle& b) {
        b.BindMount(host.path(), "/ro", /*readonly=*/true);
        b.Mount("/scratch", "tmpfs", "tmpfs", {"size=1m", "mode=700"});
      });
  ASSERT_TRUE(run.ok()) << run.Describe();
  EXPECT_TRUE(Contains(run.out, "hello from host\n")) << run.out;
  EXPECT_FALSE(Contains(run.out, "ro-writable")) << run.out;
  EXPECT_TRUE(Contains(run.out, "tmpfs /scratch tmpfs")) << run.out;
  EXPECT_TRUE(Contains(run.out, "size=1024k")) << run.out;
  EXPECT_TRUE(Contains(run.out, "scratch-ok")) << run.out;
  EXPECT_EQ(ListDir(host.path()).size(), 1u);
}

TEST_F(ProcessTest, Namespaces) {
  CommandResult run = RunScript(
      "echo pid=$$; grep -c : /proc/net/dev; "
      "for ns in uts net ipc mnt pid; do readlink /proc/self/ns/$ns; done");
  ASSERT_TRUE(run.ok()) << run.Describe();
  auto lines = SplitLines(run.out);
  ASSERT_EQ(lines.size(), 7u) << run.out;
  EXPECT_EQ(lines[0], "pid=1");
  EXPECT_EQ(lines[1], "1") << "a new network namespace has only lo";
  for (size_t i = 2; i < lines.size(); ++i) {
    std::string kind = lines[i].substr(0, lines[i].find(':'));
    char buffer[256] = {};
    std::string link = "/proc/self/ns/" + kind;
    ssize_t n = ::readlink(link.c_str(), buffer, sizeof buffer - 1);
    ASSERT_GT(n, 0);
    EXPECT_NE(lines[i], std::string(buffer)) << kind << " namespace shared with the host";
  }
}

TEST_F(ProcessTest, DevIsPopulated) {
  CommandResult run = RunScript(
      "for d in null zero full random urandom tty; do [ -c /dev/$d ] && echo $d; done; "
      "echo x > /dev/null && echo null-writable; readlink /dev/fd; [ -d /dev/pts ] && echo pts; "
      "[ -d /dev/shm ] && echo shm");
  ASSERT_TRUE(run.ok()) << run.Describe();
  EXPECT_EQ(run.out,
            "null\nzero\nfull\nrandom\nurandom\ntty\nnull-writable\n/proc/self/fd\npts\nshm\n");
}

TEST_F(ProcessTest, SeccompDenialReturnsConfiguredErrno) {
  CommandResult run = RunScript("mkdir /tmp/denied; echo rc=$?; [ -d /tmp/denied ] || echo absent",
                                [](Bundle& b) { b.SeccompDeny({"mkdir", "mkdirat"}, 1); });
  ASSERT_TRUE(run.ok()) << run.Describe();
  EXPECT_TRUE(Contains(run.err, "Operation not permitted")) << run.Describe();
  EXPECT_TRUE(Contains(run.out, "rc=1\nabsent")) << run.out;

  CommandResult eacces = RunScript("mkdir /tmp/denied",
                                   [](Bundle& b) { b.SeccompDeny({"mkdir", "mkdirat"}, 13); });
  EXPECT_NE(eacces.exit_code, 0);
  EXPECT_TRUE(Contains(eacces.err, "Permission denied")) << eacces.Describe();
}

TEST_F(ProcessTest, SeccompAppliesToExec) {
  std::string id = NewId();
  Bundle& bundle = NewBundle(id);
  bundle.SeccompDeny({"mkdir", "mkdirat"}, 1);
  StartLongRunning(id, bundle);
  CommandResult exec = Exec(id, {"mkdir", "/tmp/x"});
  EXPECT_NE(exec.exit_code, 0);
  EXPECT_TRUE(Contains(exec.err, "Operation not permitted")) << exec.Describe();
}

TEST_F(ProcessTest, CgroupLimitsSeenInside) {
  CommandResult run = RunScript(
      "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat "
      "/sys/fs/cgroup/memory.max; cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat "
      "/sys/fs/cgroup/pids.max",
      [](Bundle& b) {
        b.Resources({{"memory", {{"limit", 64 * 1024 * 1024}}}, {"pids", {{"limit", 77}}}});
      });
  ASSERT_TRUE(run.ok()) << run.Describe();
  EXPECT_EQ(run.out, std::to_string(64 * 1024 * 1024) + "\n77\n");
}

TEST_F(ProcessTest, PidsLimitIsEnforced) {
  CommandResult run = RunScript(
      "for i in 1 2 3 4 5 6 7 8 9 10; do sleep 5 & done; echo started; "
      "kill $(jobs -p) 2>/dev/null; true",
      [](Bundle& b) { b.Resources({{"pids", {{"limit", 4}}}}); });
  EXPECT_TRUE(Contains(run.err, "fork") || Contains(run.err, "Resource temporarily unavailable") ||
              Contains(run.err, "can't"))
      << run.Describe();
}

// The spec: with process.oomScoreAdj the runtime sets the process's oom_score_adj to it;
// without it the runtime must not change the value (the process keeps its caller's). Only raised
// values here: lowering needs CAP_SYS_RESOURCE, which these machines do not grant.
TEST_F(ProcessTest, OomScoreAdj) {
  for (int value : {123, 1000}) {
    CommandResult run = RunScript("cat /proc/self/oom_score_adj",
                                  [&](Bundle& b) { b.process()["oomScoreAdj"] = value; });
    ASSERT_TRUE(run.ok()) << run.Describe();
    EXPECT_EQ(Trim(run.out), std::to_string(value));
  }
  // Unset: the caller's 77 reaches the process unchanged.
  std::string id = NewId();
  Bundle& bundle = NewBundle(id);
  bundle.Shell("cat /proc/self/oom_score_adj");
  ASSERT_TRUE(bundle.Write());
  std::vector<std::string> argv = {"/bin/sh", "-c",
                                   "echo 77 > /proc/self/oom_score_adj && exec \"$@\"", "sh"};
  for (const auto& arg : runtime().Argv({"run", "--bundle", bundle.path(), id}))
    argv.push_back(arg);
  CommandResult run = RunCommand(argv);
  ASSERT_TRUE(run.ok()) << run.Describe();
  EXPECT_EQ(Trim(run.out), "77");
}

// linux.personality: LINUX32 makes uname report a 32-bit machine (i686 on x86_64), LINUX the
// native one; flags are not supported by the spec yet.
TEST_F(ProcessTest, Personality) {
  struct utsname host;
  ASSERT_EQ(::uname(&host), 0);
  if (std::string(host.machine) != "x86_64") GTEST_SKIP() << "expects an x86_64 host";
  if (kind() == RuntimeKind::kRunc) GTEST_SKIP() << "runc 1.1 ignores linux.personality";
  CommandResult linux32 = RunScript("uname -m", [](Bundle& b) {
    b.linux()["personality"] = {{"domain", "LINUX32"}};
  });
  ASSERT_TRUE(linux32.ok()) << linux32.Describe();
  EXPECT_EQ(Trim(linux32.out), "i686");
  CommandResult native = RunScript("uname -m", [](Bundle& b) {
    b.linux()["personality"] = {{"domain", "LINUX"}};
  });
  ASSERT_TRUE(native.ok()) << native.Describe();
  EXPECT_EQ(Trim(native.out), "x86_64");
  if (kind() == RuntimeKind::kHull) {
    CommandResult flags = RunScript("true", [](Bundle& b) {
      b.linux()["personality"] = {{"domain", "LINUX"}, {"flags", {"ADDR_NO_RANDOMIZE"}}};
    });
    EXPECT_NE(flags.exit_code, 0) << flags.Describe();
    EXPECT_TRUE(Contains(flags.err, "linux.personality.flags")) << flags.Describe();
  }
}

// domainname is set in the container's own uts namespace; the host's stays as it was. Without
// a uts namespace of its own it would be the host's: refused.
TEST_F(ProcessTest, Domainname) {
  if (kind() == RuntimeKind::kRunc) GTEST_SKIP() << "runc 1.1 ignores domainname";
  std::string host_before = ReadFile("/proc/sys/kernel/domainname");
  CommandResult run = RunScript("cat /proc/sys/kernel/domainname",
                                [](Bundle& b) { b.config()["domainname"] = "example.test"; });
  ASSERT_TRUE(run.ok()) << run.Describe();
  EXPECT_EQ(Trim(run.out), "example.test");
  EXPECT_EQ(ReadFile("/proc/sys/kernel/domainname"), host_before);

  CommandResult shared = RunScript("true", [](Bundle& b) {
    b.RemoveNamespace("uts");
    b.config().erase("hostname");
    b.config()["domainname"] = "host.test";
  });
  EXPECT_NE(shared.exit_code, 0) << shared.Describe();
  if (kind() == RuntimeKind::kHull) {
    EXPECT_TRUE(Contains(shared.err, "domainname: requires a uts namespace")) << shared.Describe();
  }
  EXPECT_EQ(ReadFile("/proc/sys/kernel/domainname"), host_before);
}

// Without AppArmor or SELinux on the host, a profile or label cannot be applied: the container
// still runs, and hull-runtime says what it did not apply (the spec leaves this open).
TEST_F(ProcessTest, LsmLabelsWithoutTheLsmAreReported) {
  bool apparmor = Trim(ReadFile("/sys/module/apparmor/parameters/enabled")) == "Y";
  bool selinux = FileExists("/sys/fs/selinux/enforce");
  if (apparmor || selinux) GTEST_SKIP() << "AppArmor or SELinux is enabled on this host";
  if (kind() != RuntimeKind::kHull)
    GTEST_SKIP() << "runc 1.1 and crun 1.8 refuse an SELinux label where SELinux is disabled";
  CommandResult run = RunScript("echo ran", [](Bundle& b) {
    b.process()["apparmorProfile"] = "hull-test-profile";
    b.process()["selinuxLabel"] = "system_u:system_r:container_t:s0";
  });
  ASSERT_TRUE(run.ok()) << run.Describe();
  EXPECT_EQ(run.out, "ran\n");
  if (kind() == RuntimeKind::kHull) {
    EXPECT_TRUE(Contains(run.err,
                         "process.apparmorProfile: AppArmor is not enabled on this host; profile "
                         "\"hull-test-profile\" is not applied"))
        << run.Describe();
    EXPECT_TRUE(Contains(run.err,
                         "process.selinuxLabel: SELinux is not enabled on this host; label "
                         "\"system_u:system_r:container_t:s0\" is not applied"))
        << run.Describe();
  }
}

// Makes `dir` a shared mount point (bound onto itself) until destroyed.
class SharedBind {
 public:
  explicit SharedBind(const std::string& dir) : dir_(dir) {
    ok_ = ::mount(dir.c_str(), dir.c_str(), nullptr, MS_BIND, nullptr) == 0 &&
          ::mount(nullptr, dir.c_str(), nullptr, MS_SHARED, nullptr) == 0;
  }
  ~SharedBind() { ::umount2(dir_.c_str(), MNT_DETACH); }
  bool ok() const { return ok_; }

 private:
  std::string dir_;
  bool ok_ = false;
};

// The optional fields of the mountinfo line whose mount point is `mount_point`
// ("shared:3 master:2"), "(none)" for a line without any, "" for no line.
std::string PropagationFields(const std::string& mountinfo, const std::string& mount_point) {
  for (const auto& line : SplitLines(mountinfo)) {
    std::vector<std::string> fields;
    std::string field;
    for (char c : line + " ") {
      if (c != ' ') {
        field += c;
      } else if (!field.empty()) {
        fields.push_back(field);
        field.clear();
      }
    }
    if (fields.size() < 7 || fields[4] != mount_point) continue;
    std::string optional;
    for (size_t i = 6; i < fields.size() && fields[i] != "-"; ++i)
      optional += (optional.empty() ? "" : " ") + fields[i];
    return optional.empty() ? "(none)" : optional;
  }
  return "";
}

// linux.rootfsPropagation sets the propagation of the container's "/". The rootfs is made a
// shared mount on the host first, so that there is something to receive from: a slave (and a
// shared root, which also stays a slave of the host) sees a mount made on the host under the
// rootfs after the start; private and unbindable roots do not.
TEST_F(ProcessTest, RootfsPropagation) {
  if (kind() != RuntimeKind::kHull)
    GTEST_SKIP() << "runc 1.1 and crun 1.8 make the rootfs's mount private before applying "
                    "rootfsPropagation, so a \"slave\" root has no master";
  struct Case {
    std::string value;
    std::vector<std::string> fields;  // expected in the optional fields
    std::vector<std::string> not_fields;
    bool receives_host_mounts;
  };
  for (const Case& c : {Case{"private", {}, {"shared:", "master:", "unbindable"}, false},
                        Case{"slave", {"master:"}, {"shared:", "unbindable"}, true},
                        Case{"shared", {"shared:", "master:"}, {"unbindable"}, true},
                        Case{"unbindable", {"unbindable"}, {"shared:", "master:"}, false}}) {
    SCOPED_TRACE("rootfsPropagation " + c.value);
    std::string id = NewId();
    Bundle& bundle = NewBundle(id);
    ASSERT_TRUE(MakeDirs(bundle.rootfs() + "/late"));
    bundle.linux()["rootfsPropagation"] = c.value;
    SharedBind shared(bundle.rootfs());
    ASSERT_TRUE(shared.ok()) << std::strerror(errno);
    StartLongRunning(id, bundle);
    CommandResult before = Exec(id, {"cat", "/proc/self/mountinfo"});
    ASSERT_TRUE(before.ok()) << before.Describe();
    std::string root = PropagationFields(before.out, "/");
    for (const auto& expected : c.fields) EXPECT_TRUE(Contains(root, expected)) << root;
    for (const auto& unexpected : c.not_fields) EXPECT_FALSE(Contains(root, unexpected)) << root;

    std::string late = bundle.rootfs() + "/late";
    ASSERT_EQ(::mount("tmpfs", late.c_str(), "tmpfs", 0, "size=64k"), 0) << std::strerror(errno);
    CommandResult after = Exec(id, {"cat", "/proc/self/mountinfo"});
    ::umount2(late.c_str(), MNT_DETACH);
    ASSERT_TRUE(after.ok()) << after.Describe();
    EXPECT_EQ(!PropagationFields(after.out, "/late").empty(), c.receives_host_mounts) << after.out;
    CommandResult remove = Rt({"delete", "--force", id});
    EXPECT_TRUE(remove.ok()) << remove.Describe();
  }
}

}  // namespace
}  // namespace hull::testing
