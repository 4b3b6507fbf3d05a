// File helpers returning Result. Paths in messages are quoted.
#pragma once

#include <fcntl.h>
#include <sys/types.h>

#include <string>
#include <string_view>

#include "base/error.h"
#include "linux/unique_fd.h"

namespace hull::linux {

[[nodiscard]] Result<UniqueFd> Open(const std::string& path, int flags, mode_t mode = 0);
[[nodiscard]] Result<UniqueFd> OpenAt(int dirfd, const std::string& path, int flags,
                                      mode_t mode = 0);
// Reads a whole file (or a /proc or cgroupfs file, which report size 0).
[[nodiscard]] Result<std::string> ReadFile(const std::string& path);
[[nodiscard]] Result<std::string> ReadFd(int fd);  // fd remains owned by the caller
[[nodiscard]] Result<void> WriteFile(const std::string& path, std::string_view data,
                                     int flags = O_WRONLY | O_CREAT | O_TRUNC, mode_t mode = 0644);
// Writes to a temporary file beside `path` then renames it over `path`.
[[nodiscard]] Result<void> WriteFileAtomic(const std::string& path, std::string_view data,
                                           mode_t mode = 0644);
[[nodiscard]] Result<void> WriteAll(int fd, std::string_view data);  // fd stays the caller's
[[nodiscard]] Result<void> MkdirAll(const std::string& path, mode_t mode = 0755);
// Removes a directory tree; a missing path is not an error.
[[nodiscard]] Result<void> RemoveAll(const std::string& path);
bool Exists(const std::string& path);
// `path` made absolute against the current directory (no symlink is resolved and the file need
// not exist); an absolute path is returned as it is, an empty one is the current directory.
[[nodiscard]] Result<std::string> AbsoluteFromCwd(const std::string& path);

}  // namespace hull::linux
