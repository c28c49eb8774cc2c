// Runs inside the VM (scripts/vm-test.sh): the guest must offer a cgroup2 hierarchy with the
// controllers the host lacks, or every enforcement test after it would prove nothing.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

namespace {

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(VmEnvironmentTest, Cgroup2HasEveryControllerPodshimWrites) {
  std::string controllers = ReadText("/sys/fs/cgroup/cgroup.controllers");
  for (const char* c : {"cpu", "memory", "pids", "hugetlb"}) {
    EXPECT_NE(controllers.find(c), std::string::npos) << "missing controller " << c << " in \""
                                                      << controllers << "\"";
  }
}

TEST(VmEnvironmentTest, PodshimBinaryIsPresent) {
  const char* bin = std::getenv("PODSHIM_BINARY");
  ASSERT_NE(bin, nullptr);
  std::ifstream in(bin);
  EXPECT_TRUE(in.good()) << bin;
}

}  // namespace
