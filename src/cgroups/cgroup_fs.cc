#include "cgroups/cgroup_fs.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/quoted.h"
#include "common/sys.h"

namespace podshim::cgroups {
namespace {

bool ValidComponent(std::string_view c) {
  return !c.empty() && c != "." && c != ".." && c.find('/') == std::string_view::npos &&
         c.find('\0') == std::string_view::npos;
}

}  // namespace

Result<CgroupPath> CgroupPath::Parse(std::string_view path) {
  std::string_view p = path;
  while (p.starts_with('/')) p.remove_prefix(1);
  while (p.ends_with('/')) p.remove_suffix(1);
  size_t pos = 0;
  while (pos < p.size()) {
    size_t end = p.find('/', pos);
    if (end == std::string_view::npos) end = p.size();
    if (!ValidComponent(p.substr(pos, end - pos))) {
      return Error::Invalid("bad cgroup path " + Quoted(path) +
                            ": components must be non-empty and not \".\" or \"..\"");
    }
    pos = end + 1;
  }
  return CgroupPath(std::string(p));
}

Result<CgroupPath> CgroupPath::Child(std::string_view name) const {
  if (!ValidComponent(name)) {
    return Error::Invalid("bad cgroup name " + Quoted(name) +
                          ": must be one non-empty path component, not \".\" or \"..\"");
  }
  return CgroupPath(path_.empty() ? std::string(name) : path_ + "/" + std::string(name));
}

CgroupPath CgroupPath::Parent() const {
  size_t slash = path_.rfind('/');
  return CgroupPath(slash == std::string::npos ? std::string() : path_.substr(0, slash));
}

size_t CgroupPath::Depth() const {
  if (path_.empty()) return 0;
  size_t n = 1;
  for (char c : path_) n += c == '/';
  return n;
}

CgroupPath CgroupPath::Prefix(size_t n) const {
  if (n == 0) return CgroupPath();
  size_t pos = 0;
  for (size_t i = 0; i < n; ++i) {
    size_t slash = path_.find('/', pos);
    if (slash == std::string::npos) return *this;
    pos = slash + 1;
  }
  return CgroupPath(path_.substr(0, pos - 1));
}

Result<ControlFile> ControlFile::Parse(std::string_view name) {
  if (!ValidComponent(name)) return Error::Invalid("bad cgroup control file name " + Quoted(name));
  return ControlFile(name);
}

Result<CgroupFs> CgroupFs::Open(const std::filesystem::path& root) {
  auto fd = sys::Open(root, O_PATH | O_DIRECTORY);
  if (!fd) return std::move(fd).error().Wrap("open cgroup root");
  return CgroupFs(std::move(*fd), root);
}

std::filesystem::path CgroupFs::FullPath(const CgroupPath& cg) const {
  return cg.IsRoot() ? root_path_ : root_path_ / cg.str();
}

std::filesystem::path CgroupFs::FullPath(const CgroupPath& cg, const ControlFile& file) const {
  return FullPath(cg) / file.name();
}

Status CgroupFs::Write(const CgroupPath& cg, const ControlFile& file,
                       std::string_view value) const {
  const std::string rel = cg.RelativeForOpen() + "/" + file.name();
  int fd;
  do {
    fd = ::openat(root_fd(), rel.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return Error::Errno(errno, "open " + FullPath(cg, file).string());
  UniqueFd owned(fd);
  // One write() per value: cgroupfs handles each write as one request, so a short write would
  // be a different request. Treat it as an error rather than continue with the remainder.
  ssize_t n;
  do {
    n = ::write(owned.get(), value.data(), value.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    return Error::Errno(errno, "write " + Quoted(value) + " to " + FullPath(cg, file).string());
  }
  if (static_cast<size_t>(n) != value.size()) {
    return Error::Errno(EIO,
                        "short write of " + Quoted(value) + " to " + FullPath(cg, file).string());
  }
  return Ok();
}

Result<std::string> CgroupFs::Read(const CgroupPath& cg, const ControlFile& file) const {
  const std::string rel = cg.RelativeForOpen() + "/" + file.name();
  auto fd = sys::OpenAt(root_fd(), rel, O_RDONLY);
  if (!fd) return Error(fd.error().code(), "open " + FullPath(cg, file).string());
  auto text = sys::ReadAll(fd->get());
  if (!text) return Error(text.error().code(), "read " + FullPath(cg, file).string());
  return text;
}

Status CgroupFs::MakeDir(const CgroupPath& cg) const {
  if (::mkdirat(root_fd(), cg.RelativeForOpen().c_str(), 0755) < 0) {
    return Error::Errno(errno, "mkdir " + FullPath(cg).string());
  }
  return Ok();
}

Status CgroupFs::RemoveDir(const CgroupPath& cg) const {
  if (cg.IsRoot()) return Error::Errno(EINVAL, "refusing to remove the cgroup root");
  if (::unlinkat(root_fd(), cg.str().c_str(), AT_REMOVEDIR) < 0) {
    return Error::Errno(errno, "rmdir " + FullPath(cg).string());
  }
  return Ok();
}

Result<UniqueFd> CgroupFs::OpenDir(const CgroupPath& cg) const {
  auto fd = sys::OpenAt(root_fd(), cg.RelativeForOpen(), O_PATH | O_DIRECTORY);
  if (!fd) return Error(fd.error().code(), "open " + FullPath(cg).string());
  return fd;
}

Result<bool> CgroupFs::Exists(const CgroupPath& cg) const {
  struct stat st;
  if (::fstatat(root_fd(), cg.RelativeForOpen().c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
    if (errno == ENOENT) return false;
    return Error::Errno(errno, "stat " + FullPath(cg).string());
  }
  if (!S_ISDIR(st.st_mode)) return Error::Errno(ENOTDIR, "stat " + FullPath(cg).string());
  return true;
}

Result<bool> CgroupFs::HasFile(const CgroupPath& cg, const ControlFile& file) const {
  const std::string rel = cg.RelativeForOpen() + "/" + file.name();
  if (::faccessat(root_fd(), rel.c_str(), F_OK, AT_SYMLINK_NOFOLLOW) < 0) {
    if (errno == ENOENT) return false;
    return Error::Errno(errno, "access " + FullPath(cg, file).string());
  }
  return true;
}

}  // namespace podshim::cgroups
