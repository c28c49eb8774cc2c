// Turns the spec's root, mounts and default devices into precomputed RootfsSteps (host paths
// already resolved under the rootfs, mount(2) flags and data split out), which the child runs
// in order before pivot_root. Everything here is pure except SecureJoin, which reads symlinks.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "oci/spec.h"

namespace podshim::oci {

// One action of the rootfs set-up, run by the child in its new mount namespace.
enum class RootfsOp : uint8_t {
  kMount,    // mkdir -p target; mount(source, target, fstype, flags, data)
  kBind,     // mkdir -p target (or create a file when source is not a directory);
             // mount(source, target, MS_BIND | (recursive ? MS_REC : 0)); then, when
             // remount_flags != 0, mount(target, MS_BIND|MS_REMOUNT|remount_flags)
  kMknod,    // mknod(target, mode, dev) (EEXIST is fine); chown(target, uid, gid); a node
             // it created then gets exactly `mode` (chmod: no umask, no cleared set-id bits)
  kSymlink,  // symlink(source, target) (EEXIST is fine)
  kUnlink,   // unlink(target) (ENOENT is fine), e.g. /dev/ptmx before its symlink
};

struct RootfsStep {
  RootfsOp op = RootfsOp::kMount;
  std::string source;  // mount source, bind source (host path) or symlink content
  std::string target;  // absolute host path under the rootfs
  std::string fstype;
  std::string data;         // filesystem options not understood as flags ("mode=755,size=65536k")
  unsigned long flags = 0;  // mount(2) flags for kMount
  unsigned long remount_flags = 0;  // for kBind: MS_RDONLY|MS_NOSUID|... applied by a remount
  unsigned long propagation = 0;    // MS_SHARED|MS_SLAVE|MS_PRIVATE|MS_UNBINDABLE [| MS_REC]
  bool recursive = false;           // kBind: rbind
  mode_t mode = 0;                  // kMknod: S_IFCHR|0666 ...
  dev_t dev = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string description;  // for errors: "mount proc on /proc", "mknod /dev/null"
};

// mount options ("nosuid", "ro", "rbind", "rprivate", "mode=755") split into flags.
struct MountOptions {
  unsigned long flags = 0;        // everything but MS_BIND/MS_REC/propagation
  unsigned long propagation = 0;  // MS_SHARED|MS_SLAVE|MS_PRIVATE|MS_UNBINDABLE [| MS_REC]
  bool bind = false;
  bool recursive_bind = false;
  std::string data;  // unknown options joined with ',' in order, passed to the filesystem
};
MountOptions ParseMountOptions(const std::vector<std::string>& options);

// "rslave" -> MS_SLAVE|MS_REC, "" -> MS_SLAVE|MS_REC (runc's default), ...; errors name `field`.
Result<unsigned long> ParseRootfsPropagation(std::string_view value, std::string_view field);

// The container path `unsafe` (absolute, as in config.json) joined under `root` the way the
// container will see it: symlinks met on the way are read and resolved inside root (an absolute
// link restarts at root, ".." stops at root), like chroot. A path whose own ".." components
// climb above "/" is refused (kInvalidSpec naming `field`). Components that do not exist yet are
// kept as written. Note: resolution happens in the parent before clone; a mount made earlier in
// the sequence that hides a symlink in the image is not seen (runc resolves in the child).
Result<std::filesystem::path> SecureJoin(const std::filesystem::path& root, std::string_view unsafe,
                                         std::string_view field);

struct RootfsInputs {
  std::filesystem::path rootfs;  // absolute host path
  std::filesystem::path bundle;  // relative bind sources are resolved against it
  bool new_user_ns = false;      // devices are bind-mounted from the host instead of mknod'ed
};

// The steps for spec.mounts, then (unless /dev is a bind mount, as runc decides) the default
// devices /dev/{null,zero,full,random,urandom,tty}, linux.devices and the /dev symlinks
// (fd, stdin, stdout, stderr, ptmx -> pts/ptmx, core when the host has /proc/kcore).
Result<std::vector<RootfsStep>> PlanRootfsSteps(const Spec& spec, const RootfsInputs& in);

}  // namespace podshim::oci
