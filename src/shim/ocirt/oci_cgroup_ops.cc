#include "shim/ocirt/oci_cgroup_ops.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cgroups/control_files.h"
#include "common/quoted.h"
#include "common/sys.h"
#include "shim/ocirt/oci_cgroup.h"

namespace podshim::shim {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using oci::ContainerStatus;

Error NotRunning(const std::string& id) {
  return Error::Domain(ErrorCode::kConflict, "container " + Quoted(id) + " is not running");
}

struct Loaded {
  oci::ContainerState state;
  ContainerStatus status;
};

Result<Loaded> Load(const oci::StateDir& dir, const std::string& id) {
  Loaded out{PODSHIM_TRY(dir.Load(id)), ContainerStatus::kStopped};
  out.status = PODSHIM_TRY(dir.CurrentStatus(out.state));
  return out;
}

// runc's units.RAMInBytes for whole numbers: "512", "512k", "64m", "1g", "1GiB", "2tb"; "-1".
Result<int64_t> ParseRamBytes(const std::string& flag, std::string_view text) {
  if (text == "-1") return int64_t{-1};
  int64_t n = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  std::string_view unit(p, text.data() + text.size() - p);
  if (unit.starts_with(' ')) unit.remove_prefix(1);
  int shift = -1;
  std::string lower;
  for (char c : unit) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower.ends_with("ib")) lower.resize(lower.size() - 2);
  if (lower.ends_with("b")) lower.resize(lower.size() - 1);
  constexpr std::string_view kUnits = "kmgtp";
  if (lower.empty()) {
    shift = 0;
  } else if (lower.size() == 1 && kUnits.find(lower[0]) != std::string_view::npos) {
    shift = 10 * (static_cast<int>(kUnits.find(lower[0])) + 1);
  }
  if (ec != std::errc() || n < 0 || shift < 0 || (shift > 0 && n > (INT64_MAX >> shift))) {
    return Error::Invalid("--" + flag + ": expected -1 or a size such as 512m or 1g, got " +
                          Quoted(text));
  }
  return n << shift;
}

Result<json> ParseInteger(const std::string& flag, const std::string& text, bool is_unsigned) {
  int64_t n = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || p != text.data() + text.size() || (is_unsigned && n < 0)) {
    return Error::Invalid("--" + flag + ": expected " +
                          (is_unsigned ? "a non-negative integer" : "an integer") + ", got " +
                          Quoted(text));
  }
  return json(n);
}

// Every pid in `dir` and the cgroups below it.
Result<std::vector<pid_t>> PidsUnder(const fs::path& dir) {
  std::vector<pid_t> pids;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return pids;
  std::vector<fs::path> dirs = {dir};
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (it->is_directory(ec)) dirs.push_back(it->path());
  }
  for (const fs::path& d : dirs) {
    auto text = sys::ReadFile(d / "cgroup.procs");
    if (!text) continue;  // removed meanwhile
    auto parsed = cgroups::ParseProcs(*text);
    if (!parsed) return std::move(parsed).error().Wrap((d / "cgroup.procs").string());
    pids.insert(pids.end(), parsed->begin(), parsed->end());
  }
  std::sort(pids.begin(), pids.end());
  pids.erase(std::unique(pids.begin(), pids.end()), pids.end());
  return pids;
}

}  // namespace

Status OciPause(const oci::StateDir& dir, const std::string& id) {
  Loaded c = PODSHIM_TRY(Load(dir, id));
  if (c.status == ContainerStatus::kPaused) {
    return Error::Domain(ErrorCode::kConflict, "container " + Quoted(id) + " is already paused");
  }
  if (c.status != ContainerStatus::kRunning && c.status != ContainerStatus::kCreated) {
    return NotRunning(id);
  }
  OciCgroupHandle cg = PODSHIM_TRY(OpenOciCgroup(c.state));
  return cg.manager->Freeze(cg.path);
}

Status OciResume(const oci::StateDir& dir, const std::string& id) {
  Loaded c = PODSHIM_TRY(Load(dir, id));
  if (c.status != ContainerStatus::kPaused) {
    return Error::Domain(ErrorCode::kConflict, "container " + Quoted(id) + " is not paused");
  }
  OciCgroupHandle cg = PODSHIM_TRY(OpenOciCgroup(c.state));
  return cg.manager->Thaw(cg.path);
}

Result<std::string> UpdateFlagsToResources(const std::map<std::string, std::string>& flags) {
  enum Kind { kBytes, kInt, kUint, kText };
  struct Flag {
    const char* name;
    const char* group;
    const char* key;
    Kind kind;
  };
  static constexpr Flag kFlags[] = {
      {"memory", "memory", "limit", kBytes},
      {"memory-reservation", "memory", "reservation", kBytes},
      {"memory-swap", "memory", "swap", kBytes},
      {"kernel-memory", "memory", "kernel", kBytes},
      {"kernel-memory-tcp", "memory", "kernelTCP", kBytes},
      {"cpu-share", "cpu", "shares", kUint},
      {"cpu-shares", "cpu", "shares", kUint},
      {"cpu-quota", "cpu", "quota", kInt},
      {"cpu-period", "cpu", "period", kUint},
      {"cpu-rt-period", "cpu", "realtimePeriod", kUint},
      {"cpu-rt-runtime", "cpu", "realtimeRuntime", kInt},
      {"cpuset-cpus", "cpu", "cpus", kText},
      {"cpuset-mems", "cpu", "mems", kText},
      {"pids-limit", "pids", "limit", kInt},
      {"blkio-weight", "blockIO", "weight", kUint},
  };
  json out = json::object();
  for (const Flag& f : kFlags) {
    auto it = flags.find(f.name);
    if (it == flags.end()) continue;
    json& slot = out[f.group][f.key];
    switch (f.kind) {
      case kBytes:
        slot = PODSHIM_TRY(ParseRamBytes(f.name, it->second));
        break;
      case kInt:
      case kUint:
        slot = PODSHIM_TRY(ParseInteger(f.name, it->second, f.kind == kUint));
        break;
      case kText:
        slot = it->second;
        break;
    }
  }
  for (const char* rdt : {"l3-cache-schema", "mem-bw-schema"}) {
    if (flags.contains(rdt)) {
      return Error::Domain(ErrorCode::kUnsupported,
                           std::string("--") + rdt + ": Intel RDT is not supported");
    }
  }
  return out.dump();
}

Status OciUpdate(const oci::StateDir& dir, const std::string& id, const std::string& resources_json,
                 const std::string& field) {
  Loaded c = PODSHIM_TRY(Load(dir, id));
  if (c.status == ContainerStatus::kStopped) return NotRunning(id);
  json patch = json::parse(resources_json, nullptr, /*allow_exceptions=*/false);
  if (patch.is_discarded() || !patch.is_object()) {
    return Error::Invalid(field + ": expected a JSON object (linux.resources)");
  }
  if (patch.contains("devices")) {
    // podshim keeps the device filter create attached (docs/decisions.md).
    OciWarn(field + ".devices: update does not change the device filter, ignoring");
    patch.erase("devices");
  }
  json merged = c.state.resources_json.empty()
                    ? json::object()
                    : json::parse(c.state.resources_json, nullptr, /*allow_exceptions=*/false);
  if (merged.is_discarded() || !merged.is_object()) merged = json::object();
  merged.merge_patch(patch);
  OciCgroupHandle cg = PODSHIM_TRY(OpenOciCgroup(c.state));
  PODSHIM_TRY(ApplyOciResources(cg, merged.dump(), field));
  c.state.resources_json = merged.dump();
  return dir.Save(c.state);
}

Result<std::vector<pid_t>> OciPids(const oci::StateDir& dir, const std::string& id) {
  oci::ContainerState state = PODSHIM_TRY(dir.Load(id));
  if (state.cgroup_path.empty()) {
    return Error::Domain(ErrorCode::kUnsupported, "container " + Quoted(id) + " has no cgroup");
  }
  return PidsUnder(state.CgroupDir());
}

Status OciKillAll(const oci::StateDir& dir, const std::string& id, int sig) {
  Loaded c = PODSHIM_TRY(Load(dir, id));
  if (c.state.cgroup_path.empty()) {
    return Error::Domain(ErrorCode::kUnsupported, "kill --all: container " + Quoted(id) +
                                                      " has no cgroup (no cgroup2 mount)");
  }
  if (!fs::exists(c.state.CgroupDir())) return Ok();  // stopped and gone: nothing to signal
  OciCgroupHandle cg = PODSHIM_TRY(OpenOciCgroup(c.state));
  // SIGKILL (CRI's Kill(9, all)): cgroup.kill takes the whole subtree at once, the cgroups of
  // execs below included, with no freeze to wait for (as runc 1.2 does).
  if (sig == SIGKILL) return cg.manager->Kill(cg.path);
  // Frozen while we list and signal, so nothing forks past us; a paused container stays so.
  const bool freeze = c.status != ContainerStatus::kPaused;
  if (freeze) (void)cg.manager->Freeze(cg.path);
  Status result = Ok();
  auto pids = PidsUnder(c.state.CgroupDir());
  if (!pids) result = std::move(pids).error();
  for (pid_t pid : pids ? *pids : std::vector<pid_t>{}) {
    if (::kill(pid, sig) < 0 && errno != ESRCH && result) {
      result = Error::Errno(errno, "kill --all: signal " + std::to_string(pid));
    }
  }
  if (freeze) {
    Status thawed = cg.manager->Thaw(cg.path);
    if (result && !thawed) result = std::move(thawed);
  }
  return result;
}

Result<std::string> OciPsTable(const std::vector<pid_t>& pids,
                               const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"ps"};
  if (args.empty()) argv.push_back("-ef");
  argv.insert(argv.end(), args.begin(), args.end());
  sys::PipePair pipe = PODSHIM_TRY(sys::Pipe());
  pid_t child = ::fork();
  if (child < 0) return Error::Errno(errno, "fork");
  if (child == 0) {
    ::dup2(pipe.write.get(), STDOUT_FILENO);
    std::vector<char*> cargv;
    for (std::string& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    ::execvp("ps", cargv.data());
    ::_exit(127);
  }
  pipe.write.Reset();
  auto text = sys::ReadAll(pipe.read.get());
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (!text) return std::move(text).error();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return Error::Errno(EIO, "ps " + Quoted(argv.back()) + " failed (exit status " +
                                 std::to_string(WEXITSTATUS(status)) + ")");
  }
  std::istringstream in(*text);
  std::string header, line, out;
  std::getline(in, header);
  // The PID column: its index among the header's fields.
  std::istringstream fields(header);
  std::string word;
  int pid_index = -1;
  for (int i = 0; fields >> word; ++i) {
    if (word == "PID") pid_index = i;
  }
  if (pid_index < 0) return Error::Invalid("ps: no PID column in " + Quoted(header));
  out = header + "\n";
  while (std::getline(in, line)) {
    std::istringstream cols(line);
    for (int i = 0; cols >> word && i < pid_index; ++i) {
    }
    pid_t pid = 0;
    auto [p, ec] = std::from_chars(word.data(), word.data() + word.size(), pid);
    if (ec == std::errc() && std::binary_search(pids.begin(), pids.end(), pid)) out += line + "\n";
  }
  return out;
}

}  // namespace podshim::shim
