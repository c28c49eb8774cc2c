// Subcommands whose issue has not landed yet: each says so and exits 2. A command moves out of
// this file into its own *_command.cc when it is implemented.
#include <cstdio>

#include "shim/commands.h"

namespace podshim::shim {
namespace {

int NotYet(const char* name) {
  std::fprintf(stderr, "podshim %s: not implemented in this build yet\n", name);
  return 2;
}

}  // namespace

int StartPodCommand(int, char**) { return NotYet("start"); }

}  // namespace podshim::shim
