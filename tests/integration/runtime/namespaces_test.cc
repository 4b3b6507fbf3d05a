// Namespaces joined by path together with a user namespace: a new user namespace with a network
// namespace made on the host (`ip netns add`), for the container and for `exec` into it, and a
// user namespace joined by path with a new pid namespace.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "support/runtime_test.h"

namespace hull::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// "0 100000 65536" whatever the kernel's column padding.
std::string Squeeze(const std::string& text) {
  std::string out;
  for (const auto& line : SplitLines(text)) {
    std::string squeezed;
    for (char c : Trim(line)) {
      if (c == ' ' && !squeezed.empty() && squeezed.back() == ' ') continue;
      squeezed += c;
    }
    out += squeezed + "\n";
  }
  return out;
}

unsigned long long InodeOf(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

// A network namespace made as `ip netns add` makes it (owned by the host's user namespace,
// bound at /run/netns/NAME), holding a veth pair the container should see. Deleted on
// destruction.
class HostNetworkNamespace {
 public:
  explicit HostNetworkNamespace(std::string name) : name_(std::move(name)) {
    CommandResult add = RunCommand({"ip", "netns", "add", name_});
    if (!add.ok()) {
      error_ = add.Describe();
      return;
    }
    created_ = true;
    CommandResult link = RunCommand(
        {"ip", "-n", name_, "link", "add", "hullns0", "type", "veth", "peer", "name", "hullns1"});
    if (!link.ok()) error_ = link.Describe();
  }
  ~HostNetworkNamespace() {
    if (created_) RunCommand({"ip", "netns", "delete", name_});
  }
  HostNetworkNamespace(const HostNetworkNamespace&) = delete;
  HostNetworkNamespace& operator=(const HostNetworkNamespace&) = delete;

  std::string path() const { return "/run/netns/" + name_; }
  const std::string& error() const { return error_; }

 private:
  std::string name_;
  bool created_ = false;
  std::string error_;
};

// A process in a user namespace of its own that maps 0 -> 200000 (65536 ids), as a pod's infra
// process holds one; the process group is killed on destruction.
class UserNamespaceHolder {
 public:
  UserNamespaceHolder() {
    process_.emplace(Command::Start({"unshare", "--user", "sleep", "1000"}));
    std::string ours = "/proc/self/ns/user";
    std::string theirs = "/proc/" + std::to_string(process_->pid()) + "/ns/user";
    if (!WaitFor([&] { return InodeOf(theirs) != 0 && InodeOf(theirs) != InodeOf(ours); }, 10s)) {
      error_ = "unshare --user did not make a user namespace";
      return;
    }
    std::string proc = "/proc/" + std::to_string(process_->pid());
    if (!WriteFile(proc + "/uid_map", "0 200000 65536\n") ||
        !WriteFile(proc + "/gid_map", "0 200000 65536\n"))
      error_ = "could not write the id maps of the holder";
  }

  std::string path() const { return "/proc/" + std::to_string(process_->pid()) + "/ns/user"; }
  const std::string& error() const { return error_; }

 private:
  std::optional<Command> process_;
  std::string error_;
};

void MapIds(Bundle& bundle, unsigned host_id) {
  json mapping = json::array({{{"containerID", 0}, {"hostID", host_id}, {"size", 65536}}});
  bundle.linux()["uidMappings"] = mapping;
  bundle.linux()["gidMappings"] = mapping;
}

class NamespaceTest : public RuntimeTest {
 protected:
  void SetUp() override {
    RuntimeTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    if (ReadFile("/proc/sys/user/max_user_namespaces") == "0\n")
      GTEST_SKIP() << "user namespaces are disabled (user.max_user_namespaces = 0)";
    // The container's root (a host uid of its mappings) must reach its root filesystem.
    ASSERT_EQ(::chmod(work().c_str(), 0711), 0);
  }

  // A network namespace of the host's for container `id`; null (the test skips) without `ip`
  // or with runc 1.1, which joins the user namespace before the others (setns EPERM) and, with
  // a network namespace it does not own, fails to mount sysfs (crun and hull bind the host's).
  std::unique_ptr<HostNetworkNamespace> MakeNetworkNamespace(const std::string& id) {
    if (FindProgram("ip").empty() || kind() == RuntimeKind::kRunc) return nullptr;
    return std::make_unique<HostNetworkNamespace>("hull-" + id);
  }
};

// uid_map, our pid, pid 1's program, the network interfaces of the test's namespace (if any),
// the user and network namespaces: one per line.
constexpr char kShowNamespaces[] =
    "cat /proc/self/uid_map; echo pid=$$; tr '\\0' ' ' < /proc/1/cmdline; echo; "
    "echo $(grep -o 'hullns[01]' /proc/net/dev | sort); readlink /proc/self/ns/user; "
    "readlink /proc/self/ns/net";

struct Shown {
  std::string uid_map, pid, pid1, interfaces, user, net;
};

Shown Parse(const std::string& out) {
  auto lines = SplitLines(out);
  lines.resize(6);
  return {Squeeze(lines[0]), lines[1], Trim(lines[2]), lines[3], lines[4], lines[5]};
}

std::string NamespaceLink(const char* type, const std::string& path) {
  return std::string(type) + ":[" + std::to_string(InodeOf(path)) + "]";
}

TEST_F(NamespaceTest, NewUserNamespaceWithHostNetworkNamespace) {
  std::string id = NewId();
  auto netns = MakeNetworkNamespace(id);
  if (!netns) GTEST_SKIP() << "no ip (iproute2), or runc 1.1 (see MakeNetworkNamespace)";
  ASSERT_TRUE(netns->error().empty()) << netns->error();
  Bundle& bundle = NewBundle(id);
  bundle.AddNamespace("user").AddNamespace("network", netns->path()).Shell(kShowNamespaces);
  MapIds(bundle, 100000);

  CommandResult run = RunContainer(id, bundle);
  ASSERT_TRUE(run.ok()) << run.Describe();
  Shown shown = Parse(run.out);
  EXPECT_EQ(shown.uid_map, "0 100000 65536\n") << run.out;
  EXPECT_EQ(shown.pid, "pid=1") << run.out;
  EXPECT_EQ(shown.interfaces, "hullns0 hullns1") << run.out;
  EXPECT_EQ(shown.net, NamespaceLink("net", netns->path())) << run.out;
  EXPECT_NE(shown.user, NamespaceLink("user", "/proc/self/ns/user")) << run.out;
}

TEST_F(NamespaceTest, ExecIntoNewUserNamespaceWithHostNetworkNamespace) {
  std::string id = NewId();
  auto netns = MakeNetworkNamespace(id);
  if (!netns) GTEST_SKIP() << "no ip (iproute2), or runc 1.1 (see MakeNetworkNamespace)";
  ASSERT_TRUE(netns->error().empty()) << netns->error();
  Bundle& bundle = NewBundle(id);
  bundle.AddNamespace("user").AddNamespace("network", netns->path());
  MapIds(bundle, 100000);
  StartLongRunning(id, bundle);
  if (HasFatalFailure()) return;

  CommandResult exec = Exec(id, {"sh", "-c", kShowNamespaces});
  ASSERT_TRUE(exec.ok()) << exec.Describe();
  Shown shown = Parse(exec.out);
  EXPECT_EQ(shown.uid_map, "0 100000 65536\n") << exec.out;
  EXPECT_NE(shown.pid, "pid=1") << exec.out;
  EXPECT_EQ(shown.pid1, "sleep 1000") << exec.out;
  EXPECT_EQ(shown.interfaces, "hullns0 hullns1") << exec.out;
  EXPECT_EQ(shown.net, NamespaceLink("net", netns->path())) << exec.out;
  json state = State(id);
  ASSERT_TRUE(state.is_object());
  std::string init = "/proc/" + std::to_string(state["pid"].get<int>()) + "/ns/user";
  EXPECT_EQ(shown.user, NamespaceLink("user", init)) << exec.out;
}

TEST_F(NamespaceTest, JoinedUserNamespaceWithNewPidNamespace) {
  if (FindProgram("unshare").empty()) GTEST_SKIP() << "unshare (util-linux) not installed";
  UserNamespaceHolder holder;
  ASSERT_TRUE(holder.error().empty()) << holder.error();
  std::string id = NewId();
  Bundle& bundle = NewBundle(id);
  bundle.AddNamespace("user", holder.path()).Shell(kShowNamespaces);
  MapIds(bundle, 200000);  // runc wants the joined namespace's maps repeated

  CommandResult run = RunContainer(id, bundle);
  ASSERT_TRUE(run.ok()) << run.Describe();
  Shown shown = Parse(run.out);
  EXPECT_EQ(shown.uid_map, "0 200000 65536\n") << run.out;
  EXPECT_EQ(shown.pid, "pid=1") << run.out;
  EXPECT_EQ(shown.pid1.substr(0, 6), "sh -c ") << run.out;
  EXPECT_EQ(shown.user, NamespaceLink("user", holder.path())) << run.out;
}

TEST_F(NamespaceTest, ExecIntoJoinedUserNamespaceWithNewPidNamespace) {
  if (FindProgram("unshare").empty()) GTEST_SKIP() << "unshare (util-linux) not installed";
  UserNamespaceHolder holder;
  ASSERT_TRUE(holder.error().empty()) << holder.error();
  std::string id = NewId();
  Bundle& bundle = NewBundle(id);
  bundle.AddNamespace("user", holder.path());
  MapIds(bundle, 200000);
  StartLongRunning(id, bundle);
  if (HasFatalFailure()) return;

  CommandResult exec = Exec(id, {"sh", "-c", kShowNamespaces});
  ASSERT_TRUE(exec.ok()) << exec.Describe();
  Shown shown = Parse(exec.out);
  EXPECT_EQ(shown.uid_map, "0 200000 65536\n") << exec.out;
  EXPECT_EQ(shown.pid1, "sleep 1000") << exec.out;
  EXPECT_EQ(shown.user, NamespaceLink("user", holder.path())) << exec.out;
  // The process the runtime reports is the container's pid 1.
  json state = State(id);
  ASSERT_TRUE(state.is_object());
  std::string pid = std::to_string(state["pid"].get<int>());
  std::string status = ReadFile("/proc/" + pid + "/status");
  EXPECT_TRUE(Contains(status, "NSpid:\t" + pid + "\t1\n")) << status;
}

// A joined user namespace and a network namespace of the host's user namespace: the network
// namespace is joined first, while the runtime's privileges still apply.
TEST_F(NamespaceTest, JoinedUserNamespaceWithHostNetworkNamespace) {
  if (FindProgram("unshare").empty()) GTEST_SKIP() << "unshare (util-linux) not installed";
  UserNamespaceHolder holder;
  ASSERT_TRUE(holder.error().empty()) << holder.error();
  std::string id = NewId();
  auto netns = MakeNetworkNamespace(id);
  if (!netns) GTEST_SKIP() << "no ip (iproute2), or runc 1.1 (see MakeNetworkNamespace)";
  ASSERT_TRUE(netns->error().empty()) << netns->error();
  Bundle& bundle = NewBundle(id);
  bundle.AddNamespace("user", holder.path())
      .AddNamespace("network", netns->path())
      .Shell(kShowNamespaces);
  MapIds(bundle, 200000);

  CommandResult run = RunContainer(id, bundle);
  ASSERT_TRUE(run.ok()) << run.Describe();
  Shown shown = Parse(run.out);
  EXPECT_EQ(shown.uid_map, "0 200000 65536\n") << run.out;
  EXPECT_EQ(shown.interfaces, "hullns0 hullns1") << run.out;
  EXPECT_EQ(shown.user, NamespaceLink("user", holder.path())) << run.out;
  EXPECT_EQ(shown.net, NamespaceLink("net", netns->path())) << run.out;
}

// The time namespace's offsets are written by the init before it becomes root of its user
// namespace (afterwards /proc/self/timens_offsets is the host root's), whether clone3() made the
// user namespace or the init did after joining a network namespace.
TEST_F(NamespaceTest, TimeOffsetsWithNewUserNamespace) {
  if (kind() != RuntimeKind::kHull)
    GTEST_SKIP() << "runc 1.1 has no time namespace and crun 1.8 ignores linux.timeOffsets";
  if (!FileExists("/proc/self/ns/time")) GTEST_SKIP() << "no time namespaces in this kernel";
  std::string id = NewId();
  auto netns = MakeNetworkNamespace(id);
  if (netns) {
    ASSERT_TRUE(netns->error().empty()) << netns->error();
  }
  for (bool join_network : {false, true}) {
    if (join_network && !netns) continue;
    SCOPED_TRACE(join_network ? "with a joined network namespace" : "alone");
    std::string container = join_network ? id : NewId();
    Bundle& bundle = NewBundle(container);
    bundle.AddNamespace("user").AddNamespace("time").Shell("cut -d. -f1 /proc/uptime");
    if (join_network) bundle.AddNamespace("network", netns->path());
    bundle.linux()["timeOffsets"] = {{"boottime", {{"secs", 10 * 365 * 86400}, {"nanosecs", 0}}}};
    MapIds(bundle, 100000);
    CommandResult run = RunContainer(container, bundle);
    ASSERT_TRUE(run.ok()) << run.Describe();
    EXPECT_GE(std::stoll("0" + Trim(run.out)), 10LL * 365 * 86400) << run.out;
  }
}

}  // namespace
}  // namespace hull::testing
