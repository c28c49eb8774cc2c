#include "cgroups/control_files.h"

#include <charconv>
#include <limits>

#include "common/quoted.h"

namespace podshim::cgroups {
namespace {

constexpr std::string_view kSpace = " \t\n\r";

// Splits on any whitespace, dropping empty tokens.
std::vector<std::string_view> Tokens(std::string_view text) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos < text.size()) {
    pos = text.find_first_not_of(kSpace, pos);
    if (pos == std::string_view::npos) break;
    size_t end = text.find_first_of(kSpace, pos);
    if (end == std::string_view::npos) end = text.size();
    out.push_back(text.substr(pos, end - pos));
    pos = end;
  }
  return out;
}

std::optional<uint64_t> ToU64(std::string_view s) {
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

// Fills the fields named in `keys` from flat-keyed text; unknown keys are ignored (the kernel
// adds keys over time).
template <class T>
Result<T> ParseKnownKeys(std::string_view what, std::string_view text,
                         std::initializer_list<std::pair<std::string_view, uint64_t T::*>> keys) {
  auto pairs = ParseFlatKeyed(text);
  if (!pairs) return std::move(pairs).error().Wrap("parse " + std::string(what));
  T out;
  for (const auto& [key, value] : *pairs) {
    for (const auto& [name, member] : keys) {
      if (key == name) out.*member = value;
    }
  }
  return out;
}

// "2MB" -> 2097152; the size part of hugetlb.<size>.max as the kernel names it (mem_fmt()).
std::optional<uint64_t> HugePageSize(std::string_view size) {
  static constexpr std::pair<std::string_view, uint64_t> kUnits[] = {
      {"KB", 1ULL << 10}, {"MB", 1ULL << 20}, {"GB", 1ULL << 30}};
  for (const auto& [suffix, mult] : kUnits) {
    if (size.size() > suffix.size() && size.ends_with(suffix)) {
      auto n = ToU64(size.substr(0, size.size() - suffix.size()));
      if (n && *n > 0) return *n * mult;
    }
  }
  return std::nullopt;
}

bool IsPageRoundedMemoryFile(std::string_view file) {
  return file == "memory.max" || file == "memory.high" || file == "memory.low" ||
         file == "memory.min" || file == "memory.swap.max";
}

}  // namespace

std::string_view TrimSpace(std::string_view text) {
  size_t b = text.find_first_not_of(kSpace);
  if (b == std::string_view::npos) return {};
  size_t e = text.find_last_not_of(kSpace);
  return text.substr(b, e - b + 1);
}

Result<std::vector<std::string>> ParseControllerList(std::string_view text) {
  std::vector<std::string> out;
  for (std::string_view tok : Tokens(text)) {
    for (char c : tok) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
      if (!ok) return Error::Invalid("bad controller name " + Quoted(tok) + " in controller list");
    }
    out.emplace_back(tok);
  }
  return out;
}

std::string FormatSubtreeControl(const std::vector<std::string>& enable,
                                 const std::vector<std::string>& disable) {
  std::string out;
  auto add = [&out](char sign, const std::string& name) {
    if (!out.empty()) out += ' ';
    out += sign;
    out += name;
  };
  for (const auto& c : enable) add('+', c);
  for (const auto& c : disable) add('-', c);
  return out;
}

Result<std::vector<std::pair<std::string, uint64_t>>> ParseFlatKeyed(std::string_view text) {
  std::vector<std::pair<std::string, uint64_t>> out;
  size_t line_no = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    auto toks = Tokens(line);
    if (toks.empty()) continue;
    std::optional<uint64_t> value = toks.size() == 2 ? ToU64(toks[1]) : std::nullopt;
    if (!value) {
      return Error::Invalid("line " + std::to_string(line_no) + ": expected \"key value\", got " +
                            Quoted(line));
    }
    out.emplace_back(std::string(toks[0]), *value);
  }
  return out;
}

Result<CgroupEvents> ParseCgroupEvents(std::string_view text) {
  auto pairs = ParseFlatKeyed(text);
  if (!pairs) return std::move(pairs).error().Wrap("parse cgroup.events");
  CgroupEvents out;
  bool seen_populated = false;
  for (const auto& [key, value] : *pairs) {
    if (key == "populated") {
      out.populated = value != 0;
      seen_populated = true;
    } else if (key == "frozen") {
      out.frozen = value != 0;
    }
  }
  if (!seen_populated) return Error::Invalid("parse cgroup.events: no \"populated\" key");
  return out;
}

Result<MemoryEvents> ParseMemoryEvents(std::string_view text) {
  using M = MemoryEvents;
  return ParseKnownKeys<M>("memory.events", text,
                           {{"low", &M::low},
                            {"high", &M::high},
                            {"max", &M::max},
                            {"oom", &M::oom},
                            {"oom_kill", &M::oom_kill},
                            {"oom_group_kill", &M::oom_group_kill}});
}

Result<CpuStat> ParseCpuStat(std::string_view text) {
  using C = CpuStat;
  return ParseKnownKeys<C>("cpu.stat", text,
                           {{"usage_usec", &C::usage_usec},
                            {"user_usec", &C::user_usec},
                            {"system_usec", &C::system_usec},
                            {"nr_periods", &C::nr_periods},
                            {"nr_throttled", &C::nr_throttled},
                            {"throttled_usec", &C::throttled_usec}});
}

Result<uint64_t> ParseNumber(std::string_view text) {
  auto v = ToU64(TrimSpace(text));
  if (!v) return Error::Invalid("expected an unsigned number, got " + Quoted(TrimSpace(text)));
  return *v;
}

Result<std::optional<uint64_t>> ParseMaxOrNumber(std::string_view text) {
  std::string_view t = TrimSpace(text);
  if (t == "max") return std::optional<uint64_t>();
  auto v = ToU64(t);
  if (!v) return Error::Invalid("expected \"max\" or an unsigned number, got " + Quoted(t));
  return std::optional<uint64_t>(*v);
}

std::string FormatMaxOrNumber(std::optional<uint64_t> value) {
  return value ? std::to_string(*value) : std::string("max");
}

Result<CpuMax> ParseCpuMax(std::string_view text) {
  auto toks = Tokens(text);
  if (toks.empty() || toks.size() > 2) {
    return Error::Invalid("parse cpu.max: expected \"$MAX $PERIOD\", got " +
                          Quoted(TrimSpace(text)));
  }
  CpuMax out;
  auto quota = ParseMaxOrNumber(toks[0]);
  if (!quota) return std::move(quota).error().Wrap("parse cpu.max quota");
  out.quota_usec = *quota;
  if (toks.size() == 2) {
    auto period = ToU64(toks[1]);
    if (!period || *period == 0) {
      return Error::Invalid("parse cpu.max: bad period " + Quoted(toks[1]));
    }
    out.period_usec = *period;
  }
  return out;
}

std::string FormatCpuMax(const CpuMax& value) {
  return FormatMaxOrNumber(value.quota_usec) + " " + std::to_string(value.period_usec);
}

Result<std::vector<pid_t>> ParseProcs(std::string_view text) {
  std::vector<pid_t> out;
  for (std::string_view tok : Tokens(text)) {
    auto v = ToU64(tok);
    if (!v || *v == 0 || *v > static_cast<uint64_t>(std::numeric_limits<pid_t>::max())) {
      return Error::Invalid("parse cgroup.procs: bad pid " + Quoted(tok));
    }
    out.push_back(static_cast<pid_t>(*v));
  }
  return out;
}

std::string_view ControllerOf(std::string_view file) { return file.substr(0, file.find('.')); }

bool ReadBackMatches(std::string_view file, std::string_view written, std::string_view read_back,
                     uint64_t page_size) {
  auto w = Tokens(written);
  auto r = Tokens(read_back);
  if (w == r) return true;
  if (w.size() != 1 || r.size() != 1) return false;

  std::optional<uint64_t> granule;
  bool hugetlb = false;
  if (IsPageRoundedMemoryFile(file)) {
    granule = page_size;
  } else if (ControllerOf(file) == "hugetlb") {
    // hugetlb.<size>.max / hugetlb.<size>.rsvd.max
    std::string_view rest = file.substr(std::string_view("hugetlb.").size());
    granule = HugePageSize(rest.substr(0, rest.find('.')));
    hugetlb = true;
  }
  if (!granule || *granule == 0) return false;
  auto read_value = ToU64(r[0]);
  if (!read_value) return false;
  if (w[0] == "max") {
    // Only hugetlb prints its unlimited value as a number: the page counter maximum
    // (LONG_MAX / PAGE_SIZE pages) times the page size, just below 2^63.
    return hugetlb && *read_value >= (std::numeric_limits<uint64_t>::max() >> 2);
  }
  auto written_value = ToU64(w[0]);
  if (!written_value) return false;
  return *read_value == *written_value / *granule * *granule;
}

}  // namespace podshim::cgroups
