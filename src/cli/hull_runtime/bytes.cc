#include <cctype>

#include "base/strings.h"
#include "cli/hull_runtime/commands.h"

namespace hull::cli {

Result<int64_t> ParseBytes(std::string_view text, std::string_view flag) {
  auto bad = [&] {
    return Fail(EINVAL, std::string(flag) + ": invalid size " + Quote(text) +
                            " (a number of bytes, optionally with k, m, g or t)");
  };
  if (text == "-1") return -1;
  std::string lower;
  for (char c : text) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string_view s = lower;
  for (std::string_view suffix : {"ib", "b"}) {
    if (s.size() > suffix.size() && s.substr(s.size() - suffix.size()) == suffix) {
      s.remove_suffix(suffix.size());
      break;
    }
  }
  int64_t multiplier = 1;
  if (!s.empty()) {
    switch (s.back()) {
      case 'k': multiplier = 1LL << 10; break;
      case 'm': multiplier = 1LL << 20; break;
      case 'g': multiplier = 1LL << 30; break;
      case 't': multiplier = 1LL << 40; break;
      default: break;
    }
    if (multiplier != 1) s.remove_suffix(1);
  }
  auto n = ParseInt(s);
  if (!n || *n < 0 || *n > INT64_MAX / multiplier) return bad();
  return *n * multiplier;
}

}  // namespace hull::cli
