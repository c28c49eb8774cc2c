#include "shim/pod/probe_outcome.h"

#include <gtest/gtest.h>

#include <chrono>

namespace podshim::shim {
namespace {

using namespace std::chrono_literals;

TEST(ExecProbeTest, ExitInterpretation) {
  EXPECT_TRUE(
      InterpretExecProbeExit({.exit_code = 0, .timed_out = false, .output = ""}, 1s).success);
  ProbeOutcome fail =
      InterpretExecProbeExit({.exit_code = 1, .timed_out = false, .output = "no"}, 1s);
  EXPECT_FALSE(fail.success);
  EXPECT_EQ(fail.message, "command exited with code 1: no");
  ProbeOutcome trimmed =
      InterpretExecProbeExit({.exit_code = 2, .timed_out = false, .output = "wget: 404\n\n"}, 1s);
  EXPECT_EQ(trimmed.message, "command exited with code 2: wget: 404");
  ProbeOutcome slow =
      InterpretExecProbeExit({.exit_code = 137, .timed_out = true, .output = ""}, 2s);
  EXPECT_FALSE(slow.success);
  EXPECT_EQ(slow.message, "timed out after 2s");
}

TEST(ExecProbeTest, TimeoutsInMessages) {
  EXPECT_EQ(FormatTimeout(1s), "1s");
  EXPECT_EQ(FormatTimeout(1500ms), "1500ms");
}

}  // namespace
}  // namespace podshim::shim
