// Helpers usable between clone() and execve(): no allocation, no locks, only stack buffers.
#pragma once

#include <cstddef>

namespace hull::linux {

// Writes the decimal form of `value` into `buf` (NUL-terminated, truncated to `size`).
void FormatDecimal(long value, char* buf, size_t size) noexcept;
// "/proc/self/fd/<fd>" into `buf` (at least 32 bytes).
void FormatProcSelfFd(int fd, char* buf, size_t size) noexcept;
// Concatenates NUL-terminated parts into `buf`; returns false if truncated.
bool Concat(char* buf, size_t size, const char* a, const char* b = nullptr,
            const char* c = nullptr) noexcept;
// Writes all of `data` (retrying EINTR); returns 0 or -errno. `fd` stays the caller's.
int WriteAllRaw(int fd, const void* data, size_t size) noexcept;

// Sends `fd` with the bytes `name` (non-empty) over a connected unix socket with SCM_RIGHTS.
// Returns 0 or -errno. Both fds stay the caller's.
int SendFdRaw(int socket, int fd, const char* name, size_t name_size) noexcept;

}  // namespace hull::linux
