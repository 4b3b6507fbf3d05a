// /proc/<pid>/mountinfo parsing (proc(5)): one entry per mount, with the kernel's octal escapes
// (\040 for a space, \011, \012, \134) decoded in the path fields.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace hull::linux {

struct MountInfoEntry {
  int mount_id = 0;
  int parent_id = 0;
  unsigned major = 0, minor = 0;
  std::string root;         // the mount's root within its filesystem
  std::string mount_point;  // in the reader's mount namespace
  std::string mount_options;
  std::vector<std::string> optional_fields;  // shared:N master:N ...
  std::string fs_type;
  std::string source;
  std::string super_options;
};

// Parses the whole text of a mountinfo file. Pure: no file access. Empty lines are ignored; a
// malformed line is an error naming its line number.
[[nodiscard]] Result<std::vector<MountInfoEntry>> ParseMountInfo(std::string_view text);

// Reads and parses /proc/self/mountinfo.
[[nodiscard]] Result<std::vector<MountInfoEntry>> ReadSelfMountInfo();

// Decodes the kernel's backslash-octal escapes ("\040" -> ' '); other text is kept as is.
std::string UnescapeMountInfoField(std::string_view field);

}  // namespace hull::linux
