#include "common/result.h"

#include <gtest/gtest.h>

#include "common/duration.h"
#include "common/log.h"
#include "common/time_format.h"

namespace podshim {
namespace {

Result<int> Half(int v) {
  if (v % 2) return Error::Invalid("value " + std::to_string(v) + " is odd");
  return v / 2;
}

Result<int> Quarter(int v) {
  int h = PODSHIM_TRY_WRAP(Half(v), "first half");
  return PODSHIM_TRY(Half(h));
}

TEST(ResultTest, TryPropagatesAndWraps) {
  EXPECT_EQ(*Quarter(8), 2);
  auto r = Quarter(6);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().ToString(), "value 3 is odd");
  auto w = Quarter(5);
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().ToString(), "first half: value 5 is odd");
  EXPECT_EQ(w.error().code(), ErrorCode::kInvalidSpec);
}

TEST(ResultTest, ErrnoErrorsSayTheCause) {
  Error e = Error::Errno(ENOENT, "open /x");
  EXPECT_EQ(e.ToString(), "open /x: No such file or directory");
  EXPECT_EQ(e.code(), std::errc::no_such_file_or_directory);
}

TEST(DurationTest, ParsesKubeletForms) {
  using namespace std::chrono;
  EXPECT_EQ(*ParseDuration("200ms"), milliseconds(200));
  EXPECT_EQ(*ParseDuration("10s"), seconds(10));
  EXPECT_EQ(*ParseDuration("5m"), minutes(5));
  EXPECT_EQ(*ParseDuration("1m30s"), seconds(90));
  EXPECT_EQ(*ParseDuration("0"), nanoseconds(0));
  EXPECT_FALSE(ParseDuration("10"));
  EXPECT_FALSE(ParseDuration("s"));
  EXPECT_FALSE(ParseDuration("10x"));
  EXPECT_FALSE(ParseDuration(""));
  EXPECT_EQ(FormatDuration(milliseconds(1500)), "1500ms");
  EXPECT_EQ(FormatDuration(seconds(30)), "30s");
}

// A value from input is escaped in the error, so the message stays one line.
TEST(DurationTest, BadTextIsEscapedInTheError) {
  auto d = ParseDuration("1\nx\xff");
  ASSERT_FALSE(d.has_value());
  EXPECT_EQ(d.error().context().rfind("invalid duration \"1\\nx\\xff\": ", 0), 0u)
      << d.error().context();
}

TEST(LogInitTest, UnknownLevelIsEscapedInTheError) {
  auto st = log::Init("de\nbug\xff");
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().context(),
            "--log-level: unknown level \"de\\nbug\\xff\" (trace, debug, info, warn, error, off)");
}

TEST(TimeFormatTest, Rfc3339NanoInUtc) {
  std::chrono::system_clock::time_point t{std::chrono::nanoseconds(1475712429669794202LL)};
  EXPECT_EQ(FormatRfc3339Nano(t), "2016-10-06T00:07:09.669794202Z");
}

}  // namespace
}  // namespace podshim
