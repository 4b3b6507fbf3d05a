// Logging for the runtime and tools. Not for use between clone() and execve().
//
// runc's clients (containerd's go-runc, conmon) pass --log FILE --log-format json and read the
// last "error" entry from that file when a command fails, so the JSON shape matches runc's:
// {"level":"error","msg":"...","time":"2006-01-02T15:04:05Z"}.
#pragma once

#include <string>
#include <string_view>

namespace hull::log {

enum class Level { kDebug, kInfo, kWarning, kError };
enum class Format { kText, kJson };

struct Options {
  std::string program = "hull";  // prefix of messages on stderr
  std::string path;                // empty: stderr only
  Format format = Format::kText;
  Level min_level = Level::kWarning;
};

// Configures the process-wide logger. Not thread-safe; call once from main().
void Configure(const Options& options);
void Write(Level level, std::string_view message);

inline void Debug(std::string_view m) { Write(Level::kDebug, m); }
inline void Info(std::string_view m) { Write(Level::kInfo, m); }
inline void Warning(std::string_view m) { Write(Level::kWarning, m); }
inline void Error(std::string_view m) { Write(Level::kError, m); }

}  // namespace hull::log
