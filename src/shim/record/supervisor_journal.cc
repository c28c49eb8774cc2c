#include "shim/record/supervisor_journal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <nlohmann/json.hpp>

#include "common/quoted.h"
#include "common/sys.h"
#include "signals/signal_names.h"

namespace podshim::shim {
namespace {

using Json = nlohmann::ordered_json;
using Kind = SupervisorInput::Kind;

constexpr size_t kMaxPendingBytes = 4 * 1024 * 1024;
constexpr TerminationReason kReasons[] = {TerminationReason::kSignal, TerminationReason::kRequest,
                                          TerminationReason::kCompleted,
                                          TerminationReason::kFailed};

Error Bad(std::string_view field, std::string_view what) {
  return Error::Invalid("journal field " + Quoted(field) + ": " + std::string(what));
}

Result<int64_t> Int(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer()) return Bad(key, "must be an integer");
  return it->get<int64_t>();
}

Result<std::string> Str(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return Bad(key, "must be a string");
  return it->get<std::string>();
}

// Absent is false; anything but true or false is an error (a damaged line is refused, not
// replayed with the flag guessed).
Result<bool> Flag(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) return false;
  if (!it->is_boolean()) return Bad(key, "must be true or false");
  return it->get<bool>();
}

bool NeedsContainer(Kind k) {
  return k != Kind::kStart && k != Kind::kStopRequest && k != Kind::kDeadline;
}

}  // namespace

std::string FormatJournalLine(const JournalEntry& e) {
  const SupervisorInput& in = e.input;
  Json j;
  j["t"] = static_cast<int64_t>(e.now.time_since_epoch().count());
  j["w"] = static_cast<int64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(e.wall.time_since_epoch()).count());
  j["in"] = std::string(SupervisorInputName(in.kind));
  if (NeedsContainer(in.kind)) j["c"] = in.container;
  switch (in.kind) {
    case Kind::kStarted:
      j["pid"] = in.pid;
      j["ticks"] = in.start_ticks;
      j["leaf"] = in.leaf;
      break;
    case Kind::kStart:
      if (!in.message.empty()) j["msg"] = in.message;
      break;
    case Kind::kStartFailed:
      j["msg"] = in.message;
      break;
    case Kind::kExited:
      j["code"] = in.exit.exit_code;
      if (in.exit.signal) j["sig"] = *in.exit.signal;
      if (in.exit.oom) j["oom"] = true;
      if (in.exit.unknown) j["unknown"] = true;
      break;
    case Kind::kReadinessChanged:
    case Kind::kPostStartFinished:
      j["flag"] = in.flag;
      break;
    case Kind::kStopRequest:
      j["reason"] = std::string(TerminationReasonName(in.reason));
      [[fallthrough]];
    case Kind::kProbeKill:
      if (in.grace) j["grace"] = in.grace->count();
      break;
    default:
      break;
  }
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Result<JournalEntry> ParseJournalLine(std::string_view line) {
  Json j = Json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return Error::Invalid("not a JSON object");
  JournalEntry e;
  e.now = Clock::TimePoint(Clock::Duration(PODSHIM_TRY(Int(j, "t"))));
  e.wall = std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::nanoseconds(PODSHIM_TRY(Int(j, "w")))));
  const std::string name = PODSHIM_TRY(Str(j, "in"));
  auto kind = ParseSupervisorInputName(name);
  if (!kind) return Bad("in", "unknown input " + Quoted(name));
  SupervisorInput& in = e.input;
  in.kind = *kind;
  if (NeedsContainer(in.kind)) in.container = PODSHIM_TRY(Str(j, "c"));
  if (j.contains("grace")) {
    const int64_t g = PODSHIM_TRY(Int(j, "grace"));
    if (g < 0) return Bad("grace", "must not be negative");
    in.grace = std::chrono::seconds(g);
  }
  switch (in.kind) {
    case Kind::kStarted: {
      const int64_t pid = PODSHIM_TRY(Int(j, "pid"));
      if (pid <= 0 || pid > INT32_MAX) return Bad("pid", "out of range");
      in.pid = static_cast<pid_t>(pid);
      const int64_t ticks = PODSHIM_TRY(Int(j, "ticks"));
      if (ticks < 0) return Bad("ticks", "must not be negative");
      in.start_ticks = static_cast<uint64_t>(ticks);
      in.leaf = PODSHIM_TRY(Str(j, "leaf"));
      break;
    }
    case Kind::kStart:
      if (j.contains("msg")) in.message = PODSHIM_TRY(Str(j, "msg"));
      break;
    case Kind::kStartFailed:
      in.message = PODSHIM_TRY(Str(j, "msg"));
      break;
    case Kind::kExited: {
      const int64_t code = PODSHIM_TRY(Int(j, "code"));
      if (code < 0 || code > 255 + 128) return Bad("code", "out of range");
      in.exit.exit_code = static_cast<int>(code);
      if (j.contains("sig")) {
        const int64_t sig = PODSHIM_TRY(Int(j, "sig"));
        if (sig <= 0 || sig > 64) return Bad("sig", "out of range");
        in.exit.signal = static_cast<int>(sig);
      }
      in.exit.oom = PODSHIM_TRY(Flag(j, "oom"));
      in.exit.unknown = PODSHIM_TRY(Flag(j, "unknown"));
      break;
    }
    case Kind::kReadinessChanged:
    case Kind::kPostStartFinished:
      in.flag = PODSHIM_TRY(Flag(j, "flag"));
      break;
    case Kind::kStopRequest: {
      const std::string reason = PODSHIM_TRY(Str(j, "reason"));
      bool found = false;
      for (TerminationReason r : kReasons) {
        if (TerminationReasonName(r) == reason) {
          in.reason = r;
          found = true;
        }
      }
      if (!found) return Bad("reason", "unknown reason " + Quoted(reason));
      break;
    }
    default:
      break;
  }
  return e;
}

Result<std::vector<JournalEntry>> ReadJournal(const std::filesystem::path& path) {
  std::vector<JournalEntry> entries;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return entries;
  UniqueFd fd = PODSHIM_TRY(sys::Open(path, O_RDONLY | O_CLOEXEC));
  const Error too_large = Error::Invalid(Quoted(path.string()) + " is larger than " +
                                         std::to_string(kMaxJournalBytes) + " bytes");
  // Refused by its size before 64 MiB are read into memory; the read stays bounded as well.
  struct stat st {};
  if (::fstat(fd.get(), &st) == 0 && static_cast<uint64_t>(st.st_size) > kMaxJournalBytes) {
    return too_large;
  }
  std::string text = PODSHIM_TRY(sys::ReadAll(fd.get(), kMaxJournalBytes + 1));
  if (text.size() > kMaxJournalBytes) return too_large;
  size_t start = 0;
  size_t number = 0;
  while (start < text.size()) {
    const size_t end = text.find('\n', start);
    if (end == std::string::npos) break;  // torn last line: its input was never applied
    ++number;
    auto entry = ParseJournalLine(std::string_view(text).substr(start, end - start));
    if (!entry) {
      return entry.error().Wrapped(Quoted(path.string()) + " line " + std::to_string(number));
    }
    entries.push_back(std::move(*entry));
    start = end + 1;
  }
  return entries;
}

std::filesystem::path SupervisorJournal::PathIn(const std::filesystem::path& state_dir) {
  return state_dir / "supervisor.journal";
}

Result<SupervisorJournal> SupervisorJournal::Open(const std::filesystem::path& path,
                                                  bool truncate) {
  const int flags = O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | (truncate ? O_TRUNC : 0);
  UniqueFd fd = PODSHIM_TRY_WRAP(sys::Open(path, flags, 0600), "open the supervisor journal");
  return SupervisorJournal(std::move(fd), path);
}

Status SupervisorJournal::Append(const JournalEntry& entry) {
  if (!intact_) return Error::Domain(ErrorCode::kConflict, "the supervisor journal lost inputs");
  std::string line = FormatJournalLine(entry) + "\n";
  pending_bytes_ += line.size();
  pending_.push_back(std::move(line));
  if (pending_bytes_ > kMaxPendingBytes) {
    intact_ = false;
    pending_.clear();
    pending_bytes_ = 0;
    // Gone rather than wrong: a recovery then refuses for want of a journal (unlink needs no
    // room on the disk).
    (void)::unlink(path_.c_str());
    return Error::Domain(ErrorCode::kConflict,
                         "the supervisor journal " + Quoted(path_.string()) +
                             " could not be written for too long: a crashed shim's pod can no "
                             "longer be taken back");
  }
  return Flush();
}

Status SupervisorJournal::Flush() {
  while (!pending_.empty()) {
    const std::string& line = pending_.front();
    const off_t end = ::lseek(fd_.get(), 0, SEEK_END);
    Status written = sys::WriteAll(fd_.get(), line);
    if (!written) {
      // A part written is cut off again, so that a reader never sees half a line.
      if (end >= 0) (void)::ftruncate(fd_.get(), end);
      return written.error().Wrapped("append to " + Quoted(path_.string()));
    }
    pending_bytes_ -= line.size();
    pending_.pop_front();
  }
  return Ok();
}

}  // namespace podshim::shim
