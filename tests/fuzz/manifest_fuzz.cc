// libFuzzer target: the pod manifest reader (YAML or JSON text -> Pod), both entry points.
// Built with -DPODSHIM_FUZZ=ON (tests/fuzz/CMakeLists.txt); run by scripts/fuzz.sh.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "shim/manifest/manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto check = podshim::shim::CheckManifest(text, "/fuzz/pod.yaml");
  (void)check;
  auto pod = podshim::shim::ParseManifest(text, "/fuzz/pod.yaml");
  (void)pod;
  return 0;
}
