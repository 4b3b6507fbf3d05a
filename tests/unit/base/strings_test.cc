#include "base/strings.h"

#include <gtest/gtest.h>

namespace hull {
namespace {

TEST(StringsTest, SplitKeepsEmptyFields) {
  EXPECT_EQ(Split("a::b", ':'), (std::vector<std::string>{"a", "", "b"}));
  EXPECT_EQ(Split("", ':'), (std::vector<std::string>{""}));
}

TEST(StringsTest, JoinIsSplitsInverse) { EXPECT_EQ(Join(Split("x,y,z", ','), ","), "x,y,z"); }

TEST(StringsTest, TrimRemovesWhitespaceAtBothEnds) { EXPECT_EQ(Trim(" \tab c\n"), "ab c"); }

TEST(StringsTest, ParseIntRejectsJunkAndOverflow) {
  EXPECT_EQ(ParseInt("-12"), -12);
  EXPECT_FALSE(ParseInt("12x"));
  EXPECT_FALSE(ParseInt(""));
  EXPECT_FALSE(ParseInt("99999999999999999999"));
  EXPECT_EQ(ParseUint("18446744073709551615"), UINT64_MAX);
  EXPECT_FALSE(ParseUint("-1"));
}

}  // namespace
}  // namespace hull
