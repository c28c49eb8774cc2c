#include "shim/run/pod_runner.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
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
#include "common/sys.h"
#include "oci/launch_plan.h"
#include "oci/linux_launcher.h"
#include "oci/spec_parse.h"
#include "shim/manifest/bundle_check.h"
#include "shim/pod/pod_plan_from_manifest.h"
#include "shim/pod/resource_mapping.h"
#include "shim/record/shim_lock.h"
#include "shim/run/dead_shim.h"
#include "shim/run/event_loop.h"
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
  const cgroups::PodCgroupValues& values = checked.values;
  const std::filesystem::path& state_dir = checked.paths.state_dir;
  const std::filesystem::path& log_dir = checked.paths.log_dir;
  // Before anything is created: a SIGTERM or SIGINT from now on waits for the event loop (see
  // stop_signals.h) instead of killing the shim half-way through the set-up.
  BlockStopSignals();
  SteadyClock clock;
  Supervisor sup(checked.plan, clock, {checked.backoff});
  // A set-up failure before the control socket listened removes a state dir this run created.
  const bool state_dir_existed = std::filesystem::exists(state_dir);
  auto undo_state_dir = [&] {
    if (!state_dir_existed) (void)sys::RemoveTree(state_dir);
  };
  Status made = sys::MakeDirs(state_dir, 0700);
  if (!made) {
    undo_state_dir();
    return std::move(made).error();
  }
  // One live shim per state dir. A shim that died while its pod ran left its claim in the lock
  // file: its containers are stopped and recorded as ended with an unknown exit first.
  Result<ShimLock> lock = ShimLock::Acquire(state_dir);
  if (!lock) {
    // A conflict means another shim holds the state dir (it may have made it a moment ago):
    // it is that shim's to keep.
    if (lock.error().code() != make_error_code(ErrorCode::kConflict)) undo_state_dir();
    return std::move(lock).error();
  }
  if (const std::optional<ShimClaim>& dead = lock->previous()) {
    PODSHIM_TRY(TakeOverDeadShim(state_dir, *dead));
    PODSHIM_TRY_WRAP(lock->Clear(), "clear the dead shim's claim");
  }
  // The pod cgroup is where a second run of a pod is refused (it exists while the first one, or
  // a crashed one's containers, live): nothing in the state dir changes before it is made.
  Result<CgroupSetup> cg_setup = SetUpCgroups(o, checked.paths.id, values);
  if (!cg_setup) {
    undo_state_dir();
    return std::move(cg_setup).error();
  }
  CgroupSetup& cg = *cg_setup;
  // Before the socket listened: also the state dir; afterwards it keeps events, status and logs.
  bool listening = false;
  auto undo_setup = [&] {
    if (cg.manager) {
      Status st = cg.manager->RemovePod();
      if (!st) spdlog::warn("remove the pod cgroup: {}", st.error().ToString());
      // Once the pod cgroup is gone nothing is left for a later shim to stop.
      if (st) {
        Status cleared = lock->Clear();
        if (!cleared) spdlog::warn("{}", cleared.error().ToString());
      }
    }
    if (!listening) undo_state_dir();
  };
  // From here on a shim that dies leaves its pod to the next one on this state dir.
  if (cg.pod) {
    struct stat st {};
    Status claimed = Ok();
    if (::stat(cg.pod_path.c_str(), &st) == 0) {
      claimed = lock->Record({::getpid(), cg.pod_path, st.st_ino});
    } else {
      claimed = Error::Errno(errno, "stat the pod cgroup " + cg.pod_path);
    }
    if (!claimed) {
      undo_setup();
      return std::move(claimed).error().Wrap("claim the pod cgroup");
    }
  }
  made = sys::MakeDirs(log_dir);
  if (made && hooks.on_state_dir) made = hooks.on_state_dir(state_dir);
  if (made) made = KeepPreviousEvents(state_dir);
  if (!made) {
    undo_setup();
    return std::move(made).error();
  }
  auto sandbox = PodSandbox::Create(pod, state_dir);
  if (!sandbox) {
    undo_setup();
    return std::move(sandbox).error();
  }
  EventLoopConfig config;
  for (const auto* list : {&pod.spec.init_containers, &pod.spec.containers}) {
    for (const Container& c : *list) {
      auto spec = sandbox->ContainerSpec(c);
      if (!spec) {
        (void)sandbox->Teardown();
        undo_setup();
        return std::move(spec).error();
      }
      config.specs.emplace(c.name, std::move(*spec));
    }
  }
  for (const auto& c : values.containers) config.container_values[c.name] = c.files;
  auto events = EventWriter::Open(state_dir / "events.jsonl", pod.metadata.name);
  if (!events) {
    (void)sandbox->Teardown();
    undo_setup();
    return std::move(events).error();
  }
  ExitRecords records(state_dir);
  // Launch warnings (e.g. an ambient capability the kernel cannot raise) go to the shim log.
  oci::LinuxLauncher launcher([](const std::string& w) { spdlog::warn("{}", w); });
  signals::PidfdSignaller signaller;
  config.pod = &pod;
  config.supervisor = &sup;
  config.clock = &clock;
  config.cgroups = cg.manager.get();
  config.launcher = &launcher;
  config.signaller = &signaller;
  config.events = &*events;
  config.exit_records = &records;
  config.status_path = state_dir / "status.json";
  config.log_dir = log_dir;
  config.status_context = {std::string(cgroups::QosClassName(values.qos)), cg.pod_path};
  config.pod_cgroup = cg.pod;
  config.netns_fd = sandbox->netns_fd();
  config.control_socket = state_dir / "podshim.sock";
  config.on_listening = [&] {
    listening = true;
    if (hooks.on_listening) hooks.on_listening();
  };

  Result<PodOutcome> outcome = [&] {
    EventLoop loop(std::move(config));
    return loop.Run();
  }();
  Status torn = sandbox->Teardown();
  if (!torn) spdlog::warn("pod sandbox: {}", torn.error().ToString());
  undo_setup();
  if (!outcome) return std::move(outcome).error();
  spdlog::info("pod {} finished: {}", pod.metadata.name, PodPhaseName(outcome->phase));
  return RunExitStatus(*outcome);
}

}  // namespace podshim::shim
