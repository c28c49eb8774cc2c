#include "shim/shimv2/shim_delete.h"

#include <cstdio>
#include <filesystem>
#include <string>

#include "shim/shimv2/shim_socket.h"
#include "shim/task/task_cleanup.h"

namespace podshim::shim::shimv2 {

int RunDelete(const ShimFlags& flags) {
  std::error_code ec;
  std::filesystem::path bundle = flags.bundle.empty() ? std::filesystem::current_path(ec)
                                                      : std::filesystem::path(flags.bundle);
  if (ec) {
    std::fprintf(stderr, "containerd-shim-podshim-v2 delete: no bundle: %s\n",
                 ec.message().c_str());
    return 1;
  }
  auto outcome = task::CleanupTask(bundle, flags.id);
  if (!outcome) {
    std::fprintf(stderr, "containerd-shim-podshim-v2 delete: %s\n",
                 outcome.error().ToString().c_str());
    return 1;
  }
  RemoveSocketIfStale(bundle);
  for (const std::string& warning : outcome->warnings) {
    std::fprintf(stderr, "containerd-shim-podshim-v2 delete: warning: %s\n", warning.c_str());
  }
  std::string bytes = task::ToDeleteResponse(*outcome).SerializeAsString();
  std::fwrite(bytes.data(), 1, bytes.size(), stdout);
  return 0;
}

}  // namespace podshim::shim::shimv2
