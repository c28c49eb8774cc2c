// Kubernetes resource quantities ("100m", "0.5", "64Mi", "1G", "1e3"), parsed exactly as
// apimachinery's resource.ParseQuantity and read back as kubelet reads them: cpu with
// MilliValue() and everything else with Value(), both rounded up. Exact decimal arithmetic, no
// floating point. Pure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace podshim::cgroups {

// The longest quantity text parsed: far above any real one ("1.5Gi", "0.000000001", an int64 in
// full), so that a 400,000-digit "quantity" is refused at once with a short message.
inline constexpr size_t kMaxQuantityChars = 64;

// A parsed, non-negative quantity: value = digits × 10^exp10 × 2^exp2 (exp2 is 0 or the binary
// suffix's 10..60). Keeps the exact value, so any read-out rounds only once.
class Quantity {
 public:
  // Grammar of apimachinery: [+-] digits [. digits] suffix, where suffix is one of
  // n u m "" k M G T P E (decimal SI), Ki Mi Gi Ti Pi Ei (binary SI) or e/E followed by a signed
  // integer (decimal exponent). Upstream quirks kept: leading zeros are ignored, "1." and ".5"
  // are numbers, and a number without digits ("+", "-", ".", "Gi") is zero. Errors (all
  // kInvalidSpec, quoting the text): `invalid quantity "12x"`; a negative value: `invalid quantity
  // "-1": must not be negative`; text longer than kMaxQuantityChars: `invalid quantity
  // "11111111111111111111111111111111"... (400000 characters): longer than the 64-character
  // limit`.
  static Result<Quantity> Parse(std::string_view text);

  // ceil(value) (Quantity.Value(): bytes, counts). Error if it does not fit in int64.
  Result<int64_t> Value() const;
  // ceil(value × 1000) (Quantity.MilliValue(): millicores). Error if it does not fit in int64.
  Result<int64_t> MilliValue() const;
  bool IsZero() const { return digits_ == "0"; }
  const std::string& text() const { return text_; }

 private:
  Result<int64_t> ScaledCeil(int64_t extra_exp10) const;

  std::string text_;
  std::string digits_ = "0";  // significant digits, no leading zeros ("0" for zero)
  int64_t exp10_ = 0;
  int exp2_ = 0;
};

// The canonical integer podshim keeps for a resource: millicores for "cpu", Value() (bytes or a
// count) for every other resource name. Errors name the quantity, not the resource.
Result<int64_t> ParseResourceQuantity(std::string_view resource, std::string_view text);

}  // namespace podshim::cgroups
