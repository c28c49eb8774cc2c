#include "shim/manifest/container_spec.h"

#include <algorithm>
#include <utility>

#include "common/quoted.h"

namespace podshim::shim {

using oci::NamespaceType;

Status ApplyPodToSpec(const Container& c, const SandboxPaths& paths, oci::Spec& spec) {
  auto& nss = spec.linux_config.namespaces;
  auto drop = [&](NamespaceType t) {
    nss.erase(std::remove_if(nss.begin(), nss.end(),
                             [t](const oci::Namespace& n) { return n.type == t; }),
              nss.end());
  };
  for (NamespaceType t : paths.host_namespaces) drop(t);
  for (const auto& [type, path] : paths.namespaces) {
    drop(type);
    nss.push_back({type, path});
  }
  for (NamespaceType t : {NamespaceType::kPid, NamespaceType::kMount}) {
    auto it =
        std::find_if(nss.begin(), nss.end(), [t](const oci::Namespace& n) { return n.type == t; });
    if (it == nss.end()) {
      nss.push_back({t, std::nullopt});
    } else {
      it->path.reset();
    }
  }
  spec.hostname.reset();
  spec.domainname.reset();

  for (size_t i = 0; i < c.volume_mounts.size(); ++i) {
    const VolumeMount& vm = c.volume_mounts[i];
    auto it = paths.volumes.find(vm.name);
    if (it == paths.volumes.end()) {
      return Error::Invalid("container " + Quoted(c.name) + ": volumeMounts[" + std::to_string(i) +
                            "].name: no volume named " + Quoted(vm.name));
    }
    oci::Mount m;
    m.destination = vm.mount_path;
    m.type = "bind";
    m.source = it->second.string();
    m.options = {"rbind", vm.read_only ? "ro" : "rw", "nosuid", "nodev"};
    spec.mounts.push_back(std::move(m));
  }

  if (!spec.process) spec.process.emplace();
  oci::Process& p = *spec.process;
  if (c.command) {
    p.args = *c.command;
    if (c.args) p.args.insert(p.args.end(), c.args->begin(), c.args->end());
  } else if (c.args) {
    std::vector<std::string> args;
    if (!p.args.empty()) args.push_back(p.args.front());
    args.insert(args.end(), c.args->begin(), c.args->end());
    p.args = std::move(args);
  }
  for (const EnvVar& e : c.env) {
    std::string entry = e.name + "=" + e.value;
    auto it = std::find_if(p.env.begin(), p.env.end(), [&](const std::string& s) {
      return s.size() > e.name.size() && s.compare(0, e.name.size(), e.name) == 0 &&
             s[e.name.size()] == '=';
    });
    if (it != p.env.end()) {
      *it = std::move(entry);
    } else {
      p.env.push_back(std::move(entry));
    }
  }
  if (c.working_dir) p.cwd = *c.working_dir;
  if (p.args.empty()) {
    return Error::Invalid("container " + Quoted(c.name) +
                          ": no command: neither the manifest nor " +
                          "the bundle's process.args give one");
  }
  return Ok();
}

}  // namespace podshim::shim
