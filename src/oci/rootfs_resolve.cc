#include "oci/rootfs_resolve.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

// Runs in the clone3 child: raw syscalls and stack buffers only (no malloc, no std::string).
namespace podshim::oci {
namespace {

constexpr uint64_t kInRoot = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
constexpr int kMaxLinks = 40;     // as the kernel's own limit (MAXSYMLINKS)
constexpr int kMaxRounds = 4096;  // created components + followed links + lost races
constexpr int kMaxRetries = 128;  // EAGAIN: a rename or mount raced a ".." of the lookup

size_t Len(const char* s) {
  size_t n = 0;
  while (s[n]) ++n;
  return n;
}

// openat2 relative to root_fd with the root confinement; -errno on failure. EAGAIN is what
// RESOLVE_IN_ROOT returns when it could not rule out an escape through ".." while the tree
// changed: retry a bounded number of times.
int Openat2(int dir_fd, const char* path, uint64_t flags, uint64_t resolve) {
  struct open_how how {};
  how.flags = flags;
  how.resolve = resolve;
  for (int tries = 0;; ++tries) {
    long fd = ::syscall(SYS_openat2, dir_fd, path, &how, sizeof how);
    if (fd >= 0) return static_cast<int>(fd);
    if ((errno == EAGAIN || errno == EINTR) && tries < kMaxRetries) continue;
    return -errno;
  }
}

int OpenPath(int root_fd, const char* path) {
  return Openat2(root_fd, path, O_PATH | O_CLOEXEC, kInRoot);
}

bool IsDots(const char* s, size_t n) {
  return n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.');
}

// path := path[0, start) + link + path[end, ...), or link + path[end, ...) for an absolute link
// (RESOLVE_IN_ROOT reads it from the root). In place; -ENAMETOOLONG when it does not fit.
int SpliceLink(char (&path)[PATH_MAX], size_t start, size_t end, const char* link, size_t n) {
  char out[PATH_MAX];
  size_t len = 0;
  auto put = [&](const char* s, size_t k) {
    if (len + k >= sizeof out) return false;
    for (size_t i = 0; i < k; ++i) out[len++] = s[i];
    return true;
  };
  const bool absolute = n > 0 && link[0] == '/';
  if (!absolute && !put(path, start)) return -ENAMETOOLONG;
  if (!put(link, n)) return -ENAMETOOLONG;
  if (!put(path + end, Len(path + end))) return -ENAMETOOLONG;
  for (size_t i = 0; i < len; ++i) path[i] = out[i];
  path[len] = '\0';
  return 0;
}

// One step towards a missing path: walks its prefixes from the root, and at the first one
// that does not exist creates that component in the fd of its (resolved) parent. A dangling
// symlink there is spliced into `path` instead. 0 when the caller should resolve again.
int CreateFirstMissing(int root_fd, char (&path)[PATH_MAX], CreateKind create, int& links) {
  int parent = OpenPath(root_fd, "/");
  if (parent < 0) return parent;
  size_t i = 0;
  for (;;) {
    while (path[i] == '/') ++i;
    if (path[i] == '\0') break;  // all there now: someone raced us; resolve again
    const size_t start = i;
    while (path[i] != '\0' && path[i] != '/') ++i;
    const size_t end = i;
    const char saved = path[end];
    path[end] = '\0';
    int fd = OpenPath(root_fd, path);
    path[end] = saved;
    if (fd >= 0) {
      ::close(parent);
      parent = fd;
      continue;
    }
    if (fd != -ENOENT || IsDots(path + start, end - start)) {
      ::close(parent);
      return fd;
    }
    char name[NAME_MAX + 1];
    if (end - start > NAME_MAX) {
      ::close(parent);
      return -ENAMETOOLONG;
    }
    for (size_t k = start; k < end; ++k) name[k - start] = path[k];
    name[end - start] = '\0';
    size_t rest = end;
    while (path[rest] == '/') ++rest;
    const bool last = path[rest] == '\0';
    int rc;
    if (last && create == CreateKind::kFile) {
      int made = ::openat(parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
      rc = made < 0 ? -1 : 0;
      if (made >= 0) ::close(made);
    } else {
      rc = ::mkdirat(parent, name, 0755);
    }
    int err = rc < 0 ? errno : 0;
    if (err == EEXIST) {
      // A dangling symlink (or a racing creator): follow the link's text, still in the root.
      char link[PATH_MAX];
      ssize_t n = ::readlinkat(parent, name, link, sizeof link - 1);
      if (n >= 0) {
        err = ++links > kMaxLinks ? ELOOP : 0;
        if (err == 0) {
          int spliced = SpliceLink(path, start, end, link, static_cast<size_t>(n));
          err = spliced < 0 ? -spliced : 0;
        }
      } else {
        err = 0;  // not a link: it exists now, resolve again
      }
    }
    ::close(parent);
    return -err;
  }
  ::close(parent);
  return 0;
}

}  // namespace

int OpenInRoot(int root_fd, const char* in, CreateKind create) {
  char path[PATH_MAX];
  const size_t n = Len(in);
  if (n >= sizeof path) return -ENAMETOOLONG;
  for (size_t i = 0; i <= n; ++i) path[i] = in[i];
  int links = 0;
  for (int round = 0; round < kMaxRounds; ++round) {
    int fd = OpenPath(root_fd, path[0] ? path : "/");
    if (fd >= 0 || fd != -ENOENT || create == CreateKind::kNone) return fd;
    if (int e = CreateFirstMissing(root_fd, path, create, links); e < 0) return e;
  }
  return -EAGAIN;
}

int OpenParentInRoot(int root_fd, const char* path, bool create, const char** name) {
  char parent[PATH_MAX];
  size_t n = Len(path);
  if (n >= sizeof parent) return -ENAMETOOLONG;
  while (n > 0 && path[n - 1] == '/') --n;
  size_t slash = n;
  while (slash > 0 && path[slash - 1] != '/') --slash;
  if (path[n] != '\0' || IsDots(path + slash, n - slash)) return -EINVAL;
  for (size_t i = 0; i < slash; ++i) parent[i] = path[i];
  parent[slash] = '\0';
  *name = path + slash;
  return OpenInRoot(root_fd, slash == 0 ? "/" : parent,
                    create ? CreateKind::kDirectory : CreateKind::kNone);
}

ProcFdPath::ProcFdPath(int fd) {
  const char prefix[] = "/proc/self/fd/";
  size_t n = 0;
  for (; prefix[n]; ++n) buf[n] = prefix[n];
  char digits[16];
  size_t d = 0;
  for (unsigned v = static_cast<unsigned>(fd); v > 0 || d == 0; v /= 10) {
    digits[d++] = static_cast<char>('0' + v % 10);
  }
  while (d > 0) buf[n++] = digits[--d];
  buf[n] = '\0';
}

}  // namespace podshim::oci
