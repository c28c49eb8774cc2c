// The supervisor journal, <state-dir>/supervisor.journal: every SupervisorInput the shim applied,
// one JSON object per line with the clock reading it was applied at (steady and wall, in
// nanoseconds), appended with one write(2) before the input is applied. A shim that takes the
// pod back replays it (journal_replay.h). Not fsynced: it must outlive the shim, not the host.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <filesystem>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "common/unique_fd.h"
#include "shim/pod/supervisor_input.h"

namespace podshim::shim {

// One line (without the newline) and back. Parse errors name the field that is wrong.
std::string FormatJournalLine(const JournalEntry& entry);
Result<JournalEntry> ParseJournalLine(std::string_view line);

// What a journal may hold before a recovery refuses it (bounds the work of one replay).
inline constexpr size_t kMaxJournalBytes = 64 * 1024 * 1024;

// Reads the journal at `path` (a missing file is an empty journal). A last line without its
// newline (the shim died inside the write) is left out; any other bad line is kInvalidSpec
// naming the file and line number.
Result<std::vector<JournalEntry>> ReadJournal(const std::filesystem::path& path);

class SupervisorJournal {
 public:
  // <state-dir>/supervisor.journal
  static std::filesystem::path PathIn(const std::filesystem::path& state_dir);
  // Opens `path` for appending. `truncate`: a new pod's journal starts empty.
  static Result<SupervisorJournal> Open(const std::filesystem::path& path, bool truncate);

  // Appends the entry (and whatever an earlier failure kept back). A line that cannot be
  // written waits in memory; beyond 4 MiB of them the journal is broken for good (intact()
  // false): a later recovery would rebuild a wrong state, so it is refused instead.
  Status Append(const JournalEntry& entry);
  bool intact() const { return intact_; }
  // Lines kept back by write failures.
  size_t pending() const { return pending_.size(); }

 private:
  SupervisorJournal(UniqueFd fd, std::filesystem::path path)
      : fd_(std::move(fd)), path_(std::move(path)) {}
  Status Flush();

  UniqueFd fd_;
  std::filesystem::path path_;
  std::deque<std::string> pending_;
  size_t pending_bytes_ = 0;
  bool intact_ = true;
};

}  // namespace podshim::shim
