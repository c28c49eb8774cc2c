#include "shim/record/exit_records.h"

#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <string>

#include "common/quoted.h"
#include "common/sys.h"

namespace podshim::shim {
namespace {

Status FsyncPath(const std::filesystem::path& path, int flags) {
  UniqueFd fd = PODSHIM_TRY(sys::Open(path, flags | O_CLOEXEC));
  if (::fsync(fd.get()) < 0) return Error::Errno(errno, "fsync " + path.string());
  return Ok();
}

}  // namespace

bool OomKillGrew(std::optional<uint64_t> before, std::optional<uint64_t> after) {
  if (!after) return false;
  return *after > before.value_or(0);
}

std::filesystem::path ExitRecords::Dir(std::string_view container) const {
  return state_dir_ / "containers" / std::string(container);
}

Status ExitRecords::Write(std::string_view container, const ExitRecord& record) const {
  const std::filesystem::path dir = Dir(container);
  PODSHIM_TRY(sys::MakeDirs(dir));
  const std::filesystem::path oom = dir / "oom";
  const bool had_oom = ::access(oom.c_str(), F_OK) == 0;
  if (record.oom) {
    UniqueFd fd = PODSHIM_TRY(sys::Open(oom, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (sync_ == sys::Sync::kToDisk && ::fsync(fd.get()) < 0) {
      return Error::Errno(errno, "fsync " + oom.string());
    }
  } else if (::unlink(oom.c_str()) < 0 && errno != ENOENT) {
    return Error::Errno(errno, "unlink " + oom.string());
  }
  Status written =
      sys::WriteFileAtomic(dir / "exit", std::to_string(record.status) + "\n", 0644, sync_);
  if (!written) {
    // The previous record stays (a full disk): so does its marker, as it was.
    if (had_oom && !record.oom) {
      (void)sys::Open(oom, O_WRONLY | O_CREAT, 0644);  // best effort
    } else if (!had_oom && record.oom) {
      ::unlink(oom.c_str());
    }
    return written;
  }
  if (sync_ == sys::Sync::kToDisk) PODSHIM_TRY(FsyncPath(dir, O_RDONLY | O_DIRECTORY));
  return Ok();
}

Result<std::optional<ExitRecord>> ExitRecords::Read(std::string_view container) const {
  const std::filesystem::path dir = Dir(container);
  const std::filesystem::path exit_path = dir / "exit";
  auto text = sys::ReadFile(exit_path);
  if (!text) {
    if (text.error().code() == std::errc::no_such_file_or_directory) {
      return std::optional<ExitRecord>();
    }
    return std::move(text).error();
  }
  std::string_view s = *text;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.remove_suffix(1);
  int status = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), status);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || status < 0 ||
      status > 255 + 128) {
    return Error::Invalid(exit_path.string() + ": not an exit status: " + Quoted(s));
  }
  ExitRecord record;
  record.status = status;
  record.oom = ::access((dir / "oom").c_str(), F_OK) == 0;
  return std::optional<ExitRecord>(record);
}

}  // namespace podshim::shim
