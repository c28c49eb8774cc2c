// Thin syscall wrappers: retry on EINTR, close-on-exec by default, errors as Result with the
// failing call and path in the context. No policy lives here.
#pragma once

#include <fcntl.h>
#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/unique_fd.h"

namespace podshim::sys {

Result<UniqueFd> Open(const std::filesystem::path& path, int flags, mode_t mode = 0644);
Result<UniqueFd> OpenAt(int dirfd, const std::filesystem::path& path, int flags,
                        mode_t mode = 0644);
struct PipePair {
  UniqueFd read;
  UniqueFd write;
};
Result<PipePair> Pipe(int flags = O_CLOEXEC);

// Reads until EOF.
// Reads to EOF, or until max_bytes were read (a caller that must refuse bigger input asks for
// its limit + 1 and compares).
Result<std::string> ReadAll(int fd, size_t max_bytes = SIZE_MAX);
// Writes all of data, retrying short writes.
Status WriteAll(int fd, std::string_view data);

Result<std::string> ReadFile(const std::filesystem::path& path);
// Writes data to path (O_WRONLY|O_CREAT|O_TRUNC).
Status WriteFile(const std::filesystem::path& path, std::string_view data, mode_t mode = 0644);
// How far a replaced file must get before the call returns: to the disk (fsync: survives a power
// cut), or the page cache (survives a crash of the process, not of the machine; no disk wait).
enum class Sync { kToDisk, kPageCache };
// Writes to a temporary file beside path, fsyncs it (kToDisk) and renames it over path.
Status WriteFileAtomic(const std::filesystem::path& path, std::string_view data, mode_t mode = 0644,
                       Sync sync = Sync::kToDisk);
// mkdir -p; succeeds when the directory exists.
Status MakeDirs(const std::filesystem::path& path, mode_t mode = 0755);
// rm -rf that never crosses a mount point (it refuses to descend into one).
Status RemoveTree(const std::filesystem::path& path);

// pidfd syscalls (glibc 2.36 has no wrappers we can rely on everywhere).
Result<UniqueFd> PidfdOpen(pid_t pid);
Status PidfdSendSignal(int pidfd, int sig);

}  // namespace podshim::sys
