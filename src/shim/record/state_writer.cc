#include "shim/record/state_writer.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/sys.h"

namespace podshim::shim {
namespace {

constexpr std::array<const char*, 3> kWhat = {"exit records", "events", "status.json"};

}  // namespace

void StateWriter::WriteExit(const std::string& container, const ExitRecord& record) {
  auto it = std::find_if(exits_.begin(), exits_.end(),
                         [&](const auto& e) { return e.first == container; });
  if (it != exits_.end()) {
    it->second = record;
  } else {
    exits_.emplace_back(container, record);
  }
  (void)Flush();
}

void StateWriter::WriteEvent(const PodEvent& event) {
  events_->Queue(event);
  (void)Flush();
}

void StateWriter::WriteStatus(std::string json) {
  status_ = std::move(json);
  (void)Flush();
}

bool StateWriter::Flush() {
  while (!exits_.empty()) {
    const auto& [name, record] = exits_.front();
    Status st = records_->Write(name, record);
    if (!st) return Failed(kExitRecord, st.error().Wrapped("exit record of " + name));
    exits_.erase(exits_.begin());
  }
  Recovered(kExitRecord);
  bool ok = true;
  if (events_->pending() > 0 || events_->lost() > 0) {
    Status st = events_->Flush();
    if (st) {
      Recovered(kEvents);
    } else {
      ok = Failed(kEvents, st.error());
    }
  }
  if (status_) {
    Status st = sys::WriteFileAtomic(status_path_, *status_);
    if (st) {
      status_.reset();
      Recovered(kStatus);
    } else {
      ok = Failed(kStatus, st.error());
    }
  }
  return ok && !pending();
}

bool StateWriter::pending() const {
  return !exits_.empty() || events_->pending() > 0 || events_->lost() > 0 || status_.has_value();
}

std::vector<std::string> StateWriter::DescribePending() const {
  std::vector<std::string> out;
  for (const auto& [name, record] : exits_) {
    out.push_back("exit record of " + name + ": " + std::to_string(record.status) +
                  (record.oom ? " (OOM killed)" : ""));
  }
  if (events_->lost() > 0) {
    out.push_back(std::to_string(events_->lost()) + " events dropped from the full queue");
  }
  for (std::string& line : events_->PendingLines()) out.push_back("event: " + std::move(line));
  if (status_) out.push_back("status.json: the pod's latest status");
  return out;
}

bool StateWriter::Failed(Kind kind, const Error& error) {
  if (!std::exchange(failing_[kind], true)) {
    spdlog::error(
        "cannot write {} ({}): the pod goes on; what cannot be written is kept in memory and "
        "written once it can",
        kWhat[kind], error.ToString());
  }
  return false;
}

void StateWriter::Recovered(Kind kind) {
  if (std::exchange(failing_[kind], false)) spdlog::warn("{} written again", kWhat[kind]);
}

}  // namespace podshim::shim
