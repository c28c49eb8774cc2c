#include "shim/shimv2/shim_flags.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace podshim::shim::shimv2 {
namespace {

Result<ShimFlags> Parse(std::vector<std::string> words) {
  static std::vector<std::string> kept;
  kept = std::move(words);
  std::vector<char*> argv;
  for (std::string& w : kept) argv.push_back(w.data());
  return ParseShimFlags(argv);
}

TEST(ShimFlagsTest, ContainerdStartLine) {
  // containerd 1.6's argv for start (CONTAINERD.md §2), -debug included.
  auto f = Parse({"-namespace", "k8s.io", "-address", "/run/containerd/containerd.sock",
                  "-publish-binary", "/usr/bin/containerd", "-id", "abc", "-debug", "start"});
  ASSERT_TRUE(f) << f.error().ToString();
  EXPECT_EQ(f->ns, "k8s.io");
  EXPECT_EQ(f->address, "/run/containerd/containerd.sock");
  EXPECT_EQ(f->publish_binary, "/usr/bin/containerd");
  EXPECT_EQ(f->id, "abc");
  EXPECT_TRUE(f->debug);
  EXPECT_EQ(f->action, "start");
}

TEST(ShimFlagsTest, DeleteWithBundleAndEqualsForms) {
  auto f = Parse({"--namespace=default", "-id=t1", "-bundle", "/b/t1", "-debug=false", "delete"});
  ASSERT_TRUE(f) << f.error().ToString();
  EXPECT_EQ(f->ns, "default");
  EXPECT_EQ(f->id, "t1");
  EXPECT_EQ(f->bundle, "/b/t1");
  EXPECT_FALSE(f->debug);
  EXPECT_EQ(f->action, "delete");
}

TEST(ShimFlagsTest, VersionNeedsNoAction) {
  auto f = Parse({"-v"});
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->version);
}

TEST(ShimFlagsTest, BadLinesNameWhatIsWrong) {
  auto unknown = Parse({"-namespace", "n", "-id", "x", "-colour", "red", "start"});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().ToString(), "unknown flag \"-colour\"");
  auto no_value = Parse({"-namespace"});
  ASSERT_FALSE(no_value);
  EXPECT_EQ(no_value.error().ToString(), "flag \"-namespace\" needs a value");
  auto no_action = Parse({"-namespace", "n", "-id", "x"});
  ASSERT_FALSE(no_action);
  EXPECT_EQ(no_action.error().ToString(), "no action: want start or delete");
  auto bad_action = Parse({"-namespace", "n", "-id", "x", "serve"});
  ASSERT_FALSE(bad_action);
  EXPECT_EQ(bad_action.error().ToString(), "unknown action \"serve\": want start or delete");
  auto extra = Parse({"-namespace", "n", "-id", "x", "start", "now"});
  ASSERT_FALSE(extra);
  EXPECT_EQ(extra.error().ToString(), "unexpected argument \"now\"");
  auto no_id = Parse({"-namespace", "n", "delete"});
  ASSERT_FALSE(no_id);
  EXPECT_EQ(no_id.error().ToString(), "-id is required");
}

}  // namespace
}  // namespace podshim::shim::shimv2
