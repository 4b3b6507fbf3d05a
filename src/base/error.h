// Result/Error: the project's error model.
//
// An Error carries an errno value (0 when the failure is not a system error) and a chain of
// context strings, outermost first: `create container "c1": open "/run/x/state.json": No such
// file or directory`. Add context as the error travels up with Wrap() or TRY_CTX().
#pragma once

#include <cerrno>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <tl/expected.hpp>

namespace hull {

class Error {
 public:
  Error() = default;
  // A failure that is not a system error.
  explicit Error(std::string message) : what_{std::move(message)} {}
  // A system error with the given errno value.
  Error(int errno_value, std::string message) : errno_{errno_value}, what_{std::move(message)} {}

  // Builds an Error from the current errno.
  static Error FromErrno(std::string message) { return Error(errno, std::move(message)); }

  // Prepends a layer of context.
  Error& Wrap(std::string context) &;
  Error&& Wrap(std::string context) &&;

  int code() const { return errno_; }
  // The full message: contexts, the innermost message, and the errno text if any.
  std::string ToString() const;

 private:
  int errno_ = 0;
  std::vector<std::string> contexts_;  // outermost last (cheap to push)
  std::string what_;
};

template <typename T>
using Result = tl::expected<T, Error>;

inline tl::unexpected<Error> Fail(std::string message) {
  return tl::unexpected(Error(std::move(message)));
}
inline tl::unexpected<Error> Fail(int errno_value, std::string message) {
  return tl::unexpected(Error(errno_value, std::move(message)));
}
inline tl::unexpected<Error> FailErrno(std::string message) {
  return tl::unexpected(Error::FromErrno(std::move(message)));
}

// Quotes a string for messages: "path".
std::string Quote(std::string_view s);

namespace detail {
template <typename T>
T Unwrap(tl::expected<T, Error>&& r) {
  return std::move(*r);
}
inline void Unwrap(tl::expected<void, Error>&&) {}
}  // namespace detail

}  // namespace hull

// Evaluates a Result expression; on failure returns its Error from the enclosing function,
// otherwise yields the value (GNU statement expression).
#define TRY(expr)                                                                   \
  ({                                                                                \
    auto hull_try_result_ = (expr);                                                 \
    if (!hull_try_result_) [[unlikely]]                                             \
      return ::tl::unexpected(std::move(hull_try_result_).error());                 \
    ::hull::detail::Unwrap(std::move(hull_try_result_));                            \
  })

// As TRY, adding a layer of context to the error.
#define TRY_CTX(expr, context)                                                      \
  ({                                                                                \
    auto hull_try_result_ = (expr);                                                 \
    if (!hull_try_result_) [[unlikely]]                                             \
      return ::tl::unexpected(std::move(hull_try_result_).error().Wrap(context));   \
    ::hull::detail::Unwrap(std::move(hull_try_result_));                            \
  })
