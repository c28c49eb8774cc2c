#include "shim/ocirt/oci_hooks.h"

#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>

#include "common/quoted.h"
#include "common/sys.h"

namespace podshim::shim {
namespace {

std::vector<char*> CArray(std::vector<std::string>& items) {
  std::vector<char*> out;
  for (std::string& s : items) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// The CLONE_NEW* flags of the namespaces the target lives in and we do not (setns with a pidfd
// refuses to "join" the user namespace one is already in).
int NamespacesToJoin(pid_t pid) {
  struct Ns {
    const char* name;
    int flag;
  };
  constexpr Ns kNamespaces[] = {{"user", CLONE_NEWUSER}, {"mnt", CLONE_NEWNS},
                                {"ipc", CLONE_NEWIPC},   {"uts", CLONE_NEWUTS},
                                {"net", CLONE_NEWNET},   {"cgroup", CLONE_NEWCGROUP},
                                {"pid", CLONE_NEWPID}};
  int flags = 0;
  for (const Ns& ns : kNamespaces) {
    struct stat mine, theirs;
    std::string self = std::string("/proc/self/ns/") + ns.name;
    std::string other = "/proc/" + std::to_string(pid) + "/ns/" + ns.name;
    if (::stat(self.c_str(), &mine) < 0 || ::stat(other.c_str(), &theirs) < 0) continue;
    if (mine.st_ino != theirs.st_ino || mine.st_dev != theirs.st_dev) flags |= ns.flag;
  }
  return flags;
}

Status RunHook(std::string_view kind, const oci::Hook& hook, std::string_view state_json,
               HookTarget target) {
  std::string what = std::string(kind) + " hook " + Quoted(hook.path);
  std::vector<std::string> args =
      hook.args.empty() ? std::vector<std::string>{hook.path} : hook.args;
  std::vector<std::string> env = hook.env;
  std::vector<char*> argv = CArray(args);
  std::vector<char*> envp = CArray(env);
  int join_flags = 0;
  if (target.container_pidfd >= 0) {
    pid_t pid = -1;
    // The pid behind the pidfd, from /proc/self/fdinfo ("Pid:\t123").
    auto info = sys::ReadFile("/proc/self/fdinfo/" + std::to_string(target.container_pidfd));
    if (!info) return std::move(info).error().Wrap(what);
    if (size_t at = info->find("Pid:\t"); at != std::string::npos) {
      pid = static_cast<pid_t>(std::strtol(info->c_str() + at + 5, nullptr, 10));
    }
    if (pid <= 0) return Error::Errno(ESRCH, what + ": the container process is gone");
    join_flags = NamespacesToJoin(pid);
  }

  int sv[2];
  // A socket rather than a pipe: MSG_NOSIGNAL spares us SIGPIPE when a hook ignores stdin.
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
    return Error::Errno(errno, what + ": socketpair");
  }
  UniqueFd ours(sv[0]), theirs(sv[1]);
  pid_t child = ::fork();
  if (child < 0) return Error::Errno(errno, what + ": fork");
  if (child == 0) {
    // Only async-signal-safe calls from here on.
    ::dup2(theirs.get(), STDIN_FILENO);
    if (join_flags && ::setns(target.container_pidfd, join_flags) < 0) ::_exit(126);
    ::execve(hook.path.c_str(), argv.data(), envp.data());
    ::_exit(127);
  }
  theirs.Reset();
  auto pidfd = sys::PidfdOpen(child);
  for (size_t off = 0; off < state_json.size();) {
    ssize_t n = ::send(ours.get(), state_json.data() + off, state_json.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the hook closed its stdin: it does not want the state
    off += static_cast<size_t>(n);
  }
  ours.Reset();

  if (pidfd && hook.timeout) {
    struct pollfd p = {pidfd->get(), POLLIN, 0};
    int r;
    do {
      r = ::poll(&p, 1, *hook.timeout * 1000);
    } while (r < 0 && errno == EINTR);
    if (r == 0) {
      ::kill(child, SIGKILL);
      ::waitpid(child, nullptr, 0);
      return Error::Domain(ErrorCode::kTimeout,
                           what + ": timed out after " + std::to_string(*hook.timeout) + "s");
    }
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0) {
    if (errno != EINTR) return Error::Errno(errno, what + ": waitpid");
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return Ok();
  if (WIFEXITED(status) && WEXITSTATUS(status) == 126 && join_flags) {
    return Error::Invalid(what + ": cannot join the container's namespaces");
  }
  if (WIFSIGNALED(status)) {
    return Error::Invalid(what + ": killed by signal " + std::to_string(WTERMSIG(status)));
  }
  return Error::Invalid(what + ": exited with status " + std::to_string(WEXITSTATUS(status)));
}

bool FailureIsAWarning(std::string_view kind) { return kind == "poststart" || kind == "poststop"; }

}  // namespace

Status RunHooks(std::string_view kind, const std::vector<oci::Hook>& hooks,
                std::string_view state_json, HookTarget target) {
  if (!FailureIsAWarning(kind)) {
    for (const oci::Hook& hook : hooks) PODSHIM_TRY(RunHook(kind, hook, state_json, target));
    return Ok();
  }
  // runtime-spec: a failing poststart or poststop hook is logged and the rest still run.
  std::string failures;
  for (const oci::Hook& hook : hooks) {
    auto r = RunHook(kind, hook, state_json, target);
    if (r) continue;
    if (!failures.empty()) failures += "; ";
    failures += r.error().ToString();
  }
  if (failures.empty()) return Ok();
  return Error::Invalid(failures);
}

}  // namespace podshim::shim
