// The container child's mount operations (after clone3, before pivot_root or just after it):
// every target is resolved inside the rootfs with openat2 (rootfs_resolve.h) and mounts are
// attached onto the resolved fd (open_tree, mount_setattr, move_mount), so a symlink swapped in
// meanwhile cannot redirect them. Only syscalls: each returns 0 or an errno, never allocates.
#pragma once

#include "oci/mounts.h"

namespace podshim::oci {

// Remounts the bind mount at `target` with `flags` (MS_RDONLY ...), repeating the flags the
// kernel locks inside a user namespace when a plain remount gets EPERM.
int RemountBind(const char* target, unsigned long flags);

// Carries out one planned rootfs step (mount, bind, mknod, symlink, unlink) inside root_fd.
int RunRootfsStep(int root_fd, const RootfsStep& s);

// A recursive read-only clone of the mount tree at `path`, attached over it (a missing path
// is skipped); locked flags are kept.
int ReadonlyPath(int root_fd, const char* path);

// A directory gets an empty read-only tmpfs over it, anything else the container's /dev/null
// (a missing path is skipped).
int MaskPath(int root_fd, const char* path);

}  // namespace podshim::oci
