// The run/start command line: a bad --id or --cgroup-parent is refused while the options are
// parsed (exit 2 before anything is created), with an error naming the option.
#include "shim/cli/pod_flags.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace podshim::shim {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

Result<PodOptions> Parse(std::vector<std::string> args) {
  args.insert(args.begin(), "run");
  args.push_back("pod.yaml");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  return ParsePodOptions(argv, PodCommand::kRun);
}

TEST(PodOptionsTest, GoodIdAndCgroupParentAreKept) {
  auto o = Parse({"--id", "web-1.a_b+c", "--cgroup-parent=/a/b/"});
  ASSERT_TRUE(o.has_value()) << o.error().ToString();
  EXPECT_EQ(o->id, "web-1.a_b+c");
  EXPECT_EQ(o->cgroup_parent, "/a/b/");
  EXPECT_EQ(o->manifest, "pod.yaml");
}

TEST(PodOptionsTest, IdThatIsNotOneFileNameIsRefused) {
  for (std::string bad :
       std::vector<std::string>{"../x", "a/b", "..", ".", "a b", "x\n", std::string(252, 'a')}) {
    for (bool inline_form : {false, true}) {
      auto o = inline_form ? Parse({"--id=" + bad}) : Parse({"--id", bad});
      ASSERT_FALSE(o.has_value()) << "accepted --id " << bad;
      EXPECT_EQ(o.error().code(), make_error_code(ErrorCode::kInvalidSpec)) << bad;
      EXPECT_THAT(o.error().ToString(), StartsWith("--id: ")) << bad;
    }
  }
  EXPECT_TRUE(Parse({"--id", std::string(251, 'a')}).has_value());
}

TEST(PodOptionsTest, CgroupParentThatEscapesIsRefused) {
  for (std::string bad : {"a/../b", "..", "a//b", "./a"}) {
    auto o = Parse({"--cgroup-parent", bad});
    ASSERT_FALSE(o.has_value()) << "accepted --cgroup-parent " << bad;
    EXPECT_EQ(o.error().code(), make_error_code(ErrorCode::kInvalidSpec)) << bad;
    EXPECT_THAT(o.error().ToString(), StartsWith("--cgroup-parent: ")) << bad;
    EXPECT_THAT(o.error().ToString(), HasSubstr("bad cgroup path")) << bad;
  }
}

}  // namespace
}  // namespace podshim::shim
