// Build identity; PODSHIM_VERSION and PODSHIM_COMMIT are set by src/CMakeLists.txt on this file.
#include "common/version.h"

#ifndef PODSHIM_VERSION
#define PODSHIM_VERSION "unknown"
#endif
#ifndef PODSHIM_COMMIT
#define PODSHIM_COMMIT "unknown"
#endif

namespace podshim {

std::string_view ProjectVersion() { return PODSHIM_VERSION; }
std::string_view BuildCommit() { return PODSHIM_COMMIT; }

}  // namespace podshim
