// The container's /etc/passwd, read from the runtime without leaving the container's root.
#pragma once

#include <sys/types.h>

#include <string>

#include "oci/runtime_spec.h"

namespace hull::container {

// The home directory of `uid` in ROOT/etc/passwd (resolved inside `root`), or "/" when the file
// or the entry is missing.
std::string HomeDirectory(const std::string& root, uid_t uid);

// Adds HOME=<home of process.user.uid> to the environment when it has no HOME, as runc does.
void AddHomeIfMissing(oci::Process& process, const std::string& root);

}  // namespace hull::container
