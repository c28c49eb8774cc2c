// Turns the spec's root, mounts and default devices into precomputed RootfsSteps (container
// paths lexically cleaned, mount(2) flags and data split out), which the child runs in order
// before pivot_root. Pure but for a /proc/kcore check: symlinks in a target are resolved by the
// child at mount time, inside the rootfs (rootfs_resolve.h), never here.
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
  // Each op opens its target (or the target's parent) in the rootfs with OpenInRoot and acts
  // on that fd, creating what is missing through the fds of the resolved parents.
  kMount,    // target as a directory; mount(source, fd, fstype, flags, data)
  kBind,     // target as a directory (a file when source is not a directory); a clone of
             // source (open_tree, recursive for rbind) gets remount_flags (mount_setattr),
             // then is moved onto the fd (move_mount)
  kMknod,    // mknodat(parent, name, mode, dev) (EEXIST is fine); fchownat(uid, gid) on the
             // node (never through a symlink); a node it created gets exactly `mode`
  kSymlink,  // symlinkat(source, parent, name) (EEXIST is fine)
  kUnlink,   // unlinkat(parent, name) (ENOENT is fine), e.g. /dev/ptmx before its symlink
};

struct RootfsStep {
  RootfsOp op = RootfsOp::kMount;
  std::string source;  // mount source, bind source (host path) or symlink content
  std::string target;  // absolute container path, lexically clean ("/dev/pts"); resolved in
                       // the rootfs by the child when the step runs
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

// The container path `unsafe` (absolute, as in config.json) cleaned lexically: "." and empty
// components dropped, ".." applied ("/a/../b" is "/b"). A path whose ".." components climb above
// "/" is refused (kInvalidSpec naming `field`). Symlinks are not read: the child resolves them
// inside the rootfs when it mounts (CVE-2021-30465: resolving first and mounting on the path
// later lets a swapped component send the mount outside the rootfs).
Result<std::string> CleanContainerPath(std::string_view unsafe, std::string_view field);

struct RootfsInputs {
  std::filesystem::path bundle;  // relative bind sources are resolved against it
  bool new_user_ns = false;      // devices are bind-mounted from the host instead of mknod'ed
};

// The steps for spec.mounts, then (unless /dev is a bind mount, as runc decides) the default
// devices /dev/{null,zero,full,random,urandom,tty}, linux.devices and the /dev symlinks
// (fd, stdin, stdout, stderr, ptmx -> pts/ptmx, core when the host has /proc/kcore).
Result<std::vector<RootfsStep>> PlanRootfsSteps(const Spec& spec, const RootfsInputs& in);

}  // namespace podshim::oci
