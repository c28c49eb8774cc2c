#include "shim/record/shim_lock.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "common/quoted.h"
#include "common/sys.h"

namespace podshim::shim {
namespace {

constexpr char kLockFile[] = "podshim.lock";

flock WholeFile(short type) {
  flock lk{};
  lk.l_type = type;
  lk.l_whence = SEEK_SET;
  lk.l_start = 0;
  lk.l_len = 0;
  return lk;
}

}  // namespace

std::string FormatShimClaim(const ShimClaim& claim) {
  nlohmann::ordered_json j;
  j["pid"] = claim.pid;
  j["cgroup"] = claim.cgroup.string();
  j["cgroupInode"] = claim.cgroup_inode;
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

std::optional<ShimClaim> ParseShimClaim(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return std::nullopt;
  auto pid = j.find("pid");
  auto cgroup = j.find("cgroup");
  auto inode = j.find("cgroupInode");
  if (pid == j.end() || !pid->is_number_integer() || cgroup == j.end() || !cgroup->is_string() ||
      inode == j.end() || !inode->is_number_unsigned()) {
    return std::nullopt;
  }
  ShimClaim c;
  c.pid = pid->get<pid_t>();
  c.cgroup = cgroup->get<std::string>();
  c.cgroup_inode = inode->get<uint64_t>();
  if (!c.cgroup.is_absolute()) return std::nullopt;
  return c;
}

Result<ShimLock> ShimLock::Acquire(const std::filesystem::path& state_dir) {
  const std::filesystem::path path = ShimLockPath(state_dir);
  UniqueFd fd = PODSHIM_TRY(sys::Open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  flock lk = WholeFile(F_WRLCK);
  int rc;
  do {
    rc = ::fcntl(fd.get(), F_OFD_SETLK, &lk);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0 && (errno == EAGAIN || errno == EACCES)) {
    return Error::Domain(ErrorCode::kConflict, "a shim already runs for state dir " +
                                                   Quoted(state_dir.string()) + ": it holds " +
                                                   Quoted(path.string()));
  }
  if (rc < 0) return Error::Errno(errno, "lock " + Quoted(path.string()));
  std::string text = PODSHIM_TRY(sys::ReadAll(fd.get()));
  return ShimLock(std::move(fd), ParseShimClaim(text));
}

Result<ShimLock> ShimLock::Adopt(UniqueFd fd, const std::filesystem::path& state_dir) {
  const std::filesystem::path path = ShimLockPath(state_dir);
  struct stat have {
  }, want{};
  if (::fstat(fd.get(), &have) != 0) return Error::Errno(errno, "handed-over lock fd");
  if (::lstat(path.c_str(), &want) != 0)
    return Error::Errno(errno, "stat " + Quoted(path.string()));
  if (have.st_dev != want.st_dev || have.st_ino != want.st_ino || !S_ISREG(have.st_mode)) {
    return Error::Invalid("handed-over lock fd " + std::to_string(fd.get()) + " is not " +
                          Quoted(path.string()));
  }
  flock lk = WholeFile(F_WRLCK);
  int rc;
  do {
    rc = ::fcntl(fd.get(), F_OFD_SETLK, &lk);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) {
    return Error::Domain(ErrorCode::kConflict, "the handed-over fd does not hold the lock on " +
                                                   Quoted(path.string()) + ": " +
                                                   std::strerror(errno));
  }
  // The offset is wherever the image before left it.
  if (::lseek(fd.get(), 0, SEEK_SET) < 0) return Error::Errno(errno, "seek the shim lock file");
  std::string text = PODSHIM_TRY(sys::ReadAll(fd.get()));
  return ShimLock(std::move(fd), ParseShimClaim(text));
}

Status ShimLock::Replace(const std::string& text) {
  // Rewritten in place: a new file renamed over it would be a different file, unlocked.
  if (::ftruncate(fd_.get(), 0) < 0) return Error::Errno(errno, "truncate the shim lock file");
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n =
        ::pwrite(fd_.get(), text.data() + done, text.size() - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::Errno(errno, "write the shim lock file");
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd_.get()) < 0) return Error::Errno(errno, "fsync the shim lock file");
  return Ok();
}

Status ShimLock::Record(const ShimClaim& claim) { return Replace(FormatShimClaim(claim)); }

Status ShimLock::Clear() { return Replace(""); }

std::filesystem::path ShimLockPath(const std::filesystem::path& state_dir) {
  return state_dir / kLockFile;
}

Result<bool> ShimHoldsLock(const std::filesystem::path& state_dir) {
  const std::filesystem::path path = ShimLockPath(state_dir);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd && errno == ENOENT) return false;
  if (!fd) return Error::Errno(errno, "open " + Quoted(path.string()));
  // A read-only fd can ask about a write lock: F_OFD_GETLK reports a conflicting one.
  flock lk = WholeFile(F_WRLCK);
  if (::fcntl(fd.get(), F_OFD_GETLK, &lk) < 0) {
    return Error::Errno(errno, "check the lock on " + Quoted(path.string()));
  }
  return lk.l_type != F_UNLCK;
}

}  // namespace podshim::shim
