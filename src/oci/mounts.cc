#include "oci/mounts.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <array>
#include <string>
#include <utility>

#include "common/quoted.h"

namespace podshim::oci {
namespace {

struct FlagOption {
  const char* name;
  bool clear;  // the option removes the flag ("rw", "suid", ...)
  unsigned long flag;
};

// runc's mount option table (libcontainer/specconv/spec_linux.go mountFlags).
constexpr std::array<FlagOption, 27> kFlagOptions{{
    {"defaults", false, 0},
    {"ro", false, MS_RDONLY},
    {"rw", true, MS_RDONLY},
    {"suid", true, MS_NOSUID},
    {"nosuid", false, MS_NOSUID},
    {"dev", true, MS_NODEV},
    {"nodev", false, MS_NODEV},
    {"exec", true, MS_NOEXEC},
    {"noexec", false, MS_NOEXEC},
    {"sync", false, MS_SYNCHRONOUS},
    {"async", true, MS_SYNCHRONOUS},
    {"dirsync", false, MS_DIRSYNC},
    {"remount", false, MS_REMOUNT},
    {"mand", false, MS_MANDLOCK},
    {"nomand", true, MS_MANDLOCK},
    {"atime", true, MS_NOATIME},
    {"noatime", false, MS_NOATIME},
    {"diratime", true, MS_NODIRATIME},
    {"nodiratime", false, MS_NODIRATIME},
    {"relatime", false, MS_RELATIME},
    {"norelatime", true, MS_RELATIME},
    {"strictatime", false, MS_STRICTATIME},
    {"nostrictatime", true, MS_STRICTATIME},
    {"lazytime", false, MS_LAZYTIME},
    {"nolazytime", true, MS_LAZYTIME},
    {"silent", false, MS_SILENT},
    {"loud", true, MS_SILENT},
}};

struct PropagationOption {
  const char* name;
  unsigned long flags;
};

constexpr std::array<PropagationOption, 8> kPropagationOptions{{
    {"private", MS_PRIVATE},
    {"rprivate", MS_PRIVATE | MS_REC},
    {"shared", MS_SHARED},
    {"rshared", MS_SHARED | MS_REC},
    {"slave", MS_SLAVE},
    {"rslave", MS_SLAVE | MS_REC},
    {"unbindable", MS_UNBINDABLE},
    {"runbindable", MS_UNBINDABLE | MS_REC},
}};

// Lexically splits an absolute container path; refuses ".." above "/".
Result<std::vector<std::string>> SplitContainerPath(std::string_view unsafe,
                                                    std::string_view field) {
  std::vector<std::string> parts;
  size_t pos = 0;
  while (pos <= unsafe.size()) {
    size_t next = unsafe.find('/', pos);
    if (next == std::string_view::npos) next = unsafe.size();
    std::string_view part = unsafe.substr(pos, next - pos);
    pos = next + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (parts.empty()) {
        return Error::Invalid(std::string(field) + ": " + Quoted(unsafe) +
                              " escapes the root filesystem");
      }
      parts.pop_back();
      continue;
    }
    parts.emplace_back(part);
  }
  return parts;
}

struct DefaultDevice {
  const char* path;
  unsigned int major;
  unsigned int minor;
};

constexpr std::array<DefaultDevice, 6> kDefaultDevices{{
    {"/dev/null", 1, 3},
    {"/dev/zero", 1, 5},
    {"/dev/full", 1, 7},
    {"/dev/random", 1, 8},
    {"/dev/urandom", 1, 9},
    {"/dev/tty", 5, 0},
}};

Status AddMountSteps(const Spec& spec, const RootfsInputs& in, std::vector<RootfsStep>& steps) {
  for (size_t i = 0; i < spec.mounts.size(); ++i) {
    const Mount& m = spec.mounts[i];
    const std::string field = "mounts[" + std::to_string(i) + "]";
    if (m.destination.empty() || m.destination[0] != '/') {
      return Error::Invalid(field + ".destination: " + Quoted(m.destination) +
                            " is not an absolute path");
    }
    RootfsStep step;
    step.target = PODSHIM_TRY(CleanContainerPath(m.destination, field + ".destination"));
    MountOptions opts = ParseMountOptions(m.options);
    step.propagation = opts.propagation;
    step.data = opts.data;
    if (opts.bind || m.type == "bind") {
      if (m.source.empty()) return Error::Invalid(field + ".source: required for a bind mount");
      std::filesystem::path source = m.source;
      if (source.is_relative()) source = in.bundle / source;
      step.op = RootfsOp::kBind;
      step.source = source.lexically_normal().string();
      step.recursive = opts.recursive_bind;
      step.remount_flags = opts.flags & ~MS_REMOUNT;
      step.description =
          (opts.recursive_bind ? "rbind " : "bind ") + step.source + " on " + m.destination;
    } else {
      if (m.type.empty()) return Error::Invalid(field + ".type: required unless a bind mount");
      // podshim is a cgroup v2 runtime: a "cgroup" mount (what `runc spec` writes) is the unified
      // hierarchy, as crun does on v2 hosts. Mounting v1 hierarchies would need one mount per
      // controller, and on a hybrid host the kernel refuses a fresh v1 mount with EPERM.
      const std::string fstype = m.type == "cgroup" ? "cgroup2" : m.type;
      step.op = RootfsOp::kMount;
      step.source = m.source.empty() || m.source == "cgroup" ? fstype : m.source;
      step.fstype = fstype;
      step.flags = opts.flags;
      step.description = "mount " + fstype + " on " + m.destination;
    }
    steps.push_back(std::move(step));
  }
  return Ok();
}

bool BindMountsDev(const Spec& spec) {
  for (const Mount& m : spec.mounts) {
    if (std::filesystem::path(m.destination).lexically_normal() != "/dev") continue;
    if (m.type == "bind" || ParseMountOptions(m.options).bind) return true;
  }
  return false;
}

Status AddDeviceSteps(const Spec& spec, const RootfsInputs& in, std::vector<RootfsStep>& steps) {
  auto add_device = [&](std::string_view path, mode_t mode, dev_t dev, uid_t uid, gid_t gid,
                        const std::string& field) -> Status {
    RootfsStep step;
    step.target = PODSHIM_TRY(CleanContainerPath(path, field));
    if (in.new_user_ns && (S_ISCHR(mode) || S_ISBLK(mode))) {
      // mknod of devices is refused inside a user namespace: bind the host's node instead.
      step.op = RootfsOp::kBind;
      step.source = std::string(path);
      step.description = "bind " + std::string(path) + " on " + std::string(path);
    } else {
      step.op = RootfsOp::kMknod;
      step.mode = mode;
      step.dev = dev;
      step.uid = uid;
      step.gid = gid;
      step.description = "mknod " + std::string(path);
    }
    steps.push_back(std::move(step));
    return Ok();
  };
  for (const DefaultDevice& d : kDefaultDevices) {
    PODSHIM_TRY(add_device(d.path, S_IFCHR | 0666, makedev(d.major, d.minor), 0, 0, d.path));
  }
  for (size_t i = 0; i < spec.linux_config.devices.size(); ++i) {
    const LinuxDevice& d = spec.linux_config.devices[i];
    const std::string field = "linux.devices[" + std::to_string(i) + "]";
    mode_t type = 0;
    if (d.type == "c" || d.type == "u") type = S_IFCHR;
    if (d.type == "b") type = S_IFBLK;
    if (d.type == "p") type = S_IFIFO;
    if (type == 0) return Error::Invalid(field + ".type: unknown device type " + Quoted(d.type));
    if (d.path.empty() || d.path[0] != '/') {
      return Error::Invalid(field + ".path: " + Quoted(d.path) + " is not an absolute path");
    }
    mode_t perm = d.file_mode.value_or(0666) & 07777;
    PODSHIM_TRY(add_device(d.path, type | perm,
                           makedev(static_cast<unsigned>(d.major), static_cast<unsigned>(d.minor)),
                           d.uid.value_or(0), d.gid.value_or(0), field + ".path"));
  }
  auto add_link = [&](RootfsOp op, std::string_view path, std::string_view content) -> Status {
    RootfsStep step;
    step.op = op;
    step.target = PODSHIM_TRY(CleanContainerPath(path, path));
    step.source = std::string(content);
    step.description = (op == RootfsOp::kSymlink ? "symlink " : "unlink ") + std::string(path);
    steps.push_back(std::move(step));
    return Ok();
  };
  PODSHIM_TRY(add_link(RootfsOp::kSymlink, "/dev/fd", "/proc/self/fd"));
  PODSHIM_TRY(add_link(RootfsOp::kSymlink, "/dev/stdin", "/proc/self/fd/0"));
  PODSHIM_TRY(add_link(RootfsOp::kSymlink, "/dev/stdout", "/proc/self/fd/1"));
  PODSHIM_TRY(add_link(RootfsOp::kSymlink, "/dev/stderr", "/proc/self/fd/2"));
  if (::access("/proc/kcore", F_OK) == 0) {
    PODSHIM_TRY(add_link(RootfsOp::kSymlink, "/dev/core", "/proc/kcore"));
  }
  PODSHIM_TRY(add_link(RootfsOp::kUnlink, "/dev/ptmx", ""));
  PODSHIM_TRY(add_link(RootfsOp::kSymlink, "/dev/ptmx", "pts/ptmx"));
  return Ok();
}

}  // namespace

MountOptions ParseMountOptions(const std::vector<std::string>& options) {
  MountOptions out;
  for (const std::string& opt : options) {
    if (opt == "bind" || opt == "rbind") {
      out.bind = true;
      out.recursive_bind = out.recursive_bind || opt == "rbind";
      continue;
    }
    bool known = false;
    for (const FlagOption& f : kFlagOptions) {
      if (opt != f.name) continue;
      out.flags = f.clear ? (out.flags & ~f.flag) : (out.flags | f.flag);
      known = true;
      break;
    }
    for (const PropagationOption& p : kPropagationOptions) {
      if (known || opt != p.name) continue;
      out.propagation = p.flags;
      known = true;
    }
    if (known) continue;
    if (!out.data.empty()) out.data += ',';
    out.data += opt;
  }
  return out;
}

Result<unsigned long> ParseRootfsPropagation(std::string_view value, std::string_view field) {
  if (value.empty()) return MS_SLAVE | MS_REC;
  for (const PropagationOption& p : kPropagationOptions) {
    if (value == p.name) return p.flags;
  }
  return Error::Invalid(std::string(field) + ": unknown propagation " + Quoted(value));
}

Result<std::string> CleanContainerPath(std::string_view unsafe, std::string_view field) {
  std::vector<std::string> parts = PODSHIM_TRY(SplitContainerPath(unsafe, field));
  std::string out;
  for (const std::string& p : parts) out += "/" + p;
  return out.empty() ? std::string("/") : out;
}

Result<std::vector<RootfsStep>> PlanRootfsSteps(const Spec& spec, const RootfsInputs& in) {
  std::vector<RootfsStep> steps;
  PODSHIM_TRY(AddMountSteps(spec, in, steps));
  if (!BindMountsDev(spec)) PODSHIM_TRY(AddDeviceSteps(spec, in, steps));
  return steps;
}

}  // namespace podshim::oci
