// The command line containerd gives a shim v2 binary, Go flag style (CONTAINERD.md §2):
// `-namespace NS -address SOCK -publish-binary BIN -id ID [-bundle DIR] [-debug] start|delete`.
// `-flag value`, `-flag=value` and `--flag` forms are taken; flags end at the first argument
// that is not one. `-v` asks for the version.
#pragma once

#include <span>
#include <string>

#include "common/result.h"

namespace podshim::shim::shimv2 {

struct ShimFlags {
  std::string ns;              // -namespace
  std::string address;         // -address: containerd's gRPC socket
  std::string publish_binary;  // -publish-binary
  std::string id;              // -id: the task
  std::string bundle;          // -bundle (delete); start runs in the bundle as its cwd
  std::string socket;          // -socket: ignored (containerd 2.x passes it to a re-exec'd shim)
  bool debug = false;          // -debug
  bool version = false;        // -v, -version
  std::string action;          // "start", "delete", or empty
};

// Error (kInvalidSpec) for an unknown flag, a flag without its value, an extra argument, or a
// missing -namespace / -id for an action that needs them.
Result<ShimFlags> ParseShimFlags(std::span<char* const> args);

}  // namespace podshim::shim::shimv2
