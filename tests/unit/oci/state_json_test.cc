// The state JSON given to hooks on stdin and printed by `state`.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "oci/spec_json.h"

namespace hull::oci {
namespace {

State SampleState() {
  State state;
  state.oci_version = "1.1.0";
  state.id = "web-1";
  state.status = "running";
  state.pid = 4242;
  state.bundle = "/var/lib/bundles/web-1";
  return state;
}

TEST(OciStateJsonTest, CompactFormHasSpecMembersInSpecOrder) {
  EXPECT_EQ(SerializeState(SampleState(), false),
            R"({"ociVersion":"1.1.0","id":"web-1","status":"running","pid":4242,)"
            R"("bundle":"/var/lib/bundles/web-1"})");
}

TEST(OciStateJsonTest, PrettyFormIndentsTwoSpaces) {
  EXPECT_EQ(SerializeState(SampleState(), true),
            "{\n"
            "  \"ociVersion\": \"1.1.0\",\n"
            "  \"id\": \"web-1\",\n"
            "  \"status\": \"running\",\n"
            "  \"pid\": 4242,\n"
            "  \"bundle\": \"/var/lib/bundles/web-1\"\n"
            "}");
}

TEST(OciStateJsonTest, PidIsAlwaysPresentAndAnnotationsOnlyWhenSet) {
  State state = SampleState();
  state.status = "stopped";
  state.pid = 0;
  nlohmann::json without = nlohmann::json::parse(SerializeState(state, false));
  EXPECT_EQ(without.at("pid"), 0);
  EXPECT_FALSE(without.contains("annotations"));

  state.annotations = {{"org.example/key", "value"}, {"a", "b"}};
  nlohmann::json with = nlohmann::json::parse(SerializeState(state, false));
  EXPECT_EQ(with.at("annotations"), (nlohmann::json{{"a", "b"}, {"org.example/key", "value"}}));
}

TEST(OciStateJsonTest, RoundTripsThroughAJsonParser) {
  State state = SampleState();
  state.bundle = "/path with \"quotes\" and \\ backslash";
  state.annotations = {{"k", "line\nbreak"}};
  nlohmann::json parsed = nlohmann::json::parse(SerializeState(state, true));
  EXPECT_EQ(parsed.at("ociVersion"), "1.1.0");
  EXPECT_EQ(parsed.at("id"), "web-1");
  EXPECT_EQ(parsed.at("status"), "running");
  EXPECT_EQ(parsed.at("pid"), 4242);
  EXPECT_EQ(parsed.at("bundle"), state.bundle);
  EXPECT_EQ(parsed.at("annotations").at("k"), "line\nbreak");
  EXPECT_EQ(parsed.size(), 6u);
}

TEST(OciStateJsonTest, ExtraFieldsFollowBundleInOrder) {
  State state = SampleState();
  state.annotations = {{"a", "b"}};
  std::string json = SerializeStateWith(state,
                                        {{"rootfs", "/var/lib/bundles/web-1/rootfs"},
                                         {"created", "2024-01-02T03:04:05.000000006Z"},
                                         {"owner", ""}},
                                        false);
  EXPECT_EQ(json,
            R"({"ociVersion":"1.1.0","id":"web-1","status":"running","pid":4242,)"
            R"("bundle":"/var/lib/bundles/web-1","rootfs":"/var/lib/bundles/web-1/rootfs",)"
            R"("created":"2024-01-02T03:04:05.000000006Z","owner":"","annotations":{"a":"b"}})");
}

TEST(OciStateJsonTest, InvalidUtf8DoesNotThrow) {
  State state = SampleState();
  state.bundle = "/bad\xff/path";
  std::string json;
  ASSERT_NO_THROW(json = SerializeState(state, false));
  nlohmann::json parsed = nlohmann::json::parse(json);
  EXPECT_EQ(parsed.at("bundle"), "/bad\xEF\xBF\xBD/path");  // U+FFFD replacement
}

}  // namespace
}  // namespace hull::oci
