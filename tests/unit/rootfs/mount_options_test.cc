#include "container/mount_options.h"

#include <gtest/gtest.h>
#include <sys/mount.h>

#include <string>
#include <vector>

namespace hull::container {
namespace {

// Each pair: the option that sets a flag and the one that clears it again.
struct FlagPair {
  const char* set;
  const char* clear;
  unsigned long flag;
};

TEST(MountOptions, EveryFlagOption) {
  const FlagPair pairs[] = {
      {"ro", "rw", MS_RDONLY},
      {"nosuid", "suid", MS_NOSUID},
      {"nodev", "dev", MS_NODEV},
      {"noexec", "exec", MS_NOEXEC},
      {"sync", "async", MS_SYNCHRONOUS},
      {"mand", "nomand", MS_MANDLOCK},
      {"noatime", "atime", MS_NOATIME},
      {"nodiratime", "diratime", MS_NODIRATIME},
      {"relatime", "norelatime", MS_RELATIME},
      {"strictatime", "nostrictatime", MS_STRICTATIME},
      {"dirsync", nullptr, MS_DIRSYNC},
      {"remount", nullptr, MS_REMOUNT},
  };
  for (const FlagPair& pair : pairs) {
    SCOPED_TRACE(pair.set);
    auto set = ParseMountOptions({pair.set}, "mounts[0].options");
    ASSERT_TRUE(set) << set.error().ToString();
    EXPECT_EQ(set->flags, pair.flag);
    EXPECT_EQ(set->data, "");
    EXPECT_FALSE(set->bind);
    EXPECT_EQ(set->propagation, 0u);
    if (!pair.clear) continue;
    auto cleared = ParseMountOptions({"nosuid", pair.set, pair.clear}, "mounts[0].options");
    ASSERT_TRUE(cleared) << cleared.error().ToString();
    unsigned long expected = pair.flag == MS_NOSUID ? 0 : MS_NOSUID;
    EXPECT_EQ(cleared->flags, expected);
    EXPECT_EQ(cleared->data, "");
  }
}

TEST(MountOptions, LaterOptionWins) {
  auto r = ParseMountOptions({"ro", "rw", "nosuid"}, "f");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->flags, static_cast<unsigned long>(MS_NOSUID));
  r = ParseMountOptions({"noatime", "relatime"}, "f");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->flags, static_cast<unsigned long>(MS_RELATIME));
}

TEST(MountOptions, BindAndRbind) {
  auto r = ParseMountOptions({"bind", "ro"}, "f");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->bind);
  EXPECT_FALSE(r->recursive);
  EXPECT_EQ(r->flags, static_cast<unsigned long>(MS_RDONLY));
  r = ParseMountOptions({"rbind"}, "f");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->bind);
  EXPECT_TRUE(r->recursive);
  EXPECT_EQ(r->flags, 0u);
}

TEST(MountOptions, Propagation) {
  const std::pair<const char*, unsigned long> cases[] = {
      {"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
      {"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
      {"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
      {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
  };
  for (const auto& [name, flags] : cases) {
    auto r = ParseMountOptions({"rbind", name}, "f");
    ASSERT_TRUE(r) << name;
    EXPECT_EQ(r->propagation, flags) << name;
    EXPECT_EQ(r->flags, 0u) << name;
    EXPECT_EQ(ParsePropagation(name), flags);
  }
  EXPECT_EQ(ParsePropagation("sideways"), 0u);
}

TEST(MountOptions, FilesystemOptionsGoToData) {
  auto r = ParseMountOptions(
      {"nosuid", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5", "noexec"}, "f");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->flags, static_cast<unsigned long>(MS_NOSUID | MS_NOEXEC));
  EXPECT_EQ(r->data, "newinstance,ptmxmode=0666,mode=0620,gid=5");
  r = ParseMountOptions({"mode=755", "size=65536k"}, "f");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->data, "mode=755,size=65536k");
}

TEST(MountOptions, UnsupportedOptionsNameTheField) {
  for (const char* option : {"tmpcopyup", "idmap", "ridmap"}) {
    auto r = ParseMountOptions({"ro", option}, "mounts[4].options");
    ASSERT_FALSE(r) << option;
    std::string message = r.error().ToString();
    EXPECT_NE(message.find("mounts[4].options"), std::string::npos) << message;
    EXPECT_NE(message.find(option), std::string::npos) << message;
    EXPECT_NE(message.find("not supported yet"), std::string::npos) << message;
  }
}

}  // namespace
}  // namespace hull::container
