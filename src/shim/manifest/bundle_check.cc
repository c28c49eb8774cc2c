// Bundle checks for a pod manifest; see bundle_check.h.
#include "shim/manifest/bundle_check.h"

#include <signal.h>

#include <filesystem>
#include <string>
#include <system_error>

#include "common/quoted.h"
#include "oci/launch_plan.h"
#include "oci/spec_parse.h"
#include "shim/manifest/container_spec.h"
#include "shim/manifest/manifest_validate.h"
#include "signals/signal_names.h"

namespace podshim::shim {
namespace {

namespace fs = std::filesystem;

std::string Quote(const fs::path& p) { return Quoted(p.string()); }

// "" when `p` is a directory, else what is wrong with it.
std::string DirectoryProblem(const fs::path& p) {
  std::error_code ec;
  fs::file_status st = fs::status(p, ec);
  if (ec || !fs::exists(st)) {
    return Quote(p) + " does not exist";
  }
  if (!fs::is_directory(st)) return Quote(p) + " is not a directory";
  return "";
}

// Stand-ins for the sandbox's namespace and volume paths: the same shape as the real ones, so
// the container's spec is built and planned exactly as `run` builds it, with nothing created.
SandboxPaths StandInSandbox(const PodSpec& pod) {
  SandboxPaths stand_in;
  stand_in.namespaces = {{oci::NamespaceType::kIpc, "/proc/self/ns/ipc"}};
  if (pod.host_network) {
    stand_in.host_namespaces = {oci::NamespaceType::kNetwork, oci::NamespaceType::kUts};
  } else {
    stand_in.namespaces[oci::NamespaceType::kNetwork] = "/proc/self/ns/net";
    stand_in.namespaces[oci::NamespaceType::kUts] = "/proc/self/ns/uts";
  }
  for (const Volume& v : pod.volumes) stand_in.volumes[v.name] = "/";
  return stand_in;
}

// "" when the bundle can run as container `c`, else what is wrong with it. Sets `stop_signal`.
std::string BundleProblem(const Container& c, const SandboxPaths& sandbox, int& stop_signal) {
  if (std::string p = DirectoryProblem(c.bundle); !p.empty()) return "bundle directory " + p;
  std::error_code ec;
  fs::path config = c.bundle / "config.json";
  if (!fs::is_regular_file(config, ec)) return Quote(config) + " does not exist or is not a file";
  Result<oci::Spec> spec = oci::LoadSpec(c.bundle);
  if (!spec) return spec.error().ToString();
  if (std::string p = DirectoryProblem(spec->root.path); !p.empty()) return "root.path " + p;
  if (Status st = ApplyPodToSpec(c, sandbox, *spec); !st) return st.error().ToString();
  if (auto plan = oci::BuildLaunchPlan(*spec, c.bundle, {}); !plan) {
    return plan.error().ToString();
  }
  Result<int> signal = BundleStopSignal(*spec);
  if (!signal) return signal.error().ToString();
  stop_signal = *signal;
  return "";
}

}  // namespace

Result<int> BundleStopSignal(const oci::Spec& spec) {
  auto it = spec.annotations.find(std::string(kStopSignalAnnotation));
  if (it == spec.annotations.end()) return SIGTERM;
  Result<int> signal = signals::ParseSignal(it->second);
  if (!signal) {
    return Error::Invalid("config.json annotations[" + Quoted(kStopSignalAnnotation) +
                          "]: not a signal: " + Quoted(it->second));
  }
  return signal;
}

std::vector<Error> CheckBundles(const PodSpec& spec, StopSignals* stop_signals) {
  std::vector<Error> errors;
  const SandboxPaths sandbox = StandInSandbox(spec);
  for (const auto* list : {&spec.init_containers, &spec.containers}) {
    for (size_t i = 0; i < list->size(); ++i) {
      const Container& c = (*list)[i];
      if (c.bundle.empty()) continue;
      int stop_signal = SIGTERM;
      if (std::string problem = BundleProblem(c, sandbox, stop_signal); !problem.empty()) {
        errors.push_back(Error::Invalid(ContainerPath(c, i) + ".bundle: " + problem));
      } else if (stop_signals) {
        (*stop_signals)[c.name] = stop_signal;
      }
    }
  }
  return errors;
}

}  // namespace podshim::shim
