// The pod's event log: each PodEvent (supervisor_action.h; DESIGN.md "Events") becomes one JSON
// object on one line of <state-dir>/events.jsonl, appended with a single write(2) once the thing
// has happened, so a reader tailing the file sees events in order and never a half line.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

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

 private:
  EventWriter(UniqueFd fd, std::filesystem::path path, std::string pod)
      : fd_(std::move(fd)), path_(std::move(path)), pod_(std::move(pod)) {}
  UniqueFd fd_;
  std::filesystem::path path_;
  std::string pod_;
};

}  // namespace podshim::shim
