// SetupRootfs for real, as root: every test forks a child that unshares its mount namespace,
// builds the container's root from a busybox-static rootfs and checks from inside what a
// container would see. The child reports failures as text over a pipe; its mount namespace dies
// with it. Symlink attacks are checked from both sides: the child (before pivot_root, while the
// host is visible) and the parent (the host directories stay empty).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/magic.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "container/rootfs.h"

namespace hull::container {
namespace {

namespace fs = std::filesystem;

// Collects failed checks inside the child.
class Checks {
 public:
  void Expect(bool ok, const std::string& what) {
    if (!ok)
      failures_ += what + (errno ? std::string(" (") + std::strerror(errno) + ")" : "") + "\n";
    errno = 0;
  }
  const std::string& failures() const { return failures_; }

 private:
  std::string failures_;
};

// Runs `body` in a forked child with its own mount namespace; returns what it reported
// ("" = every check passed).
std::string RunInMountNamespace(const std::function<void(Checks&)>& body) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return "pipe failed";
  pid_t pid = ::fork();
  if (pid < 0) return "fork failed";
  if (pid == 0) {
    ::close(fds[0]);
    Checks checks;
    if (::unshare(CLONE_NEWNS) != 0) {
      checks.Expect(false, "unshare(CLONE_NEWNS)");
    } else {
      body(checks);
    }
    const std::string& out = checks.failures();
    size_t done = 0;
    while (done < out.size()) {
      ssize_t n = ::write(fds[1], out.data() + done, out.size() - done);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    ::_exit(out.empty() ? 0 : 1);
  }
  ::close(fds[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status)) out += "child died with signal " + std::to_string(WTERMSIG(status));
  if (out.empty() && WEXITSTATUS(status) != 0)
    out = "child exited " + std::to_string(WEXITSTATUS(status));
  return out;
}

struct MountEntry {
  std::string mount_point, fs_type, options;  // options: per-mount, e.g. "ro,nosuid"
};

std::vector<MountEntry> ReadMountInfo() {
  std::vector<MountEntry> out;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, dev, root, mount_point, options, field;
    fields >> id >> parent >> dev >> root >> mount_point >> options;
    while (fields >> field && field != "-") {
    }
    std::string fs_type;
    fields >> fs_type;
    out.push_back({mount_point, fs_type, options});
  }
  return out;
}

// The last (topmost) mount at `path`, or nullptr.
const MountEntry* FindMount(const std::vector<MountEntry>& mounts, const std::string& path) {
  const MountEntry* found = nullptr;
  for (const MountEntry& m : mounts) {
    if (m.mount_point == path) found = &m;
  }
  return found;
}

bool HasOption(const MountEntry* m, const std::string& option) {
  if (!m) return false;
  std::string all = "," + m->options + ",";
  return all.find("," + option + ",") != std::string::npos;
}

bool IsEmptyDir(const std::string& path) {
  std::error_code ec;
  return fs::is_directory(path, ec) && fs::is_empty(path, ec);
}

class RootfsRootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    if (!fs::exists("/bin/busybox")) GTEST_SKIP() << "needs /bin/busybox (busybox-static)";
    char tmpl[] = "/tmp/hull-rootfs-root-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    rootfs_ = dir_ + "/rootfs";
    for (const char* sub : {"/bin", "/proc", "/sys", "/dev", "/tmp", "/etc"}) {
      fs::create_directories(rootfs_ + sub);
    }
    fs::copy_file("/bin/busybox", rootfs_ + "/bin/busybox");
    fs::create_symlink("busybox", rootfs_ + "/bin/sh");
    fs::create_symlink("busybox", rootfs_ + "/bin/true");
    fs::create_directories(dir_ + "/volume");
    std::ofstream(dir_ + "/volume/data.txt") << "volume\n";
    std::ofstream(dir_ + "/hosts") << "127.0.0.1 localhost\n";
    for (const char* host : {"/host1", "/host2", "/host3", "/host4"}) {
      fs::create_directories(dir_ + host);
    }
    spec_.root.path = rootfs_;
    spec_.linux.emplace();
    spec_.mounts = {
        Mount("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}),
        Mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
        Mount("/dev/pts", "devpts", "devpts",
              {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}),
        Mount("/dev/shm", "tmpfs", "shm",
              {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}),
        Mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}),
        Mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}),
        Mount("/data", "bind", dir_ + "/volume", {"rbind", "ro", "nosuid"}),
        Mount("/etc/hosts", "bind", dir_ + "/hosts", {"bind", "ro"}),
    };
    spec_.linux->masked_paths = {"/proc/kcore", "/sys/firmware", "/proc/does-not-exist"};
    spec_.linux->readonly_paths = {"/proc/sys", "/proc/sysrq-trigger"};
    spec_.linux->devices = {{"c", "/dev/mydev", 1, 3, 0600, 1000, 1001}};
  }
  void TearDown() override {
    if (dir_.empty()) return;
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  static oci::Mount Mount(std::string destination, std::string type, std::string source,
                          std::vector<std::string> options) {
    oci::Mount m;
    m.destination = std::move(destination);
    m.type = std::move(type);
    m.source = std::move(source);
    m.options = std::move(options);
    return m;
  }

  RootfsPlan Plan(bool user_namespace = false, bool no_pivot = false,
                  std::vector<CgroupMountPoint> cgroups = {}) {
    auto plan = PlanRootfs(spec_, rootfs_, cgroups, user_namespace, no_pivot);
    EXPECT_TRUE(plan) << plan.error().ToString();
    return plan ? std::move(*plan) : RootfsPlan{};
  }

  // Runs SetupRootfs in a child and then `checks` inside the container's root.
  std::string Setup(const RootfsPlan& plan, const std::function<void(Checks&)>& checks) {
    return RunInMountNamespace([&](Checks& c) {
      ChildReport report;
      if (SetupRootfs(plan, &report) != 0) {
        errno = report.err;
        c.Expect(false, std::string("SetupRootfs: ") + report.what);
        return;
      }
      checks(c);
    });
  }

  std::string dir_, rootfs_;
  oci::Spec spec_;
};

TEST_F(RootfsRootTest, MountsDevicesMasksAndReadonlyPaths) {
  RootfsPlan plan = Plan();
  std::string failures = Setup(plan, [&](Checks& c) {
    char cwd[256] = {};
    c.Expect(::getcwd(cwd, sizeof cwd) && std::string(cwd) == "/", "cwd is /");
    c.Expect(::access("/bin/busybox", X_OK) == 0, "/bin/busybox in the new root");
    c.Expect(::access(dir_.c_str(), F_OK) != 0, "the host's test dir is not visible");

    auto mounts = ReadMountInfo();
    const struct {
      const char* path;
      const char* type;
      std::vector<std::string> options;
    } expected[] = {
        {"/proc", "proc", {"nosuid", "nodev", "noexec"}},
        {"/dev", "tmpfs", {"rw", "nosuid"}},
        {"/dev/pts", "devpts", {"nosuid", "noexec"}},
        {"/dev/shm", "tmpfs", {"nosuid", "nodev", "noexec"}},
        {"/dev/mqueue", "mqueue", {"nosuid", "nodev", "noexec"}},
        {"/sys", "sysfs", {"ro", "nosuid", "nodev", "noexec"}},
        {"/data", "", {"ro", "nosuid"}},
        {"/etc/hosts", "", {"ro"}},
    };
    for (const auto& e : expected) {
      const MountEntry* m = FindMount(mounts, e.path);
      c.Expect(m != nullptr, std::string("mount at ") + e.path);
      if (!m) continue;
      if (*e.type) c.Expect(m->fs_type == e.type, std::string(e.path) + " is " + e.type);
      for (const std::string& option : e.options) {
        c.Expect(HasOption(m, option), std::string(e.path) + " has " + option + ": " + m->options);
      }
    }

    // Read-only bind: readable, not writable.
    std::ifstream data("/data/data.txt");
    std::string line;
    c.Expect(std::getline(data, line) && line == "volume", "read /data/data.txt");
    errno = 0;
    c.Expect(::open("/data/new", O_CREAT | O_WRONLY, 0644) < 0 && errno == EROFS,
             "/data is read-only");
    errno = 0;
    c.Expect(::open("/etc/hosts", O_WRONLY) < 0 && errno == EROFS, "/etc/hosts is read-only");

    // Devices.
    const struct {
      const char* path;
      unsigned major, minor;
      mode_t perm;
      uid_t uid;
      gid_t gid;
    } devices[] = {{"/dev/null", 1, 3, 0666, 0, 0},       {"/dev/zero", 1, 5, 0666, 0, 0},
                   {"/dev/full", 1, 7, 0666, 0, 0},       {"/dev/random", 1, 8, 0666, 0, 0},
                   {"/dev/urandom", 1, 9, 0666, 0, 0},    {"/dev/tty", 5, 0, 0666, 0, 0},
                   {"/dev/mydev", 1, 3, 0600, 1000, 1001}};
    for (const auto& d : devices) {
      struct stat st;
      bool ok = ::lstat(d.path, &st) == 0;
      c.Expect(
          ok && S_ISCHR(st.st_mode) && major(st.st_rdev) == d.major && minor(st.st_rdev) == d.minor,
          std::string(d.path) + " is the right character device");
      c.Expect(ok && (st.st_mode & 07777) == d.perm && st.st_uid == d.uid && st.st_gid == d.gid,
               std::string(d.path) + " has the right mode and owner");
    }
    int null_fd = ::open("/dev/null", O_WRONLY);
    c.Expect(null_fd >= 0 && ::write(null_fd, "x", 1) == 1, "write /dev/null");
    if (null_fd >= 0) ::close(null_fd);

    // Default symlinks.
    const std::pair<const char*, const char*> links[] = {
        {"/dev/fd", "/proc/self/fd"},       {"/dev/stdin", "/proc/self/fd/0"},
        {"/dev/stdout", "/proc/self/fd/1"}, {"/dev/stderr", "/proc/self/fd/2"},
        {"/dev/ptmx", "pts/ptmx"},
    };
    for (const auto& [link, target] : links) {
      char buf[256] = {};
      ssize_t n = ::readlink(link, buf, sizeof buf - 1);
      c.Expect(n > 0 && std::string(buf) == target, std::string(link) + " -> " + target);
    }
    c.Expect(::access("/dev/ptmx", F_OK) == 0, "/dev/ptmx reaches the devpts ptmx");

    // Masked paths.
    int kcore = ::open("/proc/kcore", O_RDONLY);
    char byte;
    c.Expect(kcore < 0 || ::read(kcore, &byte, 1) == 0, "/proc/kcore reads nothing");
    if (kcore >= 0) ::close(kcore);
    if (fs::exists("/sys/firmware")) {
      c.Expect(IsEmptyDir("/sys/firmware"), "/sys/firmware is an empty directory");
      struct statfs sfs;
      c.Expect(::statfs("/sys/firmware", &sfs) == 0 && sfs.f_type == TMPFS_MAGIC &&
                   (sfs.f_flags & ST_RDONLY),
               "/sys/firmware is a read-only tmpfs");
    }

    // Read-only paths; opening for write (without writing) must fail.
    struct statvfs vfs;
    c.Expect(::statvfs("/proc/sys", &vfs) == 0 && (vfs.f_flag & ST_RDONLY), "/proc/sys is ro");
    c.Expect((vfs.f_flag & ST_NOSUID) && (vfs.f_flag & ST_NOEXEC) && (vfs.f_flag & ST_NODEV),
             "/proc/sys kept nosuid,noexec,nodev");
    errno = 0;
    c.Expect(::open("/proc/sys/vm/drop_caches", O_WRONLY) < 0 && errno == EROFS,
             "/proc/sys/vm/drop_caches is not writable");
    if (::access("/proc/sysrq-trigger", F_OK) == 0) {  // absent without CONFIG_MAGIC_SYSRQ
      errno = 0;
      c.Expect(::open("/proc/sysrq-trigger", O_WRONLY) < 0 && errno == EROFS,
               "/proc/sysrq-trigger is not writable");
    }
    // The root stays writable without root.readonly.
    c.Expect(::mkdir("/tmp/newdir", 0755) == 0, "mkdir in a writable root");

    // The result runs a program.
    pid_t pid = ::fork();
    if (pid == 0) {
      ::execl("/bin/sh", "sh", "-c", "test -c /dev/null && ls /dev/pts >/dev/null", nullptr);
      ::_exit(127);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    c.Expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "busybox sh runs in the new root");
  });
  EXPECT_EQ(failures, "");
}

TEST_F(RootfsRootTest, ReadonlyRoot) {
  spec_.root.readonly = true;
  RootfsPlan plan = Plan();
  std::string failures = Setup(plan, [&](Checks& c) {
    errno = 0;
    c.Expect(::mkdir("/newdir", 0755) != 0 && errno == EROFS, "mkdir in a read-only root");
    struct statvfs vfs;
    c.Expect(::statvfs("/", &vfs) == 0 && (vfs.f_flag & ST_RDONLY), "/ is ro");
    c.Expect(::mkdir("/dev/shm/ok", 0755) == 0, "/dev/shm stays writable");
  });
  EXPECT_EQ(failures, "");
  EXPECT_FALSE(fs::exists(rootfs_ + "/newdir"));
}

TEST_F(RootfsRootTest, SymlinkedDestinationsStayInsideTheRootfs) {
  const std::string host1 = dir_ + "/host1", host2 = dir_ + "/host2", host3 = dir_ + "/host3",
                    host4 = dir_ + "/host4";
  // An absolute symlink to a host directory as the destination's parent.
  fs::create_symlink(host1, rootfs_ + "/evil");
  // A relative one climbing far above the rootfs.
  fs::create_symlink("../../../../../../../../../../" + host2, rootfs_ + "/tmp/up");
  // A symlinked intermediate component: /mid -> / of the host's test dir's parent.
  fs::create_symlink(dir_, rootfs_ + "/mid");
  // A dangling symlink as the destination of a file bind.
  fs::create_symlink(host4 + "/file", rootfs_ + "/etc/resolv.conf");
  spec_.mounts.push_back(Mount("/evil/sub", "tmpfs", "tmpfs", {}));
  spec_.mounts.push_back(Mount("/tmp/up", "tmpfs", "tmpfs", {}));
  spec_.mounts.push_back(Mount("/mid/host3/x", "tmpfs", "tmpfs", {}));
  spec_.mounts.push_back(Mount("/etc/resolv.conf", "bind", dir_ + "/hosts", {"bind"}));
  RootfsPlan plan = Plan();

  std::string failures = RunInMountNamespace([&](Checks& c) {
    ChildReport report;
    if (PrepareRootfs(plan, &report) != 0) {
      errno = report.err;
      c.Expect(false, std::string("PrepareRootfs: ") + report.what);
      return;
    }
    // Still in the host's root: nothing may be mounted on or below the host directories.
    auto mounts = ReadMountInfo();
    for (const std::string& host : {host1, host2, host3, host4}) {
      for (const MountEntry& m : mounts) {
        c.Expect(m.mount_point.rfind(host, 0) != 0, "host path mounted on: " + m.mount_point);
      }
      c.Expect(IsEmptyDir(host), host + " is untouched");
    }
    // The mounts landed inside the rootfs.
    c.Expect(FindMount(mounts, rootfs_ + host1 + "/sub") != nullptr, "tmpfs at rootfs/host1/sub");
    c.Expect(FindMount(mounts, rootfs_ + host2) != nullptr, "tmpfs at rootfs/host2");
    c.Expect(FindMount(mounts, rootfs_ + dir_ + "/host3/x") != nullptr,
             "tmpfs at rootfs/<dir>/host3/x");
    c.Expect(FindMount(mounts, rootfs_ + host4 + "/file") != nullptr, "bind at rootfs/host4/file");
    if (FinishRootfs(plan, &report) != 0) {
      errno = report.err;
      c.Expect(false, std::string("FinishRootfs: ") + report.what);
      return;
    }
    struct statfs sfs;
    c.Expect(::statfs("/evil/sub", &sfs) == 0 && sfs.f_type == TMPFS_MAGIC,
             "/evil/sub is the tmpfs inside the container");
    std::ifstream resolv("/etc/resolv.conf");
    std::string line;
    c.Expect(std::getline(resolv, line) && line == "127.0.0.1 localhost",
             "/etc/resolv.conf shows the bound file");
  });
  EXPECT_EQ(failures, "");
  // Seen from the host after the child is gone.
  for (const std::string& host : {host1, host2, host3, host4}) {
    EXPECT_TRUE(IsEmptyDir(host)) << host;
  }
  EXPECT_TRUE(fs::is_directory(rootfs_ + host1 + "/sub"));
  EXPECT_TRUE(fs::is_regular_file(rootfs_ + host4 + "/file"));
}

TEST_F(RootfsRootTest, CgroupMountOnV1OrHybridHost) {
  std::vector<CgroupMountPoint> cgroups;
  for (const char* name : {"memory", "cpu,cpuacct", "pids"}) {
    std::string path = std::string("/sys/fs/cgroup/") + name;
    if (fs::exists(path + "/cgroup.procs")) cgroups.push_back({name, path, false});
  }
  if (fs::exists("/sys/fs/cgroup/unified/cgroup.procs")) {
    cgroups.push_back({"unified", "/sys/fs/cgroup/unified", true});
  }
  if (cgroups.empty()) GTEST_SKIP() << "no v1 hierarchies on this host";
  spec_.mounts.push_back(
      Mount("/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro"}));
  RootfsPlan plan = Plan(false, false, cgroups);
  std::string failures = Setup(plan, [&](Checks& c) {
    struct statfs sfs;
    c.Expect(::statfs("/sys/fs/cgroup", &sfs) == 0 && sfs.f_type == TMPFS_MAGIC &&
                 (sfs.f_flags & ST_RDONLY),
             "/sys/fs/cgroup is a read-only tmpfs");
    for (const CgroupMountPoint& cg : cgroups) {
      std::string dir = "/sys/fs/cgroup/" + cg.name;
      c.Expect(::access((dir + "/cgroup.procs").c_str(), F_OK) == 0, dir + "/cgroup.procs");
      errno = 0;
      c.Expect(::open((dir + "/cgroup.procs").c_str(), O_WRONLY) < 0 && errno == EROFS,
               dir + " is read-only");
    }
    for (const CgroupMountPoint& cg : cgroups) {
      if (cg.name != "cpu,cpuacct") continue;
      char buf[64] = {};
      c.Expect(::readlink("/sys/fs/cgroup/cpu", buf, sizeof buf - 1) > 0 &&
                   std::string(buf) == "cpu,cpuacct",
               "/sys/fs/cgroup/cpu -> cpu,cpuacct");
    }
  });
  EXPECT_EQ(failures, "");
}

TEST_F(RootfsRootTest, NoPivotBindDevicesAndConsole) {
  std::ofstream(dir_ + "/fake-pty") << "console\n";
  // bind_devices is what user namespaces get; as root it must work the same way.
  RootfsPlan plan = Plan(/*user_namespace=*/true, /*no_pivot=*/true);
  plan.devices.pop_back();  // /dev/mydev does not exist on the host to bind from
  plan.console_pty = dir_ + "/fake-pty";
  std::string failures = Setup(plan, [&](Checks& c) {
    c.Expect(::access("/bin/busybox", X_OK) == 0, "/bin/busybox in the new root");
    c.Expect(::access(dir_.c_str(), F_OK) != 0, "the host's test dir is not visible");
    struct stat st;
    c.Expect(::stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3),
             "/dev/null bound from the host");
    auto mounts = ReadMountInfo();
    c.Expect(FindMount(mounts, "/dev/null") != nullptr, "/dev/null is a bind mount");
    std::ifstream console("/dev/console");
    std::string line;
    c.Expect(std::getline(console, line) && line == "console", "/dev/console is the pty");
  });
  EXPECT_EQ(failures, "");
}

// Where pivot_root is impossible, as on a host running from its initramfs (whose root mount has
// no parent to pivot from), SetupRootfs falls back to moving the rootfs over "/" and chroot.
// Made here without such a host: the runtime runs chrooted in a tmpfs (statfs says tmpfs, as on
// an initramfs) whose parent mount is shared, which pivot_root refuses with EINVAL just as it
// refuses an initramfs root. The runtime cannot make that parent private: it is outside its root.
TEST_F(RootfsRootTest, PivotRootFallbackOnAnInitramfsLikeRoot) {
  RootfsPlan plan = Plan();  // no --no-pivot: the fallback must find out by itself
  std::string failures = RunInMountNamespace([&](Checks& c) {
    const std::string parent = dir_ + "/parent", ramroot = parent + "/ramroot";
    c.Expect(::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) == 0, "make / rslave");
    c.Expect(::mkdir(parent.c_str(), 0755) == 0 &&
                 ::mount("tmpfs", parent.c_str(), "tmpfs", 0, "size=1m") == 0 &&
                 ::mount(nullptr, parent.c_str(), nullptr, MS_SHARED, nullptr) == 0,
             "a shared tmpfs as the parent mount");
    c.Expect(::mkdir(ramroot.c_str(), 0755) == 0 &&
                 ::mount("tmpfs", ramroot.c_str(), "tmpfs", 0, "size=1m") == 0,
             "a tmpfs root under it");
    // What the runtime needs of its root: /proc and /dev, and the test directory (bundle) at
    // the same path, without the parent mount again.
    std::error_code ec;
    for (const std::string& dir : {std::string("/proc"), std::string("/dev"), dir_})
      c.Expect(fs::create_directories(ramroot + dir, ec), "mkdir " + ramroot + dir);
    c.Expect(::mount("/proc", (ramroot + "/proc").c_str(), nullptr, MS_BIND | MS_REC, nullptr) == 0,
             "bind /proc");
    c.Expect(::mount("/dev", (ramroot + "/dev").c_str(), nullptr, MS_BIND | MS_REC, nullptr) == 0,
             "bind /dev");
    c.Expect(::mount(dir_.c_str(), (ramroot + dir_).c_str(), nullptr, MS_BIND, nullptr) == 0,
             "bind the test directory");
    c.Expect(::chroot(ramroot.c_str()) == 0 && ::chdir("/") == 0, "chroot into the tmpfs root");
    if (!c.failures().empty()) return;

    // The premise, checked in a throwaway mount namespace: pivot_root fails with EINVAL here.
    pid_t probe = ::fork();
    if (probe == 0) {
      if (::unshare(CLONE_NEWNS) != 0 ||
          ::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0 ||
          ::mount(rootfs_.c_str(), rootfs_.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0 ||
          ::chdir(rootfs_.c_str()) != 0)
        ::_exit(3);
      if (::syscall(SYS_pivot_root, ".", ".") == 0) ::_exit(2);
      ::_exit(errno == EINVAL ? 0 : 1);
    }
    int status = -1;
    ::waitpid(probe, &status, 0);
    c.Expect(WIFEXITED(status) && WEXITSTATUS(status) == 0,
             "pivot_root is impossible here (probe exit " +
                 std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + ")");

    ChildReport report;
    if (SetupRootfs(plan, &report) != 0) {
      errno = report.err;
      c.Expect(false, std::string("SetupRootfs: ") + report.what);
      return;
    }
    char cwd[PATH_MAX] = {};
    c.Expect(::getcwd(cwd, sizeof cwd) && std::string(cwd) == "/", "cwd is the new /");
    c.Expect(::access("/bin/busybox", X_OK) == 0, "/bin/busybox in the new root");
    c.Expect(::access(dir_.c_str(), F_OK) != 0, "the old root's test directory is not visible");
    struct statfs root_fs;
    c.Expect(::statfs("/", &root_fs) == 0 && root_fs.f_type != TMPFS_MAGIC,
             "/ is the rootfs, not the tmpfs it replaced");
    std::ifstream hosts("/etc/hosts");
    std::string line;
    c.Expect(std::getline(hosts, line) && line == "127.0.0.1 localhost", "/etc/hosts bound");
    struct stat st;
    c.Expect(::stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode), "/dev/null");
  });
  EXPECT_EQ(failures, "");
}

bool WriteProcFile(const char* path, const std::string& text) {
  int fd = ::open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  return ok;
}

// As a container with a user namespace gets it: the mount namespace is owned by a new user
// namespace (root mapped to root), so mknod is refused and the flags of mounts inherited from
// the host are locked. Without a network namespace of its own sysfs cannot be mounted (the
// host's is bound instead), and devpts refuses "gid=5" as gid 5 is not mapped.
TEST_F(RootfsRootTest, UserNamespace) {
  fs::create_directories(dir_ + "/locked");
  spec_.linux->devices.clear();  // one uid is mapped only; /dev/mydev has no host node to bind
  // A bind whose source mount has nosuid,nodev,noexec that "ro" alone would drop: the remount
  // must keep the locked flags.
  spec_.mounts.push_back(Mount("/locked", "bind", dir_ + "/locked", {"rbind", "ro"}));
  RootfsPlan plan = Plan(/*user_namespace=*/true);
  std::string failures = RunInMountNamespace([&](Checks& c) {
    // Keep the host out of what follows, then give the source its locked flags.
    c.Expect(::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) == 0, "make / rslave");
    c.Expect(::mount("tmpfs", (dir_ + "/locked").c_str(), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                     "size=64k") == 0,
             "mount the nosuid,nodev,noexec tmpfs");
    if (::unshare(CLONE_NEWUSER) != 0) {
      c.Expect(false, "unshare(CLONE_NEWUSER)");
      return;
    }
    c.Expect(WriteProcFile("/proc/self/setgroups", "deny") &&
                 WriteProcFile("/proc/self/uid_map", "0 0 1") &&
                 WriteProcFile("/proc/self/gid_map", "0 0 1"),
             "write the id maps");
    if (::unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC) != 0) {
      c.Expect(false, "unshare namespaces in the user namespace");
      return;
    }
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return c.Expect(false, "pipe");
    pid_t pid = ::fork();  // pid 1 of the new pid namespace, so that proc can be mounted
    if (pid == 0) {
      ::close(fds[0]);
      Checks inner;
      ChildReport report;
      if (SetupRootfs(plan, &report) != 0) {
        errno = report.err;
        inner.Expect(false, std::string("SetupRootfs: ") + report.what);
      } else {
        struct stat st;
        inner.Expect(
            ::stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3),
            "/dev/null bound from the host");
        int null_fd = ::open("/dev/null", O_WRONLY);
        inner.Expect(null_fd >= 0 && ::write(null_fd, "x", 1) == 1, "write /dev/null");
        auto mounts = ReadMountInfo();
        const MountEntry* locked = FindMount(mounts, "/locked");
        inner.Expect(HasOption(locked, "ro") && HasOption(locked, "nosuid") &&
                         HasOption(locked, "nodev") && HasOption(locked, "noexec"),
                     "/locked is ro and kept nosuid,nodev,noexec");
        const MountEntry* data = FindMount(mounts, "/data");
        inner.Expect(HasOption(data, "ro") && HasOption(data, "nosuid"), "/data is ro,nosuid");
        const MountEntry* sys = FindMount(mounts, "/sys");
        inner.Expect(HasOption(sys, "ro") && HasOption(sys, "nosuid") && HasOption(sys, "noexec"),
                     "/sys (bound from the host) is ro,nosuid,noexec");
        inner.Expect(::access("/sys/kernel", F_OK) == 0, "/sys shows sysfs");
        const MountEntry* pts = FindMount(mounts, "/dev/pts");
        inner.Expect(pts && pts->fs_type == "devpts", "devpts mounted without gid=5");
        struct statvfs vfs;
        inner.Expect(::statvfs("/proc/sys", &vfs) == 0 && (vfs.f_flag & ST_RDONLY),
                     "/proc/sys is ro");
        inner.Expect(::getpid() == 1, "pid 1 in the container's pid namespace");
      }
      const std::string& out = inner.failures();
      if (!out.empty() && ::write(fds[1], out.data(), out.size()) < 0) ::_exit(2);
      ::_exit(out.empty() ? 0 : 1);
    }
    ::close(fds[1]);
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
    ::close(fds[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    c.Expect(out.empty() && WIFEXITED(status) && WEXITSTATUS(status) == 0,
             "in the user namespace: " + out);
  });
  EXPECT_EQ(failures, "");
  EXPECT_TRUE(IsEmptyDir(dir_ + "/locked"));
}

TEST_F(RootfsRootTest, FailureNamesTheStep) {
  spec_.mounts.push_back(Mount("/bad", "no-such-filesystem", "none", {}));
  RootfsPlan plan = Plan();
  std::string failures = RunInMountNamespace([&](Checks& c) {
    ChildReport report;
    c.Expect(SetupRootfs(plan, &report) == -1, "SetupRootfs fails");
    c.Expect(report.err == ENODEV, "errno ENODEV");
    c.Expect(std::string(report.what) == "mount \"no-such-filesystem\" on \"/bad\"",
             std::string("message: ") + report.what);
  });
  EXPECT_EQ(failures, "");
}

}  // namespace
}  // namespace hull::container
