#include "shim/task/exec_cgroup.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <thread>

#include "cgroups/control_files.h"
#include "common/quoted.h"
#include "common/sys.h"

namespace podshim::shim::task {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kPrefix = "podshim-exec-";
constexpr size_t kMaxExecId = 128;
constexpr auto kEmptyWait = std::chrono::seconds(1);
constexpr auto kPoll = std::chrono::milliseconds(10);

// SIGKILL to every process of `dir` (cgroup.kill where the kernel has it, 5.14+).
void KillAll(const fs::path& dir) {
  // Opened without O_CREAT: only a cgroup has it.
  if (auto kill = sys::Open(dir / "cgroup.kill", O_WRONLY | O_CLOEXEC);
      kill && sys::WriteAll(kill->get(), "1")) {
    return;
  }
  auto text = sys::ReadFile(dir / "cgroup.procs");
  if (!text) return;
  auto pids = cgroups::ParseProcs(*text);
  for (pid_t pid : pids ? *pids : std::vector<pid_t>{}) (void)::kill(pid, SIGKILL);
}

}  // namespace

Status CheckExecId(const std::string& exec_id) {
  auto bad = [&](std::string why) {
    return Error::Invalid("exec_id: " + Quoted(exec_id) + " " + why);
  };
  if (exec_id.empty()) return Error::Invalid("exec_id: required");
  if (exec_id.size() > kMaxExecId) {
    return bad("is longer than " + std::to_string(kMaxExecId) + " bytes");
  }
  if (exec_id == "." || exec_id == "..") return bad("is not a name");
  for (char c : exec_id) {
    if (c == '/') return bad("has a '/'");
    if (c <= ' ' || c > '~') return bad("has a byte that is not printable ASCII");
  }
  return Ok();
}

fs::path ExecCgroupPath(const fs::path& container_dir, const std::string& exec_id) {
  return container_dir / (std::string(kPrefix) + exec_id);
}

Status CreateExecCgroup(const fs::path& dir) {
  if (::mkdir(dir.c_str(), 0755) == 0) return Ok();
  if (errno != EEXIST) return Error::Errno(errno, "exec cgroup: mkdir " + dir.string());
  KillAll(dir);  // a crashed shim's: nothing of it may join the new exec
  return Ok();
}

Status RemoveExecCgroup(const fs::path& dir) {
  const auto deadline = std::chrono::steady_clock::now() + kEmptyWait;
  for (;;) {
    KillAll(dir);
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return Ok();
    if (errno != EBUSY || std::chrono::steady_clock::now() >= deadline) {
      return Error::Errno(errno, "exec cgroup: rmdir " + dir.string());
    }
    std::this_thread::sleep_for(kPoll);  // killed, not gone yet
  }
}

Status RemoveExecCgroups(const fs::path& container_dir) {
  std::error_code ec;
  Status result = Ok();
  for (auto it = fs::directory_iterator(container_dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (!it->path().filename().string().starts_with(kPrefix)) continue;
    if (Status removed = RemoveExecCgroup(it->path()); !removed && result) result = removed;
  }
  return result;
}

}  // namespace podshim::shim::task
