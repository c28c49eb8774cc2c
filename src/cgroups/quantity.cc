#include "cgroups/quantity.h"

#include <array>
#include <limits>
#include <string>
#include <utility>

#include "common/quoted.h"

namespace podshim::cgroups {
namespace {

constexpr std::string_view kSuffixLetters = "eEinumkKMGTP";
constexpr size_t kMaxInt64Digits = 19;  // INT64_MAX = 9223372036854775807

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// The text as an error quotes it: escaped, and cut short when over the length limit.
std::string Shown(std::string_view text) {
  if (text.size() <= kMaxQuantityChars) return Quoted(text);
  return Quoted(text.substr(0, 32)) + "... (" + std::to_string(text.size()) + " characters)";
}

Error Invalid(std::string_view text, std::string_view why = {}) {
  std::string msg = "invalid quantity " + Shown(text);
  if (!why.empty()) msg += ": " + std::string(why);
  return Error::Invalid(std::move(msg));
}

// The suffix table of apimachinery's quantitySuffixer: base 10 or 2 and the exponent.
struct Suffix {
  std::string_view text;
  int base;
  int exponent;
};
constexpr std::array<Suffix, 16> kSuffixes = {{
    {"n", 10, -9},
    {"u", 10, -6},
    {"m", 10, -3},
    {"", 10, 0},
    {"k", 10, 3},
    {"M", 10, 6},
    {"G", 10, 9},
    {"T", 10, 12},
    {"P", 10, 15},
    {"E", 10, 18},
    {"Ki", 2, 10},
    {"Mi", 2, 20},
    {"Gi", 2, 30},
    {"Ti", 2, 40},
    {"Pi", 2, 50},
    {"Ei", 2, 60},
}};

// Go's strconv.ParseInt(s, 10, 32) semantics for the "e<exp>" suffix: optional sign, digits.
bool ParseExponent(std::string_view s, int* out) {
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return false;
  int64_t v = 0;
  for (char c : s) {
    if (!IsDigit(c)) return false;
    v = v * 10 + (c - '0');
    if (v > std::numeric_limits<int32_t>::max()) return false;
  }
  *out = static_cast<int>(negative ? -v : v);
  return true;
}

// digits (most significant first) × 1024, in place.
void MultiplyBy1024(std::string& digits) {
  uint64_t carry = 0;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    uint64_t v = static_cast<uint64_t>(*it - '0') * 1024 + carry;
    *it = static_cast<char>('0' + v % 10);
    carry = v / 10;
  }
  while (carry > 0) {
    digits.insert(digits.begin(), static_cast<char>('0' + carry % 10));
    carry /= 10;
  }
}

// Parses at most 19 decimal digits; false when the value exceeds INT64_MAX.
bool ToInt64(std::string_view digits, int64_t* out) {
  if (digits.size() > kMaxInt64Digits) return false;
  unsigned __int128 v = 0;
  for (char c : digits) v = v * 10 + static_cast<unsigned>(c - '0');
  if (v > static_cast<unsigned __int128>(std::numeric_limits<int64_t>::max())) return false;
  *out = static_cast<int64_t>(v);
  return true;
}

}  // namespace

// Mirrors parseQuantityString + ParseQuantity of k8s.io/apimachinery/pkg/api/resource.
Result<Quantity> Quantity::Parse(std::string_view text) {
  Quantity q;
  q.text_ = std::string(text);
  if (text.empty()) return Invalid(text);
  if (text.size() > kMaxQuantityChars) {
    return Invalid(text,
                   "longer than the " + std::to_string(kMaxQuantityChars) + "-character limit");
  }
  const size_t end = text.size();
  size_t pos = 0;
  bool positive = true;
  if (text[0] == '-' || text[0] == '+') {
    positive = text[0] == '+';
    ++pos;
  }
  while (pos < end && text[pos] == '0') ++pos;  // leading zeros
  if (pos >= end) return q;                     // "0", "-", "+000": zero
  size_t num_start = pos;
  while (pos < end && IsDigit(text[pos])) ++pos;
  std::string_view num = text.substr(num_start, pos - num_start);
  std::string_view denom;
  if (pos < end && text[pos] == '.') {
    ++pos;
    size_t denom_start = pos;
    while (pos < end && IsDigit(text[pos])) ++pos;
    denom = text.substr(denom_start, pos - denom_start);
  }
  size_t suffix_start = pos;
  while (pos < end && kSuffixLetters.find(text[pos]) != std::string_view::npos) ++pos;
  if (pos < end && (text[pos] == '-' || text[pos] == '+')) ++pos;
  while (pos < end && IsDigit(text[pos])) ++pos;
  if (pos != end) return Invalid(text);
  std::string_view suffix = text.substr(suffix_start);

  int base = 0;
  int exponent = 0;
  for (const Suffix& s : kSuffixes) {
    if (s.text == suffix) {
      base = s.base;
      exponent = s.exponent;
      break;
    }
  }
  if (base == 0) {
    if (suffix.size() > 1 && (suffix[0] == 'e' || suffix[0] == 'E') &&
        ParseExponent(suffix.substr(1), &exponent)) {
      base = 10;
    } else {
      return Invalid(text);
    }
  }

  std::string digits = std::string(num) + std::string(denom);
  size_t first = digits.find_first_not_of('0');
  if (first == std::string::npos) return q;  // "0.000", "-0e5": zero
  digits.erase(0, first);
  if (!positive) return Invalid(text, "must not be negative");
  q.digits_ = std::move(digits);
  q.exp10_ = -static_cast<int64_t>(denom.size());
  if (base == 10) {
    q.exp10_ += exponent;
  } else {
    q.exp2_ = exponent;
  }
  return q;
}

// ceil(digits × 2^exp2 × 10^(exp10 + extra_exp10)) as int64, exactly.
Result<int64_t> Quantity::ScaledCeil(int64_t extra_exp10) const {
  if (IsZero()) return int64_t{0};
  std::string digits = digits_;
  for (int i = 0; i < exp2_; i += 10) MultiplyBy1024(digits);
  const int64_t e = exp10_ + extra_exp10;
  int64_t result = 0;
  if (e >= 0) {
    if (static_cast<int64_t>(digits.size()) + e > static_cast<int64_t>(kMaxInt64Digits) ||
        !ToInt64(digits + std::string(static_cast<size_t>(e), '0'), &result)) {
      return Invalid(text_, "out of range");
    }
    return result;
  }
  const uint64_t n = static_cast<uint64_t>(-e);  // digits after the decimal point
  if (n >= digits.size()) return int64_t{1};     // 0 < value < 1
  std::string_view all(digits);
  std::string_view integer = all.substr(0, all.size() - n);
  std::string_view fraction = all.substr(all.size() - n);
  if (!ToInt64(integer, &result)) return Invalid(text_, "out of range");
  if (fraction.find_first_not_of('0') != std::string_view::npos) {
    if (result == std::numeric_limits<int64_t>::max()) return Invalid(text_, "out of range");
    ++result;
  }
  return result;
}

Result<int64_t> Quantity::Value() const { return ScaledCeil(0); }
Result<int64_t> Quantity::MilliValue() const { return ScaledCeil(3); }

Result<int64_t> ParseResourceQuantity(std::string_view resource, std::string_view text) {
  Quantity q = PODSHIM_TRY(Quantity::Parse(text));
  return resource == "cpu" ? q.MilliValue() : q.Value();
}

}  // namespace podshim::cgroups
