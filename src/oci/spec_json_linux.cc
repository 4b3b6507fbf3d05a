// config.json "linux" object, including linux.resources (also the whole of an
// `update --resources` file) and linux.seccomp.
#include <string_view>

#include "oci/json_read.h"

namespace hull::oci::json_internal {

Result<void> FromJson(const Json& value, const std::string& path, Namespace& out) {
  TRY(ExpectObject(value, path));
  TRY(Read(value, path, "type", out.type));
  TRY(Read(value, path, "path", out.path));
  return {};
}

Result<void> FromJson(const Json& value, const std::string& path, TimeOffset& out) {
  TRY(ExpectObject(value, path));
  TRY(Read(value, path, "secs", out.secs));
  TRY(Read(value, path, "nanosecs", out.nanosecs));
  return {};
}

Result<void> FromJson(const Json& value, const std::string& path, Device& out) {
  TRY(ExpectObject(value, path));
  TRY(Read(value, path, "type", out.type));
  TRY(Read(value, path, "path", out.path));
  TRY(Read(value, path, "major", out.major));
  TRY(Read(value, path, "minor", out.minor));
  TRY(Read(value, path, "fileMode", out.file_mode));
  TRY(Read(value, path, "uid", out.uid));
  TRY(Read(value, path, "gid", out.gid));
  // The struct cannot tell "0" from "absent", so the requirement is checked here.
  if (out.type == "c" || out.type == "b" || out.type == "u") {
    for (const char* key : {"major", "minor"}) {
      if (!Has(value, key)) {
        return FailAt(Member(path, key), "required for device type " + Quote(out.type));
      }
    }
  }
  return {};
}

Result<void> FromJson(const Json& value, const std::string& path, DeviceCgroupRule& out) {
  TRY(ExpectObject(value, path));
  TRY(Read(value, path, "allow", out.allow));
  TRY(Read(value, path, "type", out.type));
  TRY(Read(value, path, "major", out.major));
  TRY(Read(value, path, "minor", out.minor));
  TRY(Read(value, path, "access", out.access));
  return {};
}

Result<void> FromJson(const Json& value, const std::string& path, MemoryResources& out) {
  TRY(ExpectObject(value, path));
  TRY(Read(value, path, "limit", out.limit));
  TRY(Read(value, path, "reservation", out.reservation));
  TRY(Read(value, path, "swap", out.swap));
  TRY(Read(value, path, "kernel", out.kernel));
  TRY(Read(value, path, "kernelTCP", out.kernel_tcp));
  TRY(Read(value, path, "swappiness", out.swappiness));
  TRY(Read(value, path, "disableOOMKiller", out.disable_oom_killer));
  TRY(Read(value, path, "useHierarchy", out.use_hierarchy));
  TRY(Read(value, path, "checkBeforeUpdate", out.check_before_update));
  return {};
}

Result<void> FromJson(const Json& value, const std::string& path, CpuResources& out) {
  TRY(ExpectObject(value, path));
  TRY(Read(value, path, "shares", out.shares));
  TRY(Read(value, path, "quota", out.quota));
  TRY(Read(value, path, "burst", out.burst));
  TRY(Read(value, path, "period", out.period));
  TRY(Read(value, path, "realtimeRuntime", out.realtime_runtime));
  TRY(Read(value, path, "realtimePeriod", out.realtime_period));
  TRY(Read(value, path, "cpus", out.cpus));
  TRY(Read(value, path, "mems", out.mems));
  TRY(Read(value, path, "idle", out.idle));
  return {};
}

Result<void> FromJson(const Json& value, const std::string& path, PidsResources& out) {
  TRY(ExpectObject(value, path));
  TRY(Read(value, path, "limit", out.limit));
  return {};
}

Result<void> FromJson(const Json& value, const std::string& path, WeightDevice& out) {
  TRY(ExpectObject(value, path));
  TRY(Read(value, path, "major", out.major));
  TRY(Read(value, path, "minor", out.minor));
  TRY(Read(value, path, "weight", out.weight));
  TRY(Read(value, path, "leafWeight", out.leaf_weight));
  return {};
}

Result<void> FromJson(const Json& value, const std::string& path, ThrottleDevice& out) {
  TRY(ExpectObject(value, path));
  TRY(Read(value, path, "major", out.major));
  TRY(Read(value, path, "minor", out.minor));
  TRY(Read(value, path, "rate", out.rate));
  return {};
}

Result<void> FromJson(const Json& value, const std::string& path, BlockIoResources& out) {
  TRY(ExpectObject(value, path));
  TRY(Read(value, path, "weight", out.weight));
  TRY(Read(value, path, "leafWeight", out.leaf_weight));
  TRY(Read(value, path, "weightDevice", out.weight_device));
  TRY(Read(value, path, "throttleReadBpsDevice", out.throttle_read_bps_device));
  TRY(Read(value, path, "throttleWriteBpsDevice", out.throttle_write_bps_device));
  TRY(Read(value, path, "throttleReadIOPSDevice", out.throttle_read_iops_device));
  TRY(Read(value, path, "throttleWriteIOPSDevice", out.throttle_write_iops_device));
  return {};
}

Result<void> FromJson(const Json& value, const std::string& path, HugepageLimit& out) {
  TRY(ExpectObject(value, path));
  TRY(Read(value, path, "pageSize", out.page_size));
  TRY(Read(value, path, "limit", out.limit));
  return {};
}

Result<void> FromJson(const Json& value, const std::string& path, NetworkPriority& out) {
  TRY(ExpectObject(value, path));
  TRY(Read(value, path, "name", out.name));
  TRY(Read(value, path, "priority", out.priority));
  return {};
}

Result<void> FromJson(const Json& value, const std::string& path, NetworkResources& out) {
  TRY(ExpectObject(value, path));
  TRY(Read(value, path, "classID", out.class_id));
  TRY(Read(value, path, "priorities", out.priorities));
  return {};
}

Result<void> FromJson(const Json& value, const std::string& path, Resources& out) {
  TRY(ExpectObject(value, path));
  TRY(Read(value, path, "devices", out.devices));
  TRY(Read(value, path, "memory", out.memory));
  TRY(Read(value, path, "cpu", out.cpu));
  TRY(Read(value, path, "pids", out.pids));
  TRY(Read(value, path, "blockIO", out.block_io));
  TRY(Read(value, path, "hugepageLimits", out.hugepage_limits));
  TRY(Read(value, path, "network", out.network));
  TRY(Read(value, path, "unified", out.unified));
  return {};
}

Result<void> FromJson(const Json& value, const std::string& path, SeccompArg& out) {
  TRY(ExpectObject(value, path));
  TRY(Read(value, path, "index", out.index));
  TRY(Read(value, path, "value", out.value));
  TRY(Read(value, path, "valueTwo", out.value_two));
  TRY(Read(value, path, "op", out.op));
  return {};
}

Result<void> FromJson(const Json& value, const std::string& path, SeccompSyscall& out) {
  TRY(ExpectObject(value, path));
  TRY(Read(value, path, "names", out.names));
  TRY(Read(value, path, "action", out.action));
  TRY(Read(value, path, "errnoRet", out.errno_ret));
  TRY(Read(value, path, "args", out.args));
  return {};
}

Result<void> FromJson(const Json& value, const std::string& path, Seccomp& out) {
  TRY(ExpectObject(value, path));
  TRY(Read(value, path, "defaultAction", out.default_action));
  TRY(Read(value, path, "defaultErrnoRet", out.default_errno_ret));
  TRY(Read(value, path, "architectures", out.architectures));
  TRY(Read(value, path, "flags", out.flags));
  TRY(Read(value, path, "listenerPath", out.listener_path));
  TRY(Read(value, path, "listenerMetadata", out.listener_metadata));
  TRY(Read(value, path, "syscalls", out.syscalls));
  return {};
}

Result<void> FromJson(const Json& value, const std::string& path, Personality& out) {
  TRY(ExpectObject(value, path));
  TRY(Read(value, path, "domain", out.domain));
  TRY(Read(value, path, "flags", out.flags));
  return {};
}

Result<void> FromJson(const Json& value, const std::string& path, IntelRdt& out) {
  TRY(ExpectObject(value, path));
  TRY(Read(value, path, "closID", out.clos_id));
  TRY(Read(value, path, "l3CacheSchema", out.l3_cache_schema));
  TRY(Read(value, path, "memBwSchema", out.mem_bw_schema));
  TRY(Read(value, path, "enableCMT", out.enable_cmt));
  TRY(Read(value, path, "enableMBM", out.enable_mbm));
  return {};
}

Result<void> FromJson(const Json& value, const std::string& path, Linux& out) {
  TRY(ExpectObject(value, path));
  TRY(Read(value, path, "namespaces", out.namespaces));
  TRY(Read(value, path, "uidMappings", out.uid_mappings));
  TRY(Read(value, path, "gidMappings", out.gid_mappings));
  TRY(Read(value, path, "timeOffsets", out.time_offsets));
  TRY(Read(value, path, "devices", out.devices));
  TRY(Read(value, path, "cgroupsPath", out.cgroups_path));
  TRY(Read(value, path, "resources", out.resources));
  TRY(Read(value, path, "rootfsPropagation", out.rootfs_propagation));
  TRY(Read(value, path, "seccomp", out.seccomp));
  TRY(Read(value, path, "sysctl", out.sysctl));
  TRY(Read(value, path, "maskedPaths", out.masked_paths));
  TRY(Read(value, path, "readonlyPaths", out.readonly_paths));
  TRY(Read(value, path, "mountLabel", out.mount_label));
  TRY(Read(value, path, "personality", out.personality));
  TRY(Read(value, path, "intelRdt", out.intel_rdt));
  return {};
}

}  // namespace hull::oci::json_internal
