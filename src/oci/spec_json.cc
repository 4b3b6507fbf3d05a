// config.json top level: the document entry points, root, mounts and hooks. The process and
// linux objects live in spec_json_process.cc and spec_json_linux.cc.
#include "oci/spec_json.h"

#include "linux/file.h"
#include "oci/json_read.h"

namespace hull::oci {
namespace json_internal {

Result<void> FromJson(const Json& value, const std::string& path, Root& out) {
  TRY(ExpectObject(value, path));
  TRY(Read(value, path, "path", out.path));
  TRY(Read(value, path, "readonly", out.readonly));
  return {};
}

Result<void> FromJson(const Json& value, const std::string& path, IdMapping& out) {
  TRY(ExpectObject(value, path));
  TRY(Read(value, path, "containerID", out.container_id));
  TRY(Read(value, path, "hostID", out.host_id));
  TRY(Read(value, path, "size", out.size));
  return {};
}

Result<void> FromJson(const Json& value, const std::string& path, Mount& out) {
  TRY(ExpectObject(value, path));
  TRY(Read(value, path, "destination", out.destination));
  TRY(Read(value, path, "type", out.type));
  TRY(Read(value, path, "source", out.source));
  TRY(Read(value, path, "options", out.options));
  TRY(Read(value, path, "uidMappings", out.uid_mappings));
  TRY(Read(value, path, "gidMappings", out.gid_mappings));
  return {};
}

Result<void> FromJson(const Json& value, const std::string& path, Hook& out) {
  TRY(ExpectObject(value, path));
  TRY(Read(value, path, "path", out.path));
  TRY(Read(value, path, "args", out.args));
  TRY(Read(value, path, "env", out.env));
  TRY(Read(value, path, "timeout", out.timeout));
  return {};
}

Result<void> FromJson(const Json& value, const std::string& path, Hooks& out) {
  TRY(ExpectObject(value, path));
  TRY(Read(value, path, "prestart", out.prestart));
  TRY(Read(value, path, "createRuntime", out.create_runtime));
  TRY(Read(value, path, "createContainer", out.create_container));
  TRY(Read(value, path, "startContainer", out.start_container));
  TRY(Read(value, path, "poststart", out.poststart));
  TRY(Read(value, path, "poststop", out.poststop));
  return {};
}

Result<void> FromJson(const Json& value, const std::string& path, Spec& out) {
  TRY(ExpectObject(value, path));
  TRY(Read(value, path, "ociVersion", out.oci_version));
  TRY(Read(value, path, "root", out.root));
  TRY(Read(value, path, "process", out.process));
  TRY(Read(value, path, "hostname", out.hostname));
  TRY(Read(value, path, "domainname", out.domainname));
  TRY(Read(value, path, "mounts", out.mounts));
  TRY(Read(value, path, "hooks", out.hooks));
  TRY(Read(value, path, "annotations", out.annotations));
  TRY(Read(value, path, "linux", out.linux));
  return {};
}

}  // namespace json_internal

namespace {

// Parses a whole document into T. nlohmann exceptions should not reach here (the readers
// check types first); catching them keeps that a guarantee rather than a hope.
template <typename T>
Result<T> ParseDocumentAs(std::string_view text) {
  try {
    json_internal::Json document = TRY(json_internal::ParseDocument(text));
    T out{};
    TRY(json_internal::FromJson(document, "", out));
    return out;
  } catch (const json_internal::Json::exception& e) {
    return Fail(std::string("unexpected JSON error: ") + e.what());
  }
}

}  // namespace

Result<Spec> ParseSpec(std::string_view json) { return ParseDocumentAs<Spec>(json); }

Result<Process> ParseProcess(std::string_view json) { return ParseDocumentAs<Process>(json); }

Result<Resources> ParseResources(std::string_view json) { return ParseDocumentAs<Resources>(json); }

Result<Spec> LoadSpec(const std::string& bundle_dir) {
  std::string path = bundle_dir.empty() || bundle_dir.back() == '/' ? bundle_dir + "config.json"
                                                                    : bundle_dir + "/config.json";
  std::string text = TRY(linux::ReadFile(path));
  return TRY_CTX(ParseSpec(text), Quote(path));
}

}  // namespace hull::oci
