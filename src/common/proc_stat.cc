#include "common/proc_stat.h"

#include <charconv>
#include <string>
#include <vector>

#include "common/sys.h"

namespace podshim {
namespace {

template <class T>
bool ParseNumber(std::string_view s, T& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

Result<ProcStat> ParseProcStat(std::string_view text) {
  const size_t close = text.rfind(')');
  if (close == std::string_view::npos || close + 2 > text.size()) {
    return Error::Invalid("/proc stat: no command field");
  }
  while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  // Fields from 3 on, separated by single spaces.
  std::vector<std::string_view> fields;
  std::string_view rest = text.substr(close + 2);
  while (!rest.empty() && fields.size() < 50) {
    const size_t sp = rest.find(' ');
    fields.push_back(rest.substr(0, sp));
    if (sp == std::string_view::npos) break;
    rest.remove_prefix(sp + 1);
  }
  auto field = [&](int n) { return fields[static_cast<size_t>(n - 3)]; };
  if (fields.size() < 20) return Error::Invalid("/proc stat: fewer than 22 fields");
  ProcStat st;
  if (field(3).size() != 1) return Error::Invalid("/proc stat: bad state field");
  st.state = field(3)[0];
  if (!ParseNumber(field(4), st.ppid)) return Error::Invalid("/proc stat: bad ppid field");
  if (!ParseNumber(field(22), st.start_ticks)) {
    return Error::Invalid("/proc stat: bad starttime field");
  }
  int status = 0;
  if (fields.size() >= 50 && ParseNumber(field(52), status)) st.exit_status = status;
  return st;
}

Result<std::string> ParseProcCgroupV2(std::string_view text) {
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    if (line.starts_with("0::")) return std::string(line.substr(3));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return Error::Domain(ErrorCode::kNotFound, "/proc cgroup: no cgroup v2 line");
}

Result<ProcStat> ReadProcStat(pid_t pid) {
  std::string text = PODSHIM_TRY(sys::ReadFile("/proc/" + std::to_string(pid) + "/stat"));
  return ParseProcStat(text);
}

Result<std::string> ReadProcCgroupV2(pid_t pid) {
  std::string text = PODSHIM_TRY(sys::ReadFile("/proc/" + std::to_string(pid) + "/cgroup"));
  return ParseProcCgroupV2(text);
}

}  // namespace podshim
