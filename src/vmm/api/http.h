// A minimal HTTP/1.1 request parser and response formatter for hull-vmm's API socket: a
// request line, headers, and a Content-Length body; no chunked encoding, no pipelining beyond
// keeping unread bytes for the next request. Pure functions; the input is untrusted.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"

namespace hull::vmm::api {

inline constexpr size_t kMaxHeaderBytes = 8 * 1024;
inline constexpr size_t kMaxBodyBytes = 64 * 1024;

struct HttpRequest {
  std::string method;
  std::string path;
  std::string body;
};

struct HttpResponse {
  int status = 200;
  std::string body;  // JSON, or empty
};

// Takes one complete request from the front of `buffer` (removing it). Returns nullopt when
// more bytes are needed; an error for a malformed or oversized request (answer 400, close).
[[nodiscard]] Result<std::optional<HttpRequest>> TakeRequest(std::string& buffer);
std::string FormatResponse(const HttpResponse& response);
// {"fault_message": message} with the given status.
HttpResponse Fault(int status, std::string_view message);

}  // namespace hull::vmm::api
