// Attacks from inside a container on the runtime and the host, after the runc CVEs that hit real
// users:
//   CVE-2019-5736: a container process reaches the runtime binary through /proc/<pid>/exe of a
//     runtime process that joins the container (exec), and overwrites it on the host.
//   CVE-2024-21626: a runtime fd (e.g. of /sys/fs/cgroup) leaks into the container, and
//     process.cwd = /proc/self/fd/N puts the process outside its root.
//   Symlinks planted in the rootfs redirect a mount (or the creation of its mount point) to the
//     host.
//   The container shares the caller's session keyring (keys are not namespaced) unless the
//     runtime gives it one of its own, as runc and crun do.
// The runtime binary under attack is a private copy, so a vulnerable runtime corrupts only the
// copy, never /usr/bin/crun or the build's binary.
#include <fcntl.h>
#include <linux/keyctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "oci/capability_names.h"
#include "support/leaks.h"
#include "support/runtime_test.h"

namespace hull::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class SecurityTest : public RuntimeTest {
 protected:
  std::string RuntimePath() override {
    std::string original = RuntimeUnderTest();
    if (::access(original.c_str(), X_OK) != 0) return original;  // SetUp skips
    copy_dir_ = std::make_unique<TempDir>("hull-runtime-copy");
    std::string copy = copy_dir_->path() + "/" + original.substr(original.rfind('/') + 1);
    if (!WriteFile(copy, ReadFile(original), 0755)) return original;
    return copy;
  }

  // The set-up every attack on the runtime's binary shares: the binary under test (a copy of
  // the runtime) and its bytes before the attack, a new container id, and its bundle with the
  // host directory `out` at /out for the attacker's log.
  struct Attack {
    std::string binary, before, id, out;
    Bundle* bundle = nullptr;
  };
  void PrepareAttack(Attack& attack) {
    attack.binary = runtime().path();
    attack.before = ReadFile(attack.binary);
    ASSERT_FALSE(attack.before.empty());
    attack.id = NewId();
    attack.bundle = &NewBundle(attack.id);
    attack.out = work() + "/attack-out";
    ASSERT_TRUE(MakeDirs(attack.out));
    attack.bundle->BindMount(attack.out, "/out");
  }

  std::unique_ptr<TempDir> copy_dir_;
};

// Runs inside the container: handles each process once whose
// executable is not busybox (a runtime process, or the container's process if it is the
// runtime): logs "saw PID TARGET", opens its exe read-only and keeps trying, for ~10 s, to reopen
// that fd for writing and append to it, which works once no process executes the file any more.
constexpr char kExeWatcher[] = R"(
mkdir -p /out
seen=" "
while :; do
  for d in /proc/[0-9]*; do
    p=${d#/proc/}
    case "$seen" in *" $p "*) continue ;; esac
    t=$(readlink $d/exe 2>/dev/null) || continue
    case "$t" in *busybox*|"") continue ;; esac
    seen="$seen$p "
    echo "saw $p $t" >> /out/log
    (
      exec 5< $d/exe || exit 0
      echo "opened $p" >> /out/log
      i=0
      while [ $i -lt 1000 ]; do
        if echo HACKED >> /proc/self/fd/5; then echo "WROTE $p" >> /out/log; exit 0; fi
        i=$((i+1))
        sleep 0.01
      done
    ) 2>/dev/null &
  done
done
)";

// Every executable the watcher saw must be a sealed memfd (the trampoline or a sealed copy of
// the runtime), never a file on the host.
void ExpectOnlySealedExecutables(const std::string& log) {
  for (const auto& line : SplitLines(log)) {
    if (line.rfind("saw ", 0) != 0) continue;
    std::string target = line.substr(line.find(' ', 4) + 1);
    EXPECT_EQ(target.rfind("/memfd:", 0), 0u)
        << "a container process reached a host file through /proc/PID/exe: " << line << "\n"
        << log;
  }
}

// The verdict on an attack on the runtime's binary: unchanged, nothing in the container wrote
// to it, and every executable its watcher saw was sealed.
void ExpectRuntimeUntouched(const std::string& binary, const std::string& before,
                            const std::string& log) {
  EXPECT_EQ(ReadFile(binary), before) << "the runtime binary on the host was modified!\n" << log;
  EXPECT_FALSE(Contains(log, "WROTE")) << log;
  ExpectOnlySealedExecutables(log);
}

TEST_F(SecurityTest, ExecCannotOverwriteRuntimeBinary) {
  Attack attack;
  ASSERT_NO_FATAL_FAILURE(PrepareAttack(attack));
  const std::string& id = attack.id;
  const std::string& out = attack.out;
  Bundle& bundle = *attack.bundle;
  // Everything a container could need to win the race: root in the container, all the default
  // capabilities, no NoNewPrivileges.
  bundle.NoNewPrivileges(false);
  bundle.Shell(kExeWatcher);
  StartLongRunning(id, bundle);

  // A script whose interpreter is /proc/self/exe: exec'ing it makes the kernel run whatever
  // binary the exec'ing runtime process is, inside the container.
  ASSERT_TRUE(WriteFile(bundle.rootfs() + "/bin/selfexe", "#!/proc/self/exe\n", 0755));
  for (int i = 0; i < 15; ++i) {
    Exec(id, {"true"});
    Exec(id, {"/bin/selfexe"});
  }
  std::this_thread::sleep_for(500ms);
  ASSERT_TRUE(Rt({"delete", "--force", id}).ok());
  std::this_thread::sleep_for(200ms);

  ExpectRuntimeUntouched(attack.binary, attack.before, ReadFile(out + "/log"));
}

// The container's first process is a script whose interpreter is /proc/self/exe. Were the init
// to execute it directly, the kernel would run the runtime's binary (the init's own executable)
// as the container's process: here, through `--root /bin/selfexe update -r /attack-fifo x`, one
// that blocks reading a fifo in the container. A process `exec`'d into the container (which
// has no pid namespace, so it outlives that process) opens its /proc/PID/exe, releases it
// through the fifo, and writes to the binary once no runtime runs it.
TEST_F(SecurityTest, FirstProcessInterpretedByProcSelfExeIsNeverTheRuntime) {
  Attack attack;
  ASSERT_NO_FATAL_FAILURE(PrepareAttack(attack));
  const std::string& binary = attack.binary;
  const std::string& id = attack.id;
  const std::string& out = attack.out;
  Bundle& bundle = *attack.bundle;
  bundle.RemoveNamespace("pid");
  ASSERT_TRUE(WriteFile(bundle.rootfs() + "/bin/selfexe", "#!/proc/self/exe --root\n", 0755));
  ASSERT_EQ(::mkfifo((bundle.rootfs() + "/attack-fifo").c_str(), 0600), 0);
  bundle.Args({"/bin/selfexe", "update", "-r", "/attack-fifo", "x"});
  ASSERT_TRUE(bundle.Write());
  CommandResult run = Rt({"run", "--detach", "--bundle", bundle.path(), id});
  SCOPED_TRACE(run.Describe());

  nlohmann::json state = State(id);
  int pid = state.is_object() ? state.value("pid", 0) : 0;
  if (pid > 0) {
    // Seen from the host, too: the container's process is not the runtime's binary.
    char target[4096] = {};
    ssize_t n =
        ::readlink(("/proc/" + std::to_string(pid) + "/exe").c_str(), target, sizeof target - 1);
    if (n > 0) {
      EXPECT_NE(std::string(target, n), binary) << "the container's process is the runtime";
    }
    std::string attack = "P=" + std::to_string(pid) + R"(
t=$(readlink /proc/$P/exe) || exit 0
echo "saw $P $t" >> /out/log
exec 5< /proc/$P/exe || exit 0
echo "opened $P" >> /out/log
echo '{}' > /attack-fifo &
i=0
while [ $i -lt 500 ]; do
  if echo HACKED >> /proc/self/fd/5; then echo "WROTE $P" >> /out/log; exit 0; fi
  i=$((i+1))
  sleep 0.01
done
)";
    Exec(id, {"sh", "-c", attack}, {"--detach"});
    WaitForText(out + "/log", "WROTE", 3s);
  }
  ASSERT_TRUE(Rt({"delete", "--force", id}).ok());

  ExpectRuntimeUntouched(attack.binary, attack.before, ReadFile(out + "/log"));
}

// A process `exec`'d into a container whose init waits for `start`: the init is a clone of the
// runtime until it executes the container's program. Given CAP_SYS_PTRACE (which opens
// /proc/PID/exe even of a non-dumpable process), the watcher opens the init's executable and
// writes to it once `start` has let the init execute its program.
TEST_F(SecurityTest, ExecWithPtraceWhileInitWaitsForStartCannotReachRuntime) {
  Attack attack;
  ASSERT_NO_FATAL_FAILURE(PrepareAttack(attack));
  const std::string& id = attack.id;
  const std::string& out = attack.out;
  Bundle& bundle = *attack.bundle;
  bundle.Capabilities({"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SYS_PTRACE"});
  bundle.Args({"sleep", "1000"});
  CommandResult create = Create(id, bundle);
  ASSERT_TRUE(create.ok()) << create.Describe();
  CommandResult exec = Exec(id, {"sh", "-c", kExeWatcher}, {"--detach"});
  ASSERT_TRUE(exec.ok()) << exec.Describe();
  WaitForText(out + "/log", "opened 1", 3s);
  CommandResult start = Rt({"start", id});
  EXPECT_TRUE(start.ok()) << start.Describe();
  WaitForText(out + "/log", "WROTE", 3s);
  ASSERT_TRUE(Rt({"delete", "--force", id}).ok());

  ExpectRuntimeUntouched(attack.binary, attack.before, ReadFile(out + "/log"));
}

// The same attack without CAP_SYS_PTRACE anywhere: the runtime runs with its bounding set
// lacking it (as inside a container that was not given it), and the container gets every
// capability the runtime has, so its processes pass the kernel's capability check on the init.
// Only the init being non-dumpable keeps its /proc/PID/exe closed to them.
TEST_F(SecurityTest, ExecWhileInitWaitsForStartCannotReachRuntimeWithoutPtrace) {
  std::string setpriv = FindProgram("setpriv");
  if (setpriv.empty()) GTEST_SKIP() << "setpriv (util-linux) not installed";
  Attack attack;
  ASSERT_NO_FATAL_FAILURE(PrepareAttack(attack));
  const std::string& id = attack.id;
  const std::string& out = attack.out;
  Bundle& bundle = *attack.bundle;

  // Our bounding set (the runtime's, as root), less CAP_SYS_PTRACE.
  unsigned long long bounding = 0;
  for (const auto& line : SplitLines(ReadFile("/proc/self/status")))
    if (line.rfind("CapBnd:", 0) == 0) bounding = std::stoull(Trim(line.substr(7)), nullptr, 16);
  std::vector<std::string> caps;
  for (size_t bit = 0; bit < std::size(hull::oci::kCapabilityNames); ++bit)
    if ((bounding >> bit) & 1 && bit != 19) caps.emplace_back(hull::oci::kCapabilityNames[bit]);

  bundle.Capabilities(caps);
  bundle.Args({"sleep", "1000"});
  ASSERT_TRUE(bundle.Write());
  std::vector<std::string> argv = runtime().Argv({"create", "--bundle", bundle.path(), id});
  argv.insert(argv.begin(), {setpriv, "--bounding-set", "-sys_ptrace"});
  CommandResult create = RunCommand(argv);
  ASSERT_TRUE(create.ok()) << create.Describe();
  CommandResult exec = Exec(id, {"sh", "-c", kExeWatcher}, {"--detach"});
  ASSERT_TRUE(exec.ok()) << exec.Describe();
  WaitForText(out + "/log", "opened 1", 3s);
  CommandResult start = Rt({"start", id});
  EXPECT_TRUE(start.ok()) << start.Describe();
  WaitForText(out + "/log", "WROTE", 3s);
  ASSERT_TRUE(Rt({"delete", "--force", id}).ok());

  ExpectRuntimeUntouched(attack.binary, attack.before, ReadFile(out + "/log"));
}

// Lists the fds of the process the runtime started (`exec` replaces the shell, so ls is that
// process). ls itself opens one more: the /proc/self/fd directory it reads.
constexpr char kListOwnFds[] = "exec ls -l /proc/self/fd";

// "fd -> target" for every fd in `ls -l` output except ls's own directory handle.
std::vector<std::string> FdsOtherThanLs(const std::string& listing) {
  std::vector<std::string> fds;
  for (const auto& line : SplitLines(listing)) {
    auto arrow = line.find(" -> ");
    if (arrow == std::string::npos) continue;
    std::string before = Trim(line.substr(0, arrow));
    std::string fd = before.substr(before.rfind(' ') + 1);
    std::string target = line.substr(arrow + 4);
    if (target.size() >= 3 && target.compare(target.size() - 3, 3, "/fd") == 0 &&
        Contains(target, "/proc/"))
      continue;
    fds.push_back(fd + " -> " + target);
  }
  return fds;
}

std::string FdNumbers(const std::vector<std::string>& fds) {
  std::string numbers;
  for (const auto& fd : fds) numbers += fd.substr(0, fd.find(' ')) + " ";
  return Trim(numbers);
}

TEST_F(SecurityTest, ContainerProcessSeesOnlyItsOwnFds) {
  std::string id = NewId();
  Bundle& bundle = NewBundle(id);
  bundle.Shell(kListOwnFds);
  CommandResult run = RunContainer(id, bundle);
  ASSERT_TRUE(run.ok()) << run.Describe();
  EXPECT_EQ(FdNumbers(FdsOtherThanLs(run.out)), "0 1 2") << run.Describe();
}

TEST_F(SecurityTest, ExecProcessSeesOnlyItsOwnFds) {
  std::string id = NewId();
  Bundle& bundle = NewBundle(id);
  StartLongRunning(id, bundle);
  CommandResult exec = Exec(id, {"sh", "-c", kListOwnFds});
  ASSERT_TRUE(exec.ok()) << exec.Describe();
  EXPECT_EQ(FdNumbers(FdsOtherThanLs(exec.out)), "0 1 2") << exec.Describe();
  EXPECT_FALSE(Contains(exec.out, "/sys/fs/cgroup")) << exec.out;
  EXPECT_FALSE(Contains(exec.out, work())) << exec.out;
}

TEST_F(SecurityTest, PreservedFdsAreTheOnlyExtraFds) {
  std::string id = NewId();
  Bundle& bundle = NewBundle(id);
  bundle.Shell(kListOwnFds);
  ASSERT_TRUE(bundle.Write());
  int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  CommandResult run = Rt({"run", "--bundle", bundle.path(), "--preserve-fds", "1", id},
                         {.pass_fds = {devnull}});
  ::close(devnull);
  ASSERT_TRUE(run.ok()) << run.Describe();
  EXPECT_EQ(FdNumbers(FdsOtherThanLs(run.out)), "0 1 2 3") << run.Describe();
}

// Host-only marker: if a process's working directory ends up on the host, `ls ../../..` from
// it reaches the host's root, which has /work (this machine's layout) while the container's
// busybox root has not; the test also looks for its own host work directory.
bool LooksLikeHostRoot(const std::string& listing, const std::string& work_dir) {
  std::string first = work_dir.substr(1, work_dir.find('/', 1) - 1);  // "tmp"
  return Contains(listing, "work\n") || Contains(listing, "boot\n") ||
         Contains(listing, "lib64\n") || (Contains(listing, first + "\n") && Contains(listing, "usr\n"));
}

TEST_F(SecurityTest, CwdThroughLeakedFdDoesNotEscape) {
  for (int fd = 3; fd <= 9; ++fd) {
    SCOPED_TRACE("cwd /proc/self/fd/" + std::to_string(fd));
    std::string id = NewId();
    Bundle& bundle = NewBundle(id);
    bundle.Cwd("/proc/self/fd/" + std::to_string(fd));
    bundle.Shell("ls -a ../../../../../../..; ls -a /proc/self/cwd/../../../..");
    CommandResult run = RunContainer(id, bundle);
    // Failing is the expected outcome (no such fd); if it ran, it must have stayed inside.
    EXPECT_FALSE(LooksLikeHostRoot(run.out, work())) << run.Describe();
    EXPECT_FALSE(Contains(run.out, "bin\netc\n") && Contains(run.out, "work\n")) << run.Describe();
  }
}

TEST_F(SecurityTest, ExecCwdThroughLeakedFdDoesNotEscape) {
  std::string id = NewId();
  Bundle& bundle = NewBundle(id);
  StartLongRunning(id, bundle);
  for (int fd = 3; fd <= 9; ++fd) {
    CommandResult exec = Exec(id, {"ls", "-a", "../../../../../../.."},
                              {"--cwd", "/proc/self/fd/" + std::to_string(fd)});
    EXPECT_FALSE(LooksLikeHostRoot(exec.out, work())) << exec.Describe();
  }
}

TEST_F(SecurityTest, SymlinkInRootfsCannotRedirectMountToHost) {
  TempDir host_target("hull-symlink-target");
  std::string id = NewId();
  Bundle& bundle = NewBundle(id);
  // Absolute and relative symlinks that point at a host directory when followed on the host.
  ASSERT_EQ(::symlink(host_target.path().c_str(), (bundle.rootfs() + "/evil").c_str()), 0);
  ASSERT_EQ(::symlink(("../../../../../../../../.." + host_target.path()).c_str(),
                      (bundle.rootfs() + "/evil-relative").c_str()),
            0);
  bundle.Mount("/evil/sub/deeper", "tmpfs", "tmpfs", {"size=1m"});
  bundle.Mount("/evil-relative/other", "tmpfs", "tmpfs", {"size=1m"});
  bundle.Mount("/evil", "tmpfs", "tmpfs", {"size=1m"});
  bundle.Shell(
      "for d in /evil /evil/sub/deeper /evil-relative/other; do touch $d/pwned 2>/dev/null; done; "
      "echo x > /evil-relative/pwned 2>/dev/null; true");
  CommandResult run = RunContainer(id, bundle);
  // The runtime may refuse or resolve inside the rootfs; it must never touch the host dir.
  EXPECT_FALSE(run.timed_out) << run.Describe();
  EXPECT_TRUE(ListDir(host_target.path()).empty())
      << "files or directories created on the host through a rootfs symlink:\n"
      << JoinLines(ListDir(host_target.path())) << run.Describe();
  EXPECT_TRUE(MountsUnder(host_target.path()).empty()) << JoinLines(MountsUnder(host_target.path()));
}

TEST_F(SecurityTest, BindMountSourceSymlinkIsResolvedOnHostOnly) {
  // A bind mount's destination that is a symlink to a host file must not let the container
  // overwrite that host file.
  TempDir host("hull-symlink-file");
  ASSERT_TRUE(WriteFile(host / "precious", "original\n"));
  TempDir source("hull-bind-source");
  ASSERT_TRUE(WriteFile(source / "payload", "payload\n"));
  std::string id = NewId();
  Bundle& bundle = NewBundle(id);
  ASSERT_EQ(::symlink((host / "precious").c_str(), (bundle.rootfs() + "/etc/target").c_str()), 0);
  bundle.Mount("/etc/target", "bind", source / "payload", {"bind", "rw"});
  bundle.Shell("echo overwritten > /etc/target 2>/dev/null; true");
  CommandResult run = RunContainer(id, bundle);
  EXPECT_FALSE(run.timed_out);
  EXPECT_EQ(ReadFile(host / "precious"), "original\n") << run.Describe();
  EXPECT_TRUE(MountsUnder(host.path()).empty());
}

TEST_F(SecurityTest, ProcMountOverSymlinkIsRejectedOrContained) {
  // /proc replaced by a symlink to a host path in the rootfs: the proc mount must not land there.
  TempDir host("hull-proc-target");
  std::string id = NewId();
  Bundle& bundle = NewBundle(id);
  ASSERT_EQ(::rmdir((bundle.rootfs() + "/proc").c_str()), 0);
  ASSERT_EQ(::symlink(host.path().c_str(), (bundle.rootfs() + "/proc").c_str()), 0);
  CommandResult run = RunContainer(id, bundle);
  EXPECT_FALSE(run.timed_out);
  EXPECT_TRUE(ListDir(host.path()).empty()) << JoinLines(ListDir(host.path()));
  EXPECT_TRUE(MountsUnder(host.path()).empty());
}

// What session_keyring_probe (tests/fixtures/programs) printed.
struct KeyringSeen {
  long serial = 0;
  std::string description;  // type;uid;gid;perm;name
  std::string add;          // with AddKey(): "ok", the error of adding a key, or "skipped"
};

KeyringSeen ParseProbe(const std::string& out) {
  KeyringSeen seen;
  for (const auto& line : SplitLines(out)) {
    if (line.rfind("serial=", 0) == 0) seen.serial = std::atol(line.c_str() + 7);
    if (line.rfind("describe=", 0) == 0) seen.description = line.substr(9);
    if (line.rfind("add=", 0) == 0) seen.add = line.substr(4);
  }
  return seen;
}

// The session keyring this test process has, which the runtime and its children inherit.
long OwnSessionKeyring() {
  return ::syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0);
}

class SessionKeyringTest : public RuntimeTest {
 protected:
  void SetUp() override {
    RuntimeTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    host_keyring_ = OwnSessionKeyring();
    if (host_keyring_ < 0) GTEST_SKIP() << "no keyrings here (keyctl: " << ::strerror(errno) << ")";
  }

  // The probe's arguments to add a key to its session keyring, unless that is the caller's.
  std::string AddKey() const { return "--add-unless " + std::to_string(host_keyring_); }

  // A bundle with the probe at /bin/keyring-probe.
  Bundle& ProbeBundle(const std::string& id) {
    Bundle& bundle = NewBundle(id);
    EXPECT_TRUE(
        WriteFile(bundle.rootfs() + "/bin/keyring-probe", ReadFile(HULL_KEYRING_PROBE), 0755));
    return bundle;
  }

  // The container user's own keyring: "_ses.ID", not the caller's, and usable.
  void ExpectContainersOwn(const KeyringSeen& seen, const std::string& id, const std::string& out) {
    EXPECT_GT(seen.serial, 0) << out;
    EXPECT_NE(seen.serial, host_keyring_) << "the container shares the caller's session keyring\n"
                                          << out;
    std::string name = ";_ses." + id;
    EXPECT_TRUE(
        seen.description.size() > name.size() &&
        seen.description.compare(seen.description.size() - name.size(), name.size(), name) == 0)
        << out;
  }

  // A user namespace mapping container ids 0-65535 to host ids from 100000.
  void UseUserNamespace(Bundle& bundle) {
    ASSERT_EQ(::chmod(work().c_str(), 0711), 0);
    nlohmann::json mapping =
        nlohmann::json::array({{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}});
    bundle.linux()["uidMappings"] = mapping;
    bundle.linux()["gidMappings"] = mapping;
    bundle.AddNamespace("user");
  }

  long host_keyring_ = 0;
};

TEST_F(SessionKeyringTest, ContainerGetsItsOwnSessionKeyring) {
  std::string id = NewId();
  Bundle& bundle = ProbeBundle(id);
  bundle.Shell("/bin/keyring-probe " + AddKey());
  CommandResult run = RunContainer(id, bundle);
  ASSERT_TRUE(run.ok()) << run.Describe();
  KeyringSeen seen = ParseProbe(run.out);
  ExpectContainersOwn(seen, id, run.out);
  EXPECT_EQ(seen.add, "ok") << run.out;
}

// A user of the container that is not root can still use it (runc's permissions).
TEST_F(SessionKeyringTest, ContainerUserCanUseTheKeyring) {
  std::string id = NewId();
  Bundle& bundle = ProbeBundle(id);
  bundle.User(1000, 1000).Shell("/bin/keyring-probe " + AddKey());
  CommandResult run = RunContainer(id, bundle);
  ASSERT_TRUE(run.ok()) << run.Describe();
  KeyringSeen seen = ParseProbe(run.out);
  ExpectContainersOwn(seen, id, run.out);
  EXPECT_EQ(seen.add, "ok") << run.out;
}

TEST_F(SessionKeyringTest, NoNewKeyringKeepsTheCallersKeyring) {
  std::string id = NewId();
  Bundle& bundle = ProbeBundle(id);
  bundle.Shell("/bin/keyring-probe > /tmp/init; exec sleep 1000");  // adds no key: the caller's
  CommandResult create = Create(id, bundle, {"--no-new-keyring"});
  ASSERT_TRUE(create.ok()) << create.Describe();
  ASSERT_TRUE(Rt({"start", id}).ok());
  ASSERT_EQ(WaitForStatus(id, "running"), "running");
  CommandResult init;
  for (int i = 0; i < 100 && !Contains(init.out, "describe="); ++i) {
    std::this_thread::sleep_for(20ms);
    init = Exec(id, {"cat", "/tmp/init"});
  }
  EXPECT_EQ(ParseProbe(init.out).serial, host_keyring_) << init.Describe();
  CommandResult exec = Exec(id, {"/bin/keyring-probe"});
  ASSERT_TRUE(exec.ok()) << exec.Describe();
  EXPECT_EQ(ParseProbe(exec.out).serial, host_keyring_) << exec.Describe();
}

// Where keyctl is refused (a seccomp profile of the container the runtime itself runs in), runc
// and crun carry on without a keyring of the container's own when it fails with ENOSYS (LXC's
// answer), and fail otherwise; --no-new-keyring is the way out.
TEST_F(SessionKeyringTest, RefusedKeyctlIsHandledAsRuncDoes) {
  if (kind() != RuntimeKind::kHull) GTEST_SKIP() << "checks hull-runtime's messages";
  auto run_under_filter = [&](int errno_value, const std::string& id, Bundle& bundle,
                              std::vector<std::string> extra) {
    EXPECT_TRUE(bundle.Write());
    std::vector<std::string> args = {"run", "--bundle", bundle.path()};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(id);
    std::vector<std::string> argv = runtime().Argv(args);
    argv.insert(argv.begin(), {HULL_KEYCTL_ERRNO, std::to_string(errno_value)});
    return RunCommand(argv);
  };

  std::string unsupported = NewId();
  Bundle& a = ProbeBundle(unsupported);
  a.Shell("/bin/keyring-probe; true");  // the probe fails: keyctl is refused in here too
  CommandResult run = run_under_filter(ENOSYS, unsupported, a, {});
  EXPECT_TRUE(run.ok()) << run.Describe();
  EXPECT_TRUE(Contains(run.out, "serial=error:Function not implemented")) << run.Describe();

  std::string refused = NewId();
  Bundle& b = ProbeBundle(refused);
  run = run_under_filter(EPERM, refused, b, {});
  EXPECT_EQ(run.exit_code, 1) << run.Describe();
  EXPECT_TRUE(Contains(run.err, "session keyring \"_ses." + refused + "\"") &&
              Contains(run.err, "--no-new-keyring") && Contains(run.err, "not permitted"))
      << run.Describe();
  CommandResult state;
  EXPECT_TRUE(State(refused, &state).is_null()) << state.Describe();

  std::string without = NewId();
  Bundle& c = ProbeBundle(without);
  run = run_under_filter(EPERM, without, c, {"--no-new-keyring"});
  EXPECT_TRUE(run.ok()) << run.Describe();
}

// `exec` joins the keyring of the container's init, found by name; with a user namespace the
// exec'ing process is "others" to it until it changes user.
class SessionKeyringExecTest : public SessionKeyringTest,
                               public ::testing::WithParamInterface<bool> {};

TEST_P(SessionKeyringExecTest, ExecJoinsTheContainersKeyring) {
  const bool user_namespace = GetParam();
  std::string id = NewId();
  Bundle& bundle = ProbeBundle(id);
  if (user_namespace) UseUserNamespace(bundle);
  bundle.Shell("/bin/keyring-probe " + AddKey() + " > /tmp/init; exec sleep 1000");
  StartLongRunning(id, bundle);
  CommandResult init;
  for (int i = 0; i < 100 && !Contains(init.out, "add="); ++i) {
    std::this_thread::sleep_for(20ms);
    init = Exec(id, {"cat", "/tmp/init"});
  }
  KeyringSeen init_seen = ParseProbe(init.out);
  ExpectContainersOwn(init_seen, id, init.Describe());
  EXPECT_EQ(init_seen.add, "ok") << init.out;
  for (int i = 0; i < 2; ++i) {
    CommandResult exec = Exec(id, {"/bin/keyring-probe"});
    ASSERT_TRUE(exec.ok()) << exec.Describe();
    EXPECT_EQ(ParseProbe(exec.out).serial, init_seen.serial)
        << "exec did not join the container's session keyring\n"
        << exec.out << init.out;
  }
}

INSTANTIATE_TEST_SUITE_P(UserNamespace, SessionKeyringExecTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "WithUserNs" : "NoUserNs"; });

}  // namespace
}  // namespace hull::testing
