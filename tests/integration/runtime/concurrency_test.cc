// Many containers at once: 100 created, started, listed and deleted concurrently, then nothing
// may be left (cgroups, mounts, processes, state, and the test process's own fds).
#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

#include "support/leaks.h"
#include "support/runtime_test.h"

namespace hull::testing {
namespace {

using nlohmann::json;

class ConcurrencyTest : public RuntimeTest {};

constexpr int kContainers = 100;
constexpr int kWorkers = 8;

template <typename Work>
void ForAllInParallel(int count, Work work) {
  std::atomic<int> next{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < kWorkers; ++w)
    workers.emplace_back([&] {
      for (int i = next++; i < count; i = next++) work(i);
    });
  for (auto& worker : workers) worker.join();
}

TEST_F(ConcurrencyTest, HundredContainersInParallel) {
  const std::vector<std::string> fds_before = OpenFds();
  ASSERT_FALSE(SharedRootfs().empty());
  std::vector<std::string> ids;
  std::vector<Bundle*> bundles;
  for (int i = 0; i < kContainers; ++i) {
    ids.push_back(NewId("many"));
    Bundle& bundle = NewBundle(ids.back(), /*shared_rootfs=*/true);
    bundle.ReadonlyRoot(true).Args({"sleep", "1000"});
    ASSERT_TRUE(bundle.Write());
    bundles.push_back(&bundle);
  }

  std::vector<CommandResult> results(kContainers);
  ForAllInParallel(kContainers, [&](int i) {
    results[i] = Rt({"create", "--bundle", bundles[i]->path(), ids[i]});
    if (results[i].ok()) results[i] = Rt({"start", ids[i]});
  });
  int failures = 0;
  for (const auto& result : results)
    if (!result.ok() && failures++ < 3) ADD_FAILURE() << result.Describe();
  ASSERT_EQ(failures, 0) << failures << " of " << kContainers << " create+start failed";

  CommandResult list = Rt({"list", "--format", "json"});
  ASSERT_TRUE(list.ok()) << list.Describe();
  json listed = json::parse(list.out, nullptr, false);
  ASSERT_TRUE(listed.is_array()) << list.Describe();
  EXPECT_EQ(listed.size(), static_cast<size_t>(kContainers));
  int running = 0;
  for (const auto& entry : listed)
    if (entry["status"] == "running") ++running;
  EXPECT_EQ(running, kContainers);

  // Half are stopped by kill and deleted, half force-deleted while running.
  ForAllInParallel(kContainers, [&](int i) {
    if (i % 2 == 0) {
      Rt({"kill", ids[i], "KILL"});
      for (int tries = 0; tries < 200; ++tries) {
        results[i] = Rt({"delete", ids[i]});
        if (results[i].ok()) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    } else {
      results[i] = Rt({"delete", "--force", ids[i]});
    }
  });
  failures = 0;
  for (const auto& result : results)
    if (!result.ok() && failures++ < 3) ADD_FAILURE() << result.Describe();
  EXPECT_EQ(failures, 0) << failures << " of " << kContainers << " deletes failed";

  CommandResult after = Rt({"list", "-q"});
  EXPECT_TRUE(after.ok()) << after.Describe();
  EXPECT_EQ(Trim(after.out), "");

  std::vector<std::string> leaks;
  for (const auto& id : ids) {
    auto found = LeaksOf(id);
    leaks.insert(leaks.end(), found.begin(), found.end());
  }
  EXPECT_TRUE(leaks.empty()) << JoinLines(leaks);
  EXPECT_EQ(OpenFds(), fds_before) << "the test process gained or lost descriptors";
}

}  // namespace
}  // namespace hull::testing
