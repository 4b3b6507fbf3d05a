// hull-runtime: an OCI runtime with runc's command line.
#include <sys/stat.h>

#include <cstdio>
#include <seccomp.h>

#include "base/log.h"
#include "base/version.h"
#include "cli/hull_runtime/commands.h"

int main(int argc, char** argv) {
  using namespace hull;
  CLI::App app{"hull-runtime: run OCI containers (a drop-in for runc and crun)", "hull-runtime"};
  app.require_subcommand(0, 1);
  cli::Globals globals;
  app.add_option("--root", globals.root, "directory for container state")
      ->capture_default_str();
  app.add_option("--log", globals.log_path, "log file (default: stderr)");
  app.add_option("--log-format", globals.log_format, "log format")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  app.add_flag("--debug", globals.debug, "log debug messages");
  app.add_flag("--systemd-cgroup", globals.systemd_cgroup,
               "manage cgroups through systemd (cgroupsPath is slice:prefix:name)");
  app.add_option("--rootless", globals.rootless, "accepted for runc compatibility; ignored");
  app.add_option("--criu", globals.criu, "accepted for runc compatibility; ignored");
  bool version = false;
  app.add_flag("-v,--version", version, "print the version");

  cli::Registry registry;
  cli::AddLifecycleCommands(app, registry);
  cli::AddQueryCommands(app, registry);
  cli::AddControlCommands(app, registry);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (version) {
    std::printf("hull-runtime version %s\nspec: %s\nlibseccomp: %u.%u.%u\n", kVersion,
                kOciSpecVersion, seccomp_version()->major, seccomp_version()->minor,
                seccomp_version()->micro);
    return 0;
  }

  log::Options log_options;
  log_options.program = "hull-runtime";
  log_options.path = globals.log_path;
  log_options.format = globals.log_format == "json" ? log::Format::kJson : log::Format::kText;
  log_options.min_level = globals.debug ? log::Level::kDebug : log::Level::kWarning;
  log::Configure(log_options);

  for (auto& [command, action] : registry.commands) {
    if (!command->parsed()) continue;
    container::StateStore store(globals.root);
    auto code = action(globals, store);
    if (!code) {
      log::Error(code.error().ToString());
      return 1;
    }
    return *code;
  }
  std::fputs(app.help().c_str(), stdout);
  return 0;
}
