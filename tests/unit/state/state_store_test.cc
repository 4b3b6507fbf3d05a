// The state store under --root: an id never reaches the file system unless it is a valid
// container id, whichever command passes it.
#include "container/state_store.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

namespace hull::container {
namespace {

namespace fs = std::filesystem;

// A temporary directory holding ROOT (the store) and, beside it, a directory an id with ".."
// would reach: WORK/state and WORK/victim/file.
class StateStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/hull-state-store-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    work_ = pattern;
    fs::create_directories(work_ / "state");
    fs::create_directories(work_ / "victim");
    std::ofstream(work_ / "victim" / "file") << "keep me\n";
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(work_, ignored);
  }
  StateStore Store() const { return StateStore((work_ / "state").string()); }
  bool VictimIntact() const { return fs::exists(work_ / "victim" / "file"); }

  fs::path work_;
};

TEST_F(StateStoreTest, ValidIdRoundTrips) {
  StateStore store = Store();
  ASSERT_TRUE(store.CreateDir("web-1_a+b.c"));
  ContainerRecord record;
  record.id = "web-1_a+b.c";
  record.pid = 42;
  ASSERT_TRUE(store.Save(record));
  auto loaded = store.Load("web-1_a+b.c");
  ASSERT_TRUE(loaded) << loaded.error().ToString();
  EXPECT_EQ(loaded->pid, 42);
  EXPECT_EQ(*store.Dir("web-1_a+b.c"), (work_ / "state" / "web-1_a+b.c").string());
  EXPECT_TRUE(store.Remove("web-1_a+b.c"));
  EXPECT_FALSE(fs::exists(work_ / "state" / "web-1_a+b.c"));
}

TEST_F(StateStoreTest, EscapingIdsAreRefusedByEveryOperation) {
  StateStore store = Store();
  for (std::string id : {"../victim", "..", ".", "a/../../victim", "/tmp", "", "x\ny"}) {
    SCOPED_TRACE("id " + Quote(id));
    auto dir = store.Dir(id);
    ASSERT_FALSE(dir);
    EXPECT_NE(dir.error().ToString().find("container id"), std::string::npos)
        << dir.error().ToString();
    EXPECT_FALSE(store.FifoPath(id));
    EXPECT_FALSE(store.Remove(id));
    EXPECT_FALSE(store.Load(id));
    EXPECT_FALSE(store.LoadConfig(id));
    EXPECT_FALSE(store.SaveConfig(id, "{}"));
    EXPECT_FALSE(store.CreateDir(id));
    ContainerRecord record;
    record.id = id;
    EXPECT_FALSE(store.Save(record));
    EXPECT_FALSE(ContainerLock::Acquire(store, id));
    EXPECT_TRUE(VictimIntact());
  }
  EXPECT_FALSE(fs::exists(work_ / "victim" / "state.json"));
  EXPECT_FALSE(fs::exists(work_ / "victim" / "config.json"));
}

TEST_F(StateStoreTest, RemoveOfDotDotNamesTheId) {
  auto removed = Store().Remove("../victim");
  ASSERT_FALSE(removed);
  EXPECT_EQ(removed.error().ToString(),
            "container id \"../victim\": may contain only letters, digits, '_', '+', '-' and '.'");
  EXPECT_TRUE(VictimIntact());
}

TEST_F(StateStoreTest, ListSkipsEntriesThatAreNoContainerId) {
  StateStore store = Store();
  ASSERT_TRUE(store.CreateDir("good"));
  fs::create_directories(work_ / "state" / "bad name");
  auto ids = store.List();
  ASSERT_TRUE(ids);
  EXPECT_EQ(*ids, std::vector<std::string>{"good"});
}

}  // namespace
}  // namespace hull::container
