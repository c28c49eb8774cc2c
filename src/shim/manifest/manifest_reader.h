// The manifest reader split by sub-object: one function per object of the Pod, each in its own
// read_<object>.cc, all over the shared field readers of reader_fields.h. Each reports every
// problem through the Reader and returns what it could read. Internal to shim/manifest.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "shim/manifest/manifest.h"
#include "shim/manifest/reader_fields.h"
#include "shim/manifest/yaml_document.h"

namespace podshim::shim::manifest_reader {

// read_pod.cc: the whole document (apiVersion, kind, metadata, spec).
Pod ReadPod(Reader& r, const YamlNode& root);

// read_container.cc: one entry of spec.initContainers or spec.containers.
Container ReadContainer(Reader& r, const YamlNode& n, const std::string& path, bool is_init);

// read_probe.cc: probes and lifecycle handlers; named ports resolve against `ports`.
std::optional<Probe> ReadProbe(Reader& r, const YamlNode& n, const std::string& path,
                               const std::vector<ContainerPort>& ports);
std::optional<LifecycleHandler> ReadLifecycleHandler(Reader& r, const YamlNode& n,
                                                     const std::string& path,
                                                     const std::vector<ContainerPort>& ports);

// read_volume.cc: one entry of spec.volumes.
std::optional<Volume> ReadVolume(Reader& r, const YamlNode& n, const std::string& path);

// read_resources.cc: a ResourceList (requests, limits, overhead) and ResourceRequirements.
ResourceList ReadResourceList(Reader& r, const YamlNode& n, const std::string& path);
ResourceRequirements ReadResources(Reader& r, const YamlNode& n, const std::string& path);

}  // namespace podshim::shim::manifest_reader
