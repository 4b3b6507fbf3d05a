#include "container/mount_options.h"

#include <sys/mount.h>

#include <array>

namespace hull::container {
namespace {

static_assert(kPerMountFlags == (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME |
                                 MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME));

struct FlagOption {
  std::string_view name;
  bool clear;  // the option removes the flag ("rw", "suid", ...)
  unsigned long flag;
};

constexpr std::array kFlagOptions = {
    FlagOption{"ro", false, MS_RDONLY},
    FlagOption{"rw", true, MS_RDONLY},
    FlagOption{"nosuid", false, MS_NOSUID},
    FlagOption{"suid", true, MS_NOSUID},
    FlagOption{"nodev", false, MS_NODEV},
    FlagOption{"dev", true, MS_NODEV},
    FlagOption{"noexec", false, MS_NOEXEC},
    FlagOption{"exec", true, MS_NOEXEC},
    FlagOption{"sync", false, MS_SYNCHRONOUS},
    FlagOption{"async", true, MS_SYNCHRONOUS},
    FlagOption{"dirsync", false, MS_DIRSYNC},
    FlagOption{"remount", false, MS_REMOUNT},
    FlagOption{"mand", false, MS_MANDLOCK},
    FlagOption{"nomand", true, MS_MANDLOCK},
    FlagOption{"noatime", false, MS_NOATIME},
    FlagOption{"atime", true, MS_NOATIME},
    FlagOption{"nodiratime", false, MS_NODIRATIME},
    FlagOption{"diratime", true, MS_NODIRATIME},
    FlagOption{"relatime", false, MS_RELATIME},
    FlagOption{"norelatime", true, MS_RELATIME},
    FlagOption{"strictatime", false, MS_STRICTATIME},
    FlagOption{"nostrictatime", true, MS_STRICTATIME},
    FlagOption{"defaults", false, 0},
};

struct PropagationOption {
  std::string_view name;
  unsigned long flags;
};

constexpr std::array kPropagationOptions = {
    PropagationOption{"private", MS_PRIVATE},
    PropagationOption{"rprivate", MS_PRIVATE | MS_REC},
    PropagationOption{"shared", MS_SHARED},
    PropagationOption{"rshared", MS_SHARED | MS_REC},
    PropagationOption{"slave", MS_SLAVE},
    PropagationOption{"rslave", MS_SLAVE | MS_REC},
    PropagationOption{"unbindable", MS_UNBINDABLE},
    PropagationOption{"runbindable", MS_UNBINDABLE | MS_REC},
};

constexpr std::array<std::string_view, 3> kUnsupported = {"tmpcopyup", "idmap", "ridmap"};

}  // namespace

unsigned long ParsePropagation(std::string_view value) {
  for (const auto& option : kPropagationOptions) {
    if (option.name == value) return option.flags;
  }
  return 0;
}

Result<MountOptions> ParseMountOptions(const std::vector<std::string>& options,
                                       const std::string& field) {
  MountOptions out;
  for (const std::string& option : options) {
    if (option == "bind" || option == "rbind") {
      out.bind = true;
      out.recursive = option == "rbind";
      continue;
    }
    bool known = false;
    for (const auto& flag : kFlagOptions) {
      if (flag.name != option) continue;
      if (flag.clear) {
        out.flags &= ~flag.flag;
      } else {
        out.flags |= flag.flag;
      }
      // The atime modes exclude each other: the last one given wins.
      if (!flag.clear && (flag.flag & (MS_NOATIME | MS_RELATIME | MS_STRICTATIME))) {
        out.flags &= ~((MS_NOATIME | MS_RELATIME | MS_STRICTATIME) & ~flag.flag);
      }
      known = true;
      break;
    }
    if (known) continue;
    if (unsigned long propagation = ParsePropagation(option)) {
      out.propagation = propagation;
      continue;
    }
    for (std::string_view unsupported : kUnsupported) {
      if (option == unsupported) {
        return Fail(field + ": option " + Quote(option) + " is not supported yet");
      }
    }
    if (option.empty()) continue;
    if (!out.data.empty()) out.data += ',';
    out.data += option;
  }
  return out;
}

}  // namespace hull::container
