// `podshim run [opts] MANIFEST`: checks everything first (manifest, resources, every bundle's
// launch plan: exit 2, nothing started, nothing left behind), then sets up the pod cgroup and
// sandbox and runs the pod in the foreground until it finishes (exit 0 Succeeded, 1 Failed,
// 128+N after signal N), removing its cgroups, mounts and volume directories afterwards.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cgroups/cgroup_fs.h"
#include "cgroups/cgroup_values.h"
#include "cgroups/manager.h"
#include "cgroups/mountinfo.h"
#include "common/duration.h"
#include "common/log.h"
#include "common/sys.h"
#include "oci/launch_plan.h"
#include "oci/linux_launcher.h"
#include "oci/spec_parse.h"
#include "shim/commands.h"
#include "shim/event_loop.h"
#include "shim/manifest.h"
#include "shim/pod_plan_from_manifest.h"
#include "shim/pod_sandbox.h"
#include "shim/resource_flags.h"
#include "shim/resource_mapping.h"
#include "signals/pidfd.h"

namespace podshim::shim {
namespace {

constexpr const char kRunUsage[] =
    "usage: podshim run [options] MANIFEST\n"
    "  --id ID                 pod id (default: metadata.name)\n"
    "  --state-dir DIR         default /run/podshim/<id>\n"
    "  --cgroup-parent PATH    relative to the cgroup2 mount (default podshim)\n"
    "  --log-dir DIR           container logs (default <state-dir>/logs)\n"
    "  --log-level LEVEL       trace|debug|info|warn|error|off (default info)\n"
    "  --backoff-initial DUR   first restart delay (default 10s)\n"
    "  --backoff-max DUR       longest restart delay (default 300s)\n"
    "  --cgroup-required       fail when cpu, memory, pids are not available\n";

struct RunOptions {
  std::string id;
  std::string state_dir;
  std::string cgroup_parent = "podshim";
  std::string log_dir;
  std::string log_level = "info";
  std::chrono::nanoseconds backoff_initial = std::chrono::seconds(10);
  std::chrono::nanoseconds backoff_max = std::chrono::seconds(300);
  bool cgroup_required = false;
  cgroups::CgroupValueOptions values;
  std::string manifest;
};

void PrintRunError(const Error& e) {
  std::string text = e.ToString();
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::fprintf(stderr, "podshim run: %.*s\n", static_cast<int>(end - start), text.data() + start);
    start = end + 1;
  }
}

// "--opt=value" or "--opt value" for the options in `names`; nullopt when args[*i] is not one
// of them.
Result<std::optional<std::pair<std::string, std::string>>> TakeValue(
    std::span<char* const> args, size_t* i, std::initializer_list<std::string_view> names) {
  std::string_view arg = args[*i];
  for (std::string_view name : names) {
    if (arg == name) {
      if (*i + 1 >= args.size()) return Error::Invalid(std::string(name) + ": missing value");
      std::string value = args[*i + 1];
      *i += 2;
      return std::optional(std::pair{std::string(name), value});
    }
    if (arg.size() > name.size() && arg.starts_with(name) && arg[name.size()] == '=') {
      *i += 1;
      return std::optional(std::pair{std::string(name), std::string(arg.substr(name.size() + 1))});
    }
  }
  return std::optional<std::pair<std::string, std::string>>();
}

Result<RunOptions> ParseRunOptions(std::span<char* const> args) {
  RunOptions o;
  std::vector<std::string> positional;
  size_t i = 1;
  while (i < args.size()) {
    std::string_view arg = args[i];
    if (arg == "--") {
      for (++i; i < args.size(); ++i) positional.emplace_back(args[i]);
      break;
    }
    if (!arg.starts_with("-")) {
      for (; i < args.size(); ++i) positional.emplace_back(args[i]);
      break;
    }
    if (arg == "--cgroup-required") {
      o.cgroup_required = true;
      ++i;
      continue;
    }
    auto kv = PODSHIM_TRY(TakeValue(args, &i,
                                    {"--id", "--state-dir", "--cgroup-parent", "--log-dir",
                                     "--log-level", "--backoff-initial", "--backoff-max"}));
    if (kv) {
      auto& [name, value] = *kv;
      if (name == "--id") o.id = value;
      if (name == "--state-dir") o.state_dir = value;
      if (name == "--cgroup-parent") o.cgroup_parent = value;
      if (name == "--log-dir") o.log_dir = value;
      if (name == "--log-level") o.log_level = value;
      if (name == "--backoff-initial") {
        o.backoff_initial = PODSHIM_TRY_WRAP(ParseDuration(value), "--backoff-initial");
      }
      if (name == "--backoff-max") {
        o.backoff_max = PODSHIM_TRY_WRAP(ParseDuration(value), "--backoff-max");
      }
      if (value.empty()) return Error::Invalid(name + ": empty value");
      continue;
    }
    if (PODSHIM_TRY(ConsumeResourceFlag(args, &i, &o.values))) continue;
    return Error::Invalid("unknown option " + std::string(arg));
  }
  if (positional.size() != 1) {
    return Error::Invalid("expected one MANIFEST argument (options come first)");
  }
  o.manifest = positional.front();
  return o;
}

// Every container's spec and launch plan, built against stand-in sandbox paths: whatever is
// wrong in a bundle is found before anything is created.
Status CheckBundles(const Pod& pod) {
  SandboxPaths stand_in;
  stand_in.namespaces = {{oci::NamespaceType::kIpc, "/proc/self/ns/ipc"}};
  if (!pod.spec.host_network) {
    stand_in.namespaces[oci::NamespaceType::kNetwork] = "/proc/self/ns/net";
    stand_in.namespaces[oci::NamespaceType::kUts] = "/proc/self/ns/uts";
  }
  for (const Volume& v : pod.spec.volumes) stand_in.volumes[v.name] = "/";
  std::string problems;
  auto check = [&](const Container& c) -> Status {
    oci::Spec spec = PODSHIM_TRY_WRAP(oci::LoadSpec(c.bundle), "container \"" + c.name + "\"");
    PODSHIM_TRY(ApplyPodToSpec(c, stand_in, spec));
    PODSHIM_TRY_WRAP(oci::BuildLaunchPlan(spec, c.bundle, {}), "container \"" + c.name + "\"");
    return Ok();
  };
  for (const auto* list : {&pod.spec.init_containers, &pod.spec.containers}) {
    for (const Container& c : *list) {
      Status st = check(c);
      if (!st) problems += (problems.empty() ? "" : "\n") + st.error().ToString();
    }
  }
  if (!problems.empty()) return Error::Invalid(problems);
  return Ok();
}

struct CgroupSetup {
  std::unique_ptr<cgroups::CgroupV2Manager> manager;
  std::optional<cgroups::CgroupPath> pod;
  std::string pod_path;
};

Result<CgroupSetup> SetUpCgroups(const RunOptions& o, const std::string& id,
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

// Runs the checked pod; returns the exit status. Errors here happen after validation (the
// host refused something): exit 1.
Result<int> RunPod(const RunOptions& o, const Pod& pod, const cgroups::PodCgroupValues& values,
                   BackoffOptions backoff) {
  const std::string id = o.id.empty() ? pod.metadata.name : o.id;
  const std::filesystem::path state_dir = o.state_dir.empty()
                                              ? std::filesystem::path("/run/podshim") / id
                                              : std::filesystem::path(o.state_dir);
  const std::filesystem::path log_dir =
      o.log_dir.empty() ? state_dir / "logs" : std::filesystem::path(o.log_dir);
  SteadyClock clock;
  Supervisor sup = PODSHIM_TRY(Supervisor::Create(BuildPodPlan(pod), clock, {backoff}));
  // A set-up failure before the pod started removes a state dir this run created.
  const bool state_dir_existed = std::filesystem::exists(state_dir);
  PODSHIM_TRY(sys::MakeDirs(state_dir, 0700));
  PODSHIM_TRY(sys::MakeDirs(log_dir));
  (void)::unlink((state_dir / "events.jsonl").c_str());

  auto undo_state_dir = [&] {
    if (!state_dir_existed) (void)sys::RemoveTree(state_dir);
  };
  Result<CgroupSetup> cg_setup = SetUpCgroups(o, id, values);
  if (!cg_setup) {
    undo_state_dir();
    return std::move(cg_setup).error();
  }
  CgroupSetup& cg = *cg_setup;
  // Before the pod started: also the state dir; afterwards it keeps events, status and logs.
  bool started = false;
  auto undo_setup = [&] {
    if (cg.manager) {
      Status st = cg.manager->RemovePod();
      if (!st) spdlog::warn("remove the pod cgroup: {}", st.error().ToString());
    }
    if (!started) undo_state_dir();
  };
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
  oci::LinuxLauncher launcher;
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

  started = true;
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

}  // namespace

int RunPodCommand(int argc, char** argv) {
  std::span<char* const> args(argv, static_cast<size_t>(argc));
  for (size_t i = 1; i < args.size(); ++i) {
    std::string_view a = args[i];
    if (a == "-h" || a == "--help") {
      std::fputs(kRunUsage, stdout);
      std::fputs(kResourceFlagsHelp, stdout);
      return 0;
    }
    if (a == "--") break;
  }
  Result<RunOptions> o = ParseRunOptions(args);
  if (!o) {
    PrintRunError(o.error());
    std::fputs(kRunUsage, stderr);
    return 2;
  }
  if (Status st = log::Init(o->log_level); !st) {
    PrintRunError(st.error());
    return 2;
  }
  Result<BackoffOptions> backoff = MakeBackoffOptions(o->backoff_initial, o->backoff_max);
  if (!backoff) {
    PrintRunError(backoff.error());
    return 2;
  }
  Result<Pod> pod = LoadManifest(o->manifest);
  if (!pod) {
    PrintRunError(pod.error());
    return 2;
  }
  Result<cgroups::PodResourcesInput> input = MapPodResources(pod->spec);
  if (!input) {
    PrintRunError(input.error().Wrapped(o->manifest));
    return 2;
  }
  Result<std::vector<int64_t>> sizes = cgroups::HugePageSizesIn(*input);
  if (!sizes) {
    PrintRunError(sizes.error());
    return 2;
  }
  o->values.hugepage_sizes = std::move(*sizes);
  Result<cgroups::PodCgroupValues> values = cgroups::ComputePodCgroupValues(*input, o->values);
  if (!values) {
    PrintRunError(values.error());
    return 2;
  }
  if (Status st = ValidatePodPlan(BuildPodPlan(*pod)); !st) {
    PrintRunError(st.error());
    return 2;
  }
  if (Status st = CheckBundles(*pod); !st) {
    PrintRunError(st.error());
    return 2;
  }
  Result<int> status = RunPod(*o, *pod, *values, *backoff);
  if (!status) {
    PrintRunError(status.error());
    return 1;
  }
  return *status;
}

}  // namespace podshim::shim
