#include "oci/state.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <nlohmann/json.hpp>
#include <utility>

#include "common/quoted.h"
#include "common/sys.h"

namespace podshim::oci {
namespace {

using nlohmann::ordered_json;

constexpr const char kStateFile[] = "state.json";
constexpr const char kFifoFile[] = "exec.fifo";

ordered_json RuncFields(const ContainerState& s, ContainerStatus status) {
  ordered_json j;
  j["ociVersion"] = s.oci_version;
  j["id"] = s.id;
  // runc reports pid 0 once the container has stopped.
  j["pid"] = status == ContainerStatus::kStopped ? 0 : s.pid;
  j["status"] = ContainerStatusName(status);
  j["bundle"] = s.bundle;
  j["rootfs"] = s.rootfs;
  j["created"] = s.created;
  j["owner"] = s.owner;
  if (!s.annotations.empty()) j["annotations"] = s.annotations;
  return j;
}

ordered_json HookToJson(const Hook& h) {
  ordered_json j;
  j["path"] = h.path;
  if (!h.args.empty()) j["args"] = h.args;
  if (!h.env.empty()) j["env"] = h.env;
  if (h.timeout) j["timeout"] = *h.timeout;
  return j;
}

// The hook lists state.json keeps, by their config.json names.
std::array<std::pair<const char*, const std::vector<Hook>*>, 3> HookLists(const ContainerState& s) {
  return {{{"startContainer", &s.start_container},
           {"poststart", &s.poststart},
           {"poststop", &s.poststop}}};
}
std::array<std::pair<const char*, std::vector<Hook>*>, 3> HookLists(ContainerState& s) {
  return {{{"startContainer", &s.start_container},
           {"poststart", &s.poststart},
           {"poststop", &s.poststop}}};
}

// Typed extraction of an optional field; a wrong type throws nlohmann's type_error, which
// StateFromFileJson catches (the one try/catch of this file). `current` names the field for it.
template <class T>
T Field(const nlohmann::json& j, const char* name, std::string* current) {
  *current = name;
  auto it = j.find(name);
  return it == j.end() ? T{} : it->template get<T>();
}

}  // namespace

const char* ContainerStatusName(ContainerStatus status) {
  switch (status) {
    case ContainerStatus::kCreating:
      return "creating";
    case ContainerStatus::kCreated:
      return "created";
    case ContainerStatus::kRunning:
      return "running";
    case ContainerStatus::kPaused:
      return "paused";
    case ContainerStatus::kStopped:
      return "stopped";
  }
  return "unknown";
}

Result<ContainerStatus> ParseContainerStatus(std::string_view name) {
  for (ContainerStatus s :
       {ContainerStatus::kCreating, ContainerStatus::kCreated, ContainerStatus::kRunning,
        ContainerStatus::kPaused, ContainerStatus::kStopped}) {
    if (name == ContainerStatusName(s)) return s;
  }
  return Error::Invalid("unknown container status " + Quoted(name));
}

std::string StateToRuncJson(const ContainerState& state, ContainerStatus status, int indent) {
  return RuncFields(state, status).dump(indent);
}

std::string StateToFileJson(const ContainerState& state) {
  ordered_json j = RuncFields(state, state.status);
  j["pid"] = state.pid;  // the recorded pid, whatever the status
  j["pidStartTime"] = state.pid_start_time;
  for (const auto& [name, list] : HookLists(state)) {
    if (list->empty()) continue;
    ordered_json hooks = ordered_json::array();
    for (const Hook& h : *list) hooks.push_back(HookToJson(h));
    j["hooks"][name] = std::move(hooks);
  }
  if (!state.cgroup_path.empty()) {
    j["cgroupMount"] = state.cgroup_mount;
    j["cgroupPath"] = state.cgroup_path;
    j["cgroupCreated"] = state.cgroup_created;
  }
  if (!state.resources_json.empty()) {
    ordered_json resources = ordered_json::parse(state.resources_json, nullptr, false);
    if (!resources.is_discarded()) j["resources"] = std::move(resources);
  }
  return j.dump(2) + "\n";
}

Result<ContainerState> StateFromFileJson(std::string_view text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Error::Invalid("state.json: not a JSON object");
  for (const char* required : {"ociVersion", "id", "status", "pid", "bundle"}) {
    if (!j.contains(required))
      return Error::Invalid(std::string("state.json: ") + required + ": missing");
  }
  ContainerState s;
  std::string status;
  std::string current;
  try {
    s.oci_version = Field<std::string>(j, "ociVersion", &current);
    s.id = Field<std::string>(j, "id", &current);
    status = Field<std::string>(j, "status", &current);
    s.pid = Field<pid_t>(j, "pid", &current);
    s.bundle = Field<std::string>(j, "bundle", &current);
    s.rootfs = Field<std::string>(j, "rootfs", &current);
    s.created = Field<std::string>(j, "created", &current);
    s.owner = Field<std::string>(j, "owner", &current);
    s.annotations = Field<std::map<std::string, std::string>>(j, "annotations", &current);
    s.pid_start_time = Field<uint64_t>(j, "pidStartTime", &current);
    s.cgroup_mount = Field<std::string>(j, "cgroupMount", &current);
    s.cgroup_path = Field<std::string>(j, "cgroupPath", &current);
    s.cgroup_created = Field<std::vector<std::string>>(j, "cgroupCreated", &current);
    current = "resources";
    if (auto r = j.find("resources"); r != j.end() && !r->is_null()) s.resources_json = r->dump();
    auto hooks = j.find("hooks");
    for (const auto& [name, list] : HookLists(s)) {
      if (hooks == j.end() || !hooks->contains(name)) continue;
      current = std::string("hooks.") + name;
      for (const auto& h : hooks->at(name)) {
        Hook hook;
        hook.path = h.at("path").get<std::string>();
        hook.args = h.value("args", std::vector<std::string>{});
        hook.env = h.value("env", std::vector<std::string>{});
        if (h.contains("timeout")) hook.timeout = h.at("timeout").get<int>();
        list->push_back(std::move(hook));
      }
    }
  } catch (const nlohmann::json::exception& e) {
    return Error::Invalid(std::string("state.json: ") + current + ": " + e.what());
  }
  s.status = PODSHIM_TRY_WRAP(ParseContainerStatus(status), "state.json: status");
  return s;
}

Result<ProcStat> ParseProcStat(std::string_view text) {
  // "pid (comm) S ppid ...": comm may contain ") ", so the last ')' ends it.
  size_t close = text.rfind(')');
  if (close == std::string_view::npos || close + 2 >= text.size()) {
    return Error::Invalid("/proc/<pid>/stat: no command name");
  }
  std::string_view rest = text.substr(close + 2);  // starts at field 3, the state
  ProcStat out;
  out.state = rest[0];
  // Field 22 is the 20th field from field 3 on.
  size_t pos = 0;
  for (int field = 3; field < 22; ++field) {
    pos = rest.find(' ', pos);
    if (pos == std::string_view::npos) return Error::Invalid("/proc/<pid>/stat: too few fields");
    ++pos;
  }
  size_t end = rest.find(' ', pos);
  std::string_view num = rest.substr(pos, end == std::string_view::npos ? rest.npos : end - pos);
  auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), out.start_time);
  if (ec != std::errc() || p != num.data() + num.size()) {
    return Error::Invalid("/proc/<pid>/stat: bad starttime " + Quoted(num));
  }
  return out;
}

Result<std::optional<ProcStat>> ReadProcStat(const std::filesystem::path& proc_root, pid_t pid) {
  if (pid <= 0) return std::optional<ProcStat>();
  std::filesystem::path path = proc_root / std::to_string(pid) / "stat";
  auto text = sys::ReadFile(path);
  if (!text) {
    if (text.error().code() == std::errc::no_such_file_or_directory ||
        text.error().code() == std::errc::no_such_process) {
      return std::optional<ProcStat>();
    }
    return std::move(text).error();
  }
  ProcStat stat = PODSHIM_TRY_WRAP(ParseProcStat(*text), path.string());
  return std::optional<ProcStat>(stat);
}

ContainerStatus DeriveStatus(const ContainerState& state, const std::optional<ProcStat>& proc,
                             bool fifo_exists, bool frozen) {
  if (!proc || proc->state == 'Z' || proc->state == 'X' || proc->state == 'x') {
    return ContainerStatus::kStopped;
  }
  if (state.pid_start_time != 0 && proc->start_time != state.pid_start_time) {
    return ContainerStatus::kStopped;  // the pid now belongs to someone else
  }
  if (frozen) return ContainerStatus::kPaused;
  return fifo_exists ? ContainerStatus::kCreated : ContainerStatus::kRunning;
}

Status ValidateContainerId(std::string_view id) {
  if (id.empty()) return Error::Invalid("container id must not be empty");
  if (id.size() > 1024) return Error::Invalid("container id is longer than 1024 bytes");
  if (id == "." || id == "..") return Error::Invalid("invalid container id " + Quoted(id));
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '+' || c == '-' || c == '.';
    if (!ok) {
      return Error::Invalid("invalid container id " + Quoted(id) +
                            ": only letters, digits, '_', '+', '-' and '.' are allowed");
    }
  }
  return Ok();
}

StateDir::StateDir(std::filesystem::path root, std::filesystem::path proc_root)
    : root_(std::move(root)), proc_root_(std::move(proc_root)) {}

std::filesystem::path StateDir::ContainerDir(std::string_view id) const { return root_ / id; }

std::filesystem::path StateDir::FifoPath(std::string_view id) const {
  return ContainerDir(id) / kFifoFile;
}

Status StateDir::CreateContainerDir(std::string_view id) const {
  std::filesystem::path dir = ContainerDir(id);
  int rc = ::mkdir(dir.c_str(), 0711);
  if (rc < 0 && errno == ENOENT) {  // the first container: make the root too
    PODSHIM_TRY(sys::MakeDirs(root_, 0711));
    rc = ::mkdir(dir.c_str(), 0711);
  }
  if (rc < 0) {
    if (errno == EEXIST) {
      return Error::Domain(ErrorCode::kConflict, "container " + Quoted(id) + " already exists");
    }
    return Error::Errno(errno, "mkdir " + dir.string());
  }
  return Ok();
}

Status StateDir::Save(const ContainerState& state) const {
  // Temporary file + rename: readers see the old or the new state, never half of one. No fsync:
  // the state is as volatile as the processes it describes (runc keeps it in /run too), and on
  // a disk-backed --root an fsync costs milliseconds on every container start.
  std::filesystem::path path = ContainerDir(state.id) / kStateFile;
  std::filesystem::path tmp = path;
  tmp += ".tmp";
  PODSHIM_TRY(sys::WriteFile(tmp, StateToFileJson(state), 0600));
  if (::rename(tmp.c_str(), path.c_str()) < 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return Error::Errno(err, "rename " + tmp.string() + " to " + path.string());
  }
  return Ok();
}

Result<ContainerState> StateDir::Load(std::string_view id) const {
  std::filesystem::path path = ContainerDir(id) / kStateFile;
  auto text = sys::ReadFile(path);
  if (!text) {
    if (text.error().code() == std::errc::no_such_file_or_directory) {
      return Error::Domain(ErrorCode::kNotFound, "container " + Quoted(id) + " does not exist");
    }
    return std::move(text).error();
  }
  auto state = StateFromFileJson(*text);
  if (!state) return std::move(state).error().Wrap(path.string());
  return state;
}

Result<std::vector<std::string>> StateDir::List() const {
  std::vector<std::string> ids;
  DIR* dir = ::opendir(root_.c_str());
  if (!dir) {
    if (errno == ENOENT) return ids;
    return Error::Errno(errno, "opendir " + root_.string());
  }
  while (struct dirent* e = ::readdir(dir)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    struct stat st;
    std::filesystem::path file = root_ / name / kStateFile;
    if (::stat(file.c_str(), &st) == 0 && S_ISREG(st.st_mode)) ids.push_back(std::move(name));
  }
  ::closedir(dir);
  std::sort(ids.begin(), ids.end());
  return ids;
}

Status StateDir::Remove(std::string_view id) const { return sys::RemoveTree(ContainerDir(id)); }

Result<ContainerStatus> StateDir::CurrentStatus(const ContainerState& state) const {
  std::optional<ProcStat> proc = PODSHIM_TRY(ReadProcStat(proc_root_, state.pid));
  struct stat st;
  bool fifo_exists = ::lstat(FifoPath(state.id).c_str(), &st) == 0;
  // As runc: the freezer decides "paused". A cgroup that is gone (or a kernel without
  // cgroup.freeze) is not frozen.
  bool frozen = false;
  if (!state.cgroup_path.empty()) {
    auto freeze = sys::ReadFile(state.CgroupDir() / "cgroup.freeze");
    frozen = freeze && freeze->starts_with('1');
  }
  return DeriveStatus(state, proc, fifo_exists, frozen);
}

std::filesystem::path ContainerState::CgroupDir() const {
  if (cgroup_path.empty()) return {};
  return std::filesystem::path(cgroup_mount) / cgroup_path;
}

}  // namespace podshim::oci
