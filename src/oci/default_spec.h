// The config.json podshim writes for new test bundles, in the spirit of `runc spec`: a read-only
// "rootfs", the usual pseudo-filesystem mounts, new pid/network/ipc/uts/mount/cgroup namespaces,
// runc's small default capability set, masked and read-only /proc paths, and no_new_privs.
#pragma once

#include <string>
#include <vector>

namespace podshim::oci {

// The default config.json text (pretty-printed, ends with a newline). `args` becomes
// process.args; an empty vector means {"sh"}. The result always passes ParseSpec.
std::string DefaultSpecJson(const std::vector<std::string>& args);

}  // namespace podshim::oci
