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
#include "shim/keeper/keeper_protocol.h"
#include "shim/manifest/bundle_check.h"
#include "shim/pod/journal_replay.h"
#include "shim/pod/pod_plan_from_manifest.h"
#include "shim/pod/resource_mapping.h"
#include "shim/record/shim_lock.h"
#include "shim/record/supervisor_journal.h"
#include "shim/run/dead_shim.h"
#include "shim/run/event_loop.h"
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

// The pod's cgroup manager below --cgroup-parent of the cgroup2 mount at `mount_point`.
Result<std::unique_ptr<cgroups::CgroupV2Manager>> MakeManager(
    const PodOptions& o, const std::filesystem::path& mount_point) {
  cgroups::CgroupFs fs = PODSHIM_TRY(cgroups::CgroupFs::Open(mount_point));
  cgroups::CgroupManagerOptions mo;
  mo.parent = PODSHIM_TRY_WRAP(cgroups::CgroupPath::Parse(o.cgroup_parent), "--cgroup-parent");
  mo.required = o.cgroup_required;
  return std::make_unique<cgroups::CgroupV2Manager>(
      std::make_unique<cgroups::CgroupFs>(std::move(fs)), mo);
}

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
  auto manager = PODSHIM_TRY(MakeManager(o, mount->mount_point));
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
  auto manager = PODSHIM_TRY(MakeManager(o, mount.mount_point));
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

// The pod keeper this shim hands its pipes to (pod_keeper.h): after a crash the dead shim's,
// which still holds the pod's pipes (those of adopted instances go to `recovery`; it then serves
// this shim too, for later launches), else the one `start` forked or an upgrade handed over
// (`own_fd`), else none.
std::unique_ptr<KeeperConnection> ConnectKeeper(const PodOptions& o,
                                                const std::filesystem::path& state_dir,
                                                std::optional<LoopRecovery>& recovery, int own_fd) {
  if (recovery && !o.handover) {
    auto old = KeeperConnection::Connect(keeper::SocketPath(state_dir));
    if (old) {
      auto keeper = std::make_unique<KeeperConnection>(std::move(*old));
      auto held = keeper->Take(std::chrono::seconds(2));
      if (held) {
        spdlog::info("the dead shim's keeper held {} pipe(s)", held->size());
        AttachHeldPipes(*recovery, std::move(*held));
        recovery->keeper_reaps = true;
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

// The state dir's lock: taken, or in an image exec'd by `ctl upgrade` the one it was handed.
Result<ShimLock> LockStateDir(const PodOptions& o, const std::filesystem::path& state_dir) {
  if (o.handover) return ShimLock::Adopt(UniqueFd(o.handover->lock_fd), state_dir);
  return ShimLock::Acquire(state_dir);
}

// The claim of the shim whose pod this one takes back. After an upgrade that is this process's
// own; without cgroups there is none in the lock file, and an empty one stands for it.
std::optional<ShimClaim> ClaimToTakeBack(const PodOptions& o, const ShimLock& lock) {
  if (o.handover && !lock.previous()) return ShimClaim{::getpid(), {}, 0};
  return lock.previous();
}

// The pod's namespaces and volumes: handed over by an upgrade, taken from a live member of a
// dead shim's pod, or made afresh.
Result<PodSandbox> MakeSandbox(const PodOptions& o, const Pod& pod,
                               const std::filesystem::path& state_dir, bool taken_over,
                               pid_t member) {
  if (o.handover) return PodSandbox::AdoptHandedOver(pod, state_dir, o.handover->ns_fds);
  if (taken_over) return PodSandbox::Adopt(pod, state_dir, member);
  return PodSandbox::Create(pod, state_dir);
}

// The pod keeper that holds the new instances' pipes, what `ctl upgrade` hands over
// (shim_upgrade.h), and in an image an upgrade exec'd, the socket it was handed and the version
// it replaced.
void WireHandOvers(const PodOptions& o, const ShimLock& lock, const PodSandbox& sandbox,
                   KeeperConnection* keeper, EventLoopConfig& config) {
  config.keeper = keeper;
  if (o.handover) {
    config.control_listen_fd = o.handover->listen_fd;
    config.upgraded_from = o.handover->from_version;
  }
  if (o.argv.empty()) return;
  config.upgrade = UpgradeContext{o.argv,
                                  o.cwd,
                                  lock.fd(),
                                  sandbox.namespace_fds(),
                                  o.handover ? o.handover->handovers : 0,
                                  keeper ? keeper->fd() : -1};
}

// What a shim taking a dead one's pod back starts from: the dead shim's claim, and the
// supervisor rebuilt from its journal.
struct TakeOver {
  ShimClaim claim;
  ReplayOutcome replay;
};

// A dead shim's claim in the lock file: without --recover (or for a pod that had finished) its
// pod is stopped and recorded (dead_shim.h); with it, `sup` is rebuilt from the journal first,
// before anything changes (an error leaves the pod as it is). An upgrade always takes it back.
Result<std::optional<TakeOver>> HandleDeadShim(const PodOptions& o, ShimLock& lock,
                                               const std::filesystem::path& state_dir,
                                               const std::string& digest, Supervisor& sup,
                                               InputClock& clock) {
  const std::optional<ShimClaim> dead = ClaimToTakeBack(o, lock);
  if (!dead) return std::nullopt;
  std::optional<TakeOver> take_over;
  if (o.recover || o.handover) {
    ReplayOutcome replay =
        PODSHIM_TRY_WRAP(RebuildSupervisor(state_dir, digest, sup, clock), "--recover");
    take_over = TakeOver{*dead, std::move(replay)};
    if (!sup.Finished()) return take_over;
    spdlog::info("the pod had finished ({}) before its shim died", PodPhaseName(sup.Phase()));
  }
  PODSHIM_TRY(TakeOverDeadShim(state_dir, *dead));
  PODSHIM_TRY_WRAP(lock.Clear(), "clear the dead shim's claim");
  return take_over;
}

// What the event loop takes back (pod_recovery.h), with the pipes an upgrade handed over.
Result<LoopRecovery> PlanTakeOver(const PodOptions& o, const Pod& pod,
                                  const std::filesystem::path& state_dir, const Supervisor& sup,
                                  const TakeOver& t, const ExitRecords& records,
                                  const CgroupSetup& cg) {
  std::vector<std::string> written = PODSHIM_TRY(WrittenEvents(state_dir / "events.jsonl"));
  LoopRecovery r =
      PODSHIM_TRY(PlanRecovery(sup, t.replay, written, pod.metadata.name, records, cg.manager.get(),
                               cg.pod, keeper::OrphanExitDir(state_dir)));
  if (o.handover) r.pipes = o.handover->pipes;
  spdlog::info(
      "taking back pod {}: {} container(s) running, {} ended unseen, {} events the dead shim "
      "(pid {}) had not written",
      pod.metadata.name, r.adopted.size(), r.ended.size(), r.missing_events.size(), t.claim.pid);
  return r;
}

// The loop's view of the pod: its manifest, limits, cgroups, network and state files.
void WirePod(const CheckedPod& checked, const CgroupSetup& cg, const PodSandbox& sandbox,
             EventLoopConfig& config) {
  const std::filesystem::path& state_dir = checked.paths.state_dir;
  for (const auto& c : checked.values.containers) config.container_values[c.name] = c.files;
  config.pod = &checked.pod;
  config.cgroups = cg.manager.get();
  config.status_path = state_dir / "status.json";
  config.log_dir = checked.paths.log_dir;
  config.status_context = {std::string(cgroups::QosClassName(checked.values.qos)), cg.pod_path};
  config.pod_cgroup = cg.pod;
  config.netns_fd = sandbox.netns_fd();
  config.control_socket = state_dir / "podshim.sock";
}

// Runs the event loop until the pod finished, then tears the sandbox down; `run`'s exit status.
Result<int> RunLoop(EventLoopConfig config, PodSandbox& sandbox, const Pod& pod) {
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
  Result<ShimLock> lock = LockStateDir(o, state_dir);
  if (!lock) {
    // A conflict means another shim holds the state dir (it may have made it a moment ago):
    // it is that shim's to keep.
    if (lock.error().code() == make_error_code(ErrorCode::kConflict)) remove_state_dir.Dismiss();
    return std::move(lock).error();
  }
  // With --recover the dead shim's pod is taken back instead (take_over.has_value()).
  std::optional<TakeOver> take_over =
      PODSHIM_TRY(HandleDeadShim(o, *lock, state_dir, digest, sup, input_clock));
  if (take_over && sup.Finished()) {
    return RunExitStatus({sup.Phase(), TerminationReason::kCompleted, std::nullopt});
  }
  // The pod cgroup is where a second run of a pod is refused (it exists while the first one, or
  // a crashed one's containers, live): nothing in the state dir changes before it is made.
  CgroupSetup cg = take_over ? PODSHIM_TRY(AdoptCgroups(o, checked.paths.id, take_over->claim))
                             : PODSHIM_TRY(SetUpCgroups(o, checked.paths.id, checked.values));
  ScopeGuard remove_pod_cgroup([&] { RemovePodCgroup(cg, *lock); });
  // From here on a shim that dies leaves its pod to the next one on this state dir.
  PODSHIM_TRY_WRAP(ClaimPodCgroup(cg, *lock), "claim the pod cgroup");
  PODSHIM_TRY(sys::MakeDirs(checked.paths.log_dir));
  if (hooks.on_state_dir) PODSHIM_TRY(hooks.on_state_dir(state_dir));
  if (!take_over) PODSHIM_TRY(KeepPreviousEvents(state_dir));
  ExitRecords records(state_dir);
  std::optional<LoopRecovery> recovery;
  pid_t member = 0;  // a live process of the pod, whose namespaces the sandbox takes
  if (take_over) {
    recovery = PODSHIM_TRY(PlanTakeOver(o, pod, state_dir, sup, *take_over, records, cg));
    if (!recovery->adopted.empty()) member = recovery->adopted.front().handle.pid();
  }
  std::unique_ptr<KeeperConnection> keeper = ConnectKeeper(o, state_dir, recovery, hooks.keeper_fd);
  // Torn down by its destructor, before the pod cgroup and the state dir are removed.
  PodSandbox sandbox = PODSHIM_TRY(MakeSandbox(o, pod, state_dir, take_over.has_value(), member));
  EventWriter events =
      PODSHIM_TRY(EventWriter::Open(state_dir / "events.jsonl", pod.metadata.name));
  SupervisorJournal journal = PODSHIM_TRY(
      SupervisorJournal::Open(SupervisorJournal::PathIn(state_dir), /*truncate=*/!take_over));
  // Launch warnings (e.g. an ambient capability the kernel cannot raise) go to the shim log.
  oci::LinuxLauncher launcher([](const std::string& w) { spdlog::warn("{}", w); });
  signals::PidfdSignaller signaller;
  EventLoopConfig config = PODSHIM_TRY(ContainerSpecs(pod, sandbox));
  WirePod(checked, cg, sandbox, config);
  config.supervisor = &sup;
  config.clock = &clock;
  config.input_clock = &input_clock;
  config.journal = &journal;
  config.recovery = std::move(recovery);
  config.manifest_digest = digest;
  config.launcher = &launcher;
  config.signaller = &signaller;
  config.events = &events;
  config.exit_records = &records;
  WireHandOvers(o, *lock, sandbox, keeper.get(), config);
  config.on_listening = [&] {
    listening = true;
    if (hooks.on_listening) hooks.on_listening();
  };
  return RunLoop(std::move(config), sandbox, pod);
}

}  // namespace podshim::shim
