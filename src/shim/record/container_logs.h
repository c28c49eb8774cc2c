// Container logs in the CRI format the kubelet reads (CONVENTIONS 4c):
// `<RFC3339Nano UTC> <stdout|stderr> <F|P> <text>` per line, in
// <log-dir>/<container>/<restartCount>.log. CriLineSplitter cuts a byte stream into records
// (pure); CriLogFile formats them into the file. Reading the pipes is log_pump.h's job.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"

namespace podshim::shim {

// containerd's max_container_log_line_size.
inline constexpr size_t kMaxLogLineBytes = 16 * 1024;

enum class LogStream { kStdout, kStderr };
std::string_view LogStreamName(LogStream stream);  // "stdout", "stderr"

struct LogRecord {
  std::string text;      // without the newline (and without a '\r' before it)
  bool partial = false;  // P: cut at the size cap, or unterminated at EOF
  bool operator==(const LogRecord&) const = default;
};

// Splits one stream into records as containerd's redirectLogs does: a line ending in '\n' is an
// F record; a line longer than the cap becomes P records of exactly `max_line` bytes followed by
// the rest; at EOF an unterminated remainder becomes a P record. Pure.
class CriLineSplitter {
 public:
  explicit CriLineSplitter(size_t max_line = kMaxLogLineBytes) : max_line_(max_line) {}

  // The records completed by `data`, in order. Bytes of an unfinished line are kept.
  std::vector<LogRecord> Feed(std::string_view data);
  // At EOF: the unterminated remainder as a P record (nothing if there is none).
  std::vector<LogRecord> Finish();
  size_t pending() const { return buffer_.size(); }
  // The bytes of the unfinished line (what an upgrade hands to the next image's splitter).
  const std::string& buffered() const { return buffer_; }

 private:
  size_t max_line_;
  std::string buffer_;
};

// One CRI line, with its newline.
std::string FormatCriLine(std::chrono::system_clock::time_point time, LogStream stream,
                          const LogRecord& record);

// <log_dir>/<container>/<restart_count>.log
std::filesystem::path ContainerLogPath(const std::filesystem::path& log_dir,
                                       std::string_view container, int restart_count);

// Keeps what the kubelet keeps of a container's logs, the current instance's and the previous
// one's: removes every `<n>.log` of `container` with n < current_restart_count - 1 (other
// files are left alone). A missing directory is not an error.
Status PruneContainerLogs(const std::filesystem::path& log_dir, std::string_view container,
                          int current_restart_count);

// The log file of one container instance, opened for appending (directories created). Output
// that cannot be written (a full disk) is dropped, never half-written: a torn line is cut off
// again, so the file stays a sequence of whole CRI lines.
class CriLogFile {
 public:
  static Result<CriLogFile> Open(const std::filesystem::path& path);
  // A file that could not be opened yet: every Append tries to open it first.
  static CriLogFile Unopened(std::filesystem::path path) { return CriLogFile({}, std::move(path)); }

  // Appends the records as CRI lines stamped `time`, in one write. On an error nothing of them
  // stays in the file and their bytes count as dropped.
  Status Append(std::chrono::system_clock::time_point time, LogStream stream,
                const std::vector<LogRecord>& records);
  // Append, reporting to the shim's log once per run of failures (when output starts being
  // dropped, and how much was dropped once it is written again), not once per line.
  void AppendOrDrop(std::chrono::system_clock::time_point time, LogStream stream,
                    const std::vector<LogRecord>& records);
  const std::filesystem::path& path() const { return path_; }
  bool is_open() const { return fd_.valid(); }
  uint64_t dropped_bytes() const { return dropped_bytes_; }

 private:
  CriLogFile(UniqueFd fd, std::filesystem::path path, uint64_t size = 0)
      : fd_(std::move(fd)), path_(std::move(path)), size_(size) {}
  UniqueFd fd_;
  std::filesystem::path path_;
  uint64_t size_ = 0;           // what the file holds: a failed append is cut back to it
  uint64_t dropped_bytes_ = 0;  // in total
  uint64_t dropped_since_reported_ = 0;
  bool failing_ = false;  // the last append failed (reported once)
};

}  // namespace podshim::shim
