/* hull's exec trampoline: a few hundred bytes of freestanding x86_64 code that the container's
 * init (create/run) and `exec` run from a sealed memfd just before the container's program (see
 * container/exec_trampoline.h).
 *
 * argv: [report_fd, path, argv0, argv1, ...]. Executes `path` with argv0... and the
 * environment it was given. report_fd is made close-on-exec first (or closed, should a seccomp
 * profile refuse fcntl), so the runtime sees EOF the moment `path` executes. On failure it sends
 * hull's kFailed sync message, naming the path, on report_fd and exits 127; when nobody reads
 * that socket any more (the init of a container whose `create` has returned) it writes the
 * reason to stderr instead, as the init itself would. */
#include <asm/unistd.h>

typedef unsigned long size_t;

static long Syscall3(long n, long a, long b, long c) {
  long r;
  __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
  return r;
}

static long Syscall6(long n, long a, long b, long c, long d, long e, long f) {
  long r;
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  __asm__ volatile("syscall"
                   : "=a"(r)
                   : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return r;
}

/* The layout of container::SyncMessage (init.h): {int type; int pid; {int err; char what[480]}}. */
struct Report {
  int type;
  int pid;
  int err;
  char what[480];
};

/* The reasons an execve of a program in a container usually fails for. */
static const char* ErrorText(int err) {
  switch (err) {
    case 1:
      return "Operation not permitted";
    case 2:
      return "No such file or directory";
    case 7:
      return "Argument list too long";
    case 8:
      return "Exec format error";
    case 12:
      return "Cannot allocate memory";
    case 13:
      return "Permission denied";
    case 20:
      return "Not a directory";
    case 21:
      return "Is a directory";
    case 26:
      return "Text file busy";
    case 40:
      return "Too many levels of symbolic links";
  }
  return "execve failed";
}

static size_t Append(char* out, size_t n, size_t size, const char* text) {
  for (; *text && n + 1 < size; ++text) out[n++] = *text;
  return n;
}

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
  if (Syscall3(__NR_fcntl, report_fd, 2 /* F_SETFD */, 1 /* FD_CLOEXEC */) != 0) {
    Syscall3(__NR_close, report_fd, 0, 0);
    report_fd = -1;
  }
  long r = Syscall3(__NR_execve, (long)argv[1], (long)(argv + 2), (long)envp);

  struct Report report;
  char* bytes = (char*)&report;
  for (size_t i = 0; i < sizeof report; ++i) bytes[i] = 0;
  report.type = 6; /* SyncMessage::kFailed */
  report.err = (int)-r;
  size_t n = Append(report.what, 0, sizeof report.what, "exec \"");
  n = Append(report.what, n, sizeof report.what, argv[1]);
  n = Append(report.what, n, sizeof report.what, "\"");
  if (report_fd < 0 || Syscall6(__NR_sendto, report_fd, (long)&report, sizeof report,
                                0x4000 /* MSG_NOSIGNAL */, 0, 0) != (long)sizeof report) {
    char line[600];
    size_t m = Append(line, 0, sizeof line, "hull-runtime: ");
    m = Append(line, m, sizeof line, report.what);
    m = Append(line, m, sizeof line, ": ");
    m = Append(line, m, sizeof line, ErrorText(report.err));
    m = Append(line, m, sizeof line, "\n");
    Syscall3(__NR_write, 2, (long)line, (long)m);
  }
  Syscall3(__NR_exit_group, 127, 0, 0);
  __builtin_unreachable();
}

__attribute__((naked, noreturn)) void _start(void) {
  __asm__ volatile(
      "mov %rsp, %rdi\n"
      "and $-16, %rsp\n"
      "call TrampolineMain\n");
}
