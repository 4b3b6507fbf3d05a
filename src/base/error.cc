#include "base/error.h"

#include <cstring>

namespace hull {

Error& Error::Wrap(std::string context) & {
  contexts_.push_back(std::move(context));
  return *this;
}

Error&& Error::Wrap(std::string context) && {
  contexts_.push_back(std::move(context));
  return std::move(*this);
}

std::string Error::ToString() const {
  std::string out;
  for (auto it = contexts_.rbegin(); it != contexts_.rend(); ++it) {
    out += *it;
    out += ": ";
  }
  out += what_;
  if (errno_ != 0) {
    if (!what_.empty()) out += ": ";
    out += std::strerror(errno_);
  }
  return out;
}

std::string Quote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

}  // namespace hull
