// Mount options as config.json writes them ("ro", "nosuid", "rbind", "rslave", "mode=755")
// turned into what mount(2) takes: MS_* flags, a propagation change and a data string.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace hull::container {

struct MountOptions {
  unsigned long flags = 0;        // MS_* without MS_BIND, MS_REC and propagation
  unsigned long propagation = 0;  // MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE (| MS_REC)
  bool bind = false;              // "bind" or "rbind"
  bool recursive = false;         // "rbind"
  std::string data;               // everything else, comma-separated, in the spec's order
};

// Later options override earlier ones ("ro,rw" is rw). Options that hull does not implement
// yet ("tmpcopyup", "idmap", "ridmap") are errors naming `field` (e.g. "mounts[2].options");
// any other unknown option is a filesystem option and goes into `data`.
[[nodiscard]] Result<MountOptions> ParseMountOptions(const std::vector<std::string>& options,
                                                     const std::string& field);

// "shared", "rslave", ... -> MS_SHARED, MS_SLAVE | MS_REC, ...; 0 for anything else.
unsigned long ParsePropagation(std::string_view value);

// MS_* flags a bind remount can change on one mount (the rest belong to the superblock).
inline constexpr unsigned long kPerMountFlags =
    0x1 | 0x2 | 0x4 | 0x8 | 0x400 | 0x800 | (1UL << 21) | (1UL << 24);
// = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME |
//   MS_STRICTATIME (spelled out so this header does not pull in <sys/mount.h>)

}  // namespace hull::container
