// The cross-field manifest rules; see manifest_validate.h.
#include "shim/manifest/manifest_validate.h"

#include <set>
#include <unordered_set>

#include "common/quoted.h"
#include "shim/manifest/handler_check.h"

namespace podshim::shim {
namespace {

class Validator {
 public:
  explicit Validator(const Pod& pod) : pod_(pod) {}

  std::vector<Error> Run() {
    const PodSpec& spec = pod_.spec;
    if (!pod_.metadata.name.empty()) CheckLabel("metadata.name", pod_.metadata.name);
    CheckVolumes();
    std::set<std::string> names;
    for (const auto* list : {&spec.init_containers, &spec.containers}) {
      for (size_t i = 0; i < list->size(); ++i) {
        const Container& c = (*list)[i];
        std::string path = ContainerPath(c, i);
        if (!c.name.empty()) {
          CheckLabel(path + ".name", c.name);
          if (!names.insert(c.name).second)
            Fail(path + ".name", "duplicate name " + Quoted(c.name));
        }
        CheckContainer(c, path);
      }
    }
    CheckPodResources(spec.resources.requests);
    CheckPodResources(spec.resources.limits);
    return std::move(errors_);
  }

 private:
  void Fail(const std::string& path, std::string_view what) {
    errors_.push_back(Error::Invalid(path + ": " + std::string(what)));
  }

  void CheckLabel(const std::string& path, std::string_view name) {
    if (!IsDns1123Label(name)) {
      Fail(path, Quoted(name) +
                     " is not a valid name: a DNS-1123 label (at most 63 lowercase letters, "
                     "digits and '-', starting and ending with a letter or digit)");
    }
  }

  // Also fills volume_names_, so each volume mount is looked up in constant time.
  void CheckVolumes() {
    for (size_t i = 0; i < pod_.spec.volumes.size(); ++i) {
      const Volume& v = pod_.spec.volumes[i];
      if (v.name.empty()) continue;
      std::string path = "spec.volumes[" + std::to_string(i) + "].name";
      CheckLabel(path, v.name);
      if (!volume_names_.insert(v.name).second) Fail(path, "duplicate name " + Quoted(v.name));
    }
  }

  void CheckContainer(const Container& c, const std::string& path) {
    if (!c.is_init && c.restart_policy) {
      Fail(path + ".restartPolicy", "may only be set on init containers");
    }
    if (c.role() == ContainerRole::kInit) {
      constexpr std::string_view kWhy =
          "may not be set for init containers without "
          "restartPolicy=Always";
      if (c.startup_probe) Fail(path + ".startupProbe", kWhy);
      if (c.readiness_probe) Fail(path + ".readinessProbe", kWhy);
      if (c.liveness_probe) Fail(path + ".livenessProbe", kWhy);
      if (c.lifecycle.post_start || c.lifecycle.pre_stop) Fail(path + ".lifecycle", kWhy);
    }
    if (c.startup_probe && c.startup_probe->success_threshold != 1) {
      Fail(path + ".startupProbe.successThreshold", "must be 1");
    }
    if (c.liveness_probe && c.liveness_probe->success_threshold != 1) {
      Fail(path + ".livenessProbe.successThreshold", "must be 1");
    }
    // Handlers podshim cannot carry out (grpc, a host name) are refused here, not when
    // the probe first runs.
    for (auto [probe, name] : {std::pair{&c.startup_probe, "startupProbe"},
                               std::pair{&c.readiness_probe, "readinessProbe"},
                               std::pair{&c.liveness_probe, "livenessProbe"}}) {
      if (!*probe) continue;
      Status st = ValidateProbeHandler((*probe)->handler, path + "." + name);
      if (!st) errors_.push_back(std::move(st).error());
    }
    for (auto [hook, name] : {std::pair{&c.lifecycle.post_start, "postStart"},
                              std::pair{&c.lifecycle.pre_stop, "preStop"}}) {
      if (!*hook) continue;
      Status st = ValidateLifecycleHandler(**hook, path + ".lifecycle." + name);
      if (!st) errors_.push_back(std::move(st).error());
    }
    if (c.readiness_probe && c.readiness_probe->termination_grace_period) {
      Fail(path + ".readinessProbe.terminationGracePeriodSeconds",
           "may not be set for readiness probes");
    }
    std::set<std::string> port_names;
    for (size_t i = 0; i < c.ports.size(); ++i) {
      const ContainerPort& p = c.ports[i];
      if (p.name.empty()) continue;
      std::string pp = path + ".ports[" + std::to_string(i) + "].name";
      if (!IsIanaSvcName(p.name)) {
        Fail(pp, Quoted(p.name) +
                     " is not a valid port name: at most 15 lowercase letters, digits and '-', "
                     "with at least one letter");
      }
      if (!port_names.insert(p.name).second) Fail(pp, "duplicate name " + Quoted(p.name));
    }
    std::set<std::string> mount_paths;
    for (size_t i = 0; i < c.volume_mounts.size(); ++i) {
      const VolumeMount& m = c.volume_mounts[i];
      std::string mp = path + ".volumeMounts[" + std::to_string(i) + "]";
      if (!m.name.empty() && !volume_names_.contains(m.name)) {
        Fail(mp + ".name", "volume " + Quoted(m.name) + " not found in spec.volumes");
      }
      if (!m.mount_path.empty() && !mount_paths.insert(m.mount_path).second) {
        Fail(mp + ".mountPath", "duplicate mount path " + Quoted(m.mount_path));
      }
    }
  }

  // KEP-2837: pod-level resources cover cpu, memory and hugepages only.
  void CheckPodResources(const ResourceList& list) {
    for (const QuantityField& q : list) {
      if (q.name != "cpu" && q.name != "memory" && !q.name.starts_with("hugepages-")) {
        Fail(q.path, "only cpu, memory and hugepages-<size> are supported in pod-level resources");
      }
    }
  }

  const Pod& pod_;
  std::unordered_set<std::string_view> volume_names_;
  std::vector<Error> errors_;
};

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

}  // namespace

bool IsDns1123Label(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  if (!IsLowerAlnum(s.front()) || !IsLowerAlnum(s.back())) return false;
  for (char c : s) {
    if (!IsLowerAlnum(c) && c != '-') return false;
  }
  return true;
}

bool IsIanaSvcName(std::string_view s) {
  if (s.empty() || s.size() > 15) return false;
  if (s.front() == '-' || s.back() == '-' || s.find("--") != std::string_view::npos) return false;
  bool letter = false;
  for (char c : s) {
    if (!IsLowerAlnum(c) && c != '-') return false;
    letter = letter || (c >= 'a' && c <= 'z');
  }
  return letter;
}

std::string ContainerPath(const Container& c, size_t index) {
  return std::string(c.is_init ? "spec.initContainers[" : "spec.containers[") +
         std::to_string(index) + "]";
}

std::vector<Error> ValidatePod(const Pod& pod) { return Validator(pod).Run(); }

}  // namespace podshim::shim
