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

// The log file of one container instance, opened for appending (directories created).
class CriLogFile {
 public:
  static Result<CriLogFile> Open(const std::filesystem::path& path);
  // Appends the records as CRI lines stamped `time`, in one write.
  Status Append(std::chrono::system_clock::time_point time, LogStream stream,
                const std::vector<LogRecord>& records);
  const std::filesystem::path& path() const { return path_; }

 private:
  CriLogFile(UniqueFd fd, std::filesystem::path path)
      : fd_(std::move(fd)), path_(std::move(path)) {}
  UniqueFd fd_;
  std::filesystem::path path_;
};

}  // namespace podshim::shim
