// Small filesystem helpers for tests: temporary directories that clean up after themselves,
// whole-file read and write, waiting for what another process writes.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace hull::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with everything inside on destruction.
// Removal never crosses into a mount point: a test that leaked a mount must not make us delete
// files of the filesystem mounted there (it is lazily unmounted first and reported by the leak
// checks, not here).
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "hull-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

bool WriteFile(const std::string& path, const std::string& contents, int mode = 0644);
// Empty string if unreadable; use FileExists to tell the difference.
std::string ReadFile(const std::string& path);
bool FileExists(const std::string& path);
bool MakeDirs(const std::string& path, int mode = 0755);
// Removes a tree without following symlinks and without crossing into other filesystems.
void RemoveTree(const std::string& path);
std::vector<std::string> ListDir(const std::string& path);
std::string Trim(const std::string& text);
std::vector<std::string> SplitLines(const std::string& text);
bool Contains(const std::string& haystack, const std::string& needle);

// Calls `done` every 20 ms until it returns true or `timeout` has passed, and once more then;
// returns its last answer.
bool WaitFor(const std::function<bool()>& done, std::chrono::milliseconds timeout);
// Waits until the file at `path` contains `text`.
bool WaitForText(const std::string& path, const std::string& text,
                 std::chrono::milliseconds timeout);

}  // namespace hull::testing
