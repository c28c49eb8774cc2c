// Opens a container path under the rootfs at the moment it is used (CVE-2021-30465): every
// lookup is openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) from an O_PATH fd of the root, so
// symlinks (absolute or with "..") resolve inside the root whatever the rootfs holds by then.
// Async-signal-safe (raw syscalls, stack buffers only): the clone3 child calls it.
#pragma once

#include <cstddef>

namespace podshim::oci {

// What OpenInRoot creates where the path does not exist yet.
enum class CreateKind {
  kNone,       // nothing: a missing path is ENOENT
  kDirectory,  // missing components become directories (0755 less the umask), the last too
  kFile,       // missing parents become directories, the last an empty file (0644)
};

// Opens `path` (absolute or relative, resolved as if `root_fd` were "/") O_PATH | O_CLOEXEC,
// following symlinks inside the root, the last one too. Missing components are created through
// the fd of their resolved parent (mkdirat / openat O_CREAT|O_EXCL|O_NOFOLLOW) and the path is
// then resolved again, so a component swapped meanwhile is again resolved inside the root. A
// dangling symlink on the way is followed (its target is created, inside the root).
// Returns the fd, or -errno: ENOSYS when the kernel has no openat2 (Linux < 5.6), ELOOP after
// 40 symlinks, EAGAIN when the tree keeps changing under it, ENAMETOOLONG past PATH_MAX.
int OpenInRoot(int root_fd, const char* path, CreateKind create);

// Opens the directory holding the last component of `path` (created like kDirectory when
// `create`) and sets *name to that component, a pointer into `path`. The component must be a
// plain name (not "", "." or ".."; EINVAL otherwise). For *at(2) calls that act on the name
// itself (symlinkat, unlinkat, mknodat). Returns the fd or -errno like OpenInRoot.
int OpenParentInRoot(int root_fd, const char* path, bool create, const char** name);

// "/proc/self/fd/<fd>" into `buf`: the path through which mount(2) and chmod(2) act on what
// an O_PATH fd refers to (needs /proc mounted in the caller's root).
struct ProcFdPath {
  explicit ProcFdPath(int fd);
  const char* c_str() const { return buf; }
  char buf[32];
};

}  // namespace podshim::oci
