#include "cgroups/mountinfo.h"

#include <optional>
#include <vector>

#include "common/quoted.h"
#include "common/sys.h"

namespace podshim::cgroups {
namespace {

std::vector<std::string_view> SplitSpaces(std::string_view line) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos <= line.size()) {
    size_t end = line.find(' ', pos);
    if (end == std::string_view::npos) end = line.size();
    if (end > pos) out.push_back(line.substr(pos, end - pos));
    pos = end + 1;
  }
  return out;
}

// The kernel escapes space, tab, newline and backslash in paths as \ooo (seq_file mangle_path).
std::string Unescape(std::string_view s) {
  std::string out;
  auto octal = [](char c) { return c >= '0' && c <= '7'; };
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && octal(s[i + 1]) && octal(s[i + 2]) && octal(s[i + 3])) {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
      continue;
    }
    out += s[i];
  }
  return out;
}

bool HasOption(std::string_view options, std::string_view want) {
  size_t pos = 0;
  while (pos <= options.size()) {
    size_t end = options.find(',', pos);
    if (end == std::string_view::npos) end = options.size();
    if (options.substr(pos, end - pos) == want) return true;
    pos = end + 1;
  }
  return false;
}

}  // namespace

Result<CgroupMount> FindCgroup2Mount(std::string_view mountinfo) {
  std::vector<CgroupMount> found;
  size_t line_no = 0;
  while (!mountinfo.empty()) {
    size_t nl = mountinfo.find('\n');
    std::string_view line = mountinfo.substr(0, nl);
    mountinfo = nl == std::string_view::npos ? std::string_view() : mountinfo.substr(nl + 1);
    ++line_no;
    if (line.empty()) continue;
    // id parent major:minor root mount-point mount-options [optional...] - fstype source
    // super-options
    auto f = SplitSpaces(line);
    size_t sep = 0;
    for (size_t i = 6; i < f.size(); ++i) {
      if (f[i] == "-") {
        sep = i;
        break;
      }
    }
    if (sep == 0 || sep + 3 > f.size()) {
      return Error::Invalid("mountinfo line " + std::to_string(line_no) +
                            ": expected \"... - fstype source options\", got " + Quoted(line));
    }
    if (f[sep + 1] != "cgroup2") continue;
    std::string_view super_options = sep + 3 < f.size() ? f[sep + 3] : std::string_view();
    found.push_back(CgroupMount{
        .mount_point = Unescape(f[4]),
        .root = Unescape(f[3]),
        .read_only = HasOption(f[5], "ro") || HasOption(super_options, "ro"),
    });
  }
  if (found.empty()) {
    return Error::Domain(ErrorCode::kNotFound,
                         "no cgroup2 mount in mountinfo (a cgroup v1-only host?)");
  }
  for (std::string_view preferred : {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"}) {
    for (const auto& m : found) {
      if (m.mount_point == preferred) return m;
    }
  }
  return found.front();
}

std::vector<std::string> MountPoints(std::string_view mountinfo) {
  std::vector<std::string> points;
  while (!mountinfo.empty()) {
    size_t nl = mountinfo.find('\n');
    std::string_view line = mountinfo.substr(0, nl);
    mountinfo = nl == std::string_view::npos ? std::string_view() : mountinfo.substr(nl + 1);
    auto f = SplitSpaces(line);
    if (f.size() > 4) points.push_back(Unescape(f[4]));
  }
  return points;
}

Result<CgroupMount> ReadCgroup2Mount(const std::filesystem::path& mountinfo_path) {
  auto text = sys::ReadFile(mountinfo_path);
  if (!text) return std::move(text).error();
  auto mount = FindCgroup2Mount(*text);
  if (!mount) return std::move(mount).error().Wrap(mountinfo_path.string());
  return mount;
}

}  // namespace podshim::cgroups
