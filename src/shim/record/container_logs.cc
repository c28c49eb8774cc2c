#include "shim/record/container_logs.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <utility>

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

Status PruneContainerLogs(const std::filesystem::path& log_dir, std::string_view container,
                          int current_restart_count) {
  const std::filesystem::path dir = log_dir / std::string(container);
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec == std::errc::no_such_file_or_directory) return Ok();
  if (ec) return Error(ec, "list " + dir.string());
  for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!name.ends_with(".log")) continue;
    std::string_view digits(name.data(), name.size() - 4);
    int n = 0;
    auto [end, parse_ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (digits.empty() || parse_ec != std::errc() || end != digits.data() + digits.size()) {
      continue;  // not one of ours
    }
    if (n >= current_restart_count - 1) continue;
    if (::unlink(it->path().c_str()) < 0 && errno != ENOENT) {
      return Error::Errno(errno, "remove " + it->path().string());
    }
  }
  if (ec) return Error(ec, "list " + dir.string());
  return Ok();
}

Result<CriLogFile> CriLogFile::Open(const std::filesystem::path& path) {
  PODSHIM_TRY(sys::MakeDirs(path.parent_path()));
  UniqueFd fd = PODSHIM_TRY(sys::Open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return Error::Errno(errno, "stat " + path.string());
  return CriLogFile(std::move(fd), path, static_cast<uint64_t>(st.st_size));
}

Status CriLogFile::Append(std::chrono::system_clock::time_point time, LogStream stream,
                          const std::vector<LogRecord>& records) {
  if (records.empty()) return Ok();
  std::string data;
  for (const LogRecord& r : records) data += FormatCriLine(time, stream, r);
  if (!fd_) {
    auto opened = Open(path_);
    if (!opened) {
      dropped_bytes_ += data.size();
      dropped_since_reported_ += data.size();
      return std::move(opened).error();
    }
    fd_ = std::move(opened->fd_);
    size_ = opened->size_;
  }
  Status written = sys::WriteAll(fd_.get(), data);
  if (!written) {
    // Part of it may be in the file (a disk that filled up in the middle): cut it off again.
    // Truncating frees space, so it works on a full disk.
    (void)::ftruncate(fd_.get(), static_cast<off_t>(size_));
    dropped_bytes_ += data.size();
    dropped_since_reported_ += data.size();
    return std::move(written).error().Wrap("append to " + path_.string());
  }
  size_ += data.size();
  return Ok();
}

void CriLogFile::AppendOrDrop(std::chrono::system_clock::time_point time, LogStream stream,
                              const std::vector<LogRecord>& records) {
  Status st = Append(time, stream, records);
  if (!st) {
    if (!std::exchange(failing_, true)) {
      spdlog::error("container log: {}; dropping the container's output until it can be written",
                    st.error().ToString());
    }
    return;
  }
  if (failing_ && !records.empty()) {
    failing_ = false;
    spdlog::warn("container log {}: written again; {} bytes of output were dropped", path_.string(),
                 std::exchange(dropped_since_reported_, 0));
  }
}

}  // namespace podshim::shim
