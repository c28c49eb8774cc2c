// Helpers for the real-process tests of signals/: start test_proc children, and run a test body
// in a forked helper process so that changes to process-wide state (signal mask, subreaper flag,
// reaping every child) never leak into the gtest process.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

// In a RunForked body: return a failure text naming the condition when it does not hold.
#define PODSHIM_FORKED_CHECK(cond, what)                            \
  do {                                                              \
    if (!(cond))                                                    \
      return std::string(__FILE__ ":") + std::to_string(__LINE__) + \
             ": " #cond " failed: " + (what);                       \
  } while (0)

namespace podshim::signals::testing {

// SpawnTestProc: fork + execv(PODSHIM_TEST_PROC, args...) with an empty signal mask; the pid or -1.
// RunForked: runs `body` in a forked child; the body returns "" on success or a failure text,
//   which RunForked returns (also when the child crashed or timed out).
// ChildrenOf: pids whose parent is `parent` (scans /proc/*/stat).
// ProcessState: the state letter of /proc/<pid>/stat ('Z' for a zombie), '?' if it is gone.

inline pid_t SpawnTestProc(const std::vector<std::string>& args) {
  std::vector<std::string> storage = {PODSHIM_TEST_PROC};
  storage.insert(storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& s : storage) argv.push_back(s.data());
  argv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    // The test process may have signals blocked for a signalfd; the payload starts clean.
    sigset_t empty;
    ::sigemptyset(&empty);
    ::sigprocmask(SIG_SETMASK, &empty, nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

inline std::string RunForked(const std::function<std::string()>& body,
                             std::chrono::seconds timeout = std::chrono::seconds(20)) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) < 0) return "pipe2 failed";
  pid_t pid = ::fork();
  if (pid < 0) return "fork failed";
  if (pid == 0) {
    ::close(fds[0]);
    std::string failure = body();
    ssize_t ignored = ::write(fds[1], failure.data(), failure.size());
    (void)ignored;
    ::_exit(failure.empty() ? 0 : 1);
  }
  ::close(fds[1]);
  const auto end = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  for (;;) {
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (std::chrono::steady_clock::now() > end) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      ::close(fds[0]);
      return "forked test body timed out";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::string out;
  char buf[512];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  if (WIFSIGNALED(status))
    return "forked test body died of signal " + std::to_string(WTERMSIG(status));
  if (WEXITSTATUS(status) != 0 && out.empty()) return "forked test body failed without a message";
  return out;
}

inline std::vector<pid_t> ChildrenOf(pid_t parent) {
  std::vector<pid_t> out;
  DIR* d = ::opendir("/proc");
  if (!d) return out;
  while (struct dirent* e = ::readdir(d)) {
    const pid_t pid = std::atoi(e->d_name);
    if (pid <= 0) continue;
    std::ifstream stat("/proc/" + std::string(e->d_name) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    // "pid (comm) state ppid ...": comm may contain spaces and parentheses; parse after the last
    // ')'.
    const auto close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 1));
    char state;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid == parent) out.push_back(pid);
  }
  ::closedir(d);
  return out;
}

inline char ProcessState(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return '?';
  const auto close = line.rfind(')');
  if (close == std::string::npos || close + 2 >= line.size()) return '?';
  return line[close + 2];
}

}  // namespace podshim::signals::testing
