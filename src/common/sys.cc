#include "common/sys.h"

#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <csignal>
#include <cstring>

namespace podshim::sys {

Result<UniqueFd> Open(const std::filesystem::path& path, int flags, mode_t mode) {
  return OpenAt(AT_FDCWD, path, flags, mode);
}

Result<UniqueFd> OpenAt(int dirfd, const std::filesystem::path& path, int flags, mode_t mode) {
  int fd;
  do {
    fd = ::openat(dirfd, path.c_str(), flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return Error::Errno(errno, "open " + path.string());
  return UniqueFd(fd);
}

Result<PipePair> Pipe(int flags) {
  int fds[2];
  if (::pipe2(fds, flags | O_CLOEXEC) < 0) return Error::Errno(errno, "pipe2");
  return PipePair{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

Result<std::string> ReadAll(int fd, size_t max_bytes) {
  std::string out;
  char buf[8192];
  while (out.size() < max_bytes) {
    ssize_t n = ::read(fd, buf, std::min(sizeof buf, max_bytes - out.size()));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::Errno(errno, "read");
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

Status WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::Errno(errno, "write");
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Ok();
}

Result<std::string> ReadFile(const std::filesystem::path& path) {
  UniqueFd fd = PODSHIM_TRY(Open(path, O_RDONLY));
  auto r = ReadAll(fd.get());
  if (!r) return std::move(r).error().Wrap(path.string());
  return r;
}

Status WriteFile(const std::filesystem::path& path, std::string_view data, mode_t mode) {
  UniqueFd fd = PODSHIM_TRY(Open(path, O_WRONLY | O_CREAT | O_TRUNC, mode));
  auto r = WriteAll(fd.get(), data);
  if (!r) return std::move(r).error().Wrap(path.string());
  return Ok();
}

Status WriteFileAtomic(const std::filesystem::path& path, std::string_view data, mode_t mode,
                       Sync sync) {
  std::filesystem::path tmp = path;
  tmp += ".tmp";
  {
    UniqueFd fd = PODSHIM_TRY(Open(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode));
    // A failed write (a full disk) leaves no temporary file behind.
    auto w = WriteAll(fd.get(), data);
    if (!w) {
      ::unlink(tmp.c_str());
      return std::move(w).error().Wrap(tmp.string());
    }
    if (sync == Sync::kToDisk && ::fsync(fd.get()) < 0) {
      int err = errno;
      ::unlink(tmp.c_str());
      return Error::Errno(err, "fsync " + tmp.string());
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) < 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return Error::Errno(err, "rename " + tmp.string() + " to " + path.string());
  }
  return Ok();
}

Status MakeDirs(const std::filesystem::path& path, mode_t mode) {
  std::filesystem::path cur;
  for (const auto& part : path) {
    cur /= part;
    if (cur == "/" || part.empty()) continue;
    if (::mkdir(cur.c_str(), mode) < 0 && errno != EEXIST) {
      return Error::Errno(errno, "mkdir " + cur.string());
    }
  }
  return Ok();
}

namespace {

Status RemoveTreeAt(int parent_fd, const char* name, dev_t root_dev) {
  struct stat st;
  if (::fstatat(parent_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
    if (errno == ENOENT) return Ok();
    return Error::Errno(errno, std::string("stat ") + name);
  }
  if (!S_ISDIR(st.st_mode)) {
    if (::unlinkat(parent_fd, name, 0) < 0 && errno != ENOENT) {
      return Error::Errno(errno, std::string("unlink ") + name);
    }
    return Ok();
  }
  if (st.st_dev != root_dev) {
    return Error::Errno(EBUSY, std::string("refusing to remove mount point ") + name);
  }
  int fd = ::openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return Error::Errno(errno, std::string("open ") + name);
  DIR* dir = ::fdopendir(fd);
  if (!dir) {
    int err = errno;
    ::close(fd);
    return Error::Errno(err, std::string("opendir ") + name);
  }
  Status status = Ok();
  while (struct dirent* e = ::readdir(dir)) {
    if (!std::strcmp(e->d_name, ".") || !std::strcmp(e->d_name, "..")) continue;
    status = RemoveTreeAt(::dirfd(dir), e->d_name, root_dev);
    if (!status) break;
  }
  ::closedir(dir);
  if (!status) return status;
  if (::unlinkat(parent_fd, name, AT_REMOVEDIR) < 0 && errno != ENOENT) {
    return Error::Errno(errno, std::string("rmdir ") + name);
  }
  return Ok();
}

}  // namespace

Status RemoveTree(const std::filesystem::path& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) < 0) {
    if (errno == ENOENT) return Ok();
    return Error::Errno(errno, "stat " + path.string());
  }
  auto r = RemoveTreeAt(AT_FDCWD, path.c_str(), st.st_dev);
  if (!r) return std::move(r).error().Wrap("remove " + path.string());
  return Ok();
}

Result<UniqueFd> PidfdOpen(pid_t pid) {
  int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) return Error::Errno(errno, "pidfd_open " + std::to_string(pid));
  return UniqueFd(fd);
}

Status PidfdSendSignal(int pidfd, int sig) {
  if (::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0) < 0) {
    return Error::Errno(errno, "pidfd_send_signal");
  }
  return Ok();
}

}  // namespace podshim::sys
