// A task's rootfs as containerd hands it to CreateTask: a list of mounts (overlay, bind, ...)
// stacked on <bundle>/rootfs, with containerd's option rules (mount/mount_linux.go): known
// flag words become mount(2) flags, everything else is filesystem data; propagation is changed
// by a second call and a read-only bind by a remount. Unmounting detaches every layer.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "common/result.h"

namespace podshim::shim::task {

// containerd.types.Mount.
struct RootfsMount {
  std::string type;  // "overlay", "bind", ...
  std::string source;
  std::vector<std::string> options;
};

// The mount(2) calls one RootfsMount needs. Pure.
struct RootfsMountCalls {
  std::string source;
  std::string fstype;
  unsigned long flags = 0;        // first call: everything but propagation
  std::string data;               // options that are not flags, joined by ','
  unsigned long propagation = 0;  // second call when non-zero (MS_SHARED... [| MS_REC])
  bool remount_readonly = false;  // third call: a bind with "ro" (bind mounts ignore MS_RDONLY)
};

// Errors (kInvalidSpec / kUnsupported) name `field` ("rootfs[0].options"): "loop" devices and
// data longer than a page are refused.
Result<RootfsMountCalls> PlanRootfsMount(const RootfsMount& mount, const std::string& field);

// Mounts each of `mounts` on `target` in order; on error unmounts what it mounted.
Status MountRootfs(const std::vector<RootfsMount>& mounts, const std::filesystem::path& target);

// Detaches every mount stacked on `target` (umount2 MNT_DETACH until none is left). Succeeds
// when nothing is mounted there or `target` does not exist.
Status UnmountRootfs(const std::filesystem::path& target);

}  // namespace podshim::shim::task
