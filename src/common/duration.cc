#include "common/duration.h"

#include <cctype>
#include <cstdint>

#include "common/quoted.h"

namespace podshim {

Result<std::chrono::nanoseconds> ParseDuration(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return Error::Invalid("invalid duration " + Quoted(text) + ": " + std::string(why));
  };
  if (text == "0") return std::chrono::nanoseconds(0);
  if (text.empty()) return bad("empty");
  std::string_view rest = text;
  int64_t total = 0;
  while (!rest.empty()) {
    size_t i = 0;
    uint64_t whole = 0;
    while (i < rest.size() && std::isdigit(static_cast<unsigned char>(rest[i]))) {
      whole = whole * 10 + static_cast<uint64_t>(rest[i] - '0');
      if (whole > (1ULL << 40)) return bad("too large");
      ++i;
    }
    if (i == 0) return bad("expected a number");
    size_t u = i;
    while (u < rest.size() && std::isalpha(static_cast<unsigned char>(rest[u]))) ++u;
    std::string_view unit = rest.substr(i, u - i);
    int64_t scale;
    if (unit == "ns") scale = 1;
    else if (unit == "us") scale = 1'000;
    else if (unit == "ms") scale = 1'000'000;
    else if (unit == "s") scale = 1'000'000'000;
    else if (unit == "m") scale = 60'000'000'000;
    else if (unit == "h") scale = 3'600'000'000'000;
    else return bad(unit.empty() ? "missing unit (ns, us, ms, s, m, h)" : "unknown unit");
    total += static_cast<int64_t>(whole) * scale;
    rest.remove_prefix(u);
  }
  return std::chrono::nanoseconds(total);
}

std::string FormatDuration(std::chrono::nanoseconds d) {
  using namespace std::chrono;
  auto ms = duration_cast<milliseconds>(d).count();
  if (ms % 1000 != 0) return std::to_string(ms) + "ms";
  return std::to_string(ms / 1000) + "s";
}

}  // namespace podshim
