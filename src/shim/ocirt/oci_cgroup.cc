#include "shim/ocirt/oci_cgroup.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <optional>

#include "cgroups/control_files.h"
#include "cgroups/device_filter_attach.h"
#include "cgroups/device_program.h"
#include "cgroups/device_rules.h"
#include "cgroups/mountinfo.h"
#include "cgroups/oci_cgroup_path.h"
#include "cgroups/oci_resources.h"
#include "common/quoted.h"

namespace podshim::shim {
namespace {

using cgroups::CgroupPath;

// The controllers enabled for every container cgroup, as the pod runner's base set, when the
// cgroup2 root offers them: limits can be added by `update` and containerd reads their stats.
// Ones the root does not offer are not wanted (no warning) unless a value needs them.
constexpr const char* kBaseControllers[] = {"cpu", "memory", "pids"};

std::unique_ptr<cgroups::CgroupV2Manager> MakeManager(cgroups::CgroupFs fs) {
  cgroups::CgroupManagerOptions options;  // parent: the root, paths are exact
  options.verify_read_back = false;       // as runc: the kernel validates each write
  options.base_controllers.clear();
  if (auto offered = fs.Read(CgroupPath(), cgroups::kCgroupControllers)) {
    if (auto list = cgroups::ParseControllerList(*offered)) {
      for (const char* c : kBaseControllers) {
        if (std::find(list->begin(), list->end(), c) != list->end()) {
          options.base_controllers.emplace_back(c);
        }
      }
    }
  }
  return std::make_unique<cgroups::CgroupV2Manager>(
      std::make_unique<cgroups::CgroupFs>(std::move(fs)), std::move(options));
}

Result<cgroups::OciResourceValues> MapFor(const std::filesystem::path& cgroup_dir,
                                          const std::string& resources_json,
                                          const std::string& field) {
  cgroups::OciResourceOptions options;
  // runc writes blkio weights to io.bfq.weight where BFQ is in use; the cgroup may not exist yet,
  // its parent shows the same files.
  options.bfq = ::access((cgroup_dir / "io.bfq.weight").c_str(), F_OK) == 0 ||
                ::access((cgroup_dir.parent_path() / "io.bfq.weight").c_str(), F_OK) == 0;
  return cgroups::MapOciResources(resources_json, options, field);
}

Status WriteValues(cgroups::CgroupV2Manager& manager, const CgroupPath& cg,
                   const cgroups::OciResourceValues& values) {
  for (const std::string& note : values.ignored) OciWarn(note + ", ignoring");
  // As runc: without swap accounting (no memory.swap.max) "max" and "0" are what the kernel
  // does anyway, so they are dropped; any other swap limit fails on the missing file.
  cgroups::CgroupFileValues files, swap_off;
  for (const auto& v : values.files) {
    bool optional = v.file == "memory.swap.max" && (v.value == "max" || v.value == "0");
    (optional ? swap_off : files).push_back(v);
  }
  PODSHIM_TRY(manager.Apply(cg, files));
  if (!swap_off.empty() &&
      ::access((manager.FullPath(cg) / "memory.swap.max").c_str(), F_OK) == 0) {
    PODSHIM_TRY(manager.Apply(cg, swap_off));
  }
  if (auto warning = manager.TakeWarning()) OciWarn(*warning);
  return Ok();
}

// linux.resources.devices as a BPF_CGROUP_DEVICE program, runc's default devices appended (a
// spec device's path replaces its default). No devices member: no program.
std::vector<bpf_insn> DeviceProgramFor(const std::optional<cgroups::DeviceRules>& rules,
                                       const std::vector<oci::LinuxDevice>& spec_devices) {
  if (!rules) return {};
  std::vector<std::string> paths;
  for (const oci::LinuxDevice& d : spec_devices) paths.push_back(d.path);
  return cgroups::BuildDeviceProgram(cgroups::WithDefaultDevices(*rules, paths));
}

}  // namespace

Status OciCgroupPlacement::LoadDeviceFilter() {
  if (device_program_.empty() || device_program_fd_) return Ok();
  device_program_fd_ =
      PODSHIM_TRY_WRAP(cgroups::LoadDeviceProgram(device_program_), "linux.resources.devices");
  return Ok();
}

Status OciCgroupPlacement::AttachDeviceFilter() {
  if (device_program_.empty()) return Ok();
  PODSHIM_TRY(LoadDeviceFilter());
  // bpf(BPF_PROG_ATTACH) does not take the O_PATH fd clone3 uses.
  UniqueFd fd(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return Error::Errno(errno, "open " + dir_.string());
  PODSHIM_TRY_WRAP(cgroups::AttachLoadedDeviceProgram(fd.get(), device_program_fd_.get()),
                   "linux.resources.devices");
  device_program_fd_.Reset();  // the attachment holds it now
  return Ok();
}

void OciWarn(const std::string& text) {
  std::fprintf(stderr, "podshim oci: warning: %s\n", text.c_str());
}

OciCgroupPlacement::~OciCgroupPlacement() {
  if (keep_ || !manager_) return;
  fd_.Reset();
  // A cgroup we created: empty it first (the child may not be reaped yet), then remove it and
  // the parents we created. A joined one is left alone.
  if (std::find(created_.begin(), created_.end(), path_) != created_.end()) {
    (void)manager_->Kill(path_);
  }
  (void)manager_->RemovePod();
}

void OciCgroupPlacement::Record(oci::ContainerState& state) const {
  if (!manager_) return;
  state.cgroup_mount = mount_;
  state.cgroup_path = path_.str();
  state.cgroup_created.clear();
  for (const CgroupPath& p : created_) state.cgroup_created.push_back(p.str());
  state.resources_json = resources_json_;
}

Result<OciCgroupPlacement> PlaceOciCgroup(const oci::Spec& spec, const std::string& id) {
  const CgroupPath path =
      PODSHIM_TRY(cgroups::ResolveOciCgroupsPath(spec.linux_config.cgroups_path, id));
  OciCgroupPlacement out;
  auto mount = cgroups::ReadCgroup2Mount();
  if (!mount) {
    if (!spec.linux_config.resources_json.empty()) {
      OciWarn("no cgroup2 mount: linux.resources are not enforced (" + mount.error().ToString() +
              "), ignoring");
    }
    return out;
  }
  const std::filesystem::path dir = mount->mount_point / path.str();
  const std::string& resources = spec.linux_config.resources_json;
  const cgroups::OciResourceValues values = PODSHIM_TRY(MapFor(dir, resources, "linux.resources"));
  std::optional<cgroups::DeviceRules> device_rules;
  if (!resources.empty()) {
    device_rules = PODSHIM_TRY(cgroups::ParseDeviceRulesFromResources(resources));
  }

  cgroups::CgroupFs fs = PODSHIM_TRY(cgroups::CgroupFs::Open(mount->mount_point));
  out.manager_ = MakeManager(std::move(fs));
  out.mount_ = mount->mount_point.string();
  out.path_ = path;
  out.resources_json_ = resources;
  auto created = out.manager_->CreateAt(path);
  // Another container's delete may remove a shared parent between our check and our mkdir
  // (ENOENT; ENODEV from a file of a cgroup being removed): once more, creating it again.
  if (!created && (created.error().code() == std::errc::no_such_file_or_directory ||
                   created.error().code() == std::errc::no_such_device)) {
    created = out.manager_->CreateAt(path);
  }
  // Checked and swapped out rather than moved through PODSHIM_TRY_WRAP: g++ 12 at -O3 reports the
  // moved vector as maybe uninitialised (a false -Wmaybe-uninitialized, CI's -Werror Release).
  if (!created) return std::unexpected(std::move(created).error().Wrap("container " + Quoted(id)));
  out.created_.swap(*created);
  if (out.created_.empty() || out.created_.back() != path) {
    // Joining an existing cgroup, as runc: only an empty one.
    if (PODSHIM_TRY(out.manager_->Populated(path))) {
      return Error::Domain(ErrorCode::kConflict, "container " + Quoted(id) + ": cgroup " +
                                                     dir.string() + " is not empty");
    }
  }
  PODSHIM_TRY_WRAP(WriteValues(*out.manager_, path, values), "container " + Quoted(id));
  out.dir_ = dir;
  out.device_program_ = DeviceProgramFor(device_rules, spec.linux_config.devices);
  out.fd_ = PODSHIM_TRY(out.manager_->OpenDirFd(path));
  return out;
}

Result<OciCgroupHandle> OpenOciCgroup(const oci::ContainerState& state) {
  if (state.cgroup_path.empty()) {
    return Error::Domain(ErrorCode::kUnsupported,
                         "container " + Quoted(state.id) + " has no cgroup");
  }
  OciCgroupHandle out;
  out.path = PODSHIM_TRY_WRAP(CgroupPath::Parse(state.cgroup_path), "state.json: cgroupPath");
  out.manager = MakeManager(PODSHIM_TRY(cgroups::CgroupFs::Open(state.cgroup_mount)));
  return out;
}

Status ApplyOciResources(OciCgroupHandle& cg, const std::string& resources_json,
                         const std::string& field) {
  const auto values = PODSHIM_TRY(MapFor(cg.manager->FullPath(cg.path), resources_json, field));
  return WriteValues(*cg.manager, cg.path, values);
}

Status RemoveOciCgroup(const oci::ContainerState& state) {
  if (state.cgroup_path.empty() || state.cgroup_created.empty()) return Ok();  // joined
  OciCgroupHandle cg = PODSHIM_TRY(OpenOciCgroup(state));
  std::vector<CgroupPath> created;
  for (const std::string& p : state.cgroup_created) {
    created.push_back(PODSHIM_TRY_WRAP(CgroupPath::Parse(p), "state.json: cgroupCreated"));
  }
  cg.manager->AdoptCreated(created);
  if (created.back() == cg.path) {
    auto exists = cg.manager->Populated(cg.path);
    if (exists && *exists) PODSHIM_TRY(cg.manager->Kill(cg.path));
    PODSHIM_TRY(cg.manager->Remove(cg.path));
    cg.manager->RemoveEmptyParentsOf(cg.path);
  }
  return Ok();
}

}  // namespace podshim::shim
