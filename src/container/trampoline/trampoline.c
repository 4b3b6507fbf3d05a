/* hull's exec trampoline: a few hundred bytes of freestanding x86_64 code that `exec` runs from a
 * sealed memfd just before the container's program (see container/exec_trampoline.h).
 *
 * argv: [report_fd, path, argv0, argv1, ...]. Executes `path` with argv0... and the
 * environment it was given. On failure it sends hull's kFailed sync message, naming the path,
 * on report_fd and exits 127. report_fd is made close-on-exec first, so the runtime sees EOF
 * the moment `path` executes. */
#include <asm/unistd.h>

typedef unsigned long size_t;

static long Syscall3(long n, long a, long b, long c) {
  long r;
  __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
  return r;
}

/* The layout of container::SyncMessage (init.h): {int type; int pid; {int err; char what[480]}}. */
struct Report {
  int type;
  int pid;
  int err;
  char what[480];
};

__attribute__((used, noreturn)) void TrampolineMain(long* stack) {
  long argc = stack[0];
  char** argv = (char**)(stack + 1);
  char** envp = argv + argc + 1;
  /* Run by anything but hull (e.g. as the interpreter of a "#!/proc/self/exe" script, which is
   * what the trampoline is there to absorb): argv[0] is not a number. Stop at once. */
  int report_fd = 0;
  const char* p = argv[0];
  if (argc < 3 || !p || *p < '0' || *p > '9') Syscall3(__NR_exit_group, 126, 0, 0);
  for (; *p >= '0' && *p <= '9'; ++p) report_fd = report_fd * 10 + (*p - '0');
  if (*p != '\0') Syscall3(__NR_exit_group, 126, 0, 0);
  Syscall3(__NR_fcntl, report_fd, 2 /* F_SETFD */, 1 /* FD_CLOEXEC */);
  long r = Syscall3(__NR_execve, (long)argv[1], (long)(argv + 2), (long)envp);

  struct Report report;
  char* bytes = (char*)&report;
  for (size_t i = 0; i < sizeof report; ++i) bytes[i] = 0;
  report.type = 6; /* SyncMessage::kFailed */
  report.err = (int)-r;
  const char* parts[] = {"exec \"", argv[1], "\""};
  size_t n = 0;
  for (int k = 0; k < 3; ++k)
    for (const char* p = parts[k]; *p && n + 1 < sizeof report.what; ++p) report.what[n++] = *p;
  Syscall3(__NR_write, report_fd, (long)&report, sizeof report);
  Syscall3(__NR_exit_group, 127, 0, 0);
  __builtin_unreachable();
}

__attribute__((naked, noreturn)) void _start(void) {
  __asm__ volatile(
      "mov %rsp, %rdi\n"
      "and $-16, %rsp\n"
      "call TrampolineMain\n");
}
