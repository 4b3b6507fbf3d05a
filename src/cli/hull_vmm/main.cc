// hull-vmm: runs one KVM microVM. Exit status: 0 when the guest resets, shuts down or
// triple-faults, or on SIGTERM/SIGINT; the written value for the debug-exit port (0xf4);
// 2 for a guest panic (pvpanic, or a Linux panic banner on the console before the guest reset);
// 1 for any error.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <string>
#include <vector>

#include "base/log.h"
#include "base/version.h"
#include "linux/file.h"
#include "vmm/api/vmm_api.h"
#include "vmm/config.h"
#include "vmm/vm.h"

namespace {

int Die(const hull::Error& error) {
  hull::log::Error(error.ToString());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"hull-vmm: a KVM microVM monitor"};
  app.set_version_flag("--version", std::string("hull-vmm ") + hull::kVersion);
  std::string config_path, kernel, initrd, cmdline, console = "stdio",
      seccomp = hull::vmm::kDefaultSeccomp, vsock,
      api_socket;
  uint32_t cpus = 1;
  uint64_t memory_mib = 128;
  bool hugepages = false, memfd = false, verbose = false, rng = false, no_acpi = false;
  std::vector<std::string> disks, nets;
  app.add_option("--config", config_path, "JSON VM configuration; flags override its fields");
  app.add_option("--api-sock", api_socket,
                 "serve the REST API on this unix socket; without a kernel, wait for InstanceStart");
  auto* kernel_opt = app.add_option("--kernel", kernel, "kernel image (bzImage or ELF)");
  auto* initrd_opt = app.add_option("--initrd", initrd, "initial ramdisk");
  auto* cmdline_opt = app.add_option("--cmdline", cmdline, "kernel command line");
  auto* cpus_opt = app.add_option("--cpus", cpus, "number of vCPUs");
  auto* memory_opt = app.add_option("--memory", memory_mib, "guest memory in MiB");
  auto* console_opt =
      app.add_option("--console", console, "stdio, none, file:PATH or socket:PATH");
  auto* huge_opt = app.add_flag("--hugepages", hugepages,
                                "back guest memory with 2 MiB huge pages, reserved at start from "
                                "/proc/sys/vm/nr_hugepages");
  auto* memfd_opt = app.add_flag("--memfd", memfd, "back guest memory with a memfd (shareable)");
  auto* disk_opt = app.add_option(
      "--disk", disks,
      "virtio-blk disk: PATH[,readonly][,id=NAME] (repeatable; NAME: the serial the guest reads, "
      "at most 20 bytes)");
  auto* net_opt = app.add_option("--net", nets, "virtio-net on a tap: tap=NAME[,mac=MAC] (repeatable)");
  auto* vsock_opt = app.add_option("--vsock", vsock, "virtio-vsock: cid=N,uds=PATH");
  auto* rng_opt = app.add_flag("--rng", rng, "add a virtio-rng device");
  auto* no_acpi_opt = app.add_flag("--no-acpi", no_acpi,
                                   "no ACPI tables; announce virtio devices on the command line");
  auto* seccomp_opt = app.add_option(
      "--seccomp", seccomp,
      "system call allow-lists (the API before the start, the running VM): on, log or off");
  app.add_flag("-v,--verbose", verbose, "log debug messages");
  CLI11_PARSE(app, argc, argv);

  hull::log::Configure({.program = "hull-vmm",
                        .min_level = verbose ? hull::log::Level::kDebug : hull::log::Level::kWarning});

  hull::vmm::VmConfig config;
  if (!config_path.empty()) {
    auto text = hull::linux::ReadFile(config_path);
    if (!text) return Die(text.error().Wrap("config"));
    auto parsed = hull::vmm::ParseConfigJson(*text);
    if (!parsed) return Die(parsed.error().Wrap("config " + hull::Quote(config_path)));
    config = std::move(*parsed);
  }
  if (kernel_opt->count()) config.boot.kernel_path = kernel;
  if (initrd_opt->count()) config.boot.initrd_path = initrd;
  if (cmdline_opt->count()) config.boot.cmdline = cmdline;
  if (cpus_opt->count()) config.cpus = cpus;
  if (memory_opt->count()) config.memory_mib = memory_mib;
  if (huge_opt->count()) config.hugepages = hugepages;
  if (memfd_opt->count()) config.memfd = memfd;
  if (rng_opt->count()) config.rng = rng;
  if (vsock_opt->count()) {
    auto parsed = hull::vmm::ParseVsock(vsock);
    if (!parsed) return Die(parsed.error());
    config.vsock = *parsed;
  }
  if (no_acpi_opt->count()) config.acpi = !no_acpi;
  if (seccomp_opt->count()) config.seccomp = seccomp;
  if (net_opt->count()) {
    config.nets.clear();
    for (const std::string& text : nets) {
      auto net = hull::vmm::ParseNet(text);
      if (!net) return Die(net.error());
      config.nets.push_back(*net);
    }
  }
  if (disk_opt->count()) {
    config.disks.clear();
    for (const std::string& text : disks) {
      auto disk = hull::vmm::ParseDisk(text);
      if (!disk) return Die(disk.error());
      config.disks.push_back(*disk);
    }
  }
  if (console_opt->count() || config_path.empty()) {
    auto parsed = hull::vmm::ParseConsole(console);
    if (!parsed) return Die(parsed.error());
    config.console = *parsed;
  }

  hull::Result<hull::vmm::VmOutcome> outcome;
  if (!api_socket.empty()) {
    outcome = hull::vmm::api::RunWithApi(api_socket, config, !config.boot.kernel_path.empty());
  } else {
    auto vm = hull::vmm::Vm::Create(config);
    if (!vm) return Die(vm.error());
    outcome = (*vm)->Run();
  }
  if (!outcome) return Die(outcome.error());
  switch (outcome->reason) {
    case hull::vmm::StopReason::kError:
    case hull::vmm::StopReason::kPanic:
      hull::log::Error(outcome->detail);
      break;
    default:
      hull::log::Info(outcome->detail);
      break;
  }
  return outcome->exit_status;
}
