// A restarting container keeps what the kubelet keeps of its logs: the current instance's
// `<restartCount>.log` and the previous one's. One file per restart used to be kept for ever.
#include <chrono>
#include <filesystem>
#include <set>
#include <string>

#include "gtest/gtest.h"
#include "integration/pod_fixture.h"

namespace {

using namespace podshim::pod_test;  // NOLINT: the fixture and its helpers
using namespace std::chrono_literals;
namespace fs = std::filesystem;

class PodLogRetentionTest : public PodRunTest {};

TEST_F(PodLogRetentionTest, RestartingContainerKeepsTheCurrentAndThePreviousLog) {
  // Instance n (1-based, counted in the emptyDir) prints "instance n"; the first five fail, the
  // sixth succeeds: restartCount 0..5, five restarts.
  WriteManifest(UniqueName("logkeep"),
                Spec("OnFailure", "",
                     C("app",
                       "echo x >> /shared/n; n=$(wc -l < /shared/n); echo \"instance $n\"; "
                       "echo \"instance $n err\" >&2; [ $n -ge 6 ] && exit 0; exit 1")));
  ASSERT_EQ(RunBounded(30s), 0) << Dump();
  auto ev = Events();
  ASSERT_EQ(Count(ev, "ContainerStarted", "app"), 6) << Dump();

  const fs::path dir = state_ / "logs" / "app";
  std::set<std::string> files;
  for (const auto& e : fs::directory_iterator(dir)) files.insert(e.path().filename().string());
  EXPECT_EQ(files, (std::set<std::string>{"4.log", "5.log"}));
  const std::string previous = ReadText(dir / "4.log");
  const std::string current = ReadText(dir / "5.log");
  EXPECT_NE(previous.find(" stdout F instance 5\n"), std::string::npos) << previous;
  EXPECT_NE(previous.find(" stderr F instance 5 err\n"), std::string::npos) << previous;
  EXPECT_EQ(previous.find("instance 6"), std::string::npos) << previous;
  EXPECT_NE(current.find(" stdout F instance 6\n"), std::string::npos) << current;
  EXPECT_EQ(current.find("instance 5"), std::string::npos) << current;
  ExpectNothingLeft();
}

}  // namespace
