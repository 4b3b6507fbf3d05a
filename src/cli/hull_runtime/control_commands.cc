// pause, resume, update, exec, spec
#include <unistd.h>

#include <cstdio>

#include "base/strings.h"
#include "cli/hull_runtime/commands.h"
#include "container/container.h"
#include "linux/file.h"
#include "oci/spec_json.h"

namespace hull::cli {
namespace {

struct UpdateFlags {
  std::string resources;
  std::string memory, memory_reservation, memory_swap, kernel_memory, kernel_memory_tcp;
  std::optional<uint64_t> cpu_period, cpu_rt_period, cpu_share;
  std::optional<int64_t> cpu_quota, cpu_rt_runtime, pids_limit;
  std::optional<uint16_t> blkio_weight;
  std::string cpuset_cpus, cpuset_mems, l3_cache_schema, mem_bw_schema;
};

Result<oci::Resources> ResourcesFromFlags(const UpdateFlags& f) {
  oci::Resources r;
  if (!f.resources.empty()) {
    std::string text;
    if (f.resources == "-") {
      text = TRY_CTX(linux::ReadFd(STDIN_FILENO), "--resources: read stdin");
    } else {
      text = TRY_CTX(linux::ReadFile(f.resources), "--resources");
    }
    r = TRY_CTX(oci::ParseResources(text), "--resources");
  }
  auto memory = [&]() -> oci::MemoryResources& {
    if (!r.memory) r.memory.emplace();
    return *r.memory;
  };
  auto cpu = [&]() -> oci::CpuResources& {
    if (!r.cpu) r.cpu.emplace();
    return *r.cpu;
  };
  if (!f.memory.empty()) memory().limit = TRY(ParseBytes(f.memory, "--memory"));
  if (!f.memory_reservation.empty())
    memory().reservation = TRY(ParseBytes(f.memory_reservation, "--memory-reservation"));
  if (!f.memory_swap.empty()) memory().swap = TRY(ParseBytes(f.memory_swap, "--memory-swap"));
  if (!f.kernel_memory.empty())
    memory().kernel = TRY(ParseBytes(f.kernel_memory, "--kernel-memory"));
  if (!f.kernel_memory_tcp.empty())
    memory().kernel_tcp = TRY(ParseBytes(f.kernel_memory_tcp, "--kernel-memory-tcp"));
  if (f.cpu_period) cpu().period = *f.cpu_period;
  if (f.cpu_quota) cpu().quota = *f.cpu_quota;
  if (f.cpu_share) cpu().shares = *f.cpu_share;
  if (f.cpu_rt_period) cpu().realtime_period = *f.cpu_rt_period;
  if (f.cpu_rt_runtime) cpu().realtime_runtime = *f.cpu_rt_runtime;
  if (!f.cpuset_cpus.empty()) cpu().cpus = f.cpuset_cpus;
  if (!f.cpuset_mems.empty()) cpu().mems = f.cpuset_mems;
  if (f.pids_limit) r.pids = oci::PidsResources{*f.pids_limit};
  if (f.blkio_weight) {
    if (!r.block_io) r.block_io.emplace();
    r.block_io->weight = *f.blkio_weight;
  }
  if (!f.l3_cache_schema.empty() || !f.mem_bw_schema.empty())
    return Fail(EINVAL, "--l3-cache-schema/--mem-bw-schema: Intel RDT is not supported yet");
  return r;
}

struct ExecFlags {
  std::string process_file, pid_file, console_socket, cwd, user, apparmor, label;
  std::vector<std::string> env, caps, additional_gids;
  bool detach = false, tty = false, no_new_privs = false, ignore_paused = false;
  int preserve_fds = 0;
  std::vector<std::string> rest;  // ID, then the command
};

Result<container::ExecOptions> ExecOptionsFromFlags(const container::StateStore& store,
                                                    ExecFlags& f) {
  if (f.rest.empty()) return Fail(EINVAL, "exec: a container id is required");
  container::ExecOptions o;
  o.id = f.rest[0];
  o.pid_file = f.pid_file;
  o.console_socket = f.console_socket;
  o.detach = f.detach;
  o.ignore_paused = f.ignore_paused;
  o.preserve_fds = f.preserve_fds;
  std::vector<std::string> args(f.rest.begin() + 1, f.rest.end());
  if (!args.empty() && args[0] == "--") args.erase(args.begin());
  if (!f.process_file.empty()) {
    std::string text = TRY_CTX(linux::ReadFile(f.process_file), "--process");
    o.process = TRY_CTX(oci::ParseProcess(text), "--process " + Quote(f.process_file));
    return o;
  }
  if (args.empty()) return Fail(EINVAL, "exec: a command is required (or --process FILE)");
  o.process = TRY(container::DefaultExecProcess(store, o.id));
  o.process.args = args;
  o.process.terminal = f.tty;
  for (const auto& e : f.env) {
    std::string key = e.substr(0, e.find('='));
    std::erase_if(o.process.env, [&](const std::string& old) {
      return old.substr(0, old.find('=')) == key;
    });
    o.process.env.push_back(e);
  }
  if (!f.cwd.empty()) o.process.cwd = f.cwd;
  if (!f.user.empty()) {
    auto parts = Split(f.user, ':');
    auto uid = ParseUint(parts[0]);
    if (!uid || *uid > UINT32_MAX || parts.size() > 2)
      return Fail(EINVAL, "--user: expected UID[:GID] with numbers, got " + Quote(f.user));
    o.process.user.uid = static_cast<uint32_t>(*uid);
    if (parts.size() == 2) {
      auto gid = ParseUint(parts[1]);
      if (!gid || *gid > UINT32_MAX)
        return Fail(EINVAL, "--user: expected UID[:GID] with numbers, got " + Quote(f.user));
      o.process.user.gid = static_cast<uint32_t>(*gid);
    }
  }
  for (const auto& g : f.additional_gids) {
    auto gid = ParseUint(g);
    if (!gid || *gid > UINT32_MAX) return Fail(EINVAL, "--additional-gids: invalid gid " + Quote(g));
    o.process.user.additional_gids.push_back(static_cast<uint32_t>(*gid));
  }
  if (!f.caps.empty()) {
    if (!o.process.capabilities) o.process.capabilities.emplace();
    auto& c = *o.process.capabilities;
    for (const auto& cap : f.caps)
      for (auto* set : {&c.bounding, &c.effective, &c.permitted, &c.ambient})
        if (std::find(set->begin(), set->end(), cap) == set->end()) set->push_back(cap);
  }
  if (f.no_new_privs) o.process.no_new_privileges = true;
  if (!f.apparmor.empty()) o.process.apparmor_profile = f.apparmor;
  if (!f.label.empty()) o.process.selinux_label = f.label;
  return o;
}

}  // namespace

void AddControlCommands(CLI::App& app, Registry& registry) {
  static std::string pause_id, resume_id;
  auto* p = app.add_subcommand("pause", "freeze every process of a container");
  p->add_option("id", pause_id, "container id")->required();
  registry.Add(p, [](const Globals&, const container::StateStore& store) -> Result<int> {
    TRY(container::Pause(store, pause_id));
    return 0;
  });
  auto* r = app.add_subcommand("resume", "thaw a paused container");
  r->add_option("id", resume_id, "container id")->required();
  registry.Add(r, [](const Globals&, const container::StateStore& store) -> Result<int> {
    TRY(container::Resume(store, resume_id));
    return 0;
  });

  static UpdateFlags uf;
  static std::string update_id;
  auto* u = app.add_subcommand("update", "change the resource limits of a running container");
  u->add_option("-r,--resources", uf.resources,
                "linux.resources JSON from a file, or - for stdin");
  u->add_option("--memory", uf.memory, "memory limit (bytes, k/m/g suffixes)");
  u->add_option("--memory-reservation", uf.memory_reservation, "memory soft limit");
  u->add_option("--memory-swap", uf.memory_swap, "memory plus swap limit");
  u->add_option("--kernel-memory", uf.kernel_memory, "kernel memory limit (cgroup v1)");
  u->add_option("--kernel-memory-tcp", uf.kernel_memory_tcp, "kernel TCP memory (cgroup v1)");
  u->add_option("--cpu-period", uf.cpu_period, "CPU CFS period (microseconds)");
  u->add_option("--cpu-quota", uf.cpu_quota, "CPU CFS quota (microseconds, -1 unlimited)");
  u->add_option("--cpu-share", uf.cpu_share, "CPU shares");
  u->add_option("--cpu-rt-period", uf.cpu_rt_period, "realtime period (microseconds)");
  u->add_option("--cpu-rt-runtime", uf.cpu_rt_runtime, "realtime runtime (microseconds)");
  u->add_option("--cpuset-cpus", uf.cpuset_cpus, "CPUs allowed (e.g. 0-1)");
  u->add_option("--cpuset-mems", uf.cpuset_mems, "memory nodes allowed");
  u->add_option("--pids-limit", uf.pids_limit, "maximum number of tasks (-1 unlimited)");
  u->add_option("--blkio-weight", uf.blkio_weight, "block IO weight (10-1000)");
  u->add_option("--l3-cache-schema", uf.l3_cache_schema, "Intel RDT L3 schema (unsupported)");
  u->add_option("--mem-bw-schema", uf.mem_bw_schema, "Intel RDT memory bandwidth (unsupported)");
  u->add_option("id", update_id, "container id")->required();
  registry.Add(u, [](const Globals&, const container::StateStore& store) -> Result<int> {
    oci::Resources resources = TRY(ResourcesFromFlags(uf));
    TRY(container::Update(store, update_id, resources));
    return 0;
  });

  static ExecFlags ef;
  auto* e = app.add_subcommand("exec", "run a process in a running container: exec [opts] ID CMD...");
  e->add_option("-p,--process", ef.process_file, "process.json describing the process");
  e->add_option("--pid-file", ef.pid_file, "write the process's pid to this file");
  e->add_option("--console-socket", ef.console_socket, "unix socket that receives the pty master");
  e->add_flag("-d,--detach", ef.detach, "return once the process runs");
  e->add_flag("-t,--tty", ef.tty, "give the process a terminal (needs --console-socket)");
  e->add_option("-e,--env", ef.env, "set an environment variable KEY=VALUE")->allow_extra_args(false);
  e->add_option("--cwd", ef.cwd, "working directory inside the container");
  e->add_option("-u,--user", ef.user, "UID[:GID] to run as");
  e->add_option("-g,--additional-gids", ef.additional_gids, "additional group ids")->allow_extra_args(false);
  e->add_option("-c,--cap", ef.caps, "add a capability (CAP_NET_ADMIN)")->allow_extra_args(false);
  e->add_flag("--no-new-privs", ef.no_new_privs, "set no_new_privs for the process");
  e->add_option("--apparmor", ef.apparmor, "AppArmor profile");
  e->add_option("--process-label", ef.label, "SELinux label");
  e->add_flag("--ignore-paused", ef.ignore_paused,
             "exec even into a paused container (the process starts when it resumes)");
  e->add_option("--preserve-fds", ef.preserve_fds, "pass N more fds (3..3+N-1)")
      ->check(CLI::NonNegativeNumber);
  // Everything from the container id on is positional: the id, then the command, whose own
  // options must not be taken for ours.
  e->prefix_command();
  e->allow_extras();
  e->footer("Usage: hull-runtime exec [OPTIONS] ID COMMAND [ARGS...]");
  static CLI::App* exec_cmd = e;
  registry.Add(e, [](const Globals&, const container::StateStore& store) -> Result<int> {
    ef.rest = exec_cmd->remaining();
    container::ExecOptions options = TRY(ExecOptionsFromFlags(store, ef));
    return container::Exec(store, options);
  });

  static std::string spec_bundle = ".";
  static bool rootless = false;
  auto* s = app.add_subcommand("spec", "write a default config.json into the bundle directory");
  s->add_option("-b,--bundle", spec_bundle, "bundle directory")->capture_default_str();
  s->add_flag("--rootless", rootless, "a config for running as an unprivileged user");
  registry.Add(s, [](const Globals&, const container::StateStore&) -> Result<int> {
    std::string path = spec_bundle + "/config.json";
    if (linux::Exists(path)) return Fail(EEXIST, Quote(path) + " exists: remove it first");
    TRY(linux::WriteFile(path, oci::DefaultSpecJson(rootless, ::getuid(), ::getgid()) + "\n",
                         O_WRONLY | O_CREAT | O_EXCL, 0644));
    return 0;
  });
}

}  // namespace hull::cli
