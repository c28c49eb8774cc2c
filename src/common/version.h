// What this build is: the project version from CMakeLists.txt and the git commit the build was
// configured from ("unknown" when built outside a git checkout). `podshim --version` and
// `podshim oci --version` print them in runc's shape.
#pragma once

#include <string_view>

namespace podshim {

std::string_view ProjectVersion();
std::string_view BuildCommit();

}  // namespace podshim
