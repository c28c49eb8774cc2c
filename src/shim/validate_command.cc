// `podshim validate MANIFEST`: checks the manifest, its quantities and every container's bundle;
// prints every problem (one per line, "<manifest>: <path>: <what>") to stderr and exits 2, or
// prints a one-line summary to stdout and exits 0. Starts nothing and needs no privileges.
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "cgroups/quantity.h"
#include "shim/bundle_check.h"
#include "shim/commands.h"
#include "shim/manifest.h"

namespace podshim::shim {
namespace {

constexpr const char kUsage[] =
    "usage: podshim validate MANIFEST\n"
    "  Checks a pod manifest (YAML or JSON) and the OCI bundles it names; prints every problem.\n"
    "  Exit status: 0 valid, 2 invalid.\n";

// Every malformed quantity ("<path>: invalid quantity ...") and every request above its limit,
// as Kubernetes validation reports them. The manifest parser keeps quantities as text.
std::vector<Error> CheckQuantities(const PodSpec& spec) {
  std::vector<Error> errors;
  auto parse = [&](const QuantityField& q) -> std::optional<int64_t> {
    Result<int64_t> v = cgroups::ParseResourceQuantity(q.name, q.value);
    if (v) return *v;
    errors.push_back(Error::Invalid(q.path + ": " + v.error().ToString()));
    return std::nullopt;
  };
  auto check_list = [&](const ResourceList& list) {
    for (const QuantityField& q : list) (void)parse(q);
  };
  auto check_requirements = [&](const ResourceRequirements& r) {
    check_list(r.limits);
    for (const QuantityField& request : r.requests) {
      std::optional<int64_t> req = parse(request);
      const QuantityField* limit = FindQuantity(r.limits, request.name);
      if (!req || !limit) continue;
      Result<int64_t> lim = cgroups::ParseResourceQuantity(limit->name, limit->value);
      if (lim && *req > *lim) {
        errors.push_back(Error::Invalid(request.path + ": must be less than or equal to " +
                                        request.name + " limit of " + limit->value));
      }
    }
  };
  check_list(spec.overhead);
  check_requirements(spec.resources);
  for (const Volume& v : spec.volumes) {
    const auto* empty_dir = std::get_if<EmptyDirVolume>(&v.source);
    if (empty_dir && empty_dir->size_limit) (void)parse(*empty_dir->size_limit);
  }
  for (const auto* list : {&spec.init_containers, &spec.containers}) {
    for (const Container& c : *list) check_requirements(c.resources);
  }
  return errors;
}

std::string Plural(size_t n, std::string_view word) {
  return std::to_string(n) + " " + std::string(word) + (n == 1 ? "" : "s");
}

std::string Summary(const Pod& pod) {
  size_t sidecars = 0;
  for (const Container& c : pod.spec.init_containers) {
    sidecars += c.role() == ContainerRole::kSidecar;
  }
  return "pod \"" + pod.metadata.name +
         "\" is valid: " + Plural(pod.spec.init_containers.size() - sidecars, "init container") +
         ", " + Plural(sidecars, "sidecar") + ", " +
         Plural(pod.spec.containers.size(), "container") + ", " +
         Plural(pod.spec.volumes.size(), "volume") + ", restartPolicy " +
         std::string(PodRestartPolicyName(pod.spec.restart_policy));
}

}  // namespace

int RunValidateCommand(int argc, char** argv) {
  std::vector<std::string_view> positional;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (arg.size() > 1 && arg.front() == '-') {
      std::fprintf(stderr, "podshim validate: unknown option %s\n%s", argv[i], kUsage);
      return 2;
    }
    positional.push_back(arg);
  }
  if (positional.size() != 1) {
    std::fprintf(stderr, "podshim validate: expected one MANIFEST argument\n%s", kUsage);
    return 2;
  }
  const std::string manifest(positional.front());

  ManifestCheck check = CheckManifestFile(manifest);
  std::vector<Error> problems = std::move(check.errors);
  // Bundles are checked even when the manifest has errors, so one run shows everything.
  const Pod* pod = check.pod ? &*check.pod : check.partial ? &*check.partial : nullptr;
  if (pod) {
    for (Error& e : CheckQuantities(pod->spec)) problems.push_back(std::move(e));
    for (Error& e : CheckBundles(pod->spec)) problems.push_back(std::move(e));
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
