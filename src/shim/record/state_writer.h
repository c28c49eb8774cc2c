// StateWriter: what the running shim writes to its state dir (exit records, events.jsonl,
// status.json), kept in memory while it cannot be written (a full disk) and written, in order,
// once it can: on the next write and on each Flush() (the event loop retries on a timer). The
// pod never waits for the disk. Each kind of failure is logged once, not once per write.
#pragma once

#include <array>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "shim/record/events.h"
#include "shim/record/exit_records.h"

namespace podshim::shim {

class StateWriter {
 public:
  // Both must outlive the writer.
  StateWriter(const ExitRecords& records, EventWriter& events, std::filesystem::path status_path)
      : records_(&records), events_(&events), status_path_(std::move(status_path)) {}

  // The latest exit of `container`, replacing one of it not yet written (the file holds only
  // the latest exit; the events keep every one).
  void WriteExit(const std::string& container, const ExitRecord& record);
  // Queued behind every event not yet written.
  void WriteEvent(const PodEvent& event);
  // The whole status.json; replaces one not yet written.
  void WriteStatus(std::string json);

  // Writes what is pending. Exit records go first and events and status.json wait behind them,
  // so on disk an exit is still recorded before anything reports it. True when nothing is left.
  bool Flush();
  bool pending() const;
  // What is still pending, one line each (exit records and status by name, events as the JSON
  // lines themselves): what the shim prints when it ends before the disk has room.
  std::vector<std::string> DescribePending() const;

 private:
  enum Kind { kExitRecord, kEvents, kStatus, kKinds };
  // Logs the first failure of a run of them; false.
  bool Failed(Kind kind, const Error& error);
  // Logs that writing works again after failures.
  void Recovered(Kind kind);

  const ExitRecords* records_;
  EventWriter* events_;
  std::filesystem::path status_path_;
  // At most one per container, in the order they came.
  std::vector<std::pair<std::string, ExitRecord>> exits_;
  std::optional<std::string> status_;
  std::array<bool, kKinds> failing_{};
};

}  // namespace podshim::shim
