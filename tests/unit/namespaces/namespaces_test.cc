// The order in which namespaces joined by path are entered (OrderJoins): those a joined user
// namespace does not own before it, those it owns (directly or through a nested user namespace)
// after it. The namespaces are made in a forked child with unshare(), which needs no root.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include <vector>

#include "../security/forked_child.h"
#include "container/namespaces.h"
#include "linux/async_safe.h"
#include "linux/process.h"

namespace hull::container {
namespace {

using testing::RunInChild;

NamespaceJoin OpenOwn(int flag, const char* path) {
  return {flag, linux::UniqueFd(::open(path, O_RDONLY | O_CLOEXEC)), path};
}

// Maps root of the user namespace just made to our ids, which a nested one needs.
bool MapSelf(uid_t uid, gid_t gid) {
  auto write = [](const char* path, const std::string& text) {
    int fd = ::open(path, O_WRONLY | O_CLOEXEC);
    bool ok = fd >= 0 && ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    if (fd >= 0) ::close(fd);
    return ok;
  };
  return write("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1\n") &&
         write("/proc/self/setgroups", "deny") &&
         write("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1\n");
}

bool UserNamespacesAvailable() {
  auto result = RunInChild([] { HULL_CHILD_CHECK(::unshare(CLONE_NEWUSER) == 0); });
  return result.ExitedCleanly();
}

// In a child of ours (OrderJoins runs in the runtime's user namespace, which sees every owner):
// a user namespace, a network namespace it owns and a uts namespace owned by a user namespace
// nested in it, sent back over `socket` in that order.
[[noreturn]] void MakeNamespaces(int socket, uid_t uid, gid_t gid) {
  auto send = [socket](const char* path) {
    int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    HULL_CHILD_CHECK(fd >= 0 && linux::SendFdRaw(socket, fd, "n", 1) == 0);
    ::close(fd);
  };
  HULL_CHILD_CHECK(::unshare(CLONE_NEWUSER) == 0);
  HULL_CHILD_CHECK(MapSelf(uid, gid));
  send("/proc/self/ns/user");
  HULL_CHILD_CHECK(::unshare(CLONE_NEWNET) == 0);
  send("/proc/self/ns/net");
  HULL_CHILD_CHECK(::unshare(CLONE_NEWUSER) == 0);
  HULL_CHILD_CHECK(::unshare(CLONE_NEWUTS) == 0);
  send("/proc/self/ns/uts");
  ::_exit(0);
}

TEST(NamespacesTest, OrderJoinsPutsWhatTheUserNamespaceOwnsAfterIt) {
  if (!UserNamespacesAvailable()) GTEST_SKIP() << "cannot make a user namespace here";
  auto result = RunInChild([] {
    int sockets[2];
    HULL_CHILD_CHECK(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sockets) == 0);
    uid_t uid = ::geteuid();
    gid_t gid = ::getegid();
    pid_t maker = ::fork();
    HULL_CHILD_CHECK(maker >= 0);
    if (maker == 0) MakeNamespaces(sockets[1], uid, gid);
    std::vector<NamespaceJoin> received;
    for (int flag : {CLONE_NEWUSER, CLONE_NEWNET, CLONE_NEWUTS}) {
      auto fd = linux::ReceiveFd(sockets[0]);
      HULL_CHILD_CHECK(fd.has_value());
      received.push_back({flag, std::move(*fd), "received"});
    }
    int status = 0;
    HULL_CHILD_CHECK(::waitpid(maker, &status, 0) == maker && status == 0);

    // Ours, owned by our user namespace, which the received one is nested in.
    NamespaceJoin outer_net = OpenOwn(CLONE_NEWNET, "/proc/self/ns/net");
    std::vector<NamespaceJoin> joins;
    joins.push_back(std::move(received[1]));  // the network namespace the user namespace owns
    joins.push_back(std::move(received[0]));  // the user namespace
    joins.push_back(std::move(received[2]));  // the uts namespace of the nested one
    joins.push_back(std::move(outer_net));
    std::vector<int> fds;
    for (const auto& j : joins) fds.push_back(j.fd.get());
    HULL_CHILD_CHECK(OrderJoins(joins).has_value());
    HULL_CHILD_CHECK(joins.size() == 4);
    HULL_CHILD_CHECK(joins[0].fd.get() == fds[3]);  // ours
    HULL_CHILD_CHECK(joins[1].fd.get() == fds[1]);  // the user namespace
    HULL_CHILD_CHECK(joins[2].fd.get() == fds[0]);  // what it owns, in the order given
    HULL_CHILD_CHECK(joins[3].fd.get() == fds[2]);
  });
  EXPECT_TRUE(result.ExitedCleanly()) << result.Describe();
}

TEST(NamespacesTest, OrderJoinsKeepsTheOrderWithoutAUserNamespace) {
  std::vector<NamespaceJoin> joins;
  joins.push_back(OpenOwn(CLONE_NEWUTS, "/proc/self/ns/uts"));
  joins.push_back(OpenOwn(CLONE_NEWNET, "/proc/self/ns/net"));
  joins.push_back(OpenOwn(CLONE_NEWIPC, "/proc/self/ns/ipc"));
  ASSERT_TRUE(OrderJoins(joins).has_value());
  ASSERT_EQ(joins.size(), 3u);
  EXPECT_EQ(joins[0].flag, CLONE_NEWUTS);
  EXPECT_EQ(joins[1].flag, CLONE_NEWNET);
  EXPECT_EQ(joins[2].flag, CLONE_NEWIPC);
}

}  // namespace
}  // namespace hull::container
