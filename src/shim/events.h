// The pod's event log: each PodEvent (supervisor_action.h; DESIGN.md "Events") becomes one JSON
// object on one line of <state-dir>/events.jsonl, appended with a single write(2) once the thing
// has happened, so a reader tailing the file sees events in order and never a half line.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"
#include "shim/supervisor_action.h"

namespace podshim::shim {

// The event as one JSON object, without the newline. Keys in this order: time (RFC 3339 UTC
// nanoseconds), pod, type, then container and role for container events, then the fields.
std::string EventToJsonLine(const PodEvent& event, std::string_view pod);

class EventWriter {
 public:
  // Opens (creating) `path` for appending; the directory must exist.
  static Result<EventWriter> Open(const std::filesystem::path& path, std::string pod);

  // Appends the event and its newline in one write; nothing is buffered in the process.
  Status Write(const PodEvent& event);
  const std::filesystem::path& path() const { return path_; }

  // The events written through this writer, numbered from 1 (the control API's `seq`): how many
  // there are, and at most `max_count` lines from `first_seq` on, read back from the file (only
  // their offsets are kept in memory, 8 bytes per event).
  uint64_t count() const { return offsets_.size(); }
  Result<std::vector<std::string>> ReadFrom(uint64_t first_seq, std::size_t max_count) const;

 private:
  EventWriter(UniqueFd fd, std::filesystem::path path, std::string pod, uint64_t end)
      : fd_(std::move(fd)), path_(std::move(path)), pod_(std::move(pod)), end_(end) {}
  UniqueFd fd_;
  std::filesystem::path path_;
  std::string pod_;
  uint64_t end_ = 0;               // the file's size: where the next line starts
  std::vector<uint64_t> offsets_;  // start of each line written by this writer
};

}  // namespace podshim::shim
