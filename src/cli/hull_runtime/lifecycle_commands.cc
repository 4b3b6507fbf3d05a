// create, start, run, delete, kill
#include "cli/hull_runtime/commands.h"
#include "container/container.h"
#include "linux/signals.h"

namespace hull::cli {
namespace {

void AddCreateOptions(CLI::App* cmd, container::CreateOptions& o) {
  cmd->add_option("-b,--bundle", o.bundle, "path to the bundle directory")->capture_default_str();
  cmd->add_option("--pid-file", o.pid_file, "write the container's pid to this file");
  cmd->add_option("--console-socket", o.console_socket,
                  "unix socket that receives the pty master when process.terminal is true");
  cmd->add_flag("--no-pivot", o.no_pivot, "do not use pivot_root (for a rootfs on ramfs)");
  cmd->add_flag("--no-new-keyring", o.no_new_keyring,
                "keep the caller's session keyring (default: a new one, \"_ses.ID\")");
  cmd->add_option("--preserve-fds", o.preserve_fds,
                  "pass N more fds (3..3+N-1) to the container process")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("id", o.id, "container id")->required();
}

}  // namespace

void AddLifecycleCommands(CLI::App& app, Registry& registry) {
  static container::CreateOptions create;
  auto* c = app.add_subcommand("create", "create a container (its process waits for start)");
  AddCreateOptions(c, create);
  registry.Add(c, [](const Globals& g, const container::StateStore& store) -> Result<int> {
    create.systemd_cgroup = g.systemd_cgroup;
    TRY(container::Create(store, create));
    return 0;
  });

  static std::string start_id;
  auto* s = app.add_subcommand("start", "start the process of a created container");
  s->add_option("id", start_id, "container id")->required();
  registry.Add(s, [](const Globals&, const container::StateStore& store) -> Result<int> {
    TRY(container::Start(store, start_id));
    return 0;
  });

  static container::CreateOptions run;
  static bool detach = false, keep = false;
  auto* r = app.add_subcommand("run", "create and start a container; wait for it unless -d");
  AddCreateOptions(r, run);
  r->add_flag("-d,--detach", detach, "return once the process runs");
  r->add_flag("--keep", keep, "do not delete the container after it exits");
  registry.Add(r, [](const Globals& g, const container::StateStore& store) -> Result<int> {
    run.systemd_cgroup = g.systemd_cgroup;
    return container::Run(store, run, detach, keep);
  });

  static std::string delete_id;
  static bool force = false;
  auto* d = app.add_subcommand("delete", "delete a stopped container (any with --force)");
  d->add_flag("-f,--force", force, "kill the container first if it still runs");
  d->add_option("id", delete_id, "container id")->required();
  registry.Add(d, [](const Globals&, const container::StateStore& store) -> Result<int> {
    TRY(container::Delete(store, delete_id, force));
    return 0;
  });

  static std::string kill_id, signal = "SIGTERM";
  static bool all = false;
  auto* k = app.add_subcommand("kill", "send a signal (default SIGTERM) to the container");
  k->add_flag("-a,--all", all, "signal every process in the container's cgroup");
  k->add_option("id", kill_id, "container id")->required();
  k->add_option("signal", signal, "signal name or number")->capture_default_str();
  registry.Add(k, [](const Globals&, const container::StateStore& store) -> Result<int> {
    int number = TRY(linux::ParseSignal(signal));
    TRY(container::Kill(store, kill_id, number, all));
    return 0;
  });
}

}  // namespace hull::cli
