// The device filter inside the VM (scripts/vm-test.sh): a pure cgroup v2 host with Debian's
// kernel and no cgroup v1 devices controller beside it, so the BPF program is the only thing that
// can deny a device. A child in a cgroup whose program denies /dev/null cannot open it, while
// /dev/zero, allowed, opens.
#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <thread>

#include "cgroups/device_filter_attach.h"
#include "common/unique_fd.h"
#include "vm/vm_util.h"

namespace podshim::vmtest {
namespace {

using cgroups::DeviceRule;
using cgroups::DeviceType;

// Forks a child into `cgroup` that opens `path` read-write: 0 opened, 1 EPERM, 2 another error,
// 3 could not join the cgroup.
int OpenIn(const fs::path& cgroup, const char* path) {
  const std::string procs = (cgroup / "cgroup.procs").string();
  pid_t pid = ::fork();
  if (pid == 0) {
    int p = ::open(procs.c_str(), O_WRONLY | O_CLOEXEC);
    if (p < 0 || ::write(p, "0", 1) != 1) ::_exit(3);
    int fd = ::open(path, O_RDWR | O_CLOEXEC);
    ::_exit(fd >= 0 ? 0 : errno == EPERM ? 1 : 2);
  }
  int status = 0;
  if (pid < 0 || ::waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

TEST(VmDeviceFilterTest, DeniedDeviceCannotBeOpened) {
  if (!InVm()) GTEST_SKIP() << "runs in the VM (scripts/vm-test.sh)";
  const fs::path dir = fs::path(kCgroupRoot) / ("vmtest-dev-" + std::to_string(::getpid()));
  ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0) << std::strerror(errno);
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(fd);
  EXPECT_EQ(OpenIn(dir, "/dev/null"), 0);  // no filter yet
  // podman's deny-all, /dev/zero allowed; /dev/null (c 1:3) has no rule.
  cgroups::DeviceRules rules = {
      DeviceRule{false, DeviceType::kAll, {}, {}, cgroups::kDeviceAllAccess},
      DeviceRule{true, DeviceType::kChar, 1, 5, cgroups::kDeviceAllAccess}};
  auto id = cgroups::ApplyDeviceRules(fd.get(), rules);
  ASSERT_TRUE(id) << id.error().ToString();
  EXPECT_EQ(OpenIn(dir, "/dev/null"), 1);
  EXPECT_EQ(OpenIn(dir, "/dev/zero"), 0);
  // An update to runc's defaults gives /dev/null back.
  ASSERT_TRUE(cgroups::ApplyDeviceRules(fd.get(), cgroups::WithDefaultDevices(rules, {})));
  EXPECT_EQ(OpenIn(dir, "/dev/null"), 0);
  fd.Reset();
  for (int i = 0; i < 200 && ::rmdir(dir.c_str()) < 0 && errno == EBUSY; ++i) {
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_FALSE(fs::exists(dir));
}

}  // namespace
}  // namespace podshim::vmtest
