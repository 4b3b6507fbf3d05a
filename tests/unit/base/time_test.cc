#include "base/time.h"

#include <gtest/gtest.h>

namespace hull {
namespace {

using namespace std::chrono_literals;

std::chrono::nanoseconds Parsed(std::string_view text) {
  auto duration = ParseGoDuration(text);
  EXPECT_TRUE(duration) << text << ": " << duration.error().ToString();
  return duration ? *duration : std::chrono::nanoseconds(-1);
}

// What runc's --interval (a Go time.Duration flag) accepts.
TEST(GoDurationTest, UnitsFractionsAndSequences) {
  EXPECT_EQ(Parsed("5s"), 5s);
  EXPECT_EQ(Parsed("1m"), 1min);
  EXPECT_EQ(Parsed("2h"), 2h);
  EXPECT_EQ(Parsed("500ms"), 500ms);
  EXPECT_EQ(Parsed("1.5s"), 1500ms);
  EXPECT_EQ(Parsed(".5s"), 500ms);
  EXPECT_EQ(Parsed("1.s"), 1s);
  EXPECT_EQ(Parsed("1h30m"), 90min);
  EXPECT_EQ(Parsed("1m0.25s"), 60250ms);
  EXPECT_EQ(Parsed("250us"), 250us);
  EXPECT_EQ(Parsed("250\u00b5s"), 250us);
  EXPECT_EQ(Parsed("250\u03bcs"), 250us);
  EXPECT_EQ(Parsed("7ns"), 7ns);
  EXPECT_EQ(Parsed("0"), 0s);
  EXPECT_EQ(Parsed("+3s"), 3s);
  EXPECT_EQ(Parsed("-3s"), -3s);
  EXPECT_EQ(Parsed("0.000000001s"), 1ns);
  EXPECT_EQ(Parsed("2562047h"), std::chrono::hours(2562047));
}

TEST(GoDurationTest, GarbageIsRefusedWithTheReason) {
  struct Case {
    std::string_view text, why;
  };
  for (const Case& c : {
           Case{"", "no number"},
           Case{"-", "no number"},
           Case{"5", "missing unit"},
           Case{"1.5", "missing unit"},
           Case{"1s2", "missing unit"},
           Case{"s", "expected a number at \"s\""},
           Case{".s", "expected a number at \".s\""},
           Case{"abc", "expected a number at \"abc\""},
           Case{"1s-2s", "unknown unit \"s-\""},
           Case{"5 s", "unknown unit \" s\""},
           Case{"5sec", "unknown unit \"sec\""},
           Case{"3d", "unknown unit \"d\""},
           Case{"9999999999999999999h", "too large"},
           Case{"2562048h", "too large"},
       }) {
    auto duration = ParseGoDuration(c.text);
    ASSERT_FALSE(duration) << c.text;
    EXPECT_EQ(duration.error().ToString(),
              "invalid duration \"" + std::string(c.text) + "\": " + std::string(c.why) +
                  " (Go duration syntax: 5s, 1.5s, 500ms, 1m30s, 2h)")
        << c.text;
  }
}

}  // namespace
}  // namespace hull
