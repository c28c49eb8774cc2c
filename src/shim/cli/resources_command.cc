// `podshim resources [opts] MANIFEST`: prints, as JSON, the pod's QoS class, its effective
// requests and limits, and the exact cgroup v2 files and strings podshim writes for the pod cgroup
// and for each container cgroup. Reads only the manifest: no root, no bundles, no cgroupfs.
#include <cstdio>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cgroups/cgroup_values.h"
#include "shim/cli/command_line.h"
#include "shim/cli/commands.h"
#include "shim/cli/resource_flags.h"
#include "shim/manifest/manifest.h"
#include "shim/pod/resource_mapping.h"

namespace podshim::shim {
namespace {

using Json = nlohmann::ordered_json;

// A resource absent or zero is left out; cpu and memory get unit-named keys.
Json ResourcesJson(const cgroups::ResourceList& list) {
  Json out = Json::object();
  for (std::string_view name : {cgroups::kCpu, cgroups::kMemory}) {
    auto it = list.find(std::string(name));
    if (it == list.end() || it->second == 0) continue;
    out[name == cgroups::kCpu ? "cpuMillis" : "memoryBytes"] = it->second;
  }
  for (const auto& [name, value] : list) {
    if (name == cgroups::kCpu || name == cgroups::kMemory || value == 0) continue;
    out[name == "ephemeral-storage" ? "ephemeralStorageBytes" : name] = value;
  }
  return out;
}

Json FilesJson(const cgroups::CgroupFileValues& files) {
  Json out = Json::object();
  for (const cgroups::CgroupFileValue& f : files) out[f.file] = f.value;
  return out;
}

Json ValuesJson(const cgroups::PodCgroupValues& v) {
  Json out;
  out["qosClass"] = cgroups::QosClassName(v.qos);
  out["requests"] = ResourcesJson(v.requests);
  out["limits"] = ResourcesJson(v.limits);
  out["pod"] = {{"cgroup", FilesJson(v.pod_files)}};
  Json containers = Json::array();
  for (const cgroups::ContainerCgroupValues& c : v.containers) {
    containers.push_back(
        {{"name", c.name}, {"role", ContainerRoleName(c.role)}, {"cgroup", FilesJson(c.files)}});
  }
  out["containers"] = std::move(containers);
  return out;
}

}  // namespace

int RunResourcesCommand(int argc, char** argv) {
  cgroups::CgroupValueOptions options;
  CommandLine line("podshim resources", "[options] MANIFEST",
                   "Prints the QoS class, effective pod requests and limits, and the cgroup v2 "
                   "file values\nof the pod and of each container, as JSON. Exit status: 0, or 2 "
                   "on bad input.");
  AddResourceFlags(line, &options);
  auto parsed = line.Parse(std::span<char* const>(argv, static_cast<size_t>(argc)).subspan(1));
  if (parsed && parsed->help) {
    std::fputs(line.Help().c_str(), stdout);
    return 0;
  }
  if (parsed && parsed->positional.size() != 1) {
    parsed = Error::Invalid("expected one MANIFEST argument (options come first)");
  }
  if (!parsed) {
    PrintErrorLines("podshim resources: ", parsed.error());
    std::fputs("run `podshim resources --help` for usage\n", stderr);
    return 2;
  }
  const std::string manifest(parsed->positional.front());

  Result<Pod> pod = LoadManifest(manifest);
  if (!pod) {
    PrintErrorLines("podshim resources: ", pod.error());
    return 2;
  }
  Result<cgroups::PodResourcesInput> input = MapPodResources(pod->spec);
  if (!input) {
    PrintErrorLines("podshim resources: " + manifest + ": ", input.error());
    return 2;
  }
  Result<std::vector<int64_t>> sizes = cgroups::HugePageSizesIn(*input);
  if (sizes) options.hugepage_sizes = std::move(*sizes);
  Result<cgroups::PodCgroupValues> values = sizes ? cgroups::ComputePodCgroupValues(*input, options)
                                                  : Result<cgroups::PodCgroupValues>(sizes.error());
  if (!values) {
    PrintErrorLines("podshim resources: ", values.error());
    return 2;
  }
  std::string out = ValuesJson(*values).dump(2, ' ', false, Json::error_handler_t::replace);
  std::fprintf(stdout, "%s\n", out.c_str());
  return 0;
}

}  // namespace podshim::shim
