#include "common/page_trim.h"

#include <fcntl.h>
#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <charconv>
#include <string>
#include <utility>

#include "common/sys.h"
#include "common/unique_fd.h"

namespace podshim {
namespace {

// /proc/self/smaps of a static shim is ~10 KiB (about 20 lines per mapping); a process with
// thousands of mappings is not this function's business: it reads at most this much.
constexpr size_t kMaxSmaps = 1 << 20;

struct Mapping {
  PageRange range;
  bool candidate = false;  // private, read-only, file-backed
  uint64_t rss_kb = 0;
  uint64_t anonymous_kb = 0;
};

bool ParseHex(std::string_view text, uintptr_t& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out, 16);
  return ec == std::errc() && end == text.data() + text.size();
}

// "7f00-7f10 r-xp 00000000 08:02 173521   /usr/bin/podshim": a mapping's header line.
bool ParseHeader(std::string_view line, Mapping& m) {
  const size_t dash = line.find('-');
  const size_t space = line.find(' ');
  if (dash == std::string_view::npos || space == std::string_view::npos || dash > space) {
    return false;
  }
  if (!ParseHex(line.substr(0, dash), m.range.start) ||
      !ParseHex(line.substr(dash + 1, space - dash - 1), m.range.end)) {
    return false;
  }
  const std::string_view perms = line.substr(space + 1, 4);
  const size_t slash = line.find('/', space);
  m.candidate =
      perms.size() == 4 && perms[1] != 'w' && perms[3] == 'p' && slash != std::string_view::npos;
  return true;
}

// "Rss:   120 kB" -> 120 when the line starts with `key`.
bool ParseField(std::string_view line, std::string_view key, uint64_t& out) {
  if (!line.starts_with(key)) return false;
  std::string_view rest = line.substr(key.size());
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  std::from_chars(rest.data(), rest.data() + rest.size(), out);
  return true;
}

void Keep(const Mapping& m, std::vector<PageRange>& out) {
  if (m.candidate && m.rss_kb > 0 && m.anonymous_kb == 0 && m.range.end > m.range.start) {
    out.push_back(m.range);
  }
}

std::string ReadSmaps() {
  UniqueFd fd(::open("/proc/self/smaps", O_RDONLY | O_CLOEXEC));
  if (!fd) return "";
  Result<std::string> text = sys::ReadAll(fd.get(), kMaxSmaps);
  return text ? std::move(*text) : std::string();
}

}  // namespace

std::vector<PageRange> TrimmableRanges(std::string_view smaps) {
  std::vector<PageRange> out;
  Mapping current;
  bool have = false;
  while (!smaps.empty()) {
    const size_t nl = smaps.find('\n');
    const std::string_view line = smaps.substr(0, nl);
    smaps.remove_prefix(nl == std::string_view::npos ? smaps.size() : nl + 1);
    // Field lines start with a capital letter ("Rss:", "VmFlags:"), headers with a hex digit.
    if (!line.empty() && line.front() >= 'A' && line.front() <= 'Z' && line.find(':') < 32) {
      if (have) {
        ParseField(line, "Rss:", current.rss_kb) ||
            ParseField(line, "Anonymous:", current.anonymous_kb);
      }
      continue;
    }
    if (have) Keep(current, out);
    current = Mapping{};
    have = ParseHeader(line, current);
  }
  if (have) Keep(current, out);
  return out;
}

int TrimResidentPages() {
  int dropped = 0;
  for (const PageRange& r : TrimmableRanges(ReadSmaps())) {
    if (::madvise(reinterpret_cast<void*>(r.start), r.end - r.start, MADV_DONTNEED) == 0) {
      ++dropped;
    }
  }
  ::malloc_trim(0);
  return dropped;
}

}  // namespace podshim
