// libFuzzer target: the OCI bundle's config.json parser (oci::ParseSpec).
// Built with -DPODSHIM_FUZZ=ON (tests/fuzz/CMakeLists.txt); run by scripts/fuzz.sh.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "oci/spec_parse.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto spec = podshim::oci::ParseSpec(text);
  (void)spec;
  return 0;
}
