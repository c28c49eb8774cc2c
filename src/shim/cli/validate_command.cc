// `podshim validate MANIFEST`: checks the manifest, its quantities and every container's bundle;
// prints every problem (one per line, "<manifest>: <path>: <what>") to stderr and exits 2, or
// prints a one-line summary to stdout and exits 0. Starts nothing and needs no privileges.
#include <cstdio>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <variant>
#include <vector>

#include "common/quoted.h"
#include "shim/cli/command_line.h"
#include "shim/cli/commands.h"
#include "shim/manifest/bundle_check.h"
#include "shim/manifest/manifest.h"
#include "shim/pod/resource_mapping.h"

namespace podshim::shim {
namespace {

// A partial pod keeps its broken volume mounts (no mountPath, an unknown volume) so that indexes
// stay those of the manifest; the manifest check reported them, and the bundle check would only
// repeat them in other words (`mounts[0].destination: "" is not an absolute path`), which `run`,
// stopping at the manifest's problems, does not print.
PodSpec WithoutBrokenMounts(PodSpec spec) {
  std::unordered_set<std::string> volumes;  // a set: 30,000 mounts x 30,000 volumes took seconds
  for (const Volume& v : spec.volumes) volumes.insert(v.name);
  for (auto* list : {&spec.init_containers, &spec.containers}) {
    for (Container& c : *list) {
      std::erase_if(c.volume_mounts, [&](const VolumeMount& m) {
        return m.mount_path.empty() || !volumes.contains(m.name);
      });
    }
  }
  return spec;
}

std::string Plural(size_t n, std::string_view word) {
  return std::to_string(n) + " " + std::string(word) + (n == 1 ? "" : "s");
}

std::string Summary(const Pod& pod) {
  size_t sidecars = 0;
  for (const Container& c : pod.spec.init_containers) {
    sidecars += c.role() == ContainerRole::kSidecar;
  }
  return "pod " + Quoted(pod.metadata.name) +
         " is valid: " + Plural(pod.spec.init_containers.size() - sidecars, "init container") +
         ", " + Plural(sidecars, "sidecar") + ", " +
         Plural(pod.spec.containers.size(), "container") + ", " +
         Plural(pod.spec.volumes.size(), "volume") + ", restartPolicy " +
         std::string(PodRestartPolicyName(pod.spec.restart_policy));
}

}  // namespace

int RunValidateCommand(int argc, char** argv) {
  CommandLine line("podshim validate", "MANIFEST",
                   "Checks a pod manifest (YAML or JSON) and the OCI bundles it names; prints "
                   "every problem.\nExit status: 0 valid, 2 invalid.");
  auto parsed = line.Parse(std::span<char* const>(argv, static_cast<size_t>(argc)).subspan(1));
  if (parsed && parsed->help) {
    std::fputs(line.Help().c_str(), stdout);
    return 0;
  }
  if (parsed && parsed->positional.size() != 1) {
    parsed = Error::Invalid("expected one MANIFEST argument");
  }
  if (!parsed) {
    PrintErrorLines("podshim validate: ", parsed.error());
    std::fputs(line.Help().c_str(), stderr);
    return 2;
  }
  const std::string manifest(parsed->positional.front());

  ManifestCheck check = CheckManifestFile(manifest);
  std::vector<Error> problems = std::move(check.errors);
  // Bundles are checked even when the manifest has errors, so one run shows everything.
  const Pod* pod = check.pod ? &*check.pod : check.partial ? &*check.partial : nullptr;
  if (pod) {
    for (Error& e : CheckPodResources(pod->spec)) problems.push_back(std::move(e));
    for (Error& e : CheckBundles(WithoutBrokenMounts(pod->spec))) problems.push_back(std::move(e));
  }
  if (!problems.empty()) {
    for (const Error& e : problems) {
      std::fprintf(stderr, "%s: %s\n", manifest.c_str(), e.ToString().c_str());
    }
    std::fprintf(stderr, "%s: %s\n", manifest.c_str(), Plural(problems.size(), "problem").c_str());
    return 2;
  }
  std::fprintf(stdout, "%s: %s\n", manifest.c_str(), Summary(*pod).c_str());
  return 0;
}

}  // namespace podshim::shim
