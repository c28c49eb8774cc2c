// Bundle checks for a pod manifest; see bundle_check.h.
#include "shim/bundle_check.h"

#include <filesystem>
#include <string>
#include <system_error>

#include "oci/spec_parse.h"
#include "shim/manifest_validate.h"

namespace podshim::shim {
namespace {

namespace fs = std::filesystem;

std::string Quote(const fs::path& p) { return "\"" + p.string() + "\""; }

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

std::vector<std::string> BundleProblems(const fs::path& bundle) {
  if (std::string p = DirectoryProblem(bundle); !p.empty()) return {"bundle directory " + p};
  std::error_code ec;
  fs::path config = bundle / "config.json";
  if (!fs::is_regular_file(config, ec)) return {Quote(config) + " does not exist or is not a file"};
  Result<oci::Spec> spec = oci::LoadSpec(bundle);
  if (!spec) return {spec.error().ToString()};
  if (std::string p = DirectoryProblem(spec->root.path); !p.empty()) return {"root.path " + p};
  return {};
}

}  // namespace

std::vector<Error> CheckBundles(const PodSpec& spec) {
  std::vector<Error> errors;
  for (const auto* list : {&spec.init_containers, &spec.containers}) {
    for (size_t i = 0; i < list->size(); ++i) {
      const Container& c = (*list)[i];
      if (c.bundle.empty()) continue;
      for (const std::string& problem : BundleProblems(c.bundle)) {
        errors.push_back(Error::Invalid(ContainerPath(c, i) + ".bundle: " + problem));
      }
    }
  }
  return errors;
}

}  // namespace podshim::shim
