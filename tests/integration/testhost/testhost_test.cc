// Full Linux guests under hull-vmm, in the KVM test host (scripts/testhost/run.sh): a Debian
// cloud kernel with an initramfs built from Debian packages boots to userspace with 2 vCPUs,
// reads and writes a virtio-blk disk (the host checks the data), pings a tap on the host over
// virtio-net, echoes over vsock both ways, reads virtio-rng and powers off; reboot, panic, a
// config file, the REST API and Ctrl-Alt-Del each boot it once more, and a tiny guest triple-faults.
//
// The test host boots once for the whole suite (about two minutes); each test reads its verdict
// from the "CHECK <name> ok|FAIL <why>" lines the test host printed. The console log is kept in
// the build directory (testhost_checks.log) for diagnosis.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>

namespace {

struct Outcome {
  bool ran = false;
  std::string skip_reason;
  int exit_status = -1;
  std::string output;
};

Outcome& TheOutcome() {
  static Outcome outcome;
  return outcome;
}

const char* kLogPath = HULL_BINARY_DIR "/testhost_checks.log";

class TesthostGuest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    Outcome& outcome = TheOutcome();
    if (outcome.ran) return;
    outcome.ran = true;
    std::random_device random;
    std::string seed = std::to_string(random()) + std::to_string(random());
    std::string command = std::string(HULL_SOURCE_DIR "/tests/integration/testhost/run_checks.sh ") +
                          HULL_VMM_BINARY + " " + HULL_VSOCK_PROBE + " " + HULL_TRIPLE_FAULT_GUEST + " " +
                          seed + " 2>&1";
    FILE* pipe = ::popen(command.c_str(), "r");
    if (!pipe) {
      outcome.skip_reason = "popen failed";
      return;
    }
    char buffer[4096];
    size_t n;
    while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) outcome.output.append(buffer, n);
    int status = ::pclose(pipe);
    // The test host's serial console ends its lines with CR LF.
    std::erase(outcome.output, '\r');
    outcome.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::ofstream(kLogPath) << outcome.output;
    if (outcome.exit_status == 77) {
      size_t at = outcome.output.find("SKIP: ");
      outcome.skip_reason = at == std::string::npos ? outcome.output : outcome.output.substr(at);
    }
  }

  // Asserts that the test host reported "CHECK <name> ok".
  static void ExpectCheck(const std::string& name) {
    const Outcome& outcome = TheOutcome();
    if (!outcome.skip_reason.empty()) GTEST_SKIP() << outcome.skip_reason;
    std::string prefix = "CHECK " + name + " ";
    size_t at = outcome.output.find(prefix);
    ASSERT_NE(at, std::string::npos)
        << "the test host never reported " << name << " (exit status " << outcome.exit_status
        << "); console log: " << kLogPath;
    std::string line = outcome.output.substr(at, outcome.output.find('\n', at) - at);
    EXPECT_EQ(line, prefix + "ok") << "console log: " << kLogPath;
  }
};

TEST_F(TesthostGuest, BootsToUserspaceWithTwoVcpus) { ExpectCheck("smp-2-vcpus"); }
TEST_F(TesthostGuest, BlockDeviceReadsTheHostsData) { ExpectCheck("blk-read"); }
TEST_F(TesthostGuest, BlockDeviceWriteReachesTheHostFile) { ExpectCheck("blk-write"); }
TEST_F(TesthostGuest, NetworkPingsTheHostsTap) { ExpectCheck("net"); }
TEST_F(TesthostGuest, VsockGuestToHostEchoes) { ExpectCheck("vsock-guest-to-host"); }
TEST_F(TesthostGuest, VsockHostToGuestEchoes) { ExpectCheck("vsock-host-to-guest"); }
TEST_F(TesthostGuest, RngGivesBytes) { ExpectCheck("rng"); }
TEST_F(TesthostGuest, PowerOffWithTwoVcpusExitsZero) { ExpectCheck("poweroff-smp"); }
TEST_F(TesthostGuest, RebootExitsZero) { ExpectCheck("reboot"); }
TEST_F(TesthostGuest, PanicExitsTwo) { ExpectCheck("panic"); }
TEST_F(TesthostGuest, BootsFromAConfigFile) { ExpectCheck("config-file"); }
TEST_F(TesthostGuest, ApiRejectsABadMachineConfig) { ExpectCheck("api-rejects-bad-config"); }
TEST_F(TesthostGuest, BootsThroughTheApi) { ExpectCheck("api-boot"); }
TEST_F(TesthostGuest, CtrlAltDelThroughTheApiRebootsAndExitsZero) { ExpectCheck("ctrl-alt-del"); }
TEST_F(TesthostGuest, TripleFaultExitsZero) { ExpectCheck("triple-fault"); }

TEST_F(TesthostGuest, AllChecksRan) {
  const Outcome& outcome = TheOutcome();
  if (!outcome.skip_reason.empty()) GTEST_SKIP() << outcome.skip_reason;
  EXPECT_NE(outcome.output.find("CHECKS DONE"), std::string::npos) << "console log: " << kLogPath;
  EXPECT_EQ(outcome.exit_status, 0) << "console log: " << kLogPath;
}

}  // namespace
