// state, list, ps, events, features
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "base/strings.h"
#include "base/time.h"
#include "base/version.h"
#include "cli/hull_runtime/commands.h"
#include "container/container.h"
#include "container/features.h"

namespace hull::cli {
namespace {

// Left-aligned columns, at least 12 wide with 3 spaces between, like runc's tables.
std::string Table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows)
    for (size_t i = 0; i < row.size(); ++i) {
      if (widths.size() <= i) widths.push_back(12);
      widths[i] = std::max(widths[i], row[i].size() + 3);
    }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size(), ' ');
    }
    out += line + "\n";
  }
  return out;
}

// Runs `ps ARGS` and keeps its header and the lines of the given pids.
Result<std::string> FilteredPs(const std::vector<std::string>& ps_args,
                               const std::vector<pid_t>& pids) {
  std::string command = "ps";
  for (const auto& a : ps_args) {
    std::string quoted;
    for (char c : a) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
    command += " '" + quoted + "'";
  }
  FILE* ps = ::popen(command.c_str(), "r");
  if (!ps) return FailErrno("run ps");
  std::string output;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, ps)) > 0) output.append(buf, n);
  int status = ::pclose(ps);
  if (status != 0) return Fail("ps " + Join(ps_args, " ") + " failed:\n" + output);
  auto lines = Split(output, '\n');
  if (lines.empty()) return output;
  // Find the PID column from the header.
  auto header = Split(std::string(Trim(lines[0])), ' ');
  header.erase(std::remove(header.begin(), header.end(), ""), header.end());
  size_t pid_column = std::find(header.begin(), header.end(), "PID") - header.begin();
  if (pid_column == header.size()) return Fail("ps output has no PID column");
  std::set<pid_t> wanted(pids.begin(), pids.end());
  std::string out = lines[0] + "\n";
  for (size_t i = 1; i < lines.size(); ++i) {
    auto fields = Split(std::string(Trim(lines[i])), ' ');
    fields.erase(std::remove(fields.begin(), fields.end(), ""), fields.end());
    if (fields.size() <= pid_column) continue;
    auto pid = ParseInt(fields[pid_column]);
    if (pid && wanted.count(static_cast<pid_t>(*pid))) out += lines[i] + "\n";
  }
  return out;
}

}  // namespace

void AddQueryCommands(CLI::App& app, Registry& registry) {
  static std::string state_id;
  auto* s = app.add_subcommand("state", "print the state of a container as JSON");
  s->add_option("id", state_id, "container id")->required();
  registry.Add(s, [](const Globals&, const container::StateStore& store) -> Result<int> {
    std::puts(TRY(container::StateJson(store, state_id)).c_str());
    return 0;
  });

  static std::string list_format = "table";
  static bool quiet = false;
  auto* l = app.add_subcommand("list", "list containers");
  l->add_option("-f,--format", list_format, "table or json")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  l->add_flag("-q,--quiet", quiet, "print only container ids");
  registry.Add(l, [](const Globals&, const container::StateStore& store) -> Result<int> {
    auto entries = TRY(container::List(store));
    if (quiet) {
      for (const auto& e : entries) std::puts(e.record.id.c_str());
      return 0;
    }
    if (list_format == "json") {
      // runc prints its nil slice: `null`, not `[]`, when there is no container.
      if (entries.empty()) {
        std::puts("null");
        return 0;
      }
      nlohmann::json out = nlohmann::json::array();
      for (const auto& e : entries) {
        bool stopped = e.status == container::Status::kStopped;
        out.push_back({{"ociVersion", kOciSpecVersion},
                       {"id", e.record.id},
                       {"pid", stopped ? 0 : e.record.pid},
                       {"status", container::StatusName(e.status)},
                       {"bundle", e.record.bundle},
                       {"rootfs", e.record.rootfs},
                       {"created", e.record.created},
                       {"owner", e.record.owner}});
      }
      std::puts(out.dump().c_str());
      return 0;
    }
    std::vector<std::vector<std::string>> rows{{"ID", "PID", "STATUS", "BUNDLE", "CREATED",
                                                "OWNER"}};
    for (const auto& e : entries) {
      bool stopped = e.status == container::Status::kStopped;
      rows.push_back({e.record.id, std::to_string(stopped ? 0 : e.record.pid),
                      container::StatusName(e.status), e.record.bundle, e.record.created,
                      e.record.owner});
    }
    std::fputs(Table(rows).c_str(), stdout);
    return 0;
  });

  static std::string ps_format = "table";
  static std::vector<std::string> ps_rest;
  auto* p = app.add_subcommand("ps", "list the processes of a container: ps [opts] ID [ps args]");
  p->add_option("-f,--format", ps_format, "table or json")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  p->add_option("args", ps_rest, "container id, then arguments for ps (default -ef)")
      ->required();
  registry.Add(p, [](const Globals&, const container::StateStore& store) -> Result<int> {
    auto pids = TRY(container::Processes(store, ps_rest[0]));
    if (ps_format == "json") {
      std::puts(nlohmann::json(pids).dump().c_str());
      return 0;
    }
    std::vector<std::string> args(ps_rest.begin() + 1, ps_rest.end());
    if (args.empty()) args = {"-ef"};
    std::fputs(TRY(FilteredPs(args, pids)).c_str(), stdout);
    return 0;
  });

  static std::string events_id;
  static bool stats = false;
  static std::string interval = "5s";
  auto* e = app.add_subcommand(
      "events", "print resource statistics and out-of-memory events of a container as JSON");
  e->add_flag("--stats", stats, "print statistics once and exit (no oom events)");
  e->add_option("--interval", interval,
                "time between statistics (Go duration: 5s, 1.5s, 500ms, 1m)")
      ->capture_default_str();
  e->add_option("id", events_id, "container id")->required();
  registry.Add(e, [](const Globals&, const container::StateStore& store) -> Result<int> {
    auto period = TRY_CTX(ParseGoDuration(interval), "--interval");
    if (period.count() <= 0)
      return Fail("--interval: must be greater than 0, got " + Quote(interval));
    TRY(container::Events(store, events_id, stats, period, [](const std::string& event) {
      std::puts(event.c_str());
      std::fflush(stdout);
    }));
    return 0;
  });

  auto* f = app.add_subcommand("features", "print what this runtime supports as JSON");
  registry.Add(f, [](const Globals&, const container::StateStore&) -> Result<int> {
    std::puts(container::FeaturesJson().c_str());
    return 0;
  });
}

}  // namespace hull::cli
