#include "cgroups/stat_files.h"

#include <charconv>

#include "cgroups/control_files.h"
#include "common/quoted.h"

namespace podshim::cgroups {
namespace {

std::optional<uint64_t> ToU64(std::string_view s) {
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

// "8:16" -> {8, 16}.
std::optional<std::pair<uint64_t, uint64_t>> ParseDevice(std::string_view device) {
  const size_t colon = device.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  auto major = ToU64(device.substr(0, colon));
  auto minor = ToU64(device.substr(colon + 1));
  if (!major || !minor) return std::nullopt;
  return std::pair{*major, *minor};
}

uint64_t* FieldOf(IoStatEntry& e, std::string_view key) {
  if (key == "rbytes") return &e.rbytes;
  if (key == "wbytes") return &e.wbytes;
  if (key == "rios") return &e.rios;
  if (key == "wios") return &e.wios;
  if (key == "dbytes") return &e.dbytes;
  if (key == "dios") return &e.dios;
  return nullptr;
}

Result<IoStatEntry> ParseIoStatLine(std::string_view line) {
  IoStatEntry entry;
  bool first = true;
  size_t pos = 0;
  while (pos < line.size()) {
    pos = line.find_first_not_of(" \t", pos);
    if (pos == std::string_view::npos) break;
    size_t end = line.find_first_of(" \t", pos);
    if (end == std::string_view::npos) end = line.size();
    const std::string_view token = line.substr(pos, end - pos);
    pos = end;
    if (first) {
      auto device = ParseDevice(token);
      if (!device) return Error::Invalid("expected a device \"MAJ:MIN\", got " + Quoted(token));
      entry.major = device->first;
      entry.minor = device->second;
      first = false;
      continue;
    }
    const size_t eq = token.find('=');
    const std::string_view key = token.substr(0, eq);
    uint64_t* field = eq == std::string_view::npos ? nullptr : FieldOf(entry, key);
    if (!field) continue;  // a key podshim does not report
    auto value = ToU64(token.substr(eq + 1));
    if (!value) return Error::Invalid("expected a number in " + Quoted(token));
    *field = *value;
  }
  return entry;
}

}  // namespace

Result<std::vector<IoStatEntry>> ParseIoStat(std::string_view text) {
  std::vector<IoStatEntry> out;
  size_t line_no = 0;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    if (TrimSpace(line).empty()) continue;
    auto entry = ParseIoStatLine(line);
    if (!entry) {
      return std::move(entry).error().Wrap("parse io.stat line " + std::to_string(line_no));
    }
    out.push_back(*entry);
  }
  return out;
}

std::optional<std::string> HugetlbCurrentPageSize(std::string_view file_name) {
  constexpr std::string_view kPrefix = "hugetlb.";
  constexpr std::string_view kSuffix = ".current";
  if (file_name.size() <= kPrefix.size() + kSuffix.size() || !file_name.starts_with(kPrefix) ||
      !file_name.ends_with(kSuffix)) {
    return std::nullopt;
  }
  const std::string_view size =
      file_name.substr(kPrefix.size(), file_name.size() - kPrefix.size() - kSuffix.size());
  if (size.find('.') != std::string_view::npos) return std::nullopt;
  return std::string(size);
}

}  // namespace podshim::cgroups
