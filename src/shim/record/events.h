// The pod's event log: each PodEvent (supervisor_action.h; DESIGN.md "Events") becomes one JSON
// object on one line of <state-dir>/events.jsonl, appended with a single write(2) once the thing
// has happened, so a reader tailing the file sees events in order and never a half line. Lines
// that cannot be written (a full disk) wait in memory, in order and bounded, for the next try.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"
#include "shim/pod/supervisor_action.h"

namespace podshim::shim {

// The event as one JSON object, without the newline. Keys in this order: time (RFC 3339 UTC
// nanoseconds), pod, type, then container and role for container events, then the fields.
std::string EventToJsonLine(const PodEvent& event, std::string_view pod);

// What a writer keeps in memory while it cannot write: at most this many bytes of lines; beyond
// it the oldest are dropped and an EventsLost event (field `count`) takes their place.
inline constexpr size_t kMaxPendingEventBytes = 4 * 1024 * 1024;

class EventWriter {
 public:
  // Opens (creating) `path` for appending; the directory must exist. Lines already in it keep
  // their sequence numbers.
  static Result<EventWriter> Open(const std::filesystem::path& path, std::string pod,
                                  size_t max_pending_bytes = kMaxPendingEventBytes);

  // Queue() then Flush(): on an error the event stays queued.
  Status Write(const PodEvent& event);
  // Puts the event (formatted now) behind those not yet written.
  void Queue(const PodEvent& event);
  // Appends the queued events in order, each in one write, until one fails (a line written in
  // part is cut off again): that one and the rest stay queued.
  Status Flush();
  // Events queued and not yet written; events dropped from a full queue and not yet reported
  // by an EventsLost line.
  size_t pending() const { return pending_.size(); }
  uint64_t lost() const { return lost_; }
  // The queued lines (without newlines), oldest first.
  std::vector<std::string> PendingLines() const;
  const std::filesystem::path& path() const { return path_; }

  // The events written through this writer, numbered from 1 (the control API's `seq`): how many
  // there are, and at most `max_count` lines from `first_seq` on, read back from the file (only
  // their offsets are kept in memory, 8 bytes per event).
  uint64_t count() const { return offsets_.size(); }
  Result<std::vector<std::string>> ReadFrom(uint64_t first_seq, std::size_t max_count) const;

 private:
  EventWriter(UniqueFd fd, std::filesystem::path path, std::string pod, uint64_t end,
              size_t max_pending_bytes)
      : fd_(std::move(fd)),
        path_(std::move(path)),
        pod_(std::move(pod)),
        end_(end),
        max_pending_bytes_(max_pending_bytes) {}
  // Numbers the lines already in the file (from 1) and cuts off a torn last line.
  Status IndexExisting();
  // Appends `line` and its newline; on an error the file is cut back to where it was.
  Status Append(std::string_view line);

  UniqueFd fd_;
  std::filesystem::path path_;
  std::string pod_;
  uint64_t end_ = 0;               // the file's size: where the next line starts
  std::vector<uint64_t> offsets_;  // start of each line written by this writer
  size_t max_pending_bytes_;
  struct Pending {
    std::chrono::system_clock::time_point time;
    std::string line;
  };
  std::deque<Pending> pending_;  // formatted lines not yet written, oldest first
  size_t pending_bytes_ = 0;
  bool torn_ = false;  // a failed write left part of a line that could not be cut off yet
  uint64_t lost_ = 0;  // dropped from the queue since the last EventsLost line
  std::chrono::system_clock::time_point lost_time_;  // the time of the last one dropped
};

}  // namespace podshim::shim
