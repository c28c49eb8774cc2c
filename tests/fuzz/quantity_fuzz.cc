// libFuzzer target: the Kubernetes quantity parser and its read-outs.
// Built with -DPODSHIM_FUZZ=ON (tests/fuzz/CMakeLists.txt); run by scripts/fuzz.sh.
// Besides crashes it checks one property: MilliValue() is never below 1000 x Value() - 999
// when both fit (both round up the same exact value).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "cgroups/quantity.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto q = podshim::cgroups::Quantity::Parse(text);
  if (q) {
    auto value = q->Value();
    auto milli = q->MilliValue();
    if (value && milli && *value < INT64_MAX / 1000) {
      // ceil(v) and ceil(1000 v): 1000 ceil(v) - 999 <= ceil(1000 v) <= 1000 ceil(v).
      if (*milli > *value * 1000 || *milli < *value * 1000 - 999) std::abort();
    }
    if (q->IsZero() && ((value && *value != 0) || (milli && *milli != 0))) std::abort();
  }
  (void)podshim::cgroups::ParseResourceQuantity("cpu", text);
  (void)podshim::cgroups::ParseResourceQuantity("memory", text);
  return 0;
}
