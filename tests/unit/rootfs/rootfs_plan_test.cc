#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "container/rootfs.h"

namespace hull::container {
namespace {

class RootfsPlanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/hull-rootfs-plan-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    rootfs_ = dir_ + "/rootfs";
    ASSERT_EQ(::mkdir(rootfs_.c_str(), 0755), 0);
    ASSERT_EQ(::mkdir((dir_ + "/volume").c_str(), 0755), 0);
    std::ofstream(dir_ + "/hosts") << "127.0.0.1 localhost\n";
    spec_.root.path = "rootfs";
    spec_.linux.emplace();
  }
  void TearDown() override {
    std::string cmd = "rm -rf '" + dir_ + "'";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
  }

  static oci::Mount MakeMount(std::string destination, std::string type, std::string source,
                              std::vector<std::string> options) {
    oci::Mount m;
    m.destination = std::move(destination);
    m.type = std::move(type);
    m.source = std::move(source);
    m.options = std::move(options);
    return m;
  }

  Result<RootfsPlan> Plan(bool user_namespace = false) {
    return PlanRootfs(spec_, rootfs_, {}, user_namespace, false);
  }

  std::string dir_, rootfs_;
  oci::Spec spec_;
};

TEST_F(RootfsPlanTest, DefaultMountsBecomeSteps) {
  spec_.mounts = {
      MakeMount("/proc", "proc", "proc", {}),
      MakeMount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
      MakeMount("/dev/pts", "devpts", "devpts",
                {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}),
      MakeMount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}),
      MakeMount("/sys/fs/cgroup", "cgroup", "cgroup",
                {"nosuid", "noexec", "nodev", "relatime", "ro"}),
  };
  auto plan = Plan();
  ASSERT_TRUE(plan) << plan.error().ToString();
  EXPECT_EQ(plan->rootfs, rootfs_);
  ASSERT_EQ(plan->mounts.size(), 5u);
  EXPECT_EQ(plan->mounts[0].type, "proc");
  EXPECT_EQ(plan->mounts[0].flags, 0u);
  EXPECT_EQ(plan->mounts[1].flags, static_cast<unsigned long>(MS_NOSUID | MS_STRICTATIME));
  EXPECT_EQ(plan->mounts[1].data, "mode=755,size=65536k");
  EXPECT_EQ(plan->mounts[2].data, "newinstance,ptmxmode=0666,mode=0620,gid=5");
  EXPECT_EQ(plan->mounts[3].flags,
            static_cast<unsigned long>(MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY));
  EXPECT_FALSE(plan->mounts[3].cgroup);
  EXPECT_TRUE(plan->mounts[4].cgroup);
  EXPECT_TRUE(plan->dev_is_tmpfs);
  EXPECT_TRUE(plan->setup_dev);
  EXPECT_EQ(plan->root_propagation, static_cast<unsigned long>(MS_SLAVE | MS_REC));
  EXPECT_EQ(plan->rootfs_propagation, 0u);
  EXPECT_EQ(plan->console_pty, "");
}

TEST_F(RootfsPlanTest, BindMounts) {
  spec_.mounts = {
      MakeMount("/data", "bind", dir_ + "/volume", {"rbind", "ro", "rprivate"}),
      MakeMount("/etc/hosts", "", dir_ + "/hosts", {"bind"}),
      MakeMount("/plain", "bind", dir_ + "/volume", {}),
  };
  auto plan = Plan();
  ASSERT_TRUE(plan) << plan.error().ToString();
  const MountStep& data = plan->mounts[0];
  EXPECT_EQ(data.type, "bind");
  EXPECT_TRUE(data.recursive_bind);
  EXPECT_TRUE(data.readonly_remount);
  EXPECT_TRUE(data.source_is_dir);
  EXPECT_EQ(data.flags, static_cast<unsigned long>(MS_RDONLY));
  EXPECT_EQ(data.propagation, static_cast<unsigned long>(MS_PRIVATE | MS_REC));
  const MountStep& hosts = plan->mounts[1];
  EXPECT_EQ(hosts.type, "bind");
  EXPECT_FALSE(hosts.recursive_bind);
  EXPECT_FALSE(hosts.readonly_remount);
  EXPECT_FALSE(hosts.source_is_dir);
  EXPECT_EQ(plan->mounts[2].type, "bind");
  EXPECT_FALSE(plan->mounts[2].recursive_bind);
}

TEST_F(RootfsPlanTest, RelativeBindSourceIsTakenFromTheCurrentDirectory) {
  char cwd[4096];
  ASSERT_NE(::getcwd(cwd, sizeof cwd), nullptr);
  ASSERT_EQ(::chdir(dir_.c_str()), 0);
  spec_.mounts = {MakeMount("/data", "bind", "volume", {"rbind"})};
  auto plan = PlanRootfs(spec_, "rootfs", {}, false, false);
  ASSERT_EQ(::chdir(cwd), 0);
  ASSERT_TRUE(plan) << plan.error().ToString();
  EXPECT_EQ(plan->rootfs, rootfs_);
  EXPECT_EQ(plan->mounts[0].source, dir_ + "/volume");
}

TEST_F(RootfsPlanTest, MissingBindSourceNamesTheField) {
  spec_.mounts = {MakeMount("/proc", "proc", "proc", {}),
                  MakeMount("/data", "bind", dir_ + "/missing", {"rbind"})};
  auto plan = Plan();
  ASSERT_FALSE(plan);
  EXPECT_NE(plan.error().ToString().find("mounts[1].source"), std::string::npos)
      << plan.error().ToString();
  EXPECT_EQ(plan.error().code(), ENOENT);
}

TEST_F(RootfsPlanTest, RootfsMustBeAnExistingDirectory) {
  auto plan = PlanRootfs(spec_, dir_ + "/nope", {}, false, false);
  ASSERT_FALSE(plan);
  EXPECT_NE(plan.error().ToString().find("root.path"), std::string::npos);
  plan = PlanRootfs(spec_, dir_ + "/hosts", {}, false, false);
  ASSERT_FALSE(plan);
  EXPECT_NE(plan.error().ToString().find("root.path"), std::string::npos);
  EXPECT_NE(plan.error().ToString().find("not a directory"), std::string::npos);
}

TEST_F(RootfsPlanTest, BadMountsNameTheField) {
  struct Case {
    oci::Mount mount;
    const char* field;
  } cases[] = {
      {MakeMount("/", "tmpfs", "tmpfs", {}), "mounts[0].destination"},
      {MakeMount("//./", "tmpfs", "tmpfs", {}), "mounts[0].destination"},
      {MakeMount("", "tmpfs", "tmpfs", {}), "mounts[0].destination"},
      {MakeMount("/x", "tmpfs", "tmpfs", {"tmpcopyup"}), "mounts[0].options"},
      {MakeMount("/x", "bind", dir_ + "/volume", {"rbind", "idmap"}), "mounts[0].options"},
      {MakeMount("/x", "", "tmpfs", {}), "mounts[0].type"},
  };
  for (const Case& c : cases) {
    spec_.mounts = {c.mount};
    auto plan = Plan();
    ASSERT_FALSE(plan) << c.field;
    EXPECT_NE(plan.error().ToString().find(c.field), std::string::npos) << plan.error().ToString();
  }
  oci::Mount idmapped = MakeMount("/x", "bind", dir_ + "/volume", {"rbind"});
  idmapped.uid_mappings = {{0, 1000, 1}};
  spec_.mounts = {idmapped};
  auto plan = Plan();
  ASSERT_FALSE(plan);
  EXPECT_NE(plan.error().ToString().find("not supported yet"), std::string::npos);
}

TEST_F(RootfsPlanTest, DestinationsAreCleaned) {
  spec_.mounts = {MakeMount("tmp//x/./", "tmpfs", "tmpfs", {})};
  spec_.linux->masked_paths = {"/proc//kcore/"};
  spec_.linux->readonly_paths = {"proc/sys"};
  auto plan = Plan();
  ASSERT_TRUE(plan) << plan.error().ToString();
  EXPECT_EQ(plan->mounts[0].destination, "/tmp/x");
  EXPECT_EQ(plan->masked_paths, std::vector<std::string>{"/proc/kcore"});
  EXPECT_EQ(plan->readonly_paths, std::vector<std::string>{"/proc/sys"});
}

TEST_F(RootfsPlanTest, DefaultDevicesAndSymlinks) {
  auto plan = Plan();
  ASSERT_TRUE(plan) << plan.error().ToString();
  EXPECT_FALSE(plan->bind_devices);
  EXPECT_FALSE(plan->dev_is_tmpfs);
  EXPECT_TRUE(plan->setup_dev);
  const struct {
    const char* path;
    unsigned major, minor;
  } expected[] = {{"/dev/null", 1, 3},   {"/dev/zero", 1, 5},    {"/dev/full", 1, 7},
                  {"/dev/random", 1, 8}, {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0}};
  ASSERT_EQ(plan->devices.size(), 6u);
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(plan->devices[i].path, expected[i].path);
    EXPECT_EQ(plan->devices[i].mode, static_cast<mode_t>(S_IFCHR | 0666));
    EXPECT_EQ(major(plan->devices[i].dev), expected[i].major);
    EXPECT_EQ(minor(plan->devices[i].dev), expected[i].minor);
    EXPECT_EQ(plan->devices[i].uid, 0u);
  }
  std::vector<std::string> links;
  for (const SymlinkStep& link : plan->symlinks) links.push_back(link.path + "->" + link.target);
  std::vector<std::string> want = {"/dev/fd->/proc/self/fd", "/dev/stdin->/proc/self/fd/0",
                                   "/dev/stdout->/proc/self/fd/1", "/dev/stderr->/proc/self/fd/2"};
  if (::access("/proc/kcore", F_OK) == 0) want.push_back("/dev/core->/proc/kcore");
  want.push_back("/dev/ptmx->pts/ptmx");
  EXPECT_EQ(links, want);
  EXPECT_TRUE(plan->symlinks.back().replace);
}

TEST_F(RootfsPlanTest, SpecDevices) {
  oci::Device fuse{"c", "/dev/fuse", 10, 229, 0600, 1000, 1001};
  oci::Device loop{"b", "/dev/loop7", 7, 7, std::nullopt, std::nullopt, std::nullopt};
  oci::Device fifo{"p", "/dev/myfifo", 0, 0, 0640, std::nullopt, std::nullopt};
  oci::Device null_override{"c", "/dev/null", 1, 3, 0600, std::nullopt, std::nullopt};
  spec_.linux->devices = {fuse, loop, fifo, null_override};
  auto plan = Plan(/*user_namespace=*/true);
  ASSERT_TRUE(plan) << plan.error().ToString();
  EXPECT_TRUE(plan->bind_devices);
  ASSERT_EQ(plan->devices.size(), 5u + 4u);  // /dev/null comes from the spec only
  EXPECT_EQ(plan->devices[0].path, "/dev/zero");
  const DeviceStep& f = plan->devices[5];
  EXPECT_EQ(f.path, "/dev/fuse");
  EXPECT_EQ(f.mode, static_cast<mode_t>(S_IFCHR | 0600));
  EXPECT_EQ(f.dev, makedev(10, 229));
  EXPECT_EQ(f.uid, 1000u);
  EXPECT_EQ(f.gid, 1001u);
  EXPECT_EQ(plan->devices[6].mode, static_cast<mode_t>(S_IFBLK | 0666));
  EXPECT_EQ(plan->devices[7].mode, static_cast<mode_t>(S_IFIFO | 0640));
  EXPECT_EQ(plan->devices[8].mode, static_cast<mode_t>(S_IFCHR | 0600));
}

TEST_F(RootfsPlanTest, BadDevicesNameTheField) {
  const struct {
    oci::Device device;
    const char* field;
  } cases[] = {
      {{"x", "/dev/a", 1, 1, {}, {}, {}}, "linux.devices[0].type"},
      {{"c", "dev/a", 1, 1, {}, {}, {}}, "linux.devices[0].path"},
      {{"c", "/dev/a", -1, 1, {}, {}, {}}, "linux.devices[0].major"},
      {{"c", "/dev/a", 1, 1 << 21, {}, {}, {}}, "linux.devices[0].minor"},
  };
  for (const auto& c : cases) {
    spec_.linux->devices = {c.device};
    auto plan = Plan();
    ASSERT_FALSE(plan) << c.field;
    EXPECT_NE(plan.error().ToString().find(c.field), std::string::npos) << plan.error().ToString();
  }
}

TEST_F(RootfsPlanTest, BindMountedDevSkipsDeviceSetup) {
  spec_.mounts = {MakeMount("/dev", "bind", "/dev", {"rbind"})};
  auto plan = Plan();
  ASSERT_TRUE(plan) << plan.error().ToString();
  EXPECT_FALSE(plan->setup_dev);
  EXPECT_FALSE(plan->dev_is_tmpfs);
  EXPECT_TRUE(plan->devices.empty());
  EXPECT_TRUE(plan->symlinks.empty());
}

TEST_F(RootfsPlanTest, RootfsPropagation) {
  const struct {
    const char* value;
    unsigned long first, last;
  } cases[] = {
      {"rslave", MS_SLAVE | MS_REC, MS_SLAVE | MS_REC},
      {"shared", MS_SLAVE | MS_REC, MS_SHARED},
      {"rshared", MS_SLAVE | MS_REC, MS_SHARED | MS_REC},
      {"private", MS_PRIVATE | MS_REC, MS_PRIVATE},
      {"rprivate", MS_PRIVATE | MS_REC, MS_PRIVATE | MS_REC},
      {"unbindable", MS_SLAVE | MS_REC, MS_UNBINDABLE},
  };
  for (const auto& c : cases) {
    spec_.linux->rootfs_propagation = c.value;
    auto plan = Plan();
    ASSERT_TRUE(plan) << c.value;
    EXPECT_EQ(plan->root_propagation, c.first) << c.value;
    EXPECT_EQ(plan->rootfs_propagation, c.last) << c.value;
  }
  spec_.linux->rootfs_propagation = "sideways";
  auto plan = Plan();
  ASSERT_FALSE(plan);
  EXPECT_NE(plan.error().ToString().find("linux.rootfsPropagation"), std::string::npos);
}

TEST_F(RootfsPlanTest, CarriesFlagsAndCgroups) {
  spec_.root.readonly = true;
  std::vector<CgroupMountPoint> cgroups = {{"memory", "/sys/fs/cgroup/memory/x", false}};
  auto plan = PlanRootfs(spec_, rootfs_, cgroups, false, true);
  ASSERT_TRUE(plan) << plan.error().ToString();
  EXPECT_TRUE(plan->readonly_root);
  EXPECT_TRUE(plan->no_pivot);
  ASSERT_EQ(plan->cgroup_mounts.size(), 1u);
  EXPECT_EQ(plan->cgroup_mounts[0].name, "memory");
}

}  // namespace
}  // namespace hull::container
