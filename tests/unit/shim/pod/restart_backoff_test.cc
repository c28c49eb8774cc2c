#include "shim/pod/restart_backoff.h"

#include <gtest/gtest.h>

#include <vector>

#include "fixtures/fakes/fake_clock.h"

namespace podshim::shim {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

// A container that crashes `run` after each restart; returns the delays the back-off asks for.
std::vector<seconds> CrashLoop(RestartBackoff& backoff, FakeClock& clock, int crashes,
                               Clock::Duration run) {
  std::vector<seconds> delays;
  for (int i = 0; i < crashes; ++i) {
    clock.Advance(run);
    const Clock::Duration d = backoff.NextDelay(clock.Now());
    delays.push_back(std::chrono::duration_cast<seconds>(d));
    clock.Advance(d);  // the restart happens when it is due
  }
  return delays;
}

TEST(RestartBackoffTest, DoublesFromTenSecondsToFiveMinutes) {
  FakeClock clock;
  RestartBackoff backoff;
  EXPECT_FALSE(backoff.current().has_value());
  const std::vector<seconds> expected = {seconds(10),  seconds(20),  seconds(40),  seconds(80),
                                         seconds(160), seconds(300), seconds(300), seconds(300)};
  EXPECT_EQ(CrashLoop(backoff, clock, 8, seconds(1)), expected);
  EXPECT_EQ(backoff.current(), seconds(300));
}

TEST(RestartBackoffTest, FirstRestartAlreadyWaits) {
  FakeClock clock;
  RestartBackoff backoff;
  EXPECT_EQ(backoff.NextDelay(clock.Now()), seconds(10));  // no "immediate first restart" quirk
}

TEST(RestartBackoffTest, ResetsAfterRunningMoreThanTenMinutes) {
  FakeClock clock;
  RestartBackoff backoff;
  EXPECT_EQ(CrashLoop(backoff, clock, 4, seconds(5)),
            (std::vector<seconds>{seconds(10), seconds(20), seconds(40), seconds(80)}));
  // Ran 10 min + 1 s after its last restart: back to the initial delay, then doubling again.
  EXPECT_EQ(CrashLoop(backoff, clock, 1, minutes(10) + seconds(1)),
            std::vector<seconds>{seconds(10)});
  EXPECT_EQ(CrashLoop(backoff, clock, 2, seconds(5)),
            (std::vector<seconds>{seconds(20), seconds(40)}));
}

TEST(RestartBackoffTest, ExactlyTenMinutesIsNotAReset) {
  FakeClock clock;
  RestartBackoff backoff;
  EXPECT_EQ(CrashLoop(backoff, clock, 2, seconds(1)),
            (std::vector<seconds>{seconds(10), seconds(20)}));
  // kubelet's rule is strictly "more than 600 s".
  EXPECT_EQ(CrashLoop(backoff, clock, 1, minutes(10)), std::vector<seconds>{seconds(40)});
}

TEST(RestartBackoffTest, ResetWindowCountsFromTheActualRestart) {
  FakeClock clock;
  RestartBackoff backoff;
  EXPECT_EQ(backoff.NextDelay(clock.Now()), seconds(10));
  clock.Advance(minutes(5));  // the restart came late (the pod waited for something else)
  backoff.Restarted(clock.Now());
  clock.Advance(minutes(9));  // 14 min after the exit, but only 9 after the restart
  EXPECT_EQ(backoff.NextDelay(clock.Now()), seconds(20));
}

TEST(RestartBackoffTest, ConfigurableInitialAndMax) {
  FakeClock clock;
  auto options = MakeBackoffOptions(seconds(1), seconds(60));
  ASSERT_TRUE(options.has_value()) << options.error().ToString();
  RestartBackoff backoff(*options);
  EXPECT_EQ(CrashLoop(backoff, clock, 8, seconds(1)),
            (std::vector<seconds>{seconds(1), seconds(2), seconds(4), seconds(8), seconds(16),
                                  seconds(32), seconds(60), seconds(60)}));
}

TEST(RestartBackoffTest, MaxBelowInitialLowersInitial) {
  auto options = MakeBackoffOptions(seconds(10), seconds(3));
  ASSERT_TRUE(options.has_value()) << options.error().ToString();
  EXPECT_EQ(options->initial, seconds(3));
  EXPECT_EQ(options->max, seconds(3));
  FakeClock clock;
  RestartBackoff backoff(*options);
  EXPECT_EQ(CrashLoop(backoff, clock, 3, seconds(1)),
            (std::vector<seconds>{seconds(3), seconds(3), seconds(3)}));
}

TEST(RestartBackoffTest, RejectsNonPositiveOptions) {
  auto zero = MakeBackoffOptions(seconds(0), seconds(300));
  ASSERT_FALSE(zero.has_value());
  EXPECT_EQ(zero.error().code(), make_error_code(ErrorCode::kInvalidSpec));
  EXPECT_NE(zero.error().context().find("--backoff-initial"), std::string::npos);
  auto negative = MakeBackoffOptions(seconds(10), seconds(-1));
  ASSERT_FALSE(negative.has_value());
  EXPECT_NE(negative.error().context().find("--backoff-max"), std::string::npos);
}

}  // namespace
}  // namespace podshim::shim
