#include "shim/pod/resource_mapping.h"

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "cgroups/cgroup_values.h"
#include "cgroups/quantity.h"

namespace podshim::shim {
namespace {

class Mapper {
 public:
  cgroups::ResourceList List(const ResourceList& list) {
    cgroups::ResourceList out;
    for (const QuantityField& q : list) {
      if (auto v = Value(q)) out[q.name] = *v;
    }
    return out;
  }

  // Kubernetes validation: a request may not exceed the limit of the same resource.
  cgroups::ResourceList Requests(const ResourceRequirements& r) {
    cgroups::ResourceList out;
    std::unordered_map<std::string_view, const QuantityField*> limits;  // linear, not quadratic
    for (const QuantityField& q : r.limits) limits.emplace(q.name, &q);
    for (const QuantityField& request : r.requests) {
      std::optional<int64_t> value = Value(request);
      if (!value) continue;
      out[request.name] = *value;
      auto found = limits.find(request.name);
      const QuantityField* limit = found == limits.end() ? nullptr : found->second;
      // Huge pages and extended resources cannot be overcommitted: request = limit.
      const bool overcommit =
          request.name.find('/') == std::string::npos && !cgroups::IsHugePageResource(request.name);
      if (!limit) {
        if (!overcommit) Fail(request.path, "a limit must be set for " + request.name);
        continue;
      }
      Result<int64_t> limit_value = cgroups::ParseResourceQuantity(limit->name, limit->value);
      if (!limit_value) continue;  // reported with the limits
      if (overcommit && *value > *limit_value) {
        Fail(request.path,
             "must be less than or equal to " + request.name + " limit of " + limit->value);
      } else if (!overcommit && *value != *limit_value) {
        Fail(request.path, "must be equal to " + request.name + " limit of " + limit->value);
      }
    }
    return out;
  }

  std::vector<Error> TakeErrors() { return std::move(errors_); }

 private:
  std::optional<int64_t> Value(const QuantityField& q) {
    if (cgroups::IsHugePageResource(q.name)) {
      if (auto size = cgroups::HugePageSizeFromResourceName(q.name); !size) {
        Fail(q.path, size.error().ToString());
        return std::nullopt;
      }
    }
    Result<int64_t> v = cgroups::ParseResourceQuantity(q.name, q.value);
    if (!v) {
      Fail(q.path, v.error().ToString());
      return std::nullopt;
    }
    return *v;
  }

  void Fail(const std::string& path, const std::string& what) {
    errors_.push_back(Error::Invalid(path + ": " + what));
  }

  std::vector<Error> errors_;
};

cgroups::PodResourcesInput Map(const PodSpec& spec, Mapper& m) {
  cgroups::PodResourcesInput pod;
  for (const auto* list : {&spec.init_containers, &spec.containers}) {
    for (const Container& c : *list) {
      pod.containers.push_back(
          {c.name, c.role(), m.Requests(c.resources), m.List(c.resources.limits)});
    }
  }
  pod.overhead = m.List(spec.overhead);
  if (!spec.resources.empty()) {
    pod.pod_level =
        cgroups::PodLevelResources{m.Requests(spec.resources), m.List(spec.resources.limits)};
  }
  return pod;
}

}  // namespace

std::vector<Error> CheckPodResources(const PodSpec& spec) {
  Mapper m;
  (void)Map(spec, m);
  return m.TakeErrors();
}

Result<cgroups::PodResourcesInput> MapPodResources(const PodSpec& spec) {
  Mapper m;
  cgroups::PodResourcesInput pod = Map(spec, m);
  std::vector<Error> errors = m.TakeErrors();
  if (!errors.empty()) {
    std::string all;
    for (const Error& e : errors) all += (all.empty() ? "" : "\n") + e.ToString();
    return Error::Invalid(std::move(all));
  }
  cgroups::ApplyApiDefaults(pod);
  return pod;
}

}  // namespace podshim::shim
