#include "shim/container_logs.h"

#include <fcntl.h>

#include "common/sys.h"
#include "common/time_format.h"

namespace podshim::shim {

std::string_view LogStreamName(LogStream stream) {
  return stream == LogStream::kStdout ? "stdout" : "stderr";
}

std::vector<LogRecord> CriLineSplitter::Feed(std::string_view data) {
  std::vector<LogRecord> out;
  while (!data.empty()) {
    size_t nl = data.find('\n');
    std::string_view piece = nl == std::string_view::npos ? data : data.substr(0, nl);
    // Cut full-size P records while the line being built exceeds the cap.
    while (buffer_.size() + piece.size() > max_line_) {
      size_t take = max_line_ - buffer_.size();
      buffer_.append(piece.substr(0, take));
      piece.remove_prefix(take);
      out.push_back({std::move(buffer_), true});
      buffer_.clear();
    }
    buffer_.append(piece);
    if (nl == std::string_view::npos) break;
    if (!buffer_.empty() && buffer_.back() == '\r') buffer_.pop_back();
    out.push_back({std::move(buffer_), false});
    buffer_.clear();
    data.remove_prefix(nl + 1);
  }
  return out;
}

std::vector<LogRecord> CriLineSplitter::Finish() {
  std::vector<LogRecord> out;
  if (!buffer_.empty()) out.push_back({std::move(buffer_), true});
  buffer_.clear();
  return out;
}

std::string FormatCriLine(std::chrono::system_clock::time_point time, LogStream stream,
                          const LogRecord& record) {
  std::string line = FormatRfc3339Nano(time);
  line += ' ';
  line += LogStreamName(stream);
  line += record.partial ? " P " : " F ";
  line += record.text;
  line += '\n';
  return line;
}

std::filesystem::path ContainerLogPath(const std::filesystem::path& log_dir,
                                       std::string_view container, int restart_count) {
  return log_dir / std::string(container) / (std::to_string(restart_count) + ".log");
}

Result<CriLogFile> CriLogFile::Open(const std::filesystem::path& path) {
  PODSHIM_TRY(sys::MakeDirs(path.parent_path()));
  UniqueFd fd = PODSHIM_TRY(sys::Open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
  return CriLogFile(std::move(fd), path);
}

Status CriLogFile::Append(std::chrono::system_clock::time_point time, LogStream stream,
                          const std::vector<LogRecord>& records) {
  if (records.empty()) return Ok();
  std::string data;
  for (const LogRecord& r : records) data += FormatCriLine(time, stream, r);
  PODSHIM_TRY_WRAP(sys::WriteAll(fd_.get(), data), "append to " + path_.string());
  return Ok();
}

}  // namespace podshim::shim
