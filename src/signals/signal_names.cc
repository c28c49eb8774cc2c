#include "signals/signal_names.h"

#include <signal.h>

#include <array>
#include <cctype>
#include <charconv>
#include <string>
#include <utility>

#include "common/quoted.h"

namespace podshim::signals {
namespace {

struct NamedSignal {
  std::string_view name;  // without "SIG"
  int number;
};

// Canonical names first: SignalName() returns the first match for a number.
constexpr std::array kSignals{
    NamedSignal{"HUP", SIGHUP},
    NamedSignal{"INT", SIGINT},
    NamedSignal{"QUIT", SIGQUIT},
    NamedSignal{"ILL", SIGILL},
    NamedSignal{"TRAP", SIGTRAP},
    NamedSignal{"ABRT", SIGABRT},
    NamedSignal{"BUS", SIGBUS},
    NamedSignal{"FPE", SIGFPE},
    NamedSignal{"KILL", SIGKILL},
    NamedSignal{"USR1", SIGUSR1},
    NamedSignal{"SEGV", SIGSEGV},
    NamedSignal{"USR2", SIGUSR2},
    NamedSignal{"PIPE", SIGPIPE},
    NamedSignal{"ALRM", SIGALRM},
    NamedSignal{"TERM", SIGTERM},
    NamedSignal{"STKFLT", SIGSTKFLT},
    NamedSignal{"CHLD", SIGCHLD},
    NamedSignal{"CONT", SIGCONT},
    NamedSignal{"STOP", SIGSTOP},
    NamedSignal{"TSTP", SIGTSTP},
    NamedSignal{"TTIN", SIGTTIN},
    NamedSignal{"TTOU", SIGTTOU},
    NamedSignal{"URG", SIGURG},
    NamedSignal{"XCPU", SIGXCPU},
    NamedSignal{"XFSZ", SIGXFSZ},
    NamedSignal{"VTALRM", SIGVTALRM},
    NamedSignal{"PROF", SIGPROF},
    NamedSignal{"WINCH", SIGWINCH},
    NamedSignal{"IO", SIGIO},
    NamedSignal{"PWR", SIGPWR},
    NamedSignal{"SYS", SIGSYS},
    // Aliases, accepted on input only.
    NamedSignal{"IOT", SIGIOT},
    NamedSignal{"CLD", SIGCHLD},
    NamedSignal{"POLL", SIGPOLL},
};

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// Parses a whole string of decimal digits; nothing else (no sign, no spaces).
bool ParseDecimal(std::string_view s, int* out) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

Error BadSignal(std::string_view text, std::string_view why) {
  std::string msg = "invalid signal " + Quoted(text) + ": ";
  msg += why;
  return Error::Invalid(std::move(msg));
}

// "RTMIN", "RTMIN+N", "RTMAX", "RTMAX-N" (already upper-case, without "SIG").
Result<int> ParseRealtime(std::string_view original, std::string_view name) {
  const bool from_min = name.starts_with("RTMIN");
  const int base = from_min ? SIGRTMIN : SIGRTMAX;
  std::string_view rest = name.substr(5);
  if (rest.empty()) return base;
  const char op = from_min ? '+' : '-';
  if (rest[0] != op) {
    return BadSignal(original, from_min ? "expected RTMIN+N" : "expected RTMAX-N");
  }
  int offset = 0;
  if (!ParseDecimal(rest.substr(1), &offset)) {
    return BadSignal(original, "the offset is not a decimal number");
  }
  const int sig = from_min ? base + offset : base - offset;
  if (sig < SIGRTMIN || sig > SIGRTMAX) {
    return BadSignal(original, "outside SIGRTMIN.." + std::to_string(SIGRTMAX));
  }
  return sig;
}

}  // namespace

Result<int> ParseSignal(std::string_view text) {
  if (text.empty()) return Error::Invalid("invalid signal \"\": empty");
  int number = 0;
  if (ParseDecimal(text, &number)) {
    if (number < 1 || number > SIGRTMAX) {
      return BadSignal(text, "must be between 1 and " + std::to_string(SIGRTMAX));
    }
    return number;
  }
  std::string name = Upper(text);
  std::string_view bare = name;
  if (bare.starts_with("SIG")) bare.remove_prefix(3);
  if (bare.starts_with("RTMIN") || bare.starts_with("RTMAX")) return ParseRealtime(text, bare);
  for (const NamedSignal& s : kSignals) {
    if (s.name == bare) return s.number;
  }
  return BadSignal(text, "unknown signal name");
}

std::string SignalName(int sig) {
  for (const NamedSignal& s : kSignals) {
    if (s.number == sig) return "SIG" + std::string(s.name);
  }
  if (sig == SIGRTMIN) return "SIGRTMIN";
  if (sig > SIGRTMIN && sig <= SIGRTMAX) return "SIGRTMIN+" + std::to_string(sig - SIGRTMIN);
  return std::to_string(sig);
}

}  // namespace podshim::signals
