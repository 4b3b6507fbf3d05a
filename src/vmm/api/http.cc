#include "vmm/api/http.h"

#include <nlohmann/json.hpp>

#include "base/strings.h"

namespace hull::vmm::api {
namespace {

const char* Reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    case 500: return "Internal Server Error";
    default: return "Unknown";
  }
}

}  // namespace

Result<std::optional<HttpRequest>> TakeRequest(std::string& buffer) {
  size_t header_end = buffer.find("\r\n\r\n");
  if (header_end == std::string::npos) {
    if (buffer.size() > kMaxHeaderBytes) return Fail("request headers too large");
    return std::nullopt;
  }
  if (header_end > kMaxHeaderBytes) return Fail("request headers too large");
  std::string_view head(buffer.data(), header_end);
  size_t line_end = head.find("\r\n");
  std::string_view request_line = head.substr(0, line_end);
  std::vector<std::string> parts = Split(request_line, ' ');
  if (parts.size() != 3 || !StartsWith(parts[2], "HTTP/1.")) return Fail("malformed request line");
  HttpRequest request{parts[0], parts[1], {}};
  uint64_t content_length = 0;
  if (line_end != std::string_view::npos) {
    for (const std::string& line : Split(head.substr(line_end + 2), '\n')) {
      std::string_view header = Trim(line);
      size_t colon = header.find(':');
      if (colon == std::string_view::npos) return Fail("malformed header");
      std::string name(header.substr(0, colon));
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string_view value = Trim(header.substr(colon + 1));
      if (name == "content-length") {
        auto length = ParseUint(value);
        if (!length) return Fail("bad Content-Length");
        content_length = *length;
      } else if (name == "transfer-encoding") {
        return Fail("Transfer-Encoding is not supported");
      }
    }
  }
  if (content_length > kMaxBodyBytes) return Fail("request body too large");
  size_t total = header_end + 4 + content_length;
  if (buffer.size() < total) return std::nullopt;
  request.body = buffer.substr(header_end + 4, content_length);
  buffer.erase(0, total);
  return request;
}

std::string FormatResponse(const HttpResponse& response) {
  std::string out = "HTTP/1.1 " + std::to_string(response.status) + " " + Reason(response.status) + "\r\n";
  if (!response.body.empty()) out += "Content-Type: application/json\r\n";
  out += "Content-Length: " + std::to_string(response.body.size()) + "\r\n\r\n";
  out += response.body;
  return out;
}

HttpResponse Fault(int status, std::string_view message) {
  return {status, nlohmann::json{{"fault_message", std::string(message)}}.dump()};
}

}  // namespace hull::vmm::api
