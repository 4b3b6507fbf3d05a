// Malformed documents: every error names the JSON path of the field and what was expected,
// and nothing throws.
#include <gtest/gtest.h>

#include <string>

#include "oci/spec_json.h"

namespace hull::oci {
namespace {

std::string SpecError(std::string_view json) {
  Result<Spec> spec = ParseSpec(json);
  if (spec) return "(parsed without error)";
  return spec.error().ToString();
}

TEST(OciSpecJsonErrorTest, TypeErrorsNameTheFieldPath) {
  EXPECT_EQ(SpecError(R"({"process": {"user": {"uid": "0"}}})"),
            "process.user.uid: expected unsigned integer, got string");
  EXPECT_EQ(SpecError(R"({"mounts": [{"destination": "/a"}, {"destination": "/b"},
                                      {"destination": 5}]})"),
            "mounts[2].destination: expected string, got number");
  EXPECT_EQ(SpecError(R"({"linux": {"resources": {"memory": {"limit": "512M"}}}})"),
            "linux.resources.memory.limit: expected integer, got string");
  EXPECT_EQ(SpecError(R"({"root": {"readonly": "yes"}})"),
            "root.readonly: expected boolean, got string");
  EXPECT_EQ(SpecError(R"({"process": []})"), "process: expected object, got array");
  EXPECT_EQ(SpecError(R"({"process": {"args": "sh -c true"}})"),
            "process.args: expected array, got string");
  EXPECT_EQ(SpecError(R"({"process": {"args": ["sh", null]}})"),
            "process.args[1]: expected string, got null");
  EXPECT_EQ(SpecError(R"({"process": {"user": {"additionalGids": [1, true]}}})"),
            "process.user.additionalGids[1]: expected unsigned integer, got boolean");
  EXPECT_EQ(SpecError(R"({"process": {"capabilities": {"bounding": [1]}}})"),
            "process.capabilities.bounding[0]: expected string, got number");
  EXPECT_EQ(SpecError(R"({"process": {"rlimits": [{"type": "RLIMIT_NOFILE", "hard": "1"}]}})"),
            "process.rlimits[0].hard: expected unsigned integer, got string");
  EXPECT_EQ(SpecError(R"({"hooks": {"poststop": [{"path": "/x", "timeout": "5"}]}})"),
            "hooks.poststop[0].timeout: expected integer, got string");
  EXPECT_EQ(SpecError(R"({"linux": {"namespaces": [{"type": "pid"}, {"type": 1}]}})"),
            "linux.namespaces[1].type: expected string, got number");
  EXPECT_EQ(SpecError(R"({"linux": {"uidMappings": [{"containerID": 0, "hostID": "1000"}]}})"),
            "linux.uidMappings[0].hostID: expected unsigned integer, got string");
  EXPECT_EQ(SpecError(R"({"linux": {"seccomp": {"syscalls": [{"names": ["read"],
                "args": [{"index": 0, "value": "x"}]}]}}})"),
            "linux.seccomp.syscalls[0].args[0].value: expected unsigned integer, got string");
  EXPECT_EQ(SpecError(R"({"linux": {"resources": {"blockIO": {"throttleReadBpsDevice":
                [{"major": 8, "minor": 0, "rate": -1}]}}}})"),
            "linux.resources.blockIO.throttleReadBpsDevice[0].rate: -1 is out of range "
            "(0..18446744073709551615)");
  EXPECT_EQ(SpecError(R"({"linux": {"timeOffsets": {"monotonic": {"secs": "1"}}}})"),
            "linux.timeOffsets.monotonic.secs: expected integer, got string");
  EXPECT_EQ(SpecError(R"({"annotations": {"x": 1}})"),
            "annotations.x: expected string, got number");
  EXPECT_EQ(SpecError(R"({"hooks": {"prestart": {}}})"),
            "hooks.prestart: expected array, got object");
  EXPECT_EQ(SpecError(R"({"linux": {"intelRdt": {"enableCMT": 1}}})"),
            "linux.intelRdt.enableCMT: expected boolean, got number");
}

TEST(OciSpecJsonErrorTest, KeysThatAreNotIdentifiersAreQuotedInPaths) {
  EXPECT_EQ(SpecError(R"({"linux": {"sysctl": {"net.ipv4.ip_forward": 1}}})"),
            R"(linux.sysctl["net.ipv4.ip_forward"]: expected string, got number)");
  EXPECT_EQ(SpecError(R"({"linux": {"resources": {"unified": {"memory.max": 5}}}})"),
            R"(linux.resources.unified["memory.max"]: expected string, got number)");
}

TEST(OciSpecJsonErrorTest, OutOfRangeIntegersNameTheFieldAndRange) {
  EXPECT_EQ(SpecError(R"({"process": {"user": {"uid": -1}}})"),
            "process.user.uid: -1 is out of range (0..4294967295)");
  EXPECT_EQ(SpecError(R"({"process": {"user": {"gid": 4294967296}}})"),
            "process.user.gid: 4294967296 is out of range (0..4294967295)");
  EXPECT_EQ(SpecError(R"({"linux": {"resources": {"blockIO": {"weight": 65536}}}})"),
            "linux.resources.blockIO.weight: 65536 is out of range (0..65535)");
  EXPECT_EQ(SpecError(R"({"process": {"oomScoreAdj": 2147483648}})"),
            "process.oomScoreAdj: 2147483648 is out of range (-2147483648..2147483647)");
  EXPECT_EQ(SpecError(R"({"linux": {"resources": {"memory": {"limit": 9223372036854775808}}}})"),
            "linux.resources.memory.limit: 9223372036854775808 is out of range "
            "(-9223372036854775808..9223372036854775807)");
  // Beyond uint64, nlohmann falls back to a double; still an out-of-range integer to the user.
  EXPECT_EQ(SpecError(R"({"process": {"rlimits": [{"hard": 18446744073709551616}]}})"),
            "process.rlimits[0].hard: 1.8446744073709552e+19 is out of range "
            "(0..18446744073709551615)");
}

TEST(OciSpecJsonErrorTest, FractionalNumbersAreNotIntegers) {
  EXPECT_EQ(SpecError(R"({"process": {"user": {"uid": 1.5}}})"),
            "process.user.uid: expected unsigned integer, got non-integer number 1.5");
  EXPECT_EQ(SpecError(R"({"process": {"oomScoreAdj": -0.5}})"),
            "process.oomScoreAdj: expected integer, got non-integer number -0.5");
}

TEST(OciSpecJsonErrorTest, MissingDeviceNumbersAreReported) {
  EXPECT_EQ(SpecError(R"({"linux": {"devices": [{"type": "p", "path": "/dev/f"},
                                                {"type": "c", "path": "/dev/x", "major": 1}]}})"),
            R"(linux.devices[1].minor: required for device type "c")");
  EXPECT_EQ(SpecError(R"({"linux": {"devices": [{"type": "b", "path": "/dev/x"}]}})"),
            R"(linux.devices[0].major: required for device type "b")");
}

TEST(OciSpecJsonErrorTest, TopLevelMustBeAnObject) {
  EXPECT_EQ(SpecError("[]"), "top level: expected object, got array");
  EXPECT_EQ(SpecError("\"config\""), "top level: expected object, got string");
  Result<Process> process = ParseProcess("null");
  ASSERT_FALSE(process);
  EXPECT_EQ(process.error().ToString(), "top level: expected object, got null");
}

TEST(OciSpecJsonErrorTest, MalformedJsonReportsLineAndColumn) {
  EXPECT_EQ(SpecError("{\n  \"ociVersion\": \"1.1.0\",\n  \"root\": {\"path\": rootfs}\n}"),
            "invalid JSON at line 3, column 20: syntax error while parsing value - invalid "
            "literal");
  EXPECT_EQ(SpecError("{\"a\": 1,}"),
            "invalid JSON at line 1, column 9: syntax error while parsing object key - "
            "unexpected '}'; expected string literal");
  EXPECT_EQ(SpecError(""),
            "invalid JSON at line 1, column 1: syntax error while parsing value - unexpected "
            "end of input; expected '[', '{', or a literal");
  EXPECT_EQ(SpecError("{\"a\": 1}\n{}"),
            "invalid JSON at line 2, column 1: syntax error while parsing value - unexpected "
            "'{'; expected end of input");
}

TEST(OciSpecJsonErrorTest, EchoedInputIsLeftOutOfTheReason) {
  // nlohmann appends "; last read: '<input>'", which may span lines; the position says enough.
  EXPECT_EQ(SpecError("{\"a\": \"abc"),
            "invalid JSON at line 1, column 11: syntax error while parsing value - invalid "
            "string: missing closing quote");
  EXPECT_EQ(SpecError("{\n  \"a\": [1,\n 2,, 3]}"),
            "invalid JSON at line 3, column 4: syntax error while parsing value - unexpected "
            "','; expected '[', '{', or a literal");
}

TEST(OciSpecJsonErrorTest, NumberOverflowIsAnError) {
  EXPECT_EQ(SpecError(R"({"process": {"oomScoreAdj": 1e999}})"),
            "invalid JSON: number overflow parsing '1e999'");
}

TEST(OciSpecJsonErrorTest, InvalidUtf8IsAnErrorNotACrash) {
  std::string text = "{\"hostname\": \"a\xff\"}";
  std::string error = SpecError(text);
  EXPECT_EQ(error.rfind("invalid JSON at line 1, column ", 0), 0u) << error;
}

TEST(OciSpecJsonErrorTest, DeepNestingDoesNotThrow) {
  std::string text =
      R"({"linux": {"resources": )" + std::string(1000, '[') + std::string(1000, ']') + "}}";
  EXPECT_EQ(SpecError(text), "linux.resources: expected object, got array");
}

}  // namespace
}  // namespace hull::oci
