#include "shim/run/shim_upgrade.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "common/quoted.h"
#include "common/sys.h"

extern char** environ;

namespace podshim::shim {
namespace {

using nlohmann::json;

constexpr std::string_view kVersionPrefix = "podshim version ";
constexpr size_t kMaxVersionOutput = 64 * 1024;

std::string Hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

std::optional<std::string> Unhex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = digit(hex[i]), lo = digit(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

Result<HandoverRecord> FromJson(const json& j) {
  HandoverRecord r;
  r.cwd = j.at("cwd").get<std::string>();
  r.argv = j.at("argv").get<std::vector<std::string>>();
  r.from_version = j.at("fromVersion").get<std::string>();
  r.handovers = j.at("handovers").get<int64_t>();
  r.lock_fd = j.at("lockFd").get<int>();
  r.listen_fd = j.at("listenFd").get<int>();
  r.ns_fds = j.at("nsFds").get<std::map<std::string, int>>();
  r.keeper_fd = j.value("keeperFd", -1);  // absent from the records of older images
  for (const json& p : j.at("pipes")) {
    HandedPipe h;
    h.container = p.at("container").get<std::string>();
    h.restart_count = p.at("restartCount").get<int>();
    const std::string stream = p.at("stream").get<std::string>();
    if (stream != "stdout" && stream != "stderr") {
      return Error::Invalid("pipes: stream " + Quoted(stream) + " is neither stdout nor stderr");
    }
    h.stream = stream == "stdout" ? LogStream::kStdout : LogStream::kStderr;
    h.fd = p.at("fd").get<int>();
    auto pending = Unhex(p.at("pending").get<std::string>());
    if (!pending) return Error::Invalid("pipes: pending is not lower-case hex");
    h.pending = std::move(*pending);
    r.pipes.push_back(std::move(h));
  }
  if (r.argv.empty()) return Error::Invalid("argv is empty");
  if (r.handovers < 1) return Error::Invalid("handovers must be at least 1");
  std::set<int> seen;
  for (int fd : r.Fds()) {
    if (fd < 3) return Error::Invalid("fd " + std::to_string(fd) + " is not a handed-over fd");
    if (!seen.insert(fd).second) return Error::Invalid("fd " + std::to_string(fd) + " twice");
  }
  return r;
}

// Sets or clears FD_CLOEXEC on each of `fds`; stops at the first failure (errno kept).
bool SetCloexec(const std::vector<int>& fds, bool on) {
  for (int fd : fds) {
    int flags = ::fcntl(fd, F_GETFD);
    if (flags < 0) return false;
    int want = on ? (flags | FD_CLOEXEC) : (flags & ~FD_CLOEXEC);
    if (::fcntl(fd, F_SETFD, want) < 0) return false;
  }
  return true;
}

// `path version` to its end (killed at `timeout`): its exit status and output.
Result<std::pair<int, std::string>> RunVersion(const std::string& path,
                                               std::chrono::milliseconds timeout) {
  sys::PipePair out = PODSHIM_TRY(sys::Pipe(O_CLOEXEC));
  char* const argv[] = {const_cast<char*>(path.c_str()), const_cast<char*>("version"), nullptr};
  const pid_t pid = ::fork();
  if (pid < 0) return Error::Errno(errno, "fork");
  if (pid == 0) {
    // Only async-signal-safe calls: the shim's blocked signals are not the binary's business.
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull >= 0) {
      ::dup2(devnull, 0);
      ::dup2(devnull, 2);
    }
    ::dup2(out.write.get(), 1);
    ::execve(argv[0], argv, environ);
    ::_exit(127);
  }
  out.write.Reset();
  std::string text;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool timed_out = false;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{out.read.get(), POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) continue;
    char buf[4096];
    ssize_t got = ::read(out.read.get(), buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    if (text.size() < kMaxVersionOutput) text.append(buf, static_cast<size_t>(got));
  }
  if (timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) {
    return Error::Invalid("`" + path + " version` did not finish within " +
                          std::to_string(timeout.count()) + " ms (killed)");
  }
  return std::pair{WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), text};
}

ShimInvocation& Invocation() {
  static ShimInvocation invocation;
  return invocation;
}

}  // namespace

std::vector<int> HandoverRecord::Fds() const {
  std::vector<int> fds = {lock_fd, listen_fd};
  for (const auto& [name, fd] : ns_fds) fds.push_back(fd);
  for (const HandedPipe& p : pipes) fds.push_back(p.fd);
  if (keeper_fd >= 0) fds.push_back(keeper_fd);
  return fds;
}

std::string FormatHandover(const HandoverRecord& r) {
  json pipes = json::array();
  for (const HandedPipe& p : r.pipes) {
    pipes.push_back({{"container", p.container},
                     {"restartCount", p.restart_count},
                     {"stream", std::string(LogStreamName(p.stream))},
                     {"fd", p.fd},
                     {"pending", Hex(p.pending)}});
  }
  json j = {{"cwd", r.cwd},
            {"argv", r.argv},
            {"fromVersion", r.from_version},
            {"handovers", r.handovers},
            {"lockFd", r.lock_fd},
            {"listenFd", r.listen_fd},
            {"nsFds", r.ns_fds},
            {"keeperFd", r.keeper_fd},
            {"pipes", std::move(pipes)}};
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<HandoverRecord> ParseHandover(std::string_view text) {
  try {
    json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) {
      return Error::Invalid(std::string(kHandoverEnv) + " is not a JSON object");
    }
    auto r = FromJson(j);
    if (!r) return std::move(r).error().Wrapped(kHandoverEnv);
    return r;
  } catch (const json::exception& e) {
    return Error::Invalid(std::string(kHandoverEnv) + ": " + e.what());
  }
}

Result<UpgradeBinary> CheckUpgradeBinary(const std::string& path,
                                         std::chrono::milliseconds timeout) {
  auto bad = [&](const std::string& what) {
    return Error::Invalid("upgrade binary " + Quoted(path) + ": " + what);
  };
  if (path.empty() || path.front() != '/') return bad("must be an absolute path");
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return bad(std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return bad("is not a regular file");
  if (::access(path.c_str(), X_OK) != 0) return bad("is not executable");
  auto ran = RunVersion(path, timeout);
  if (!ran) return bad(ran.error().ToString());
  auto [status, text] = *ran;
  if (status != 0) {
    return bad("`version` exited with status " + std::to_string(status) +
               (status == 127 ? " (it could not be executed)" : ""));
  }
  const std::string first = text.substr(0, text.find('\n'));
  if (!first.starts_with(kVersionPrefix) || first.size() == kVersionPrefix.size()) {
    return bad("`version` printed " + Quoted(first) + ", not \"podshim version X\"");
  }
  return UpgradeBinary{path, first.substr(kVersionPrefix.size())};
}

Status ExecHandover(const std::string& binary, const HandoverRecord& record) {
  const std::vector<int> fds = record.Fds();
  if (!SetCloexec(fds, false)) {
    int err = errno;
    (void)SetCloexec(fds, true);
    return Error::Errno(err, "clear close-on-exec on the handed-over fds");
  }
  std::vector<std::string> args = record.argv;
  args[0] = binary;
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const std::string text = FormatHandover(record);
  if (::setenv(kHandoverEnv, text.c_str(), 1) != 0) {
    int err = errno;
    (void)SetCloexec(fds, true);
    return Error::Errno(err, "set " + std::string(kHandoverEnv));
  }
  ::execve(binary.c_str(), argv.data(), environ);
  const int err = errno;
  ::unsetenv(kHandoverEnv);
  (void)SetCloexec(fds, true);
  return Error::Errno(err, "execve " + Quoted(binary));
}

Status InitShimInvocation(int argc, char** argv) {
  ShimInvocation& inv = Invocation();
  for (int i = 0; i < argc; ++i) inv.argv.emplace_back(argv[i]);
  std::error_code ec;
  inv.cwd = std::filesystem::current_path(ec).string();
  const char* text = ::getenv(kHandoverEnv);
  if (text == nullptr) return Ok();
  const std::string copy = text;
  ::unsetenv(kHandoverEnv);
  HandoverRecord record = PODSHIM_TRY(ParseHandover(copy));
  // No container or helper this image starts may inherit them; they are adopted by number.
  if (!SetCloexec(record.Fds(), true)) {
    return Error::Errno(errno, "a handed-over fd is not open");
  }
  if (::chdir(record.cwd.c_str()) != 0) {
    return Error::Errno(errno, "chdir to the first image's cwd " + Quoted(record.cwd));
  }
  inv.cwd = record.cwd;
  inv.argv = record.argv;
  inv.handover = std::move(record);
  return Ok();
}

const ShimInvocation& CurrentShimInvocation() { return Invocation(); }

}  // namespace podshim::shim
