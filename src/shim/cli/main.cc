// podshim: subcommand dispatch only.
#include <cstdio>
#include <cstring>

#include "common/quoted.h"
#include "shim/cli/commands.h"

namespace {

constexpr const char kUsage[] =
    "usage: podshim COMMAND [ARGS]\n"
    "  run       [opts] MANIFEST   run a pod in the foreground until it finishes\n"
    "  start     [opts] MANIFEST   same, detached; prints the control socket path\n"
    "  ctl       --socket PATH CMD talk to a running shim\n"
    "  validate  MANIFEST          check a manifest and its bundles\n"
    "  resources MANIFEST          effective pod resources and cgroup v2 values as JSON\n"
    "  oci       COMMAND ...       runc-compatible runtime for single OCI bundles\n"
    "  --version                   print the version, commit and OCI spec version\n";

}  // namespace

int main(int argc, char** argv) {
  using namespace podshim::shim;
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (!std::strcmp(argv[1], "--version") || !std::strcmp(argv[1], "-v")) return PrintVersion();
  const char* cmd = argv[1];
  struct Entry {
    const char* name;
    int (*fn)(int, char**);
  };
  static const Entry kCommands[] = {
      {"oci", RunOciCommand}, {"resources", RunResourcesCommand}, {"validate", RunValidateCommand},
      {"run", RunPodCommand}, {"start", StartPodCommand},         {"ctl", RunCtlCommand},
  };
  for (const Entry& e : kCommands) {
    if (!std::strcmp(cmd, e.name)) return e.fn(argc - 1, argv + 1);
  }
  std::fprintf(stderr, "podshim: unknown command %s\n%s", podshim::Quoted(cmd).c_str(), kUsage);
  return 2;
}
