#include "shim/cli/oci_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <ctime>
#include <nlohmann/json.hpp>

#include "common/quoted.h"
#include "common/unique_fd.h"

namespace podshim::shim {
namespace {

struct LogTarget {
  std::string path;
  std::string format = "text";
};

LogTarget& Target() {
  static LogTarget target;
  return target;
}

Result<UniqueFd> OpenLog(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return Error::Errno(errno, "--log: open " + Quoted(path));
  return UniqueFd(fd);
}

// RFC 3339 in local time with seconds, as runc's logrus formatter writes it.
std::string Now() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::localtime_r(&now, &tm);
  char buf[40];
  if (tm.tm_gmtoff == 0) {
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
  }
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S%z", &tm);
  std::string s = buf;
  s.insert(s.size() - 2, ":");  // +0100 -> +01:00
  return s;
}

}  // namespace

Status ConfigureOciLog(const std::string& path, std::string_view format) {
  Target() = {};
  if (path.empty()) return Ok();
  PODSHIM_TRY(OpenLog(path));
  Target() = {path, std::string(format)};
  return Ok();
}

std::string OciLogLine(std::string_view format, std::string_view msg, std::string_view time) {
  if (format == "json") {
    nlohmann::ordered_json line = {{"level", "error"}, {"msg", msg}, {"time", time}};
    return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  }
  return "time=\"" + std::string(time) + "\" level=error msg=" + Quoted(msg) + "\n";
}

void OciLogError(std::string_view msg) {
  const LogTarget& t = Target();
  if (t.path.empty()) return;
  auto fd = OpenLog(t.path);
  if (!fd) return;
  const std::string line = OciLogLine(t.format, msg, Now());
  (void)!::write(fd->get(), line.data(), line.size());
}

}  // namespace podshim::shim
