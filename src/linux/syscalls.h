// Thin wrappers for system calls glibc 2.36 lacks or wraps awkwardly. Each returns what the
// kernel returns (-1 with errno set on failure) and never retries; callers above return Result
// and retry EINTR where that makes sense.
#pragma once

#include <linux/openat2.h>
#include <linux/sched.h>
#include <signal.h>
#include <sys/types.h>

#include <cstdint>

namespace hull::linux::sys {

long Clone3(clone_args* args);
int PidfdOpen(pid_t pid, unsigned flags);
int PidfdSendSignal(int pidfd, int sig, siginfo_t* info, unsigned flags);
int Openat2(int dirfd, const char* path, open_how* how);
int CloseRange(unsigned first, unsigned last, unsigned flags);
int Seccomp(unsigned op, unsigned flags, void* args);
int PivotRoot(const char* new_root, const char* put_old);
int OpenTree(int dirfd, const char* path, unsigned flags);
int MoveMount(int from_dirfd, const char* from_path, int to_dirfd, const char* to_path,
              unsigned flags);
int Fsopen(const char* fsname, unsigned flags);
int Fsconfig(int fd, unsigned cmd, const char* key, const void* value, int aux);
int Fsmount(int fd, unsigned flags, unsigned attr_flags);
int MountSetattr(int dirfd, const char* path, unsigned flags, void* attr, size_t size);
pid_t Gettid();

}  // namespace hull::linux::sys
