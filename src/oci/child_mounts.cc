#include "oci/child_mounts.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>

#include "oci/rootfs_resolve.h"

namespace podshim::oci {
namespace {

// Mount flags the kernel locks on a mount seen through a user namespace; a bind remount must
// keep them (EPERM otherwise). statfs f_flags uses the same bit values (ST_* == MS_*).
constexpr unsigned long kLockedFlags =
    MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME;

// Attaches the detached mount `mnt` onto the resolved target fd (0 or an errno).
int AttachOnto(int mnt, int target_fd) {
  return ::move_mount(mnt, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0
             ? errno
             : 0;
}

// mount_setattr bits for MS_* flags a bind remount would set (the others are per
// superblock and a bind ignores them, as MS_BIND|MS_REMOUNT does).
struct mount_attr BindAttr(unsigned long flags) {
  struct mount_attr attr {};
  if (flags & MS_RDONLY) attr.attr_set |= MOUNT_ATTR_RDONLY;
  if (flags & MS_NOSUID) attr.attr_set |= MOUNT_ATTR_NOSUID;
  if (flags & MS_NODEV) attr.attr_set |= MOUNT_ATTR_NODEV;
  if (flags & MS_NOEXEC) attr.attr_set |= MOUNT_ATTR_NOEXEC;
  if (flags & MS_NODIRATIME) attr.attr_set |= MOUNT_ATTR_NODIRATIME;
  if (flags & (MS_NOATIME | MS_STRICTATIME | MS_RELATIME)) {
    attr.attr_clr |= MOUNT_ATTR__ATIME;
    if (flags & MS_NOATIME) {
      attr.attr_set |= MOUNT_ATTR_NOATIME;
    } else if (flags & MS_STRICTATIME) {
      attr.attr_set |= MOUNT_ATTR_STRICTATIME;
    }
  }
  return attr;
}

// Clones `source` (a host path; recursively for rbind), applies the step's flags to the
// detached clone, then attaches it onto target_fd: nothing is looked up by path in the rootfs
// after target_fd was resolved, so the flags and the propagation land on this very mount.
int BindOnto(const RootfsStep& s, int target_fd) {
  unsigned int tree_flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (s.recursive ? AT_RECURSIVE : 0);
  int tree = ::open_tree(AT_FDCWD, s.source.c_str(), tree_flags);
  if (tree < 0) return errno;
  int err = 0;
  struct mount_attr attr = BindAttr(s.remount_flags);
  if ((attr.attr_set | attr.attr_clr) != 0 &&
      ::mount_setattr(tree, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0) {
    err = errno;
  }
  if (err == 0) err = AttachOnto(tree, target_fd);
  if (err == 0 && s.propagation != 0) {
    struct mount_attr prop {};
    prop.propagation = s.propagation & ~static_cast<unsigned long>(MS_REC);
    unsigned int at = AT_EMPTY_PATH | ((s.propagation & MS_REC) ? AT_RECURSIVE : 0);
    if (::mount_setattr(tree, "", at, &prop, sizeof prop) < 0) err = errno;
  }
  ::close(tree);
  return err;
}

// A new filesystem on target_fd (through /proc/self/fd: the host's /proc, before pivot_root).
// A propagation change needs the new mount, which is reached by resolving the target again
// (inside the root as well).
int MountOnto(int root_fd, const RootfsStep& s, int target_fd) {
  const char* data = s.data.empty() ? nullptr : s.data.c_str();
  ProcFdPath at(target_fd);
  if (::mount(s.source.c_str(), at.c_str(), s.fstype.c_str(), s.flags & ~MS_REMOUNT, data) < 0) {
    return errno;
  }
  if (s.propagation == 0) return 0;
  int fd = OpenInRoot(root_fd, s.target.c_str(), CreateKind::kNone);
  if (fd < 0) return -fd;
  ProcFdPath top(fd);
  int err = ::mount(nullptr, top.c_str(), nullptr, s.propagation, nullptr) < 0 ? errno : 0;
  ::close(fd);
  return err;
}

// mknodat in the resolved parent; owner and (for a node it made) mode are set through an
// O_PATH fd of the name that never follows a symlink.
int MakeNode(int root_fd, const RootfsStep& s) {
  const char* name = nullptr;
  int parent = OpenParentInRoot(root_fd, s.target.c_str(), true, &name);
  if (parent < 0) return -parent;
  const mode_t old_umask = ::umask(0);
  const bool created = ::mknodat(parent, name, s.mode, s.dev) == 0;
  int err = created || errno == EEXIST ? 0 : errno;
  ::umask(old_umask);
  int node = -1;
  if (err == 0) {
    node = ::openat(parent, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (node < 0) err = errno;
  }
  struct stat st;
  if (err == 0 && ::fstat(node, &st) < 0) err = errno;
  // Not a node (an image's symlink, or a racing swap): leave it alone, as runc does.
  const bool is_node =
      err == 0 && (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode));
  // Owner and mode only when they differ (a node just made as root usually has both right).
  const bool set_owner = is_node && (st.st_uid != s.uid || st.st_gid != s.gid);
  if (set_owner && ::fchownat(node, "", s.uid, s.gid, AT_EMPTY_PATH) < 0) err = errno;
  // chown may clear set-id bits: give a node we made exactly the spec's mode, as runc does.
  const bool set_mode =
      is_node && created && (set_owner || (st.st_mode & 07777) != (s.mode & 07777));
  if (set_mode && err == 0 && ::chmod(ProcFdPath(node).c_str(), s.mode & 07777) < 0) err = errno;
  if (node >= 0) ::close(node);
  ::close(parent);
  return err;
}

}  // namespace

int RemountBind(const char* target, unsigned long flags) {
  unsigned long base = MS_BIND | MS_REMOUNT;
  if (::mount(nullptr, target, nullptr, base | flags, nullptr) == 0) return 0;
  if (errno != EPERM) return errno;
  // Inside a user namespace the mount's locked flags must be repeated.
  struct statfs st;
  if (::statfs(target, &st) < 0) return errno;
  unsigned long locked = static_cast<unsigned long>(st.f_flags) & kLockedFlags;
  if (::mount(nullptr, target, nullptr, base | flags | locked, nullptr) < 0) return errno;
  return 0;
}

int RunRootfsStep(int root_fd, const RootfsStep& s) {
  const char* target = s.target.c_str();
  switch (s.op) {
    case RootfsOp::kMount:
    case RootfsOp::kBind: {
      CreateKind kind = CreateKind::kDirectory;
      if (s.op == RootfsOp::kBind) {
        struct stat st;
        if (::stat(s.source.c_str(), &st) < 0) return errno;
        if (!S_ISDIR(st.st_mode)) kind = CreateKind::kFile;
      }
      int fd = OpenInRoot(root_fd, target, kind);
      if (fd < 0) return -fd;
      int err = s.op == RootfsOp::kBind ? BindOnto(s, fd) : MountOnto(root_fd, s, fd);
      ::close(fd);
      return err;
    }
    case RootfsOp::kMknod:
      return MakeNode(root_fd, s);
    case RootfsOp::kSymlink:
    case RootfsOp::kUnlink: {
      const char* name = nullptr;
      const bool link = s.op == RootfsOp::kSymlink;
      int parent = OpenParentInRoot(root_fd, target, link, &name);
      if (parent == -ENOENT && !link) return 0;
      if (parent < 0) return -parent;
      int err = 0;
      if (link && ::symlinkat(s.source.c_str(), parent, name) < 0 && errno != EEXIST) err = errno;
      if (!link && ::unlinkat(parent, name, 0) < 0 && errno != ENOENT) err = errno;
      ::close(parent);
      return err;
    }
  }
  return EINVAL;
}

// A recursive read-only clone of the mount tree at `path`, attached over it (a missing path
// is skipped). mount_setattr only sets MOUNT_ATTR_RDONLY: flags the kernel locks in a user
// namespace are kept as they are.
int ReadonlyPath(int root_fd, const char* path) {
  int fd = OpenInRoot(root_fd, path, CreateKind::kNone);
  if (fd == -ENOENT) return 0;
  if (fd < 0) return -fd;
  int tree =
      ::open_tree(fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH);
  int err = tree < 0 ? errno : 0;
  struct mount_attr attr {};
  attr.attr_set = MOUNT_ATTR_RDONLY;
  if (err == 0 && ::mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0) {
    err = errno;
  }
  if (err == 0) err = AttachOnto(tree, fd);
  if (tree >= 0) ::close(tree);
  ::close(fd);
  return err;
}

// A directory gets an empty read-only tmpfs over it, anything else the container's /dev/null
// (a missing path is skipped). Both are attached onto the resolved fd with move_mount.
int MaskPath(int root_fd, const char* path) {
  int fd = OpenInRoot(root_fd, path, CreateKind::kNone);
  if (fd == -ENOENT) return 0;
  if (fd < 0) return -fd;
  struct stat st;
  int err = ::fstat(fd, &st) < 0 ? errno : 0;
  int mnt = -1;
  if (err == 0 && S_ISDIR(st.st_mode)) {
    int fs = ::fsopen("tmpfs", FSOPEN_CLOEXEC);
    if (fs < 0 || ::fsconfig(fs, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) < 0 ||
        (mnt = ::fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY)) < 0) {
      err = errno;
    }
    if (fs >= 0) ::close(fs);
  } else if (err == 0) {
    int null = OpenInRoot(root_fd, "/dev/null", CreateKind::kNone);
    if (null < 0) err = -null;
    if (err == 0 &&
        (mnt = ::open_tree(null, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH)) < 0) {
      err = errno;
    }
    if (null >= 0) ::close(null);
  }
  if (err == 0) err = AttachOnto(mnt, fd);
  if (mnt >= 0) ::close(mnt);
  ::close(fd);
  return err;
}

}  // namespace podshim::oci
