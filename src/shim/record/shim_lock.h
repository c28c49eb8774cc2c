// ShimLock: the live shim's claim on its state dir. <state-dir>/podshim.lock carries a write
// lock (an open-file-description lock, F_OFD_SETLK) for the shim's whole life, so a second shim
// on the state dir is refused and a dead one is known for sure (the kernel drops the lock when it
// dies, whatever killed it). The file says which pod cgroup the holder made (path and inode, as
// JSON) until it removed it, so the next holder finds a dead shim's pod and can stop it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "common/result.h"
#include "common/unique_fd.h"

namespace podshim::shim {

// What a shim writes into its lock file once its pod cgroup exists.
struct ShimClaim {
  pid_t pid = 0;
  std::filesystem::path cgroup;  // absolute path of the pod cgroup
  uint64_t cgroup_inode = 0;     // its inode (the cgroup id: never reused while the host runs)
  bool operator==(const ShimClaim&) const = default;
};

// The lock file's text for `claim` (one JSON object) and back; nullopt for anything else
// (empty: the holder ended cleanly).
std::string FormatShimClaim(const ShimClaim& claim);
std::optional<ShimClaim> ParseShimClaim(const std::string& text);

class ShimLock {
 public:
  // Creates <state_dir>/podshim.lock if missing and locks it (close-on-exec: no container holds
  // it). Error kConflict when another live process holds it.
  static Result<ShimLock> Acquire(const std::filesystem::path& state_dir);

  // Takes `fd`, the lock an image before this one of the same process held (handed over by an
  // upgrade in place), after checking that it is <state_dir>/podshim.lock (same file) and that
  // this open file description holds its lock (relocking it succeeds; another holder's lock would
  // conflict). previous() is the claim in the file: this same process's.
  static Result<ShimLock> Adopt(UniqueFd fd, const std::filesystem::path& state_dir);

  // The lock file's fd (what an upgrade hands over).
  int fd() const { return fd_.get(); }

  // The claim the previous holder left: it died while its pod cgroup existed.
  const std::optional<ShimClaim>& previous() const { return previous_; }

  // Replaces the file's content with `claim` (or nothing), durably (fsync).
  Status Record(const ShimClaim& claim);
  Status Clear();

 private:
  ShimLock(UniqueFd fd, std::optional<ShimClaim> previous)
      : fd_(std::move(fd)), previous_(std::move(previous)) {}
  Status Replace(const std::string& text);

  UniqueFd fd_;
  std::optional<ShimClaim> previous_;
};

// <state_dir>/podshim.lock.
std::filesystem::path ShimLockPath(const std::filesystem::path& state_dir);

// True when a live process holds <state_dir>/podshim.lock (its shim runs); false when none does
// (the shim is gone, or the file is missing). Takes no lock itself (F_OFD_GETLK).
Result<bool> ShimHoldsLock(const std::filesystem::path& state_dir);

}  // namespace podshim::shim
