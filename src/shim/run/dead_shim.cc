#include "shim/run/dead_shim.h"

#include <fcntl.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <nlohmann/json.hpp>
#include <string_view>
#include <thread>

#include "cgroups/control_files.h"
#include "cgroups/mountinfo.h"
#include "common/quoted.h"
#include "common/sys.h"
#include "common/time_format.h"

namespace podshim::shim {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

constexpr auto kPollInterval = std::chrono::milliseconds(10);
constexpr auto kKillAgain = std::chrono::milliseconds(500);
// How long a dead shim's pod may take to die once killed: exiting processes release their memory
// first, a D-state wait on a slow disk can take a while.
constexpr auto kTakeOverTimeout = std::chrono::seconds(10);

bool Populated(const fs::path& cgroup) {
  auto text = sys::ReadFile(cgroup / "cgroup.events");
  if (!text) return false;
  auto events = cgroups::ParseCgroupEvents(*text);
  return events && events->populated;
}

// `cgroup` and every cgroup below it, parents before children.
std::vector<fs::path> CgroupTree(const fs::path& cgroup) {
  std::error_code ec;
  std::vector<fs::path> dirs = {cgroup};
  for (auto it = fs::recursive_directory_iterator(cgroup, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_directory(ec)) dirs.push_back(it->path());
  }
  return dirs;
}

// Without cgroup.kill (kernel < 5.14): SIGKILL to each process of `cgroup` and below.
void KillEachProcess(const fs::path& cgroup) {
  for (const fs::path& dir : CgroupTree(cgroup)) {
    auto text = sys::ReadFile(dir / "cgroup.procs");
    if (!text) continue;
    auto pids = cgroups::ParseProcs(*text);
    if (!pids) continue;
    for (pid_t pid : *pids) (void)::kill(pid, SIGKILL);
  }
}

void Kill(const fs::path& cgroup) {
  Status killed = sys::WriteFile(cgroup / "cgroup.kill", "1");
  if (!killed) KillEachProcess(cgroup);
}

}  // namespace

Status KillAndRemoveCgroupTree(const fs::path& cgroup, std::chrono::milliseconds timeout) {
  std::error_code ec;
  if (!fs::exists(cgroup, ec)) return Ok();
  const auto start = std::chrono::steady_clock::now();
  auto last_kill = start;
  Kill(cgroup);
  // A process forking while cgroup.kill runs cannot escape it, but one moved in meanwhile can:
  // kill again every half second until the tree is empty.
  while (Populated(cgroup)) {
    const auto now = std::chrono::steady_clock::now();
    if (now - start >= timeout) {
      return Error::Domain(ErrorCode::kTimeout,
                           "the cgroup " + Quoted(cgroup.string()) + " still has processes " +
                               std::to_string(timeout.count()) + " ms after cgroup.kill");
    }
    if (now - last_kill >= kKillAgain) {
      Kill(cgroup);
      last_kill = now;
    }
    std::this_thread::sleep_for(kPollInterval);
  }
  std::vector<fs::path> dirs = CgroupTree(cgroup);
  // Deepest first: a cgroup with a child cannot be removed. A killed process leaves its cgroup
  // only once it is gone entirely, so EBUSY is retried until the deadline.
  for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) {
    while (::rmdir(it->c_str()) < 0 && errno != ENOENT) {
      if (errno != EBUSY || std::chrono::steady_clock::now() - start >= timeout) {
        return Error::Errno(errno, "remove the cgroup " + Quoted(it->string()));
      }
      std::this_thread::sleep_for(kPollInterval);
    }
  }
  return Ok();
}

void UnmountBelow(const fs::path& dir) {
  auto mountinfo = sys::ReadFile("/proc/self/mountinfo");
  if (!mountinfo) return;
  std::vector<std::string> points;
  for (std::string& point : cgroups::MountPoints(*mountinfo)) {
    if (point == dir.string() || point.starts_with(dir.string() + "/")) {
      points.push_back(std::move(point));
    }
  }
  for (auto it = points.rbegin(); it != points.rend(); ++it) {
    (void)::umount2(it->c_str(), MNT_DETACH);
  }
}

std::vector<std::string> UnknownEndEvents(const std::string& status_json, pid_t dead_pid,
                                          const std::string& time) {
  std::vector<std::string> lines;
  Json status = Json::parse(status_json, nullptr, /*allow_exceptions=*/false);
  if (!status.is_object()) return lines;
  const std::string phase = status.value("phase", "");
  if (phase != "Pending" && phase != "Running") return lines;  // it had finished
  const std::string pod = status.value("name", "");
  const std::string message = "the shim (pid " + std::to_string(dead_pid) +
                              ") died while the container ran; its exit status is unknown";
  for (const char* list : {"initContainerStatuses", "containerStatuses"}) {
    auto entries = status.find(list);
    if (entries == status.end() || !entries->is_array()) continue;
    for (const Json& c : *entries) {
      if (!c.is_object() || !c.contains("state") || !c["state"].is_object() ||
          !c["state"].contains("running")) {
        continue;
      }
      Json e;
      e["time"] = time;
      e["pod"] = pod;
      e["type"] = "ContainerExited";
      e["container"] = c.value("name", "");
      e["role"] = c.value("role", "");
      e["exitCode"] = nullptr;
      e["signal"] = nullptr;
      e["reason"] = "ContainerStatusUnknown";
      e["message"] = message;
      e["restartCount"] = c.value("restartCount", 0);
      lines.push_back(e.dump(-1, ' ', false, Json::error_handler_t::replace));
    }
  }
  Json finished;
  finished["time"] = time;
  finished["pod"] = pod;
  finished["type"] = "PodFinished";
  finished["phase"] = "Unknown";
  finished["message"] = "the shim (pid " + std::to_string(dead_pid) +
                        ") died; a new shim stopped what was left of the pod";
  lines.push_back(finished.dump(-1, ' ', false, Json::error_handler_t::replace));
  return lines;
}

Status TakeOverDeadShim(const fs::path& state_dir, const ShimClaim& claim) {
  struct stat st {};
  if (::stat(claim.cgroup.c_str(), &st) == 0) {
    if (st.st_ino == claim.cgroup_inode) {
      spdlog::warn(
          "the shim (pid {}) of this state dir died while its pod ran: stopping what is "
          "left in {}",
          claim.pid, claim.cgroup.string());
      PODSHIM_TRY_WRAP(KillAndRemoveCgroupTree(claim.cgroup, kTakeOverTimeout),
                       "stop the pod of the dead shim (pid " + std::to_string(claim.pid) + ")");
    } else {
      spdlog::warn(
          "the shim (pid {}) of this state dir died; {} is another pod's cgroup now: "
          "left alone",
          claim.pid, claim.cgroup.string());
    }
  } else if (errno != ENOENT) {
    return Error::Errno(errno, "stat the dead shim's pod cgroup " + Quoted(claim.cgroup.string()));
  }
  // Its tmpfs volumes were mounted in the shim's mount namespace, which is the host's.
  const fs::path volumes = state_dir / "volumes";
  UnmountBelow(volumes);
  PODSHIM_TRY_WRAP(sys::RemoveTree(volumes), "remove the dead shim's volumes");

  auto status = sys::ReadFile(state_dir / "status.json");
  if (!status) return Ok();  // it died before it wrote one: no container ran
  std::vector<std::string> lines =
      UnknownEndEvents(*status, claim.pid, FormatRfc3339Nano(std::chrono::system_clock::now()));
  if (lines.empty()) return Ok();
  std::string text;
  for (const std::string& l : lines) text += l + "\n";
  const fs::path events = state_dir / "events.jsonl";
  UniqueFd fd = PODSHIM_TRY(sys::Open(events, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644));
  // The dead shim may have died half-way through a line: start on a line of our own.
  struct stat est {};
  if (::fstat(fd.get(), &est) == 0 && est.st_size > 0) {
    char last = '\n';
    UniqueFd rd = PODSHIM_TRY(sys::Open(events, O_RDONLY | O_CLOEXEC));
    if (::pread(rd.get(), &last, 1, est.st_size - 1) == 1 && last != '\n') text.insert(0, "\n");
  }
  PODSHIM_TRY_WRAP(sys::WriteAll(fd.get(), text), "record the dead shim's unknown exits");
  if (::fsync(fd.get()) < 0) return Error::Errno(errno, "fsync " + Quoted(events.string()));
  return Ok();
}

}  // namespace podshim::shim
