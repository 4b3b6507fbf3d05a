#include "base/error.h"

#include <gtest/gtest.h>

namespace hull {
namespace {

Result<int> FailsWithEnoent() { return Fail(ENOENT, "open " + Quote("/run/x/state.json")); }

Result<int> AddsContext() {
  int v = TRY_CTX(FailsWithEnoent(), "load container " + Quote("c1"));
  return v + 1;
}

Result<int> Succeeds() { return 41; }

Result<int> PropagatesValue() { return TRY(Succeeds()) + 1; }

Result<void> VoidOk() { return {}; }
Result<void> UsesVoidTry() {
  TRY(VoidOk());
  return {};
}

TEST(ErrorTest, MessageIncludesContextChainAndErrnoText) {
  auto r = AddsContext();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ENOENT);
  EXPECT_EQ(r.error().ToString(),
            "load container \"c1\": open \"/run/x/state.json\": No such file or directory");
}

TEST(ErrorTest, TryYieldsValueOnSuccess) {
  EXPECT_EQ(*PropagatesValue(), 42);
  EXPECT_TRUE(UsesVoidTry());
}

TEST(ErrorTest, NonSystemErrorHasNoErrnoText) {
  Error e("process.args: must not be empty");
  EXPECT_EQ(e.code(), 0);
  EXPECT_EQ(e.Wrap("config.json").ToString(), "config.json: process.args: must not be empty");
}

TEST(ErrorTest, QuoteEscapesQuotesAndBackslashes) {
  EXPECT_EQ(Quote(R"(a"b\c)"), R"("a\"b\\c")");
}

}  // namespace
}  // namespace hull
