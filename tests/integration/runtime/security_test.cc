// Attacks from inside a container on the runtime and the host, after the runc CVEs that hit real
// users:
//   CVE-2019-5736: a container process reaches the runtime binary through /proc/<pid>/exe of a
//     runtime process that joins the container (exec), and overwrites it on the host.
//   CVE-2024-21626: a runtime fd (e.g. of /sys/fs/cgroup) leaks into the container, and
//     process.cwd = /proc/self/fd/N puts the process outside its root.
//   Symlinks planted in the rootfs redirect a mount (or the creation of its mount point) to the
//     host.
// The runtime binary under attack is a private copy, so a vulnerable runtime corrupts only the
// copy, never /usr/bin/crun or the build's binary.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <thread>

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
  std::unique_ptr<TempDir> copy_dir_;
};

// Runs inside the container: watches /proc for processes whose executable is not busybox (a
// runtime process joining the container), opens their exe read-only, and keeps trying to
// reopen that fd for writing and append to it. Logs every step to /out/log.
constexpr char kExeAttacker[] = R"(
mkdir -p /out
while :; do
  for d in /proc/[0-9]*; do
    t=$(readlink $d/exe 2>/dev/null) || continue
    case "$t" in *busybox*|"") continue ;; esac
    echo "saw ${d#/proc/} $t" >> /out/log
    (
      exec 5< $d/exe || exit 0
      echo "opened ${d#/proc/}" >> /out/log
      i=0
      while [ $i -lt 200 ]; do
        if echo HACKED >> /proc/self/fd/5; then echo "WROTE ${d#/proc/}" >> /out/log; exit 0; fi
        i=$((i+1))
        sleep 0.005
      done
    ) 2>/dev/null &
  done
done
)";

TEST_F(SecurityTest, ExecCannotOverwriteRuntimeBinary) {
  const std::string binary = runtime().path();
  const std::string before = ReadFile(binary);
  ASSERT_FALSE(before.empty());

  std::string id = NewId();
  Bundle& bundle = NewBundle(id);
  std::string out = work() + "/attack-out";
  ASSERT_TRUE(MakeDirs(out));
  bundle.BindMount(out, "/out");
  // Everything a container could need to win the race: root in the container, all the default
  // capabilities, no NoNewPrivileges.
  bundle.NoNewPrivileges(false);
  bundle.Shell(kExeAttacker);
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

  std::string log = ReadFile(out + "/log");
  EXPECT_EQ(ReadFile(binary), before) << "the runtime binary on the host was modified!\n" << log;
  EXPECT_FALSE(Contains(log, "WROTE")) << log;
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

}  // namespace
}  // namespace hull::testing
