#include <cctype>

#include "oci/validate.h"

namespace hull::oci {

Result<void> ValidateContainerId(std::string_view id) {
  if (id.empty()) return Fail("container id: must not be empty");
  if (id == "." || id == "..") return Fail("container id " + Quote(id) + ": not allowed");
  if (id.size() > 1024) return Fail("container id: longer than 1024 characters");
  for (char c : id) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '+' || c == '-' ||
              c == '.';
    if (!ok)
      return Fail("container id " + Quote(id) +
                  ": may contain only letters, digits, '_', '+', '-' and '.'");
  }
  return {};
}

}  // namespace hull::oci
