// The cgroup v2 of one `podshim oci` container: placed at create (linux.cgroupsPath resolved
// under the host's cgroup2 mount, linux.resources written, the process cloned into it), opened
// again from the state for pause, update, ps and kill --all, and removed at delete (only the
// directories podshim created; a cgroup that existed already is joined and left in place).
#pragma once

#include <linux/bpf.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "cgroups/manager.h"
#include "common/result.h"
#include "common/unique_fd.h"
#include "oci/spec.h"
#include "oci/state.h"

namespace podshim::shim {

// "podshim oci: warning: <text>" on stderr. `text` ends with ", ignoring" where that applies.
void OciWarn(const std::string& text);

// A cgroup being set up by create: removed again (what podshim created in it) when destroyed,
// unless Keep() was called once the container is recorded. Empty when the host has no cgroup2.
class OciCgroupPlacement {
 public:
  OciCgroupPlacement() = default;
  OciCgroupPlacement(OciCgroupPlacement&&) = default;
  OciCgroupPlacement& operator=(OciCgroupPlacement&&) = delete;
  ~OciCgroupPlacement();

  // O_PATH fd of the cgroup for clone3(CLONE_INTO_CGROUP); -1 without a cgroup.
  int dir_fd() const { return fd_.get(); }
  // Writes the cgroup's mount, path, created directories and resources into `state`.
  void Record(oci::ContainerState& state) const;
  void Keep() { keep_ = true; }

  // The device filter (linux.resources.devices) is loaded while the child sets up (the kernel's
  // verifier takes ~0.4 ms, which then overlaps the child's mounts) and attached once the child
  // is ready, before it may exec; the devices the child creates are made unfiltered, as runc's
  // are. Without a devices member both do nothing. Errors name linux.resources.devices.
  Status LoadDeviceFilter();
  Status AttachDeviceFilter();  // loads it first if LoadDeviceFilter was not called

 private:
  friend Result<OciCgroupPlacement> PlaceOciCgroup(const oci::Spec&, const std::string&);
  std::unique_ptr<cgroups::CgroupV2Manager> manager_;
  cgroups::CgroupPath path_;
  std::string mount_;
  std::vector<cgroups::CgroupPath> created_;
  std::string resources_json_;
  std::filesystem::path dir_;
  std::vector<bpf_insn> device_program_;  // empty: no linux.resources.devices
  UniqueFd device_program_fd_;
  UniqueFd fd_;
  bool keep_ = false;
};

// Resolves linux.cgroupsPath (absent: /<id>), maps linux.resources (errors before anything is
// created), creates or joins the cgroup and writes the values (the device filter is left to
// LoadDeviceFilter and AttachDeviceFilter). Controllers the host lacks give the one warning
// `podshim run` gives (CgroupManager::TakeWarning); settings cgroup v2 cannot express give one
// warning each. No cgroup2 mount: a warning and no cgroup.
Result<OciCgroupPlacement> PlaceOciCgroup(const oci::Spec& spec, const std::string& id);

// The manager for a recorded container cgroup, and the cgroup.
struct OciCgroupHandle {
  std::unique_ptr<cgroups::CgroupV2Manager> manager;
  cgroups::CgroupPath path;
};
// Error kUnsupported `container "x" has no cgroup` when create made none.
Result<OciCgroupHandle> OpenOciCgroup(const oci::ContainerState& state);

// Maps `resources_json` for the container's cgroup (BFQ or not), writes the values, and warns
// as PlaceOciCgroup does. `field` names the source in errors ("linux.resources", "--resources").
Status ApplyOciResources(OciCgroupHandle& cg, const std::string& resources_json,
                         const std::string& field);

// At delete: a cgroup podshim created is emptied (cgroup.kill: what outlived the init) and
// removed, then each parent podshim created while it is empty; a joined cgroup is left as is.
Status RemoveOciCgroup(const oci::ContainerState& state);

}  // namespace podshim::shim
