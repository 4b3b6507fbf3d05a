#include "base/log.h"

#include "base/time.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>

namespace hull::log {
namespace {

Options g_options;
int g_file_fd = -1;

const char* LevelName(Level level) {
  switch (level) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarning: return "warning";
    case Level::kError: return "error";
  }
  return "unknown";
}

std::string JsonEscape(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

void WriteAll(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::write(fd, s.data() + off, s.size() - off);
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

}  // namespace

void Configure(const Options& options) {
  g_options = options;
  if (g_file_fd >= 0) ::close(g_file_fd);
  g_file_fd = -1;
  if (!options.path.empty())
    g_file_fd = ::open(options.path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
}

void Write(Level level, std::string_view message) {
  if (level < g_options.min_level) return;
  std::string line;
  if (g_options.format == Format::kJson) {
    line = "{\"level\":\"" + std::string(LevelName(level)) + "\",\"msg\":\"" +
           JsonEscape(message) + "\",\"time\":\"" + NowRfc3339() + "\"}\n";
  } else {
    line = NowRfc3339() + " " + LevelName(level) + ": " + std::string(message) + "\n";
  }
  if (g_file_fd >= 0) WriteAll(g_file_fd, line);
  // Errors always reach stderr too, in plain text, so a user at a terminal sees them.
  if (g_file_fd < 0 || level == Level::kError)
    WriteAll(STDERR_FILENO, g_options.program + ": " + std::string(message) + "\n");
}

}  // namespace hull::log
