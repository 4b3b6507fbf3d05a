// How the container's init reports a failure between clone() and execve(): it cannot allocate
// or log, so it fills a fixed-size record and writes it to the CLOEXEC sync socket; the runtime
// turns it into an Error such as `mount "proc" on "/proc": Operation not permitted`.
#pragma once

#include <cstddef>
#include <cstring>
#include <initializer_list>

namespace hull::container {

struct ChildReport {
  int err = 0;          // errno value, 0 when the message says it all
  char what[480] = {};  // NUL-terminated: the step and the object, e.g. `mount "proc" on "/proc"`
};

// Async-signal-safe helpers to build the message without allocating.
inline void ReportSet(ChildReport* report, int err, const char* a, const char* b = nullptr,
                      const char* c = nullptr) {
  report->err = err;
  size_t n = 0;
  for (const char* part : {a, b, c}) {
    if (!part) continue;
    for (const char* p = part; *p && n + 1 < sizeof(report->what); ++p) report->what[n++] = *p;
  }
  report->what[n] = '\0';
}

}  // namespace hull::container
