// Reads resource lists (requests, limits, overhead): names checked, quantities kept as written
// (the cgroups module's quantity parser validates them later, quoting each one's path).
#include <string_view>
#include <unordered_set>

#include "shim/manifest/manifest_reader.h"

namespace podshim::shim::manifest_reader {
namespace {

bool IsKnownResourceName(std::string_view name) {
  return name == "cpu" || name == "memory" || name == "ephemeral-storage" ||
         (name.starts_with("hugepages-") && name.size() > 10) ||
         // Extended resources ("example.com/gpu") are accepted and ignored by the cgroup math.
         (name.find('/') != std::string_view::npos && name.front() != '/' && name.back() != '/');
}

}  // namespace

ResourceList ReadResourceList(Reader& r, const YamlNode& n, const std::string& path) {
  ResourceList out;
  if (!n.is_mapping()) {
    r.Fail(path, "expected an object");
    return out;
  }
  std::unordered_set<std::string_view> seen;
  for (size_t i = 0; i < n.size(); ++i) {
    if (!n.key(i).is_scalar()) {
      r.Fail(path, "resource names must be strings");
      continue;
    }
    std::string name = n.key(i).text();
    std::string key_path = path + "." + name;
    if (!seen.insert(n.key(i).text()).second) {
      r.Fail(key_path, "duplicate field");
      continue;
    }
    if (!IsKnownResourceName(name)) {
      r.Fail(key_path, "unknown field");
      continue;
    }
    if (n.value(i).is_null()) {
      r.Fail(key_path, "expected a quantity (a string or a number)");
      continue;
    }
    if (auto v = r.QuantityText(n.value(i), key_path)) {
      out.push_back(QuantityField{std::move(name), std::move(*v), key_path});
    }
  }
  return out;
}

ResourceRequirements ReadResources(Reader& r, const YamlNode& n, const std::string& path) {
  ResourceRequirements out;
  Fields f(r, n, path, {"requests", "limits"}, "resources");
  if (!f.ok()) return out;
  if (auto* v = f.Get("requests")) out.requests = ReadResourceList(r, *v, f.Path("requests"));
  if (auto* v = f.Get("limits")) out.limits = ReadResourceList(r, *v, f.Path("limits"));
  return out;
}

}  // namespace podshim::shim::manifest_reader
