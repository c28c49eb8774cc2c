// Durable exit records (DESIGN.md "Exit records", CONVENTIONS 5.1): before a container's exit is
// reported anywhere, <state-dir>/containers/<name>/exit holds its status in decimal (128+N after
// signal N) and an `oom` file beside it marks an OOM kill. Written with fsync of the file and of
// the directory, so a crash of the shim never turns a real exit into a made-up one.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string_view>

#include "common/result.h"
#include "common/sys.h"

namespace podshim::shim {

struct ExitRecord {
  int status = 0;  // exit code, or 128+N after signal N
  bool oom = false;
  bool operator==(const ExitRecord&) const = default;
};

// True when the memory.events oom_kill counter went up between `before` (read when the container
// started) and `after` (read once it exited). Unknown counters (no memory controller) never
// count as an OOM kill. Pure.
bool OomKillGrew(std::optional<uint64_t> before, std::optional<uint64_t> after);

class ExitRecords {
 public:
  // sync: kToDisk (the pod shim) fsyncs each record and its directory; kPageCache (the
  // containerd shim, whose state lives on containerd's /run) survives a crash of the shim only.
  explicit ExitRecords(std::filesystem::path state_dir, sys::Sync sync = sys::Sync::kToDisk)
      : state_dir_(std::move(state_dir)), sync_(sync) {}

  // <state-dir>/containers/<name>
  std::filesystem::path Dir(std::string_view container) const;

  // Records the latest exit of `container` durably: the `oom` marker is created or removed
  // first, then `exit` is replaced atomically, then the directory is fsynced.
  Status Write(std::string_view container, const ExitRecord& record) const;

  // The recorded exit; nullopt when there is none. A malformed file is kInvalidSpec naming it.
  Result<std::optional<ExitRecord>> Read(std::string_view container) const;

 private:
  std::filesystem::path state_dir_;
  sys::Sync sync_;
};

}  // namespace podshim::shim
