#include "shim/record/events.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <type_traits>
#include <variant>

#include "common/sys.h"
#include "common/time_format.h"

namespace podshim::shim {
namespace {

nlohmann::ordered_json ToJson(const EventValue& value) {
  return std::visit(
      [](const auto& v) -> nlohmann::ordered_json {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::nullptr_t>) {
          return nullptr;
        } else {
          return v;
        }
      },
      value);
}

}  // namespace

std::string EventToJsonLine(const PodEvent& event, std::string_view pod) {
  nlohmann::ordered_json j;
  j["time"] = FormatRfc3339Nano(event.time);
  j["pod"] = std::string(pod);
  j["type"] = event.type;
  if (!event.container.empty()) j["container"] = event.container;
  if (event.role) j["role"] = std::string(ContainerRoleName(*event.role));
  for (const EventField& f : event.fields) j[f.key] = ToJson(f.value);
  // Replace invalid UTF-8 (a message quoting container output) instead of throwing.
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

Result<EventWriter> EventWriter::Open(const std::filesystem::path& path, std::string pod,
                                      size_t max_pending_bytes) {
  UniqueFd fd = PODSHIM_TRY(sys::Open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return Error::Errno(errno, "stat " + path.string());
  EventWriter w(std::move(fd), path, std::move(pod), static_cast<uint64_t>(st.st_size),
                max_pending_bytes);
  // Lines already there (a shim taking over a pod goes on in its file) keep their numbers.
  if (st.st_size > 0) PODSHIM_TRY(w.IndexExisting());
  return w;
}

Status EventWriter::IndexExisting() {
  uint64_t line_start = 0;
  std::string buf(64 * 1024, '\0');
  for (uint64_t pos = 0; pos < end_;) {
    const ssize_t n = ::pread(fd_.get(), buf.data(), buf.size(), static_cast<off_t>(pos));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::Errno(errno, "read " + path_.string());
    if (n == 0) break;
    for (ssize_t i = 0; i < n; ++i) {
      if (buf[static_cast<size_t>(i)] != '\n') continue;
      offsets_.push_back(line_start);
      line_start = pos + static_cast<uint64_t>(i) + 1;
    }
    pos += static_cast<uint64_t>(n);
  }
  // A torn last line (a shim died inside its write) is cut off: the next line starts clean.
  if (line_start < end_) {
    if (::ftruncate(fd_.get(), static_cast<off_t>(line_start)) != 0) {
      return Error::Errno(errno, "cut the torn last line of " + path_.string());
    }
    end_ = line_start;
  }
  return Ok();
}

Status EventWriter::Write(const PodEvent& event) {
  Queue(event);
  return Flush();
}

void EventWriter::Queue(const PodEvent& event) {
  std::string line = EventToJsonLine(event, pod_);
  pending_bytes_ += line.size();
  pending_.push_back({event.time, std::move(line)});
  // The newest events are kept: the last thing that happened to the pod matters most.
  while (pending_bytes_ > max_pending_bytes_ && !pending_.empty()) {
    pending_bytes_ -= pending_.front().line.size();
    lost_time_ = pending_.front().time;
    pending_.pop_front();
    ++lost_;
  }
}

Status EventWriter::Flush() {
  if (lost_ > 0) {
    // Where the dropped events were: a reader sees that some are missing, and how many.
    PodEvent e;
    e.type = "EventsLost";
    e.time = lost_time_;
    e.fields = {{"count", static_cast<int64_t>(lost_)}};
    PODSHIM_TRY(Append(EventToJsonLine(e, pod_)));
    lost_ = 0;
  }
  while (!pending_.empty()) {
    PODSHIM_TRY(Append(pending_.front().line));
    pending_bytes_ -= pending_.front().line.size();
    pending_.pop_front();
  }
  return Ok();
}

std::vector<std::string> EventWriter::PendingLines() const {
  std::vector<std::string> out;
  out.reserve(pending_.size());
  for (const Pending& p : pending_) out.push_back(p.line);
  return out;
}

Status EventWriter::Append(std::string_view line) {
  if (torn_) {
    if (::ftruncate(fd_.get(), static_cast<off_t>(end_)) < 0) {
      return Error::Errno(errno, "cut a partly written line off " + path_.string());
    }
    torn_ = false;
  }
  std::string data(line);
  data += '\n';
  Status st = sys::WriteAll(fd_.get(), data);
  if (!st) {
    // Part of the line may be in the file (the disk filled up in the middle): cut it off, so the
    // file never holds half a line. Truncating frees space, so this works on a full disk; if it
    // fails all the same, it is done before the next line.
    torn_ = ::ftruncate(fd_.get(), static_cast<off_t>(end_)) < 0;
    return std::move(st).error().Wrap("append to " + path_.string());
  }
  offsets_.push_back(end_);
  end_ += data.size();
  return Ok();
}

Result<std::vector<std::string>> EventWriter::ReadFrom(uint64_t first_seq,
                                                       std::size_t max_count) const {
  std::vector<std::string> lines;
  if (first_seq == 0) first_seq = 1;
  if (first_seq > offsets_.size() || max_count == 0) return lines;
  const uint64_t first = first_seq - 1;
  const uint64_t last = std::min<uint64_t>(offsets_.size(), first + max_count);  // exclusive
  const uint64_t begin = offsets_[first];
  const uint64_t end = last < offsets_.size() ? offsets_[last] : end_;
  std::string text(end - begin, '\0');
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::pread(fd_.get(), text.data() + done, text.size() - done,
                        static_cast<off_t>(begin + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::Errno(errno, "read " + path_.string());
    if (n == 0) return Error::Errno(EIO, path_.string() + ": shorter than written");
    done += static_cast<size_t>(n);
  }
  lines.reserve(last - first);
  for (uint64_t i = first; i < last; ++i) {
    const uint64_t from = offsets_[i] - begin;
    const uint64_t to = (i + 1 < offsets_.size() ? offsets_[i + 1] : end_) - begin - 1;  // no \n
    lines.emplace_back(text.substr(from, to - from));
  }
  return lines;
}

}  // namespace podshim::shim
