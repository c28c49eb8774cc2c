#include "shim/shimv2/shim_socket.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace podshim::shim::shimv2 {
namespace {

namespace fs = std::filesystem;

class ShimSocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/shimsock.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  void WriteConfig(const std::string& text) { std::ofstream(dir_ / "config.json") << text; }

  fs::path dir_;
};

TEST_F(ShimSocketTest, GroupComesFromTheRuncGroupThenTheSandboxIdThenTheTaskId) {
  WriteConfig(R"({"annotations": {"io.kubernetes.cri.sandbox-id": "sb",
                                  "io.containerd.runc.v2.group": "g1"}})");
  EXPECT_EQ(TaskGroup(dir_, "t"), "g1");
  WriteConfig(R"({"annotations": {"io.kubernetes.cri.sandbox-id": "sb"}})");
  EXPECT_EQ(TaskGroup(dir_, "t"), "sb");
  WriteConfig(R"({"annotations": {"io.containerd.runc.v2.group": 7}})");
  EXPECT_EQ(TaskGroup(dir_, "t"), "t");
  WriteConfig("{not json");
  EXPECT_EQ(TaskGroup(dir_, "t"), "t");
  EXPECT_EQ(TaskGroup(dir_ / "missing", "t"), "t");
}

TEST_F(ShimSocketTest, SocketPathIsStablePerAddressNamespaceAndGroup) {
  fs::path a = ShimSocketPath("/run/containerd/containerd.sock", "k8s.io", "pod1");
  EXPECT_EQ(a, ShimSocketPath("/run/containerd/containerd.sock", "k8s.io", "pod1"));
  EXPECT_NE(a, ShimSocketPath("/run/containerd/containerd.sock", "k8s.io", "pod2"));
  EXPECT_NE(a, ShimSocketPath("/run/containerd/containerd.sock", "default", "pod1"));
  EXPECT_NE(a, ShimSocketPath("/tmp/other.sock", "k8s.io", "pod1"));
  EXPECT_EQ(a.parent_path(), "/run/containerd/s");
  EXPECT_EQ(a.filename().native().size(), 64u);
  EXPECT_LT(a.native().size(), 107u);
}

TEST_F(ShimSocketTest, ListenReplacesAStaleSocketAndRefusesALiveOne) {
  fs::path path = dir_ / "s" / "shim.sock";
  {
    auto first = ListenAt(path);
    ASSERT_TRUE(first) << first.error().ToString();
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_TRUE(IsServing(path));
    auto second = ListenAt(path);
    ASSERT_FALSE(second);
    EXPECT_NE(second.error().ToString().find("a shim already serves"), std::string::npos);
  }
  // The first listener is closed; its socket file stays behind, stale.
  EXPECT_FALSE(IsServing(path));
  auto again = ListenAt(path);
  ASSERT_TRUE(again) << again.error().ToString();
  EXPECT_TRUE(IsServing(path));
}

TEST_F(ShimSocketTest, TooLongAPathIsAnError) {
  auto r = ListenAt(dir_ / std::string(120, 'x'));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().ToString().find("longer than 107 bytes"), std::string::npos);
}

TEST_F(ShimSocketTest, AddressFileHoldsTheUnixUrl) {
  ASSERT_TRUE(WriteAddressFile(dir_, "/run/containerd/s/abc"));
  std::ifstream in(dir_ / "address");
  std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(text, "unix:///run/containerd/s/abc");
}

TEST_F(ShimSocketTest, OnlyAStaleSocketInTheShimsDirIsRemoved) {
  // A socket elsewhere is never removed, stale or not.
  fs::path elsewhere = dir_ / "stale.sock";
  {
    auto l = ListenAt(elsewhere);
    ASSERT_TRUE(l);
  }
  ASSERT_TRUE(WriteAddressFile(dir_, elsewhere));
  RemoveSocketIfStale(dir_);
  EXPECT_TRUE(fs::exists(elsewhere));
  // In the shims' dir: a live one stays, a stale one goes.
  fs::path mine = ShimSocketPath("/test/" + dir_.native(), "ns", "g");
  ASSERT_TRUE(WriteAddressFile(dir_, mine));
  {
    auto live = ListenAt(mine);
    ASSERT_TRUE(live) << live.error().ToString();
    RemoveSocketIfStale(dir_);
    EXPECT_TRUE(fs::exists(mine));
  }
  RemoveSocketIfStale(dir_);
  EXPECT_FALSE(fs::exists(mine));
  // No address file: nothing to do.
  fs::remove(dir_ / "address");
  RemoveSocketIfStale(dir_);
}

}  // namespace
}  // namespace podshim::shim::shimv2
