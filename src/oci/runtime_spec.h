// The OCI runtime specification's config.json (version 1.1) as plain C++ types.
// Parsing and validation live in parse.h / validate.h; this header has no behaviour.
// Optional members are std::optional where the spec distinguishes "absent" from a zero value.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace hull::oci {

struct Root {
  std::string path;  // as written in config.json; may be relative to the bundle
  bool readonly = false;
};

struct IdMapping {
  uint32_t container_id = 0;
  uint32_t host_id = 0;
  uint32_t size = 0;
};

struct Mount {
  std::string destination;
  std::string type;  // may be empty for bind mounts
  std::string source;
  std::vector<std::string> options;
  std::vector<IdMapping> uid_mappings;  // idmapped mounts (optional)
  std::vector<IdMapping> gid_mappings;
};

struct Rlimit {
  std::string type;  // "RLIMIT_NOFILE"
  uint64_t hard = 0;
  uint64_t soft = 0;
};

struct ConsoleSize {
  unsigned height = 0;
  unsigned width = 0;
};

struct User {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::optional<uint32_t> umask;
  std::vector<uint32_t> additional_gids;
  std::string username;  // Windows only; ignored
};

struct Capabilities {
  std::vector<std::string> bounding;
  std::vector<std::string> effective;
  std::vector<std::string> inheritable;
  std::vector<std::string> permitted;
  std::vector<std::string> ambient;
};

struct IoPriority {
  std::string io_class;  // IOPRIO_CLASS_RT | _BE | _IDLE
  int priority = 0;
};

struct Scheduler {
  std::string policy;  // SCHED_OTHER ...
  int nice = 0;
  int priority = 0;
  std::vector<std::string> flags;
  uint64_t runtime = 0, deadline = 0, period = 0;
};

struct Process {
  bool terminal = false;
  std::optional<ConsoleSize> console_size;
  std::string cwd;
  std::vector<std::string> env;
  std::vector<std::string> args;
  std::string command_line;  // Windows only
  std::vector<Rlimit> rlimits;
  std::string apparmor_profile;
  std::optional<Capabilities> capabilities;
  bool no_new_privileges = false;
  std::optional<int> oom_score_adj;
  std::string selinux_label;
  User user;
  std::optional<IoPriority> io_priority;
  std::optional<Scheduler> scheduler;
};

struct Hook {
  std::string path;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::optional<int> timeout;  // seconds, > 0
};

struct Hooks {
  std::vector<Hook> prestart;  // deprecated; runs with createRuntime
  std::vector<Hook> create_runtime;
  std::vector<Hook> create_container;
  std::vector<Hook> start_container;
  std::vector<Hook> poststart;
  std::vector<Hook> poststop;
};

struct Namespace {
  std::string type;  // pid network mount ipc uts user cgroup time
  std::string path;  // join this namespace instead of creating one
};

struct Device {
  std::string type;  // c b u p
  std::string path;
  int64_t major = 0;
  int64_t minor = 0;
  std::optional<uint32_t> file_mode;
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
};

struct DeviceCgroupRule {
  bool allow = false;
  std::string type;  // a c b; empty = all
  std::optional<int64_t> major;  // absent = wildcard
  std::optional<int64_t> minor;
  std::string access;  // rwm
};

struct MemoryResources {
  std::optional<int64_t> limit;
  std::optional<int64_t> reservation;
  std::optional<int64_t> swap;
  std::optional<int64_t> kernel;
  std::optional<int64_t> kernel_tcp;
  std::optional<uint64_t> swappiness;
  std::optional<bool> disable_oom_killer;
  std::optional<bool> use_hierarchy;
  std::optional<bool> check_before_update;
};

struct CpuResources {
  std::optional<uint64_t> shares;
  std::optional<int64_t> quota;
  std::optional<int64_t> burst;
  std::optional<uint64_t> period;
  std::optional<int64_t> realtime_runtime;
  std::optional<uint64_t> realtime_period;
  std::string cpus;
  std::string mems;
  std::optional<int64_t> idle;
};

struct PidsResources {
  int64_t limit = 0;
};

struct WeightDevice {
  int64_t major = 0, minor = 0;
  std::optional<uint16_t> weight;
  std::optional<uint16_t> leaf_weight;
};

struct ThrottleDevice {
  int64_t major = 0, minor = 0;
  uint64_t rate = 0;
};

struct BlockIoResources {
  std::optional<uint16_t> weight;
  std::optional<uint16_t> leaf_weight;
  std::vector<WeightDevice> weight_device;
  std::vector<ThrottleDevice> throttle_read_bps_device;
  std::vector<ThrottleDevice> throttle_write_bps_device;
  std::vector<ThrottleDevice> throttle_read_iops_device;
  std::vector<ThrottleDevice> throttle_write_iops_device;
};

struct HugepageLimit {
  std::string page_size;  // "2MB"
  uint64_t limit = 0;
};

struct NetworkPriority {
  std::string name;
  uint32_t priority = 0;
};

struct NetworkResources {
  std::optional<uint32_t> class_id;
  std::vector<NetworkPriority> priorities;
};

struct Resources {
  std::vector<DeviceCgroupRule> devices;
  std::optional<MemoryResources> memory;
  std::optional<CpuResources> cpu;
  std::optional<PidsResources> pids;
  std::optional<BlockIoResources> block_io;
  std::vector<HugepageLimit> hugepage_limits;
  std::optional<NetworkResources> network;
  std::map<std::string, std::string> unified;
};

struct SeccompArg {
  unsigned index = 0;
  uint64_t value = 0;
  uint64_t value_two = 0;
  std::string op;  // SCMP_CMP_EQ ...
};

struct SeccompSyscall {
  std::vector<std::string> names;
  std::string action;  // SCMP_ACT_*
  std::optional<unsigned> errno_ret;
  std::vector<SeccompArg> args;
};

struct Seccomp {
  std::string default_action;
  std::optional<unsigned> default_errno_ret;
  std::vector<std::string> architectures;  // SCMP_ARCH_*
  std::vector<std::string> flags;          // SECCOMP_FILTER_FLAG_*
  std::string listener_path;
  std::string listener_metadata;
  std::vector<SeccompSyscall> syscalls;
};

struct TimeOffset {
  int64_t secs = 0;
  uint32_t nanosecs = 0;
};

struct Personality {
  std::string domain;  // LINUX | LINUX32
  std::vector<std::string> flags;
};

struct IntelRdt {
  std::string clos_id;
  std::string l3_cache_schema;
  std::string mem_bw_schema;
  bool enable_cmt = false;  // cache monitoring (runtime-spec 1.1)
  bool enable_mbm = false;  // memory bandwidth monitoring (runtime-spec 1.1)
};

struct Linux {
  std::vector<Namespace> namespaces;
  std::vector<IdMapping> uid_mappings;
  std::vector<IdMapping> gid_mappings;
  std::map<std::string, TimeOffset> time_offsets;  // "monotonic", "boottime"
  std::vector<Device> devices;
  std::string cgroups_path;
  std::optional<Resources> resources;
  std::string rootfs_propagation;  // shared slave private unbindable (r-prefixed too)
  std::optional<Seccomp> seccomp;
  std::map<std::string, std::string> sysctl;
  std::vector<std::string> masked_paths;
  std::vector<std::string> readonly_paths;
  std::string mount_label;
  std::optional<Personality> personality;
  std::optional<IntelRdt> intel_rdt;
};

struct Spec {
  std::string oci_version;
  Root root;
  std::optional<Process> process;
  std::string hostname;
  std::string domainname;
  std::vector<Mount> mounts;
  std::optional<Hooks> hooks;
  std::map<std::string, std::string> annotations;
  std::optional<Linux> linux;
};

// The state of a container as the spec defines it (`state` output and hooks' stdin).
struct State {
  std::string oci_version;
  std::string id;
  std::string status;  // creating created running stopped (and "paused", as runc reports)
  int pid = 0;         // 0 when there is no process
  std::string bundle;  // absolute path
  std::map<std::string, std::string> annotations;
};

}  // namespace hull::oci
