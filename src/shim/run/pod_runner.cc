#include "shim/run/pod_runner.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cgroups/cgroup_fs.h"
#include "cgroups/manager.h"
#include "cgroups/mountinfo.h"
#include "common/scope_guard.h"
#include "common/sha256.h"
#include "common/sys.h"
#include "oci/launch_plan.h"
#include "oci/linux_launcher.h"
#include "oci/spec_parse.h"
#include "shim/manifest/bundle_check.h"
#include "shim/pod/journal_replay.h"
#include "shim/pod/pod_plan_from_manifest.h"
#include "shim/pod/resource_mapping.h"
#include "shim/record/shim_lock.h"
#include "shim/record/supervisor_journal.h"
#include "shim/run/dead_shim.h"
#include "shim/run/event_loop.h"
#include "shim/run/keeper_protocol.h"
#include "shim/run/pod_keeper.h"
#include "shim/run/pod_sandbox.h"
#include "shim/run/stop_signals.h"
#include "signals/pidfd.h"

namespace podshim::shim {
namespace {

struct CgroupSetup {
  std::unique_ptr<cgroups::CgroupV2Manager> manager;
  std::optional<cgroups::CgroupPath> pod;
  std::string pod_path;
};

Result<CgroupSetup> SetUpCgroups(const PodOptions& o, const std::string& id,
                                 const cgroups::PodCgroupValues& values) {
  CgroupSetup setup;
  auto mount = cgroups::ReadCgroup2Mount();
  if (!mount) {
    if (o.cgroup_required) return std::move(mount).error();
    spdlog::warn("no cgroup2 mount: running the pod without cgroups ({})",
                 mount.error().ToString());
    return setup;
  }
  cgroups::CgroupFs fs = PODSHIM_TRY(cgroups::CgroupFs::Open(mount->mount_point));
  cgroups::CgroupManagerOptions mo;
  mo.parent = PODSHIM_TRY_WRAP(cgroups::CgroupPath::Parse(o.cgroup_parent), "--cgroup-parent");
  mo.required = o.cgroup_required;
  auto manager = std::make_unique<cgroups::CgroupV2Manager>(
      std::make_unique<cgroups::CgroupFs>(std::move(fs)), mo);
  cgroups::CgroupPath pod_cg = PODSHIM_TRY(manager->CreatePod(id));
  Status applied = manager->Apply(pod_cg, values.pod_files);
  if (!applied) {
    (void)manager->RemovePod();
    return std::move(applied).error();
  }
  if (auto warning = manager->TakeWarning()) spdlog::warn("{}", *warning);
  setup.pod = pod_cg;
  setup.pod_path = manager->FullPath(pod_cg).string();
  setup.manager = std::move(manager);
  return setup;
}

// The pod cgroup of a dead shim whose pod this one takes back: the one its claim names, if it
// is still the same cgroup (inode). A claim without a cgroup: the pod ran without cgroups.
Result<CgroupSetup> AdoptCgroups(const PodOptions& o, const std::string& id,
                                 const ShimClaim& claim) {
  CgroupSetup setup;
  if (claim.cgroup.empty()) return setup;
  auto mount = PODSHIM_TRY(cgroups::ReadCgroup2Mount());
  cgroups::CgroupFs fs = PODSHIM_TRY(cgroups::CgroupFs::Open(mount.mount_point));
  cgroups::CgroupManagerOptions mo;
  mo.parent = PODSHIM_TRY_WRAP(cgroups::CgroupPath::Parse(o.cgroup_parent), "--cgroup-parent");
  mo.required = o.cgroup_required;
  auto manager = std::make_unique<cgroups::CgroupV2Manager>(
      std::make_unique<cgroups::CgroupFs>(std::move(fs)), mo);
  cgroups::CgroupPath pod_cg = PODSHIM_TRY(manager->AdoptPod(id));
  const std::string path = manager->FullPath(pod_cg).string();
  struct stat st {};
  if (path != claim.cgroup.string() || ::stat(path.c_str(), &st) != 0 ||
      st.st_ino != claim.cgroup_inode) {
    return Error::Domain(ErrorCode::kConflict, "the dead shim's pod cgroup " +
                                                   claim.cgroup.string() + " is not this pod's " +
                                                   path +
                                                   " (another --id or --cgroup-parent, "
                                                   "or it was removed since)");
  }
  setup.pod = pod_cg;
  setup.pod_path = path;
  setup.manager = std::move(manager);
  return setup;
}

// "sha256:<hex>" of the manifest file: journaled at the pod's start, so that a recovery with
// another manifest is refused rather than replayed into a wrong state.
Result<std::string> ManifestDigest(const std::string& manifest) {
  std::string text = PODSHIM_TRY(sys::ReadFile(manifest));
  return "sha256:" + Sha256Hex(text);
}

// Rebuilds `sup` (fresh, reading `clock`) from the dead shim's journal.
Result<ReplayOutcome> RebuildSupervisor(const std::filesystem::path& state_dir,
                                        const std::string& digest, Supervisor& sup,
                                        InputClock& clock) {
  const std::filesystem::path path = SupervisorJournal::PathIn(state_dir);
  std::vector<JournalEntry> entries = PODSHIM_TRY(ReadJournal(path));
  if (entries.empty()) {
    return Error::Invalid("no supervisor journal at " + path.string() +
                          ": the shim that died did not keep one (an older podshim, or the "
                          "disk was full); run without --recover to stop its pod and start afresh");
  }
  if (entries.front().input.message != digest) {
    return Error::Invalid("the manifest changed since the pod started (" +
                          entries.front().input.message + ", now " + digest +
                          "); run without --recover to stop the pod and start afresh");
  }
  return ReplayJournal(entries, sup, clock);
}

// The lines of events.jsonl (what the dead shim wrote).
Result<std::vector<std::string>> WrittenEvents(const std::filesystem::path& path) {
  std::vector<std::string> lines;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return lines;
  UniqueFd fd = PODSHIM_TRY(sys::Open(path, O_RDONLY | O_CLOEXEC));
  std::string text = PODSHIM_TRY(sys::ReadAll(fd.get(), kMaxJournalBytes + 1));
  if (text.size() > kMaxJournalBytes) {
    return Error::Invalid(path.string() + " is larger than " + std::to_string(kMaxJournalBytes) +
                          " bytes");
  }
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

// The previous run's events.jsonl becomes events.previous.jsonl (as kubelet keeps a container's
// previous log): a new run starts a new file without losing the last run's record.
Status KeepPreviousEvents(const std::filesystem::path& state_dir) {
  const std::filesystem::path events = state_dir / "events.jsonl";
  const std::filesystem::path previous = state_dir / "events.previous.jsonl";
  if (::rename(events.c_str(), previous.c_str()) < 0 && errno != ENOENT) {
    return Error::Errno(errno, "keep the previous run's events as " + previous.string());
  }
  return Ok();
}

// Records this shim's claim on the pod cgroup in the lock file (pid, path, inode), so that a shim
// taking over after a crash stops what is left in it. Nothing to claim without cgroups.
Status ClaimPodCgroup(const CgroupSetup& cg, ShimLock& lock) {
  if (!cg.pod) return Ok();
  struct stat st {};
  if (::stat(cg.pod_path.c_str(), &st) < 0) {
    return Error::Errno(errno, "stat the pod cgroup " + cg.pod_path);
  }
  return lock.Record({::getpid(), cg.pod_path, st.st_ino});
}

// Removes the pod cgroup; once it is gone nothing is left for a later shim to stop, so the claim
// is cleared too. Failures are logged: this runs while the shim ends.
void RemovePodCgroup(CgroupSetup& cg, ShimLock& lock) {
  if (!cg.manager) return;
  Status st = cg.manager->RemovePod();
  if (!st) {
    spdlog::warn("remove the pod cgroup: {}", st.error().ToString());
    return;
  }
  Status cleared = lock.Clear();
  if (!cleared) spdlog::warn("{}", cleared.error().ToString());
}

// The pod keeper this shim hands its pipes to: a dead shim's keeper that still holds its pod's
// pipes (they go to the adopted instances of `recovery`; that keeper then serves this shim too,
// for later launches), else the one `start` forked (`own_fd`), else none.
std::unique_ptr<KeeperConnection> ConnectKeeper(const std::filesystem::path& state_dir,
                                                LoopRecovery* recovery, int own_fd) {
  if (recovery) {
    auto old = KeeperConnection::Connect(keeper::SocketPath(state_dir));
    if (old) {
      auto keeper = std::make_unique<KeeperConnection>(std::move(*old));
      auto held = keeper->Take(std::chrono::seconds(2));
      if (held) {
        spdlog::info("the dead shim's keeper held {} pipe(s)", held->size());
        AttachHeldPipes(recovery->adopted, std::move(*held));
        return keeper;
      }
      spdlog::warn("take the pipes from the dead shim's keeper: {}", held.error().ToString());
    } else if (old.error().code() != std::errc::no_such_file_or_directory) {
      spdlog::warn("the dead shim's keeper: {}", old.error().ToString());
    }
  }
  if (own_fd < 0) return nullptr;
  UniqueFd own(::fcntl(own_fd, F_DUPFD_CLOEXEC, 3));
  if (!own) return nullptr;
  return std::make_unique<KeeperConnection>(std::move(own));
}

// The prepared spec of every container (bundle + pod namespaces, volumes, command), by name.
Result<EventLoopConfig> ContainerSpecs(const Pod& pod, const PodSandbox& sandbox) {
  EventLoopConfig config;
  for (const auto* list : {&pod.spec.init_containers, &pod.spec.containers}) {
    for (const Container& c : *list) {
      config.specs.emplace(c.name, PODSHIM_TRY(sandbox.ContainerSpec(c)));
    }
  }
  return config;
}

}  // namespace

Result<CheckedPod> CheckPod(const PodOptions& o) {
  BackoffOptions backoff = PODSHIM_TRY(MakeBackoffOptions(o.backoff_initial, o.backoff_max));
  Pod pod = PODSHIM_TRY(LoadManifest(o.manifest));
  Result<cgroups::PodResourcesInput> input = MapPodResources(pod.spec);
  if (!input) return input.error().Wrapped(o.manifest);
  cgroups::CgroupValueOptions value_options = o.values;
  value_options.hugepage_sizes = PODSHIM_TRY(cgroups::HugePageSizesIn(*input));
  cgroups::PodCgroupValues values =
      PODSHIM_TRY(cgroups::ComputePodCgroupValues(*input, value_options));
  StopSignals stop_signals;
  if (std::vector<Error> problems = CheckBundles(pod.spec, &stop_signals); !problems.empty()) {
    // One problem per line, each naming the manifest, as `podshim validate` prints them.
    std::string text;
    for (const Error& e : problems) {
      text += (text.empty() ? "" : "\n") + o.manifest + ": " + e.ToString();
    }
    return Error::Invalid(std::move(text));
  }
  ValidPodPlan plan = PODSHIM_TRY(ValidatePodPlan(BuildPodPlan(pod, stop_signals)));
  PodPaths paths = ResolvePodPaths(o, pod);
  return CheckedPod{std::move(pod), std::move(values), backoff, std::move(paths), std::move(plan)};
}

Result<int> RunCheckedPod(const PodOptions& o, const CheckedPod& checked,
                          const PodRunHooks& hooks) {
  const Pod& pod = checked.pod;
  const std::filesystem::path& state_dir = checked.paths.state_dir;
  // Before anything is created: a SIGTERM or SIGINT from now on waits for the event loop (see
  // stop_signals.h) instead of killing the shim half-way through the set-up.
  BlockStopSignals();
  SteadyClock clock;
  InputClock input_clock;  // the supervisor's: one reading per input (journal_replay.h)
  Supervisor sup(checked.plan, input_clock, {checked.backoff});
  const std::string digest = PODSHIM_TRY(ManifestDigest(o.manifest));

  // Each step's undo sits beside it; they run newest first on every return. Once the control
  // socket listened the state dir stays (it keeps events, status and logs).
  bool listening = false;
  const bool state_dir_existed = std::filesystem::exists(state_dir);
  ScopeGuard remove_state_dir([&] {
    if (!state_dir_existed && !listening) (void)sys::RemoveTree(state_dir);
  });
  PODSHIM_TRY(sys::MakeDirs(state_dir, 0700));
  // One live shim per state dir. A shim that died while its pod ran left its claim in the lock
  // file: its containers are stopped and recorded as ended with an unknown exit first.
  Result<ShimLock> lock = ShimLock::Acquire(state_dir);
  if (!lock) {
    // A conflict means another shim holds the state dir (it may have made it a moment ago):
    // it is that shim's to keep.
    if (lock.error().code() == make_error_code(ErrorCode::kConflict)) remove_state_dir.Dismiss();
    return std::move(lock).error();
  }
  // With --recover the dead shim's pod is taken back instead: its supervisor is rebuilt from
  // the journal first, before anything changes (an error leaves the pod as it is).
  std::optional<ShimClaim> taken_over;
  std::optional<ReplayOutcome> replay;
  if (const std::optional<ShimClaim>& dead = lock->previous()) {
    if (o.recover) {
      replay =
          PODSHIM_TRY_WRAP(RebuildSupervisor(state_dir, digest, sup, input_clock), "--recover");
      taken_over = *dead;
    }
    if (!o.recover || sup.Finished()) {  // a pod that had finished is only cleaned up
      PODSHIM_TRY(TakeOverDeadShim(state_dir, *dead));
      PODSHIM_TRY_WRAP(lock->Clear(), "clear the dead shim's claim");
      if (taken_over) {
        spdlog::info("the pod had finished ({}) before its shim died", PodPhaseName(sup.Phase()));
        return RunExitStatus({sup.Phase(), TerminationReason::kCompleted, std::nullopt});
      }
    }
  }
  // The pod cgroup is where a second run of a pod is refused (it exists while the first one, or
  // a crashed one's containers, live): nothing in the state dir changes before it is made.
  CgroupSetup cg = taken_over ? PODSHIM_TRY(AdoptCgroups(o, checked.paths.id, *taken_over))
                              : PODSHIM_TRY(SetUpCgroups(o, checked.paths.id, checked.values));
  ScopeGuard remove_pod_cgroup([&] { RemovePodCgroup(cg, *lock); });
  // From here on a shim that dies leaves its pod to the next one on this state dir.
  PODSHIM_TRY_WRAP(ClaimPodCgroup(cg, *lock), "claim the pod cgroup");
  PODSHIM_TRY(sys::MakeDirs(checked.paths.log_dir));
  if (hooks.on_state_dir) PODSHIM_TRY(hooks.on_state_dir(state_dir));
  if (!taken_over) PODSHIM_TRY(KeepPreviousEvents(state_dir));
  ExitRecords records(state_dir);
  std::optional<LoopRecovery> recovery;
  pid_t member = 0;  // a live process of the pod, whose namespaces the sandbox takes
  if (taken_over) {
    std::vector<std::string> written = PODSHIM_TRY(WrittenEvents(state_dir / "events.jsonl"));
    recovery = PODSHIM_TRY(
        PlanRecovery(sup, *replay, written, pod.metadata.name, records, cg.manager.get(), cg.pod));
    if (!recovery->adopted.empty()) member = recovery->adopted.front().handle.pid();
    spdlog::info(
        "taking back pod {}: {} container(s) running, {} ended unseen, {} events the "
        "dead shim (pid {}) had not written",
        pod.metadata.name, recovery->adopted.size(), recovery->ended.size(),
        recovery->missing_events.size(), taken_over->pid);
  }
  std::unique_ptr<KeeperConnection> keeper =
      ConnectKeeper(state_dir, recovery ? &*recovery : nullptr, hooks.keeper_fd);
  // Torn down by its destructor, before the pod cgroup and the state dir are removed.
  PodSandbox sandbox = taken_over ? PODSHIM_TRY(PodSandbox::Adopt(pod, state_dir, member))
                                  : PODSHIM_TRY(PodSandbox::Create(pod, state_dir));
  EventWriter events =
      PODSHIM_TRY(EventWriter::Open(state_dir / "events.jsonl", pod.metadata.name));
  SupervisorJournal journal = PODSHIM_TRY(
      SupervisorJournal::Open(SupervisorJournal::PathIn(state_dir), /*truncate=*/!taken_over));
  // Launch warnings (e.g. an ambient capability the kernel cannot raise) go to the shim log.
  oci::LinuxLauncher launcher([](const std::string& w) { spdlog::warn("{}", w); });
  signals::PidfdSignaller signaller;
  EventLoopConfig config = PODSHIM_TRY(ContainerSpecs(pod, sandbox));
  for (const auto& c : checked.values.containers) config.container_values[c.name] = c.files;
  config.pod = &pod;
  config.supervisor = &sup;
  config.clock = &clock;
  config.input_clock = &input_clock;
  config.journal = &journal;
  config.recovery = std::move(recovery);
  config.manifest_digest = digest;
  config.cgroups = cg.manager.get();
  config.launcher = &launcher;
  config.signaller = &signaller;
  config.events = &events;
  config.exit_records = &records;
  config.status_path = state_dir / "status.json";
  config.log_dir = checked.paths.log_dir;
  config.status_context = {std::string(cgroups::QosClassName(checked.values.qos)), cg.pod_path};
  config.pod_cgroup = cg.pod;
  config.netns_fd = sandbox.netns_fd();
  config.control_socket = state_dir / "podshim.sock";
  config.keeper = keeper.get();
  config.orphan_exits = keeper::OrphanExitDir(state_dir);
  config.on_listening = [&] {
    listening = true;
    if (hooks.on_listening) hooks.on_listening();
  };

  Result<PodOutcome> outcome = [&] {
    EventLoop loop(std::move(config));
    return loop.Run();
  }();
  Status torn = sandbox.Teardown();
  if (!torn) spdlog::warn("pod sandbox: {}", torn.error().ToString());
  if (!outcome) return std::move(outcome).error();
  spdlog::info("pod {} finished: {}", pod.metadata.name, PodPhaseName(outcome->phase));
  return RunExitStatus(*outcome);
}

}  // namespace podshim::shim
