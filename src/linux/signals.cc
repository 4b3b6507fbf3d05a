#include "linux/signals.h"

#include <signal.h>

#include <array>
#include <string>
#include <utility>

#include "base/strings.h"

namespace hull::linux {
namespace {

constexpr std::array<std::pair<std::string_view, int>, 31> kSignals{{
    {"HUP", SIGHUP},       {"INT", SIGINT},       {"QUIT", SIGQUIT},   {"ILL", SIGILL},
    {"TRAP", SIGTRAP},     {"ABRT", SIGABRT},     {"IOT", SIGIOT},     {"BUS", SIGBUS},
    {"FPE", SIGFPE},       {"KILL", SIGKILL},     {"USR1", SIGUSR1},   {"SEGV", SIGSEGV},
    {"USR2", SIGUSR2},     {"PIPE", SIGPIPE},     {"ALRM", SIGALRM},   {"TERM", SIGTERM},
    {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD},     {"CONT", SIGCONT},   {"STOP", SIGSTOP},
    {"TSTP", SIGTSTP},     {"TTIN", SIGTTIN},     {"TTOU", SIGTTOU},   {"URG", SIGURG},
    {"XCPU", SIGXCPU},     {"XFSZ", SIGXFSZ},     {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},
    {"WINCH", SIGWINCH},   {"IO", SIGIO},         {"SYS", SIGSYS},
}};

}  // namespace

Result<int> ParseSignal(std::string_view text) {
  auto bad = [&] { return Fail(EINVAL, "unknown signal " + Quote(text)); };
  if (text.empty()) return bad();
  if (auto n = ParseInt(text)) {
    if (*n <= 0 || *n > SIGRTMAX) return bad();
    return static_cast<int>(*n);
  }
  // Case does not matter (`kill ID term`): runc upper-cases the name too.
  std::string upper(text);
  for (char& c : upper)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  std::string_view name = upper;
  if (StartsWith(name, "SIG")) name.remove_prefix(3);
  for (const auto& [signal_name, number] : kSignals)
    if (name == signal_name) return number;
  // RTMIN, RTMIN+n, RTMAX, RTMAX-n
  auto realtime = [&](std::string_view base, int origin, int sign) -> Result<int> {
    std::string_view rest = name.substr(base.size());
    int offset = 0;
    if (!rest.empty()) {
      if (rest[0] != (sign > 0 ? '+' : '-')) return bad();
      auto n = ParseInt(rest.substr(1));
      if (!n || *n < 0) return bad();
      offset = static_cast<int>(*n);
    }
    int number = origin + sign * offset;
    if (number < SIGRTMIN || number > SIGRTMAX) return bad();
    return number;
  };
  if (StartsWith(name, "RTMIN")) return realtime("RTMIN", SIGRTMIN, +1);
  if (StartsWith(name, "RTMAX")) return realtime("RTMAX", SIGRTMAX, -1);
  return bad();
}

}  // namespace hull::linux
