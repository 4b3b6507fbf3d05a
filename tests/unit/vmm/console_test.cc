// The console's output side: guest output never blocks on a reader that does not read, waits in
// a bounded buffer (oldest bytes dropped and counted) and reaches the reader in order once it
// reads again. Driven through a pipe named as the console file (/proc/self/fd/N).
#include "vmm/console.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <string>
#include <vector>

namespace hull::vmm {
namespace {

class VmmConsoleOutput : public ::testing::Test {
 protected:
  void SetUp() override {
    ::signal(SIGPIPE, SIG_IGN);  // as hull-vmm does: a reader that goes away is an error, not death
    int fds[2];
    ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    read_end_.reset(fds[0]);
    write_end_.reset(fds[1]);
    ASSERT_GT(::fcntl(fds[0], F_SETPIPE_SZ, 4096), 0);
    auto console =
        Console::Open({ConsoleConfig::Kind::kFile, "/proc/self/fd/" + std::to_string(fds[1])});
    ASSERT_TRUE(console) << console.error().ToString();
    console_ = std::move(*console);
  }

  // Everything the pipe holds now.
  std::string ReadPipe() {
    std::string out;
    char buffer[4096];
    pollfd p{read_end_.get(), POLLIN, 0};
    while (::poll(&p, 1, 0) == 1 && (p.revents & POLLIN)) {
      ssize_t n = ::read(read_end_.get(), buffer, sizeof(buffer));
      if (n <= 0) break;
      out.append(buffer, static_cast<size_t>(n));
    }
    return out;
  }

  // The console's output fd while it has output waiting (what the event loop polls for POLLOUT).
  int OutputFd() {
    for (const pollfd& p : console_->PollFds())
      if (p.events & POLLOUT) return p.fd;
    return -1;
  }

  linux::UniqueFd read_end_, write_end_;
  std::unique_ptr<Console> console_;
};

std::string Pattern(size_t size) {
  std::string text(size, 0);
  for (size_t i = 0; i < size; ++i) text[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
  return text;
}

TEST_F(VmmConsoleOutput, AReaderThatDoesNotReadNeverBlocksTheWriter) {
  const size_t total = Console::kOutputBufferBytes * 3;
  std::string stream = Pattern(total);
  // Guest output arrives in small pieces, as the UART produces it.
  auto writer = std::async(std::launch::async, [&] {
    for (size_t at = 0; at < total; at += 100)
      console_->Write({reinterpret_cast<const uint8_t*>(stream.data()) + at,
                       std::min<size_t>(100, total - at)});
  });
  if (writer.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
    ADD_FAILURE() << "Write() blocked on the full pipe";
    while (writer.wait_for(std::chrono::milliseconds(10)) != std::future_status::ready) ReadPipe();
    return;
  }
  std::string in_pipe = ReadPipe();
  EXPECT_EQ(in_pipe, stream.substr(0, in_pipe.size())) << "what the pipe took first, in order";
  EXPECT_EQ(console_->buffered_bytes(), Console::kOutputBufferBytes) << "the buffer is bounded";
  EXPECT_EQ(in_pipe.size() + console_->buffered_bytes() + console_->dropped_bytes(), total)
      << "every byte is delivered, buffered or counted as dropped";

  // The reader reads again: the event loop hands over the newest bytes, in order.
  std::string drained;
  for (int i = 0; i < 1000 && console_->buffered_bytes() > 0; ++i) {
    int fd = OutputFd();
    ASSERT_GE(fd, 0) << "buffered output is polled for POLLOUT";
    EXPECT_TRUE(console_->HandleReady(fd, POLLOUT).empty());
    drained += ReadPipe();
  }
  EXPECT_EQ(console_->buffered_bytes(), 0u);
  EXPECT_EQ(OutputFd(), -1) << "nothing waits: no POLLOUT";
  EXPECT_EQ(drained, stream.substr(total - Console::kOutputBufferBytes))
      << "the oldest bytes were dropped, the latest kept";

  // With room in the pipe, output goes straight through again.
  console_->Write({reinterpret_cast<const uint8_t*>("ok\n"), 3});
  EXPECT_EQ(ReadPipe(), "ok\n");
}

TEST_F(VmmConsoleOutput, AReaderThatWentAwayCostsOnlyTheOutput) {
  read_end_.reset();
  std::string text = Pattern(10000);
  console_->Write({reinterpret_cast<const uint8_t*>(text.data()), text.size()});
  console_->Write({reinterpret_cast<const uint8_t*>(text.data()), text.size()});
  EXPECT_EQ(console_->dropped_bytes(), 20000u);
  EXPECT_EQ(console_->buffered_bytes(), 0u);
  EXPECT_EQ(OutputFd(), -1);
}

TEST_F(VmmConsoleOutput, DestroyingTheConsoleDoesNotWaitForTheReader) {
  std::string text = Pattern(Console::kOutputBufferBytes);
  console_->Write({reinterpret_cast<const uint8_t*>(text.data()), text.size()});
  ASSERT_GT(console_->buffered_bytes(), 0u);
  auto start = std::chrono::steady_clock::now();
  console_.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - start,
            Console::kFinalFlush + std::chrono::milliseconds(400));
}

}  // namespace
}  // namespace hull::vmm
