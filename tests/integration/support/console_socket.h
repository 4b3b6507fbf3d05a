// The receiving end of `--console-socket`: a unix stream socket the runtime connects to and
// sends the pseudo-terminal master over with SCM_RIGHTS (as runc documents for its
// --console-socket). The runtime can connect and send before we accept (the listen backlog and
// socket buffer hold both), so tests call Receive() after `create` returns.
#pragma once

#include <chrono>
#include <string>

namespace hull::testing {

class ConsoleSocket {
 public:
  explicit ConsoleSocket(std::string path);
  ~ConsoleSocket();
  ConsoleSocket(const ConsoleSocket&) = delete;
  ConsoleSocket& operator=(const ConsoleSocket&) = delete;

  const std::string& path() const { return path_; }
  bool listening() const { return listen_fd_ >= 0; }
  const std::string& error() const { return error_; }

  // Accepts one connection and returns the received terminal fd (owned by this object, closed on
  // destruction), or -1 with error() set.
  int Receive(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  int master() const { return master_fd_; }

  // Reads from the terminal until `needle` has appeared or the timeout passes; returns what was
  // read.
  std::string ReadUntil(const std::string& needle,
                        std::chrono::milliseconds timeout = std::chrono::seconds(10));
  bool Write(const std::string& data);

 private:
  std::string path_;
  std::string error_;
  int listen_fd_ = -1;
  int master_fd_ = -1;
};

}  // namespace hull::testing
