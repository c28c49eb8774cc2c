// The precondition of the VM tests of cgroup limits: root and the cgroup2 memory controller at
// kCgroupRoot, which only the VM (scripts/vm-test.sh) offers. In SetUp:
//   if (std::string why = VmCgroupSkipReason(); !why.empty()) GTEST_SKIP() << why;
#pragma once

#include <unistd.h>

#include <string>

#include "vm/vm_util.h"

namespace podshim::vmtest {

// Why the test cannot run here, or "" where it can.
inline std::string VmCgroupSkipReason() {
  if (::geteuid() != 0) return "needs root";
  std::string controllers = ReadText(fs::path(kCgroupRoot) / "cgroup.controllers");
  if (controllers.find("memory") == std::string::npos) {
    return std::string("no cgroup2 memory controller at ") + kCgroupRoot +
           " (run in the VM: scripts/vm-test.sh)";
  }
  return "";
}

}  // namespace podshim::vmtest
