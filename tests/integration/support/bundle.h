// OCI bundles for tests: a busybox-static root filesystem and a config.json built in C++.
//
// The default config is close to what `runc spec` prints (same mounts, capabilities, masked and
// read-only paths, namespaces), with three test-friendly changes: no terminal, a writable root,
// and `args` = ["true"]. Helpers edit the JSON; Write() stores it. Anything without a helper is
// reachable through config().
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace hull::testing {

// Host path of the busybox-static binary the rootfs is made from.
std::string BusyboxPath();

// Fills `rootfs` with bin/busybox, a symlink per applet in bin/, etc/passwd and etc/group (root,
// nobody, and "tester" 1000:1000 with supplementary group 1001 "extra"), and the empty mount
// points a container needs (proc, sys, dev, tmp, ...).
bool BuildBusyboxRootfs(const std::string& rootfs);

// The runc-spec-like default described above.
nlohmann::json DefaultConfig();

class Bundle {
 public:
  // Makes `dir` (created if needed) a bundle: dir/rootfs is built unless `shared_rootfs` names an
  // existing root filesystem, which root.path then points at (many bundles, one rootfs).
  explicit Bundle(std::string dir, std::string shared_rootfs = "");

  const std::string& path() const { return dir_; }
  std::string rootfs() const;
  std::string config_path() const { return dir_ + "/config.json"; }
  bool ok() const { return ok_; }

  nlohmann::json& config() { return config_; }
  nlohmann::json& process() { return config_["process"]; }
  nlohmann::json& linux() { return config_["linux"]; }

  Bundle& Args(std::vector<std::string> args);
  Bundle& Shell(const std::string& script);  // args = ["sh", "-c", script]
  Bundle& Env(const std::string& key_value);
  Bundle& User(unsigned uid, unsigned gid, std::vector<unsigned> additional_gids = {});
  Bundle& Umask(unsigned umask);
  Bundle& Cwd(const std::string& cwd);
  Bundle& Hostname(const std::string& hostname);
  Bundle& Terminal(bool on);
  Bundle& ReadonlyRoot(bool on);
  Bundle& NoNewPrivileges(bool on);
  // Sets the bounding, effective, permitted sets (inheritable and ambient emptied).
  Bundle& Capabilities(const std::vector<std::string>& caps);
  Bundle& Rlimit(const std::string& type, unsigned long long soft, unsigned long long hard);
  Bundle& Mount(const std::string& destination, const std::string& type,
                const std::string& source, std::vector<std::string> options = {});
  Bundle& BindMount(const std::string& host_path, const std::string& destination,
                    bool readonly = false);
  Bundle& RemoveMount(const std::string& destination);
  Bundle& RemoveNamespace(const std::string& type);
  Bundle& AddNamespace(const std::string& type, const std::string& path = "");
  Bundle& MaskedPaths(std::vector<std::string> paths);
  Bundle& ReadonlyPaths(std::vector<std::string> paths);
  // A seccomp filter allowing everything except `syscalls`, which fail with `errno_value`.
  Bundle& SeccompDeny(const std::vector<std::string>& syscalls, int errno_value);
  // kind: prestart, createRuntime, createContainer, startContainer, poststart, poststop.
  Bundle& Hook(const std::string& kind, std::vector<std::string> args, int timeout_seconds = 0);
  Bundle& Resources(const nlohmann::json& resources);  // merged into linux.resources
  Bundle& CgroupsPath(const std::string& path);

  bool Write() const;

 private:
  std::string dir_;
  std::string shared_rootfs_;
  nlohmann::json config_;
  bool ok_ = true;
};

}  // namespace hull::testing
