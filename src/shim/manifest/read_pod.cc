// Reads the whole document: apiVersion and kind, metadata, and spec with its volumes and
// containers (each read by its own reader).
#include "shim/manifest/manifest_reader.h"

namespace podshim::shim::manifest_reader {
namespace {

// apiVersion and kind: required, each with its one supported value.
void ReadTypeMeta(Reader& r, const Fields& top) {
  if (auto* v = top.Required("apiVersion")) r.OneOf(*v, "apiVersion", {"v1"});
  if (auto* v = top.Required("kind")) r.OneOf(*v, "kind", {"Pod"});
}

PodMetadata ReadMetadata(Reader& r, const YamlNode& n) {
  PodMetadata meta;
  Fields m(r, n, "metadata", {"name", "namespace", "labels", "annotations"}, "metadata");
  if (!m.ok()) return meta;
  m.ReadName("name", meta.name);
  m.ReadString("namespace", meta.namespace_name);
  if (auto* v = m.Get("labels")) meta.labels = r.StringMap(*v, "metadata.labels");
  if (auto* v = m.Get("annotations")) meta.annotations = r.StringMap(*v, "metadata.annotations");
  return meta;
}

// The entries of spec.initContainers or spec.containers, in order.
void ReadContainers(Reader& r, const YamlNode& n, const std::string& path, bool is_init,
                    std::vector<Container>& out) {
  if (!r.ExpectList(n, path)) return;
  if (!is_init && n.size() == 0) r.Fail(path, "must have at least one container");
  for (size_t i = 0; i < n.size(); ++i) {
    out.push_back(ReadContainer(r, n.item(i), ItemPath(path, i), is_init));
  }
}

void ReadSpec(Reader& r, const Fields& s, PodSpec& spec) {
  if (auto* v = s.Get("restartPolicy")) {
    auto policy = r.OneOf<PodRestartPolicy>(*v, s.Path("restartPolicy"),
                                            {{"Always", PodRestartPolicy::kAlways},
                                             {"OnFailure", PodRestartPolicy::kOnFailure},
                                             {"Never", PodRestartPolicy::kNever}});
    if (policy) spec.restart_policy = *policy;
  }
  if (auto* v = s.Get("terminationGracePeriodSeconds")) {
    if (auto d = r.Seconds(*v, s.Path("terminationGracePeriodSeconds"), 0)) {
      spec.termination_grace_period = *d;
    }
  }
  if (auto* v = s.Get("activeDeadlineSeconds")) {
    spec.active_deadline = r.Seconds(*v, s.Path("activeDeadlineSeconds"), 1);
  }
  if (auto* v = s.Get("overhead")) spec.overhead = ReadResourceList(r, *v, s.Path("overhead"));
  s.ReadBool("hostNetwork", spec.host_network);
  if (auto* v = s.Get("volumes")) {
    r.ForEachItem(*v, s.Path("volumes"), [&](const YamlNode& item, const std::string& path) {
      auto vol = ReadVolume(r, item, path);
      // Kept even when broken so list indexes stay those of the manifest.
      spec.volumes.push_back(vol ? std::move(*vol) : Volume{});
    });
  }
  if (auto* v = s.Get("initContainers")) {
    ReadContainers(r, *v, s.Path("initContainers"), /*is_init=*/true, spec.init_containers);
  }
  if (auto* v = s.Required("containers")) {
    ReadContainers(r, *v, s.Path("containers"), /*is_init=*/false, spec.containers);
  }
  if (auto* v = s.Get("resources")) spec.resources = ReadResources(r, *v, s.Path("resources"));
}

}  // namespace

Pod ReadPod(Reader& r, const YamlNode& root) {
  Pod pod;
  Fields top(r, root, "", {"apiVersion", "kind", "metadata", "spec"});
  if (!top.ok()) return pod;
  ReadTypeMeta(r, top);
  if (auto* v = top.Get("metadata")) {
    pod.metadata = ReadMetadata(r, *v);
  } else {
    r.Fail("metadata.name", "required");
  }
  const YamlNode* spec_node = top.Required("spec");
  if (!spec_node) return pod;
  Fields s(r, *spec_node, "spec",
           {"restartPolicy", "terminationGracePeriodSeconds", "activeDeadlineSeconds", "overhead",
            "hostNetwork", "volumes", "initContainers", "containers", "resources"},
           "spec");
  if (s.ok()) ReadSpec(r, s, pod.spec);
  return pod;
}

}  // namespace podshim::shim::manifest_reader
