#include "linux/signals.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <cstring>
#include <string>

namespace hull::linux {
namespace {

int Parsed(std::string_view text) {
  auto signal = ParseSignal(text);
  return signal ? *signal : -1;
}

TEST(SignalsTest, NamesWithAndWithoutPrefixAndNumbers) {
  EXPECT_EQ(Parsed("KILL"), SIGKILL);
  EXPECT_EQ(Parsed("SIGKILL"), SIGKILL);
  EXPECT_EQ(Parsed("9"), SIGKILL);
  EXPECT_EQ(Parsed("WINCH"), SIGWINCH);
}

// runc upper-cases what it is given: `kill ID term` is SIGTERM.
TEST(SignalsTest, NamesAreCaseInsensitive) {
  EXPECT_EQ(Parsed("term"), SIGTERM);
  EXPECT_EQ(Parsed("sigterm"), SIGTERM);
  EXPECT_EQ(Parsed("SigKill"), SIGKILL);
  EXPECT_EQ(Parsed("usr1"), SIGUSR1);
  EXPECT_EQ(Parsed("rtmin+2"), SIGRTMIN + 2);
  EXPECT_EQ(Parsed("sigrtmax-1"), SIGRTMAX - 1);
}

TEST(SignalsTest, RealtimeOffsets) {
  EXPECT_EQ(Parsed("RTMIN"), SIGRTMIN);
  EXPECT_EQ(Parsed("SIGRTMIN+3"), SIGRTMIN + 3);
  EXPECT_EQ(Parsed("RTMAX"), SIGRTMAX);
  EXPECT_EQ(Parsed("RTMAX-2"), SIGRTMAX - 2);
  EXPECT_EQ(Parsed("RTMIN-1"), -1);
  EXPECT_EQ(Parsed("RTMIN+99"), -1);
}

TEST(SignalsTest, UnknownIsAnErrorNamingTheInput) {
  for (std::string_view bad : {"", "NOPE", "signope", "0", "-1", "99999", "SIG", "9x"}) {
    auto signal = ParseSignal(bad);
    ASSERT_FALSE(signal) << bad;
    EXPECT_EQ(signal.error().ToString(), "unknown signal \"" + std::string(bad) + "\": " +
                                             std::strerror(EINVAL));
  }
}

}  // namespace
}  // namespace hull::linux
