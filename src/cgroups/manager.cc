#include "cgroups/manager.h"

#include <errno.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

#include "cgroups/control_files.h"
#include "cgroups/created_parent_mark.h"
#include "common/quoted.h"

namespace podshim::cgroups {
namespace {

using std::chrono::milliseconds;
using SteadyTime = std::chrono::steady_clock;

std::string Join(const auto& items, std::string_view sep = ", ") {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += sep;
    out += item;
  }
  return out;
}

std::string FileOf(const CgroupPath& cg, std::string_view file) {
  return cg.IsRoot() ? std::string(file) : cg.str() + "/" + std::string(file);
}

bool IsErrno(const Error& e, int err) {
  return e.code() == std::error_code(err, std::system_category());
}

}  // namespace

std::string InstanceLeafName(std::string_view container, uint64_t instance) {
  return std::string(container) + "-" + std::to_string(instance);
}

CgroupV2Manager::CgroupV2Manager(std::unique_ptr<CgroupFs> fs, CgroupManagerOptions options)
    : fs_(std::move(fs)), options_(std::move(options)) {
  page_size_ =
      options_.page_size != 0 ? options_.page_size : static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

Result<std::set<std::string>> CgroupV2Manager::EnableControllers(
    const CgroupPath& target, const std::set<std::string>& wanted) {
  std::set<std::string> reaching = wanted;
  const size_t start = options_.parent.IsRoot() ? 0 : 1;
  for (size_t depth = start; depth < target.Depth() && !reaching.empty(); ++depth) {
    const CgroupPath node = target.Prefix(depth);
    const std::string offered_text = PODSHIM_TRY(fs_->Read(node, kCgroupControllers));
    auto offered = ParseControllerList(offered_text);
    if (!offered) {
      return std::move(offered).error().Wrap(fs_->FullPath(node, kCgroupControllers).string());
    }
    for (auto it = reaching.begin(); it != reaching.end();) {
      if (std::find(offered->begin(), offered->end(), *it) != offered->end()) {
        ++it;
        continue;
      }
      missing_.try_emplace(*it, node, std::string(TrimSpace(offered_text)));
      it = reaching.erase(it);
    }
    const std::string enabled_text = PODSHIM_TRY(fs_->Read(node, kCgroupSubtreeControl));
    auto enabled = ParseControllerList(enabled_text);
    if (!enabled) {
      return std::move(enabled).error().Wrap(fs_->FullPath(node, kCgroupSubtreeControl).string());
    }
    std::vector<std::string> to_enable;
    for (const auto& c : reaching) {
      if (std::find(enabled->begin(), enabled->end(), c) == enabled->end()) to_enable.push_back(c);
    }
    if (!to_enable.empty()) {
      // The kernel refuses this with EBUSY when `node` itself holds processes (the "no internal
      // processes" rule); the error names the cgroup.
      PODSHIM_TRY_WRAP(fs_->Write(node, kCgroupSubtreeControl, FormatSubtreeControl(to_enable)),
                       "enable controllers " + Join(to_enable));
    }
  }
  return reaching;
}

Result<CgroupPath> CgroupV2Manager::CreatePod(std::string_view pod_id) {
  if (pod_) {
    return Error::Domain(ErrorCode::kConflict,
                         "create pod cgroup: this manager already has " + pod_->str());
  }
  Result<CgroupPath> pod = CreatePodOnce(pod_id);
  // The shim that removed the last other pod below the parent may have removed the parent
  // between our check and our mkdir (ENOENT; ENODEV from a file of the cgroup being removed):
  // once more, creating it again.
  if (!pod && (IsErrno(pod.error(), ENOENT) || IsErrno(pod.error(), ENODEV))) {
    pod = CreatePodOnce(pod_id);
  }
  return pod;
}

Result<CgroupPath> CgroupV2Manager::CreatePodOnce(std::string_view pod_id) {
  const CgroupPath pod = PODSHIM_TRY(options_.parent.Child("pod-" + std::string(pod_id)));
  for (size_t depth = 1; depth <= options_.parent.Depth(); ++depth) {
    const CgroupPath dir = options_.parent.Prefix(depth);
    if (PODSHIM_TRY(fs_->Exists(dir))) continue;
    Status made = fs_->MakeDir(dir);
    if (!made && IsErrno(made.error(), EEXIST)) continue;  // created concurrently: not ours
    if (!made) {
      UndoCreated();
      return std::move(made).error().Wrap("create cgroup parent");
    }
    created_.push_back(dir);
    created_parents_.insert(dir);
    MarkCreatedParent(fs_->FullPath(dir));
  }

  const std::set<std::string> base(options_.base_controllers.begin(),
                                   options_.base_controllers.end());
  auto reaching = EnableControllers(pod, base);
  if (!reaching) {
    UndoCreated();
    return std::move(reaching).error().Wrap("create pod cgroup " + Quoted(pod.str()));
  }
  if (options_.required && reaching->size() != base.size()) {
    std::vector<std::string> lacking;
    for (const auto& c : base) {
      if (!reaching->contains(c)) lacking.push_back(c);
    }
    UndoCreated();
    return Error::Domain(ErrorCode::kUnsupported, "cgroup controllers " + Join(lacking) +
                                                      " are not available in " +
                                                      fs_->FullPath(options_.parent).string() +
                                                      " (required by --cgroup-required)");
  }
  Status made = fs_->MakeDir(pod);
  if (!made) {
    UndoCreated();
    if (IsErrno(made.error(), EEXIST)) {
      return Error::Domain(ErrorCode::kConflict,
                           "create pod cgroup " + fs_->FullPath(pod).string() + ": exists already");
    }
    return std::move(made).error().Wrap("create pod cgroup");
  }
  created_.push_back(pod);
  pod_ = pod;
  return pod;
}

Result<CgroupPath> CgroupV2Manager::AdoptPod(std::string_view pod_id) {
  if (pod_) {
    return Error::Domain(ErrorCode::kConflict,
                         "adopt pod cgroup: this manager already has " + pod_->str());
  }
  const CgroupPath pod = PODSHIM_TRY(options_.parent.Child("pod-" + std::string(pod_id)));
  if (!PODSHIM_TRY(fs_->Exists(pod))) {
    return Error::Domain(ErrorCode::kNotFound,
                         "the pod cgroup " + fs_->FullPath(pod).string() + " does not exist");
  }
  created_.push_back(pod);
  // Parents before children, so that RemovePod() removes children first.
  const std::filesystem::path root = fs_->FullPath(CgroupPath());
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(fs_->FullPath(pod), ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_directory(ec)) continue;
    auto below = CgroupPath::Parse(it->path().lexically_relative(root).string());
    if (below) created_.push_back(*below);
  }
  pod_ = pod;
  return pod;
}

Result<CgroupPath> CgroupV2Manager::CreateContainer(std::string_view name) {
  if (!pod_) {
    return Error::Domain(ErrorCode::kConflict,
                         "create container cgroup " + Quoted(name) + ": no pod cgroup yet");
  }
  const CgroupPath leaf = PODSHIM_TRY(pod_->Child(name));
  const std::set<std::string> base(options_.base_controllers.begin(),
                                   options_.base_controllers.end());
  PODSHIM_TRY_WRAP(EnableControllers(leaf, base), "create container cgroup " + Quoted(name));
  Status made = fs_->MakeDir(leaf);
  if (!made && IsErrno(made.error(), EEXIST)) {
    return Error::Domain(
        ErrorCode::kConflict,
        "create container cgroup " + fs_->FullPath(leaf).string() + ": exists already");
  }
  if (!made) return std::move(made).error().Wrap("create container cgroup");
  created_.push_back(leaf);
  return leaf;
}

Result<CgroupPath> CgroupV2Manager::CreateExecGroup(const CgroupPath& leaf, std::string_view name) {
  if (std::find(created_.begin(), created_.end(), leaf) == created_.end() || !pod_ ||
      leaf.Parent() != *pod_) {
    return Error::Domain(ErrorCode::kConflict, "create exec cgroup " + Quoted(name) + " below " +
                                                   fs_->FullPath(leaf).string() +
                                                   ": not a container cgroup of this pod");
  }
  const CgroupPath group = PODSHIM_TRY(leaf.Child(name));
  PODSHIM_TRY_WRAP(fs_->MakeDir(group), "create exec cgroup");
  created_.push_back(group);
  return group;
}

Status CgroupV2Manager::Apply(const CgroupPath& cg, const CgroupFileValues& values) {
  std::vector<ControlFile> files;
  std::set<std::string> wanted;
  for (const auto& v : values) {
    files.push_back(PODSHIM_TRY_WRAP(ControlFile::Parse(v.file), "apply cgroup values"));
    std::string_view controller = ControllerOf(v.file);
    if (controller != "cgroup") wanted.emplace(controller);
  }
  const std::set<std::string> reaching =
      PODSHIM_TRY_WRAP(EnableControllers(cg, wanted), "apply cgroup values to " + Quoted(cg.str()));

  std::vector<std::string> skipped;
  std::set<std::string> lacking;
  for (const auto& v : values) {
    std::string controller(ControllerOf(v.file));
    if (controller == "cgroup" || reaching.contains(controller)) continue;
    skipped.push_back(v.file);
    lacking.insert(controller);
  }
  if (options_.required && !skipped.empty()) {
    return Error::Domain(ErrorCode::kUnsupported,
                         "cgroup controllers " + Join(lacking) + " are not available for " +
                             fs_->FullPath(cg).string() + ": cannot enforce " + Join(skipped) +
                             " (required by --cgroup-required)");
  }
  for (const auto& f : skipped) not_enforced_.emplace_back(cg, f);

  for (size_t i = 0; i < values.size(); ++i) {
    const CgroupFileValue& v = values[i];
    std::string controller(ControllerOf(v.file));
    if (controller != "cgroup" && !reaching.contains(controller)) continue;
    PODSHIM_TRY(fs_->Write(cg, files[i], v.value));
    if (!options_.verify_read_back) continue;
    const std::string read_back = PODSHIM_TRY(fs_->Read(cg, files[i]));
    if (!ReadBackMatches(v.file, v.value, read_back, page_size_)) {
      return Error::Domain(ErrorCode::kConflict, "verify " + fs_->FullPath(cg, files[i]).string() +
                                                     ": wrote " + Quoted(v.value) +
                                                     ", kernel reports " +
                                                     Quoted(TrimSpace(read_back)));
    }
  }
  return Ok();
}

Result<UniqueFd> CgroupV2Manager::OpenDirFd(const CgroupPath& cg) const { return fs_->OpenDir(cg); }

Status CgroupV2Manager::AddProcess(const CgroupPath& cg, pid_t pid) {
  return fs_->Write(cg, kCgroupProcs, std::to_string(pid));
}

Status CgroupV2Manager::Kill(const CgroupPath& cg) {
  Status killed = fs_->Write(cg, kCgroupKill, "1");
  // FIXME(kernel 5.14): remove the fallback when the baseline has cgroup.kill everywhere.
  if (!killed && IsErrno(killed.error(), ENOENT) && PODSHIM_TRY(fs_->Exists(cg))) {
    return KillWithoutCgroupKill(cg);
  }
  return killed;
}

Status CgroupV2Manager::KillWithoutCgroupKill(const CgroupPath& cg) {
  // Freezing first stops the processes from forking while we signal them. A freeze that does
  // not complete in time does not stop the kill: SIGKILL also reaches tasks being frozen.
  PODSHIM_TRY(fs_->Write(cg, kCgroupFreeze, "1"));
  (void)WaitFrozen(cg, true);
  Status result = Ok();
  auto procs_text = fs_->Read(cg, kCgroupProcs);
  if (!procs_text) {
    result = std::move(procs_text).error();
  } else if (auto pids = ParseProcs(*procs_text); !pids) {
    result = std::move(pids).error().Wrap(fs_->FullPath(cg, kCgroupProcs).string());
  } else {
    for (pid_t pid : *pids) {
      if (::kill(pid, SIGKILL) < 0 && errno != ESRCH && result) {
        result = Error::Errno(errno,
                              "kill " + std::to_string(pid) + " in " + fs_->FullPath(cg).string());
      }
    }
  }
  Status thawed = fs_->Write(cg, kCgroupFreeze, "0");
  if (!result) return result;
  return thawed;
}

Status CgroupV2Manager::WaitFrozen(const CgroupPath& cg, bool frozen) const {
  const auto deadline = SteadyTime::now() + options_.freeze_timeout;
  milliseconds delay(1);
  for (;;) {
    const std::string text = PODSHIM_TRY(fs_->Read(cg, kCgroupEvents));
    auto events = ParseCgroupEvents(text);
    if (!events) return std::move(events).error().Wrap(fs_->FullPath(cg, kCgroupEvents).string());
    if (events->frozen == frozen) return Ok();
    if (SteadyTime::now() >= deadline) {
      return Error::Domain(ErrorCode::kTimeout,
                           std::string(frozen ? "freeze " : "thaw ") + fs_->FullPath(cg).string() +
                               ": cgroup.events still says frozen " + (frozen ? "0" : "1") +
                               " after " + std::to_string(options_.freeze_timeout.count()) + "ms");
    }
    std::this_thread::sleep_for(
        std::min<SteadyTime::duration>(delay, deadline - SteadyTime::now()));
    delay = std::min(delay * 2, milliseconds(50));
  }
}

Status CgroupV2Manager::Freeze(const CgroupPath& cg) {
  PODSHIM_TRY(fs_->Write(cg, kCgroupFreeze, "1"));
  return WaitFrozen(cg, true);
}

Status CgroupV2Manager::Thaw(const CgroupPath& cg) {
  PODSHIM_TRY(fs_->Write(cg, kCgroupFreeze, "0"));
  return WaitFrozen(cg, false);
}

Result<CgroupStats> CgroupV2Manager::ReadStats(const CgroupPath& cg) const {
  CgroupStats stats;
  auto wrap_parse = [this, &cg](Error e, const ControlFile& f) {
    return std::move(e).Wrap(fs_->FullPath(cg, f).string());
  };
  if (PODSHIM_TRY(fs_->HasFile(cg, kCpuStat))) {
    auto cpu = ParseCpuStat(PODSHIM_TRY(fs_->Read(cg, kCpuStat)));
    if (!cpu) return wrap_parse(std::move(cpu).error(), kCpuStat);
    stats.cpu_usage_usec = cpu->usage_usec;
    stats.cpu_nr_throttled = cpu->nr_throttled;
    stats.cpu_throttled_usec = cpu->throttled_usec;
  }
  for (auto [file, field] : {std::pair{&kMemoryCurrent, &CgroupStats::memory_current_bytes},
                             std::pair{&kPidsCurrent, &CgroupStats::pids_current}}) {
    if (!PODSHIM_TRY(fs_->HasFile(cg, *file))) continue;
    auto n = ParseNumber(PODSHIM_TRY(fs_->Read(cg, *file)));
    if (!n) return wrap_parse(std::move(n).error(), *file);
    stats.*field = *n;
  }
  stats.oom_kills = PODSHIM_TRY(ReadOomKills(cg));
  return stats;
}

Result<std::optional<uint64_t>> CgroupV2Manager::ReadOomKills(const CgroupPath& cg) const {
  if (!PODSHIM_TRY(fs_->HasFile(cg, kMemoryEvents))) return std::optional<uint64_t>();
  auto events = ParseMemoryEvents(PODSHIM_TRY(fs_->Read(cg, kMemoryEvents)));
  if (!events) return std::move(events).error().Wrap(fs_->FullPath(cg, kMemoryEvents).string());
  return std::optional<uint64_t>(events->oom_kill);
}

Result<bool> CgroupV2Manager::Populated(const CgroupPath& cg) const {
  auto events = ParseCgroupEvents(PODSHIM_TRY(fs_->Read(cg, kCgroupEvents)));
  if (!events) return std::move(events).error().Wrap(fs_->FullPath(cg, kCgroupEvents).string());
  return events->populated;
}

Status CgroupV2Manager::RemoveWithRetry(const CgroupPath& cg) const {
  // rmdir fails with EBUSY while the last processes are still exiting (a killed process leaves
  // cgroup.procs only once it is fully gone); wait 1 ms, 2 ms, 4 ms, ... rather than a fixed sleep.
  const auto deadline = SteadyTime::now() + options_.remove_timeout;
  milliseconds delay(1);
  for (;;) {
    Status removed = fs_->RemoveDir(cg);
    if (removed || IsErrno(removed.error(), ENOENT)) return Ok();
    if (!IsErrno(removed.error(), EBUSY) || SteadyTime::now() >= deadline) return removed;
    std::this_thread::sleep_for(
        std::min<SteadyTime::duration>(delay, deadline - SteadyTime::now()));
    delay *= 2;
  }
}

Status CgroupV2Manager::Remove(const CgroupPath& cg) {
  auto it = std::find(created_.begin(), created_.end(), cg);
  if (it == created_.end()) {
    return Error::Domain(ErrorCode::kConflict, "remove cgroup " + fs_->FullPath(cg).string() +
                                                   ": not created by this manager");
  }
  PODSHIM_TRY(RemoveWithRetry(cg));
  created_.erase(it);
  if (pod_ && cg == *pod_) pod_.reset();
  return Ok();
}

Result<bool> CgroupV2Manager::TryRemove(const CgroupPath& cg) {
  auto it = std::find(created_.begin(), created_.end(), cg);
  if (it == created_.end()) {
    return Error::Domain(ErrorCode::kConflict, "remove cgroup " + fs_->FullPath(cg).string() +
                                                   ": not created by this manager");
  }
  Status removed = fs_->RemoveDir(cg);
  if (!removed && IsErrno(removed.error(), EBUSY)) return false;
  if (!removed && !IsErrno(removed.error(), ENOENT)) return std::move(removed).error();
  created_.erase(it);
  if (pod_ && cg == *pod_) pod_.reset();
  return true;
}

Status CgroupV2Manager::RemovePod() {
  Status first = Ok();
  // Reverse creation order: leaves, then the pod; the parent directories after that.
  for (auto it = created_.rbegin(); it != created_.rend();) {
    const CgroupPath cg = *it;
    if (created_parents_.contains(cg)) {
      ++it;
      continue;
    }
    Status removed = RemoveWithRetry(cg);
    if (removed) {
      if (pod_ && cg == *pod_) pod_.reset();
      it = std::make_reverse_iterator(created_.erase(std::next(it).base()));
    } else {
      if (first) first = std::move(removed).error().Wrap("remove pod cgroups");
      ++it;
    }
  }
  // Something of ours below the parents is still there: keep them for a later RemovePod().
  if (!first) return first;
  RemoveEmptyParents();
  return Ok();
}

void CgroupV2Manager::RemoveEmptyParents() {
  // Deepest first, each parent podshim created (this manager, or another shim: marked), while
  // it is empty. A parent is shared by every pod placed under it: one that is busy (another
  // pod's cgroup is there) stays, and the shim that removes the last pod below it removes it.
  // Two pods ending together cannot both see the other's cgroup: each rmdirs its parent only
  // after its own pod cgroup is gone.
  for (size_t depth = options_.parent.Depth(); depth >= 1; --depth) {
    const CgroupPath dir = options_.parent.Prefix(depth);
    if (!created_parents_.contains(dir) && !MarkedCreatedParent(fs_->FullPath(dir))) break;
    Status removed = fs_->RemoveDir(dir);
    if (!removed && !IsErrno(removed.error(), ENOENT)) break;  // EBUSY, ENOTEMPTY: in use
  }
  for (const CgroupPath& dir : created_parents_) std::erase(created_, dir);
  created_parents_.clear();
}

void CgroupV2Manager::UndoCreated() {
  for (auto it = created_.rbegin(); it != created_.rend(); ++it) (void)fs_->RemoveDir(*it);
  created_.clear();
  created_parents_.clear();
}

std::vector<std::string> CgroupV2Manager::MissingControllers() const {
  std::vector<std::string> out;
  for (const auto& [controller, where] : missing_) out.push_back(controller);
  return out;
}

std::vector<std::string> CgroupV2Manager::NotEnforcedFiles() const {
  std::vector<std::string> out;
  for (const auto& [cg, file] : not_enforced_) out.push_back(FileOf(cg, file));
  return out;
}

std::optional<std::string> CgroupV2Manager::TakeWarning() {
  std::vector<std::string> fresh;
  for (const auto& [controller, where] : missing_) {
    if (!warned_.contains(controller)) fresh.push_back(controller);
  }
  if (fresh.empty()) return std::nullopt;
  // Group by the cgroup where they went missing (normally one: the top of the parent path).
  std::string text;
  std::map<CgroupPath, std::vector<std::string>> by_place;
  for (const auto& c : fresh) by_place[missing_.at(c).first].push_back(c);
  for (const auto& [place, controllers] : by_place) {
    const std::string& offered = missing_.at(controllers.front()).second;
    if (!text.empty()) text += "; ";
    text += std::string(controllers.size() == 1 ? "cgroup controller " : "cgroup controllers ") +
            Join(controllers) + (controllers.size() == 1 ? " is" : " are") + " not available in " +
            fs_->FullPath(place).string() +
            " (it offers: " + (offered.empty() ? std::string("none") : offered) +
            "; bound to cgroup v1 on a hybrid host, or not delegated)";
  }
  std::vector<std::string> files;
  for (const auto& [cg, file] : not_enforced_) {
    std::string controller(ControllerOf(file));
    if (std::find(fresh.begin(), fresh.end(), controller) != fresh.end()) {
      files.push_back(FileOf(cg, file));
    }
  }
  text += files.empty() ? "; no limits skipped so far" : "; not enforced: " + Join(files);
  text += ", ignoring";
  warned_.insert(fresh.begin(), fresh.end());
  return text;
}

std::filesystem::path CgroupV2Manager::FullPath(const CgroupPath& cg) const {
  return fs_->FullPath(cg);
}

}  // namespace podshim::cgroups
