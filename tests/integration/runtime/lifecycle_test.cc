// The container lifecycle as containerd and Podman drive it: run, create/start/state/kill/delete,
// list, ps, pause/resume, update, events, pid files, preserved fds, terminals.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "support/console_socket.h"
#include "support/leaks.h"
#include "support/runtime_test.h"

namespace hull::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class LifecycleTest : public RuntimeTest {};

// Host path of a container process's cgroup file: `v1_file` in the controller's v1 hierarchy if
// the controller is on v1, else `v2_file` in its cgroup2 directory.
std::string HostCgroupFile(int pid, const std::string& controller, const std::string& v1_file,
                           const std::string& v2_file) {
  std::string v2_path;
  for (const auto& line : SplitLines(ReadFile("/proc/" + std::to_string(pid) + "/cgroup"))) {
    auto first = line.find(':');
    auto second = line.find(':', first + 1);
    std::string controllers = line.substr(first + 1, second - first - 1);
    std::string path = line.substr(second + 1);
    if (Contains("," + controllers + ",", "," + controller + ","))
      return "/sys/fs/cgroup/" + controller + path + "/" + v1_file;
    if (controllers.empty()) v2_path = path;
  }
  for (const auto& hierarchy : CgroupHierarchies()) {
    if (FileExists(hierarchy + "/cgroup.controllers") &&
        Contains(ReadFile(hierarchy + "/cgroup.controllers"), controller))
      return hierarchy + v2_path + "/" + v2_file;
  }
  return "";
}

TEST_F(LifecycleTest, RunTrueExitsZero) {
  std::string id = NewId();
  Bundle& bundle = NewBundle(id);
  CommandResult run = RunContainer(id, bundle);
  EXPECT_EQ(run.exit_code, 0) << run.Describe();
  // Without --keep (runc) or --detach the container is gone once `run` returns.
  CommandResult state;
  State(id, &state);
  EXPECT_NE(state.exit_code, 0) << state.Describe();
}

TEST_F(LifecycleTest, RunPropagatesExitCode) {
  std::string id = NewId();
  Bundle& bundle = NewBundle(id);
  bundle.Shell("exit 3");
  CommandResult run = RunContainer(id, bundle);
  EXPECT_EQ(run.exit_code, 3) << run.Describe();
}

TEST_F(LifecycleTest, RunForwardsStdoutAndStderr) {
  std::string id = NewId();
  Bundle& bundle = NewBundle(id);
  bundle.Shell("echo to-stdout; echo to-stderr >&2");
  CommandResult run = RunContainer(id, bundle);
  ASSERT_EQ(run.exit_code, 0) << run.Describe();
  EXPECT_EQ(run.out, "to-stdout\n");
  EXPECT_TRUE(Contains(run.err, "to-stderr")) << run.Describe();
}

TEST_F(LifecycleTest, RunReportsProcessKilledBySignal) {
  std::string id = NewId();
  Bundle& bundle = NewBundle(id);
  bundle.Args({"sleep", "1000"});
  ASSERT_TRUE(bundle.Write());
  Command run = runtime().Start({"run", "--bundle", bundle.path(), id});
  ASSERT_EQ(WaitForStatus(id, "running"), "running");
  CommandResult kill = Rt({"kill", id, "KILL"});
  ASSERT_TRUE(kill.ok()) << kill.Describe();
  CommandResult result = run.Wait(30s);
  // runc and crun both exit with 128 + the signal number, as a shell does.
  EXPECT_EQ(result.exit_code, 128 + SIGKILL) << result.Describe();
}

// A signal sent to a foreground `run` reaches the container's process, as with runc and crun.
TEST_F(LifecycleTest, RunForwardsSignalsToTheProcess) {
  std::string id = NewId();
  Bundle& bundle = NewBundle(id);
  bundle.Shell("trap 'echo got-term; exit 3' TERM; echo ready; while :; do sleep 0.1; done");
  ASSERT_TRUE(bundle.Write());
  Command run = runtime().Start({"run", "--bundle", bundle.path(), id});
  ASSERT_TRUE(WaitFor([&] { return Contains(run.CurrentOut(), "ready"); }, 10s))
      << run.CurrentErr();
  run.Signal(SIGTERM);  // the runtime's process group: the container has a session of its own
  CommandResult result = run.Wait(30s);
  EXPECT_EQ(result.exit_code, 3) << result.Describe();
  EXPECT_TRUE(Contains(result.out, "got-term")) << result.Describe();
}

TEST_F(LifecycleTest, CreateStartKillDelete) {
  std::string id = NewId();
  Bundle& bundle = NewBundle(id);
  bundle.Args({"sleep", "1000"});
  CommandResult create = Create(id, bundle);
  ASSERT_TRUE(create.ok()) << create.Describe();

  json state = State(id);
  ASSERT_TRUE(state.is_object());
  EXPECT_EQ(state["status"], "created");
  ASSERT_TRUE(state["pid"].is_number_integer()) << state.dump();
  int pid = state["pid"];
  EXPECT_GT(pid, 0);
  EXPECT_EQ(::kill(pid, 0), 0) << "init process " << pid << " not alive while created";
  // The container's init waits for `start`: it must not be running the user's program yet.
  EXPECT_NE(Trim(ReadFile("/proc/" + std::to_string(pid) + "/comm")), "sleep");

  CommandResult start = Rt({"start", id});
  ASSERT_TRUE(start.ok()) << start.Describe();
  EXPECT_EQ(WaitForStatus(id, "running"), "running");
  EXPECT_EQ(State(id)["pid"], pid) << "pid changed across start";
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(Trim(ReadFile("/proc/" + std::to_string(pid) + "/comm")), "sleep");

  CommandResult kill = Rt({"kill", id, "KILL"});
  ASSERT_TRUE(kill.ok()) << kill.Describe();
  EXPECT_EQ(WaitForStatus(id, "stopped"), "stopped");

  CommandResult remove = Rt({"delete", id});
  ASSERT_TRUE(remove.ok()) << remove.Describe();
  CommandResult after;
  EXPECT_TRUE(State(id, &after).is_null());
  EXPECT_NE(after.exit_code, 0);
  EXPECT_TRUE(ListDir(runtime().root()).empty()) << "state left in " << runtime().root();
  EXPECT_TRUE(LeaksOf(id).empty()) << JoinLines(LeaksOf(id));
}

TEST_F(LifecycleTest, StateJsonHasRuncFields) {
  std::string id = NewId();
  Bundle& bundle = NewBundle(id);
  StartLongRunning(id, bundle);
  CommandResult result;
  json state = State(id, &result);
  ASSERT_TRUE(state.is_object()) << result.Describe();
  EXPECT_TRUE(state["ociVersion"].is_string()) << state.dump();
  EXPECT_EQ(state["id"], id);
  EXPECT_TRUE(state["pid"].is_number_integer());
  EXPECT_EQ(state["status"], "running");
  EXPECT_EQ(state["bundle"], bundle.path());
  if (kind() == RuntimeKind::kCrun) {
    EXPECT_TRUE(state["rootfs"] == bundle.rootfs() || state["rootfs"] == "rootfs");  // crun: as given
  } else {
    EXPECT_EQ(state["rootfs"], bundle.rootfs());  // runc: absolute
  }
  ASSERT_TRUE(state["created"].is_string()) << state.dump();
  // RFC 3339 timestamp, e.g. 2024-01-02T03:04:05.123456789Z
  std::string created = state["created"];
  EXPECT_GE(created.size(), 20u) << created;
  EXPECT_EQ(created[4], '-');
  EXPECT_EQ(created[10], 'T');
  if (kind() != RuntimeKind::kCrun) {
    EXPECT_TRUE(state.contains("owner")) << state.dump();
  }
}

TEST_F(LifecycleTest, StateOfUnknownContainerFails) {
  CommandResult state = Rt({"state", "hit-does-not-exist"});
  EXPECT_NE(state.exit_code, 0) << state.Describe();
  EXPECT_TRUE(Contains(state.err, "hit-does-not-exist") || Contains(state.err, "not exist") ||
              Contains(state.err, "No such file"))
      << state.Describe();
}

TEST_F(LifecycleTest, ListShowsContainers) {
  std::string id = NewId();
  Bundle& bundle = NewBundle(id);
  StartLongRunning(id, bundle);

  CommandResult table = Rt({"list"});
  ASSERT_TRUE(table.ok()) << table.Describe();
  EXPECT_TRUE(Contains(table.out, id)) << table.Describe();
  EXPECT_TRUE(Contains(table.out, "running")) << table.Describe();

  CommandResult quiet = Rt({"list", "-q"});
  ASSERT_TRUE(quiet.ok()) << quiet.Describe();
  EXPECT_EQ(Trim(quiet.out), id);

  CommandResult as_json = Rt({"list", "--format", "json"});
  ASSERT_TRUE(as_json.ok()) << as_json.Describe();
  json list = json::parse(as_json.out, nullptr, false);
  ASSERT_TRUE(list.is_array()) << as_json.Describe();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["id"], id);
  EXPECT_EQ(list[0]["status"], "running");
  EXPECT_EQ(list[0]["pid"], State(id)["pid"]);
}

TEST_F(LifecycleTest, ListWithNoContainersIsEmpty) {
  CommandResult as_json = Rt({"list", "--format", "json"});
  ASSERT_TRUE(as_json.ok()) << as_json.Describe();
  json list = json::parse(as_json.out, nullptr, false);
  // runc prints "null" for no containers, crun "[]": both mean none.
  EXPECT_TRUE(list.is_null() || (list.is_array() && list.empty())) << as_json.Describe();
  // Clients written against runc may test for that exact text.
  if (kind() == RuntimeKind::kHull || kind() == RuntimeKind::kRunc) {
    EXPECT_EQ(as_json.out, "null\n");
  }
}

TEST_F(LifecycleTest, PsListsContainerProcesses) {
  std::string id = NewId();
  Bundle& bundle = NewBundle(id);
  bundle.Shell("sleep 1000 & sleep 1000");
  StartLongRunning(id, bundle);
  int pid = State(id)["pid"];

  CommandResult as_json = Rt({"ps", "--format", "json", id});
  ASSERT_TRUE(as_json.ok()) << as_json.Describe();
  json pids = json::parse(as_json.out, nullptr, false);
  ASSERT_TRUE(pids.is_array()) << as_json.Describe();
  EXPECT_EQ(pids.size(), 2u) << as_json.out;
  EXPECT_NE(std::find(pids.begin(), pids.end(), json(pid)), pids.end()) << as_json.out;

  CommandResult table = Rt({"ps", id});
  ASSERT_TRUE(table.ok()) << table.Describe();
  EXPECT_TRUE(Contains(table.out, "PID")) << table.out;
  EXPECT_TRUE(Contains(table.out, std::to_string(pid))) << table.out;
}

TEST_F(LifecycleTest, DuplicateIdIsRejected) {
  std::string id = NewId();
  Bundle& bundle = NewBundle(id);
  bundle.Args({"sleep", "1000"});
  CommandResult first = Create(id, bundle);
  ASSERT_TRUE(first.ok()) << first.Describe();
  int pid = State(id)["pid"];
  CommandResult second = Create(id, bundle);
  EXPECT_NE(second.exit_code, 0) << second.Describe();
  EXPECT_TRUE(Contains(second.err, id) || Contains(second.err, "exist")) << second.Describe();
  // The first container is untouched.
  json state = State(id);
  EXPECT_EQ(state["status"], "created");
  EXPECT_EQ(state["pid"], pid);
}

TEST_F(LifecycleTest, InvalidIdsAreRejected) {
  std::string id = NewId();  // bundle owner only; the create attempts use the bad ids
  Bundle& bundle = NewBundle(id);
  ASSERT_TRUE(bundle.Write());
  std::vector<std::string> bad_ids = {"a/b", "..", "../escape", ".", ""};
  // runc allows only [A-Za-z0-9_+.-]; crun 1.8 accepts a space.
  if (kind() != RuntimeKind::kCrun) bad_ids.push_back("with space");
  for (const std::string& bad : bad_ids) {
    CommandResult create = Rt({"create", "--bundle", bundle.path(), bad});
    EXPECT_NE(create.exit_code, 0) << "id '" << bad << "' accepted\n" << create.Describe();
    if (create.ok()) Rt({"delete", "--force", bad});
    EXPECT_TRUE(ListDir(runtime().root()).empty())
        << "id '" << bad << "' left state: " << JoinLines(ListDir(runtime().root()));
  }
  EXPECT_FALSE(FileExists(work() + "/escape"));
  EXPECT_FALSE(FileExists(work() + "/b"));
}

TEST_F(LifecycleTest, DeleteRunningNeedsForce) {
  std::string id = NewId();
  Bundle& bundle = NewBundle(id);
  StartLongRunning(id, bundle);
  int pid = State(id)["pid"];

  CommandResult plain = Rt({"delete", id});
  EXPECT_NE(plain.exit_code, 0) << plain.Describe();
  EXPECT_EQ(State(id)["status"], "running");

  CommandResult forced = Rt({"delete", "--force", id});
  ASSERT_TRUE(forced.ok()) << forced.Describe();
  EXPECT_TRUE(State(id).is_null());
  // The process is gone (or at most a zombie being reaped by its parent).
  WaitFor(
      [&] {
        return ::kill(pid, 0) != 0 ||
               Contains(ReadFile("/proc/" + std::to_string(pid) + "/status"), "State:\tZ");
      },
      5s);
  EXPECT_TRUE(LeaksOf(id).empty()) << JoinLines(LeaksOf(id));
}

TEST_F(LifecycleTest, DeleteForceOfCreatedContainer) {
  std::string id = NewId();
  Bundle& bundle = NewBundle(id);
  CommandResult create = Create(id, bundle);
  ASSERT_TRUE(create.ok()) << create.Describe();
  CommandResult forced = Rt({"delete", "--force", id});
  ASSERT_TRUE(forced.ok()) << forced.Describe();
  EXPECT_TRUE(State(id).is_null());
}

// Clients may clean up one container from two places at once: every `delete --force` succeeds,
// also those that waited for the container's lock while another removed it.
TEST_F(LifecycleTest, ConcurrentForcedDeletesAllSucceed) {
  if (kind() == RuntimeKind::kCrun)
    GTEST_SKIP() << "crun 1.8 fails the losers (\"cannot open directory\")";
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    std::string id = NewId();
    Bundle& bundle = NewBundle(id);
    StartLongRunning(id, bundle);
    std::vector<Command> deletes;
    for (int i = 0; i < 6; ++i) deletes.push_back(runtime().Start({"delete", "--force", id}));
    for (Command& remove : deletes) {
      CommandResult result = remove.Wait(30s);
      EXPECT_TRUE(result.ok()) << result.Describe();
    }
    EXPECT_TRUE(State(id).is_null());
  }
}

// The cgroup.procs files of every cgroup directory `pid` is in, one per hierarchy.
std::vector<std::string> CgroupProcsFilesOf(int pid) {
  std::vector<std::string> files;
  std::string pid_text = std::to_string(pid);
  for (const auto& line : SplitLines(ReadFile("/proc/" + pid_text + "/cgroup"))) {
    std::string path = line.substr(line.find(':', line.find(':') + 1) + 1);
    for (const auto& hierarchy : CgroupHierarchies()) {
      std::string procs = hierarchy + path + "/cgroup.procs";
      for (const auto& member : SplitLines(ReadFile(procs)))
        if (member == pid_text && std::find(files.begin(), files.end(), procs) == files.end())
          files.push_back(procs);
    }
  }
  return files;
}

// Two containers in one cgroup would share limits, and deleting one would remove the other's
// cgroup: the second create is refused, naming linux.cgroupsPath, and the first is untouched.
TEST_F(LifecycleTest, SecondContainerInAPopulatedCgroupIsRefused) {
  if (kind() == RuntimeKind::kRunc || kind() == RuntimeKind::kCrun)
    GTEST_SKIP() << "runc 1.1 and crun 1.8 share the cgroup (runc 1.2 refuses)";
  std::string first = NewId("first");
  Bundle& first_bundle = NewBundle(first);
  StartLongRunning(first, first_bundle);
  int pid = State(first)["pid"];
  std::vector<std::string> first_cgroups = CgroupProcsFilesOf(pid);
  ASSERT_FALSE(first_cgroups.empty());

  std::string second = NewId("second");
  Bundle& second_bundle = NewBundle(second, /*shared_rootfs=*/true);
  second_bundle.CgroupsPath("/" + first).Args({"sleep", "1000"});
  CommandResult create = Create(second, second_bundle);
  EXPECT_NE(create.exit_code, 0) << create.Describe();
  if (kind() == RuntimeKind::kHull) {
    EXPECT_TRUE(Contains(create.err,
                         "linux.cgroupsPath: cgroup \"/" + first + "\" already has 1 process(es)"))
        << create.Describe();
  }
  EXPECT_TRUE(State(second).is_null());
  EXPECT_EQ(State(first)["status"], "running");
  EXPECT_EQ(CgroupProcsFilesOf(pid), first_cgroups);
}

// With a pid namespace of its own, everything of the container dies with its init: a process
// that was moved into its cgroup from outside is not the container's, and `delete --force`
// leaves it alone (runc kills every cgroup pid only for containers without a new pid namespace).
TEST_F(LifecycleTest, DeleteSparesOtherProcessesInTheCgroup) {
  if (kind() == RuntimeKind::kCrun) GTEST_SKIP() << "crun 1.8 kills every process of the cgroup";
  std::string id = NewId();
  Bundle& bundle = NewBundle(id);
  StartLongRunning(id, bundle);
  int pid = State(id)["pid"];
  Command stranger = Command::Start({BusyboxPath(), "sleep", "1000"});
  ASSERT_TRUE(stranger.running());
  for (const std::string& procs : CgroupProcsFilesOf(pid))
    ASSERT_TRUE(WriteFile(procs, std::to_string(stranger.pid()))) << procs;

  CommandResult forced = Rt({"delete", "--force", id});
  EXPECT_TRUE(forced.ok()) << forced.Describe();
  EXPECT_TRUE(State(id).is_null());
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(::kill(stranger.pid(), 0), 0);
  EXPECT_FALSE(
      Contains(ReadFile("/proc/" + std::to_string(stranger.pid()) + "/status"), "State:\tZ"))
      << "the process that is not the container's was killed";
  if (kind() == RuntimeKind::kHull) {
    // Its cgroup cannot go while the process is in it: a warning says so.
    EXPECT_TRUE(Contains(forced.err, "rmdir")) << forced.Describe();
  }
  stranger.Signal(SIGKILL);
  stranger.Wait(10s);
  RemoveCgroupTrees(id);
}

// Without a pid namespace of its own, what the container started outlives its init: delete
// kills every process of its cgroup.
TEST_F(LifecycleTest, DeleteKillsEveryProcessWithoutAPidNamespace) {
  std::string id = NewId();
  Bundle& bundle = NewBundle(id);
  bundle.RemoveNamespace("pid").Shell("sleep 1000 & echo $! > /tmp/child; exec sleep 1000");
  StartLongRunning(id, bundle);
  int pid = State(id)["pid"];
  std::string child_file = bundle.rootfs() + "/tmp/child";
  WaitFor([&] { return !Trim(ReadFile(child_file)).empty(); }, 10s);
  int child = std::stoi("0" + Trim(ReadFile(child_file)));
  ASSERT_GT(child, 0);
  ASSERT_EQ(::kill(child, 0), 0);

  CommandResult forced = Rt({"delete", "--force", id});
  EXPECT_TRUE(forced.ok()) << forced.Describe();
  EXPECT_TRUE(State(id).is_null());
  for (int gone : {pid, child}) {
    EXPECT_TRUE(WaitFor(
        [&] {
          return ::kill(gone, 0) != 0 ||
                 Contains(ReadFile("/proc/" + std::to_string(gone) + "/status"), "State:\tZ");
        },
        5s))
        << "pid " << gone << " survived the delete";
  }
}

// The container's init is pid 1 of its namespace: the kernel delivers only signals it handles, so
// the process traps TERM (SIGKILL is always delivered from the parent namespace).
constexpr char kExitOnTerm[] = "trap 'exit 0' TERM; while :; do sleep 0.05; done";

TEST_F(LifecycleTest, KillAcceptsSignalNamesAndNumbers) {
  std::vector<std::string> signals = {"KILL", "SIGKILL", "9", "TERM", "SIGTERM", "15"};
  if (kind() != RuntimeKind::kCrun) signals.push_back("term");  // runc upper-cases names
  for (const std::string& signal : signals) {
    SCOPED_TRACE("signal " + signal);
    std::string id = NewId();
    Bundle& bundle = NewBundle(id);
    bundle.Shell(kExitOnTerm);
    StartLongRunning(id, bundle);
    CommandResult kill = Rt({"kill", id, signal});
    ASSERT_TRUE(kill.ok()) << kill.Describe();
    EXPECT_EQ(WaitForStatus(id, "stopped"), "stopped");
    CommandResult remove = Rt({"delete", id});
    EXPECT_TRUE(remove.ok()) << remove.Describe();
  }
}

TEST_F(LifecycleTest, KillDefaultsToSigterm) {
  std::string id = NewId();
  Bundle& bundle = NewBundle(id);
  bundle.Shell(kExitOnTerm);
  StartLongRunning(id, bundle);
  CommandResult kill = Rt({"kill", id});
  ASSERT_TRUE(kill.ok()) << kill.Describe();
  EXPECT_EQ(WaitForStatus(id, "stopped"), "stopped");
}

TEST_F(LifecycleTest, KillUnknownSignalFails) {
  if (kind() == RuntimeKind::kCrun) GTEST_SKIP() << "crun 1.8 accepts unknown signal names";
  std::string id = NewId();
  Bundle& bundle = NewBundle(id);
  StartLongRunning(id, bundle);
  for (std::string signal : {"SIGNOPE", "NOPE", "99999"}) {
    CommandResult kill = Rt({"kill", id, signal});
    EXPECT_NE(kill.exit_code, 0) << kill.Describe();
  }
  EXPECT_EQ(State(id)["status"], "running");
}

TEST_F(LifecycleTest, KillAllSignalsEveryProcess) {
  std::string id = NewId();
  Bundle& bundle = NewBundle(id);
  // The shell ignores TERM; its background child does not.
  bundle.Shell("trap '' TERM; sleep 1000 & while :; do sleep 1; done");
  StartLongRunning(id, bundle);
  CommandResult kill = Rt({"kill", "--all", id, "KILL"});
  ASSERT_TRUE(kill.ok()) << kill.Describe();
  EXPECT_EQ(WaitForStatus(id, "stopped"), "stopped");
}

TEST_F(LifecycleTest, PauseAndResume) {
  std::string id = NewId();
  Bundle& bundle = NewBundle(id);
  StartLongRunning(id, bundle);
  int pid = State(id)["pid"];
  CommandResult pause = Rt({"pause", id});
  ASSERT_TRUE(pause.ok()) << pause.Describe();
  EXPECT_EQ(State(id)["status"], "paused");
  // A frozen task shows up in "D" (or "T") state from the outside... the freezer leaves it
  // sleeping in the kernel; what a user relies on is that `state` says paused and resume works.
  CommandResult resume = Rt({"resume", id});
  ASSERT_TRUE(resume.ok()) << resume.Describe();
  EXPECT_EQ(State(id)["status"], "running");
  EXPECT_EQ(::kill(pid, 0), 0);
}

TEST_F(LifecycleTest, PausedContainerDoesNotRun) {
  std::string id = NewId();
  Bundle& bundle = NewBundle(id);
  std::string counter_dir = work() + "/counter";
  MakeDirs(counter_dir);
  bundle.BindMount(counter_dir, "/counter");
  bundle.Shell("i=0; while :; do i=$((i+1)); echo $i > /counter/n; sleep 0.01; done");
  StartLongRunning(id, bundle);
  std::this_thread::sleep_for(100ms);
  ASSERT_TRUE(Rt({"pause", id}).ok());
  std::this_thread::sleep_for(50ms);
  std::string frozen = ReadFile(counter_dir + "/n");
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(ReadFile(counter_dir + "/n"), frozen) << "counter advanced while paused";
  ASSERT_TRUE(Rt({"resume", id}).ok());
  // Resumed, the counter moves again (soon, however busy the machine is).
  EXPECT_TRUE(WaitFor([&] { return ReadFile(counter_dir + "/n") != frozen; }, 10s))
      << "counter stuck after resume";
}

TEST_F(LifecycleTest, UpdateMemoryAndPidsShowInCgroup) {
  std::string id = NewId();
  Bundle& bundle = NewBundle(id);
  bundle.Resources({{"memory", {{"limit", 128 * 1024 * 1024}}}, {"pids", {{"limit", 100}}}});
  StartLongRunning(id, bundle);
  int pid = State(id)["pid"];
  std::string memory_file = HostCgroupFile(pid, "memory", "memory.limit_in_bytes", "memory.max");
  std::string pids_file = HostCgroupFile(pid, "pids", "pids.max", "pids.max");
  ASSERT_FALSE(memory_file.empty());
  EXPECT_EQ(Trim(ReadFile(memory_file)), std::to_string(128 * 1024 * 1024)) << memory_file;
  EXPECT_EQ(Trim(ReadFile(pids_file)), "100") << pids_file;

  CommandResult update =
      Rt({"update", "--memory", std::to_string(96 * 1024 * 1024), "--pids-limit", "50", id});
  ASSERT_TRUE(update.ok()) << update.Describe();
  EXPECT_EQ(Trim(ReadFile(memory_file)), std::to_string(96 * 1024 * 1024)) << memory_file;
  EXPECT_EQ(Trim(ReadFile(pids_file)), "50") << pids_file;

  // runc also takes sizes with units; crun 1.8 only plain bytes.
  if (kind() != RuntimeKind::kCrun) {
    update = Rt({"update", "--memory", "64M", id});
    ASSERT_TRUE(update.ok()) << update.Describe();
    EXPECT_EQ(Trim(ReadFile(memory_file)), std::to_string(64 * 1024 * 1024)) << memory_file;
  }
}

TEST_F(LifecycleTest, UpdateFromResourcesJsonOnStdin) {
  std::string id = NewId();
  Bundle& bundle = NewBundle(id);
  StartLongRunning(id, bundle);
  int pid = State(id)["pid"];
  json resources = {{"pids", {{"limit", 42}}}};
  CommandResult update = Rt({"update", "--resources", "-", id}, {.stdin_data = resources.dump()});
  ASSERT_TRUE(update.ok()) << update.Describe();
  EXPECT_EQ(Trim(ReadFile(HostCgroupFile(pid, "pids", "pids.max", "pids.max"))), "42");
}

TEST_F(LifecycleTest, EventsStatsPrintsOneJson) {
  if (kind() == RuntimeKind::kCrun) GTEST_SKIP() << "crun 1.8 does not implement events";
  std::string id = NewId();
  Bundle& bundle = NewBundle(id);
  StartLongRunning(id, bundle);
  CommandResult events = Rt({"events", "--stats", id});
  ASSERT_TRUE(events.ok()) << events.Describe();
  auto lines = SplitLines(Trim(events.out));
  ASSERT_EQ(lines.size(), 1u) << events.out;
  json event = json::parse(lines[0], nullptr, false);
  ASSERT_TRUE(event.is_object()) << events.out;
  EXPECT_EQ(event["type"], "stats");
  EXPECT_EQ(event["id"], id);
  ASSERT_TRUE(event["data"].is_object()) << events.out;
  EXPECT_TRUE(event["data"].contains("memory")) << events.out;
  EXPECT_TRUE(event["data"].contains("pids")) << events.out;
}

// Without --stats, `events` streams stats events every --interval (a Go duration) until the
// container stops, and an {"type":"oom","id":ID} event, as runc's, when a process of the
// container runs out of memory under its limit.
TEST_F(LifecycleTest, EventsReportOutOfMemory) {
  if (kind() == RuntimeKind::kCrun) GTEST_SKIP() << "crun 1.8 does not implement events";
  std::string id = NewId();
  Bundle& bundle = NewBundle(id);
  std::string trigger = work() + "/trigger";
  ASSERT_TRUE(MakeDirs(trigger));
  bundle.BindMount(trigger, "/trigger");
  const int64_t limit = 16 << 20;
  json memory = {{"limit", limit}};
  // With swap the allocation would go there first: memory+swap gets the same limit.
  if (SplitLines(Trim(ReadFile("/proc/swaps"))).size() > 1) memory["swap"] = limit;
  bundle.Resources({{"memory", memory}});
  // A child shell collects 64 MiB in a variable; the kernel's OOM killer stops it at 16. It
  // volunteers (oom_score_adj 1000, which its head and tr inherit), so that a second OOM before
  // its memory is freed takes one of them, never the container's init.
  bundle.Shell(
      "while [ ! -e /trigger/go ]; do sleep 0.05; done; "
      "sh -c 'echo 1000 > /proc/self/oom_score_adj; x=$(head -c 64m /dev/zero | tr \"\\0\" a)'; "
      "echo $? > /trigger/status; sleep 1000");
  StartLongRunning(id, bundle);

  Command events = runtime().Start({"events", "--interval", "1.5s", id});
  auto printed = [&](const char* text) {
    return [&events, text] { return Contains(events.CurrentOut(), text); };
  };
  // The first stats event: the runtime is watching.
  ASSERT_TRUE(WaitFor(printed("\"type\":\"stats\""), 20s)) << events.CurrentErr();
  ASSERT_TRUE(WriteFile(trigger + "/go", ""));
  EXPECT_TRUE(WaitFor(printed("\"type\":\"oom\""), 30s))
      << "no oom event; the allocation ended with " << ReadFile(trigger + "/status") << "\n"
      << events.CurrentOut() << events.CurrentErr();
  WaitFor([&] { return !Trim(ReadFile(trigger + "/status")).empty(); }, 10s);
  EXPECT_EQ(Trim(ReadFile(trigger + "/status")), "137") << "the allocating shell was not killed";

  ASSERT_TRUE(Rt({"delete", "--force", id}).ok());
  CommandResult ended = events.Wait(30s);
  EXPECT_EQ(ended.exit_code, 0) << "the stream ends with the container\n" << ended.Describe();
  int oom_events = 0, stats_events = 0;
  for (const auto& line : SplitLines(ended.out)) {
    json event = json::parse(line, nullptr, false);
    ASSERT_TRUE(event.is_object()) << line;
    EXPECT_EQ(event["id"], id) << line;
    if (event["type"] == "oom") {
      ++oom_events;
      EXPECT_FALSE(event.contains("data")) << line;
    } else {
      EXPECT_EQ(event["type"], "stats") << line;
      ++stats_events;
    }
  }
  EXPECT_GE(oom_events, 1);
  EXPECT_GE(stats_events, 1);
}

// The stream ends as soon as the container's init exits, not at the next --interval; then
// neither form of `events` accepts the stopped container.
TEST_F(LifecycleTest, EventsEndWhenTheContainerStops) {
  if (kind() == RuntimeKind::kCrun) GTEST_SKIP() << "crun 1.8 does not implement events";
  if (kind() == RuntimeKind::kRunc) GTEST_SKIP() << "runc 1.1 prints no stats before an interval";
  std::string id = NewId();
  Bundle& bundle = NewBundle(id);
  StartLongRunning(id, bundle);
  Command events = runtime().Start({"events", "--interval", "10m", id});
  ASSERT_TRUE(WaitFor([&] { return Contains(events.CurrentOut(), "\"type\":\"stats\""); }, 20s))
      << events.CurrentErr();

  ASSERT_TRUE(Rt({"kill", id, "KILL"}).ok());
  CommandResult ended = events.Wait(20s);
  EXPECT_FALSE(ended.timed_out) << "the stream outlived the container\n" << ended.Describe();
  EXPECT_EQ(ended.exit_code, 0) << ended.Describe();
  EXPECT_EQ(SplitLines(Trim(ended.out)).size(), 1u) << ended.out;

  ASSERT_EQ(WaitForStatus(id, "stopped"), "stopped");
  CommandResult once = Rt({"events", "--stats", id});
  EXPECT_NE(once.exit_code, 0) << once.Describe();
  CommandResult stream = Rt({"events", id}, {.timeout = 10s});
  EXPECT_NE(stream.exit_code, 0) << stream.Describe();
  EXPECT_FALSE(stream.timed_out) << stream.Describe();
  if (kind() == RuntimeKind::kHull) {
    EXPECT_TRUE(Contains(once.err, "container \"" + id + "\" is stopped")) << once.Describe();
    EXPECT_TRUE(Contains(stream.err, "container \"" + id + "\" is not running"))
        << stream.Describe();
  }
  EXPECT_TRUE(Rt({"delete", id}).ok());
}

TEST_F(LifecycleTest, EventsRefuseABadInterval) {
  if (kind() == RuntimeKind::kCrun) GTEST_SKIP() << "crun 1.8 does not implement events";
  std::string id = NewId();
  Bundle& bundle = NewBundle(id);
  StartLongRunning(id, bundle);
  for (std::string bad : {"abc", "5", "3d"}) {
    CommandResult events = Rt({"events", "--interval", bad, id}, {.timeout = 10s});
    EXPECT_NE(events.exit_code, 0) << events.Describe();
    EXPECT_FALSE(events.timed_out) << events.Describe();
    EXPECT_TRUE(Contains(events.err, "interval")) << events.Describe();
  }
}

TEST_F(LifecycleTest, PidFileHoldsInitPid) {
  std::string id = NewId();
  Bundle& bundle = NewBundle(id);
  bundle.Args({"sleep", "1000"});
  std::string pid_file = work() + "/init.pid";
  CommandResult create = Create(id, bundle, {"--pid-file", pid_file});
  ASSERT_TRUE(create.ok()) << create.Describe();
  ASSERT_TRUE(FileExists(pid_file));
  EXPECT_EQ(Trim(ReadFile(pid_file)), std::to_string(State(id)["pid"].get<int>()));
}

// A relative --pid-file is relative to where the runtime was called (runc makes it absolute
// first), not to the bundle the runtime works from.
TEST_F(LifecycleTest, RelativePidFileIsRelativeToTheCallersDirectory) {
  std::string caller_dir = work() + "/caller";
  ASSERT_TRUE(MakeDirs(caller_dir));
  for (std::string command : {"create", "run"}) {
    SCOPED_TRACE(command);
    std::string id = NewId();
    Bundle& bundle = NewBundle(id);
    bundle.Args({"sleep", "1000"});
    ASSERT_TRUE(bundle.Write());
    std::vector<std::string> args = {command, "--bundle", bundle.path(), "--pid-file",
                                     command + ".pid"};
    if (command == "run") args.push_back("--detach");
    args.push_back(id);
    CommandResult result = Rt(args, {.cwd = caller_dir});
    ASSERT_TRUE(result.ok()) << result.Describe();
    EXPECT_EQ(Trim(ReadFile(caller_dir + "/" + command + ".pid")),
              std::to_string(State(id)["pid"].get<int>()));
    EXPECT_FALSE(FileExists(bundle.path() + "/" + command + ".pid"));
  }
}

TEST_F(LifecycleTest, PreserveFdsPassesDescriptors) {
  std::string id = NewId();
  Bundle& bundle = NewBundle(id);
  bundle.Shell("echo through-fd3 >&3; if [ -e /proc/self/fd/4 ]; then echo fd4-open; fi");
  int pipe_fds[2];
  ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
  ASSERT_TRUE(bundle.Write());
  CommandResult run = Rt({"run", "--bundle", bundle.path(), "--preserve-fds", "1", id},
                         {.pass_fds = {pipe_fds[1]}});
  ::close(pipe_fds[1]);
  EXPECT_EQ(run.exit_code, 0) << run.Describe();
  char buffer[256] = {};
  ssize_t n = ::read(pipe_fds[0], buffer, sizeof buffer - 1);
  ::close(pipe_fds[0]);
  EXPECT_EQ(std::string(buffer, n > 0 ? n : 0), "through-fd3\n");
  EXPECT_FALSE(Contains(run.out, "fd4-open")) << run.Describe();
}

TEST_F(LifecycleTest, TerminalThroughConsoleSocket) {
  std::string id = NewId();
  Bundle& bundle = NewBundle(id);
  bundle.Terminal(true).Shell("tty; read line; echo got:$line");
  ConsoleSocket console(work() + "/console.sock");
  ASSERT_TRUE(console.listening()) << console.error();
  CommandResult create = Create(id, bundle, {"--console-socket", console.path()});
  ASSERT_TRUE(create.ok()) << create.Describe();
  ASSERT_GE(console.Receive(), 0) << console.error();
  ASSERT_TRUE(Rt({"start", id}).ok());
  std::string seen = console.ReadUntil("/dev/pts/");
  EXPECT_TRUE(Contains(seen, "/dev/pts/0")) << seen;
  ASSERT_TRUE(console.Write("hello\n"));
  seen = console.ReadUntil("got:hello");
  EXPECT_TRUE(Contains(seen, "got:hello")) << seen;
  EXPECT_EQ(WaitForStatus(id, "stopped"), "stopped");
}

TEST_F(LifecycleTest, TerminalWithoutConsoleSocketFailsCreate) {
  std::string id = NewId();
  Bundle& bundle = NewBundle(id);
  bundle.Terminal(true);
  CommandResult create = Create(id, bundle);
  EXPECT_NE(create.exit_code, 0) << create.Describe();
  EXPECT_TRUE(State(id).is_null());
}

// `run` in the foreground with process.terminal and no --console-socket: the runtime is the
// terminal, as runc is (`script` gives the runtime a terminal of its own here).
TEST_F(LifecycleTest, ForegroundRunIsTheTerminal) {
  if (kind() != RuntimeKind::kHull && kind() != RuntimeKind::kRunc)
    GTEST_SKIP() << "needs a runtime that proxies the terminal itself";
  std::string script = FindProgram("script");
  if (script.empty()) GTEST_SKIP() << "no script(1)";
  std::string id = NewId();
  Bundle& bundle = NewBundle(id);
  bundle.Terminal(true).Shell("tty; read line; echo got:$line; exit 5");
  ASSERT_TRUE(bundle.Write());
  std::string command;
  for (const auto& arg : runtime().Argv({"run", "--bundle", bundle.path(), id}))
    command += "'" + arg + "' ";
  CommandOptions options;
  options.stdin_data = "hello\n";
  CommandResult run = RunCommand({script, "-qec", command, "/dev/null"}, options);
  EXPECT_EQ(run.exit_code, 5) << run.Describe();
  EXPECT_TRUE(Contains(run.out, "/dev/pts/0")) << run.Describe();
  EXPECT_TRUE(Contains(run.out, "got:hello")) << run.Describe();
}

TEST_F(LifecycleTest, DetachedRunKeepsContainer) {
  std::string id = NewId();
  Bundle& bundle = NewBundle(id);
  bundle.Args({"sleep", "1000"});
  CommandResult run = RunContainer(id, bundle, {"--detach"});
  ASSERT_TRUE(run.ok()) << run.Describe();
  EXPECT_EQ(State(id)["status"], "running");
}

TEST_F(LifecycleTest, StartTwiceFails) {
  std::string id = NewId();
  Bundle& bundle = NewBundle(id);
  StartLongRunning(id, bundle);
  CommandResult again = Rt({"start", id});
  EXPECT_NE(again.exit_code, 0) << again.Describe();
  EXPECT_EQ(State(id)["status"], "running");
}

TEST_F(LifecycleTest, FeaturesPrintsJson) {
  if (kind() == RuntimeKind::kRunc || kind() == RuntimeKind::kCrun)
    GTEST_SKIP() << "runc 1.1 and crun 1.8 have no `features` command";
  CommandResult features = Rt({"features"});
  ASSERT_TRUE(features.ok()) << features.Describe();
  json parsed = json::parse(features.out, nullptr, false);
  ASSERT_TRUE(parsed.is_object()) << features.out;
  EXPECT_TRUE(parsed.contains("ociVersionMin")) << features.out;
  EXPECT_TRUE(parsed.contains("ociVersionMax")) << features.out;
}

TEST_F(LifecycleTest, SpecWritesLoadableConfig) {
  TempDir dir("hull-spec");
  CommandResult spec = Rt({"spec"}, {.cwd = dir.path()});
  ASSERT_TRUE(spec.ok()) << spec.Describe();
  json config = json::parse(ReadFile(dir / "config.json"), nullptr, false);
  ASSERT_TRUE(config.is_object());
  EXPECT_TRUE(config.contains("ociVersion"));
  EXPECT_TRUE(config["process"].contains("args"));
  EXPECT_EQ(config["root"]["path"], "rootfs");
}

}  // namespace
}  // namespace hull::testing
