// hull-runtime's commands. Each Add* registers one runc-compatible subcommand; its callback
// parses nothing more, calls one library function and prints. Errors reach main() as Error.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

#include "base/error.h"
#include "container/state_store.h"

namespace hull::cli {

struct Globals {
  std::string root = "/run/hull-runtime";
  std::string log_path;
  std::string log_format = "text";
  bool debug = false;
  bool systemd_cgroup = false;
  std::string rootless = "auto";  // accepted for runc compatibility; ignored
  std::string criu;               // accepted for runc compatibility; ignored
};

// What a command does once the command line is parsed: the process's exit code, or an error
// that main() prints (exit code 1).
using Action = std::function<Result<int>(const Globals&, const container::StateStore&)>;

struct Registry {
  std::vector<std::pair<CLI::App*, Action>> commands;
  void Add(CLI::App* app, Action action) { commands.emplace_back(app, std::move(action)); }
};

void AddLifecycleCommands(CLI::App& app, Registry& registry);  // create start run delete kill
void AddQueryCommands(CLI::App& app, Registry& registry);      // state list ps events features
void AddControlCommands(CLI::App& app, Registry& registry);    // pause resume update exec spec

// Bytes with an optional k/m/g/t suffix (binary multiples), as runc's --memory takes them;
// "-1" means unlimited.
[[nodiscard]] Result<int64_t> ParseBytes(std::string_view text, std::string_view flag);

}  // namespace hull::cli
