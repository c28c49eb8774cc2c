#include "cgroups/quantity.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace podshim::cgroups {
namespace {

struct ValidCase {
  const char* text;
  int64_t milli;  // MilliValue(), rounded up
  int64_t value;  // Value(), rounded up
};

TEST(QuantityTest, ParsesEveryUpstreamForm) {
  const ValidCase cases[] = {
      {"0", 0, 0},
      {"100m", 100, 1},  // 0.1 rounds up to 1
      {"1", 1000, 1},
      {"10", 10000, 10},  // 10 bytes, as kubelet reads memory: "10"
      {"0.5", 500, 1},
      {".5", 500, 1},
      {"1.", 1000, 1},
      {"1.5", 1500, 2},
      {"2.5m", 3, 1},
      {"1n", 1, 1},
      {"1u", 1, 1},
      {"1500u", 2, 1},
      {"1k", 1000000, 1000},
      {"1M", 1000000000, 1000000},
      {"1G", 1000000000000, 1000000000},
      {"1T", 1000000000000000, 1000000000000},
      {"1P", 1000000000000000000, 1000000000000000},
      {"1E", 0, 1000000000000000000},  // milli checked separately: out of range
      {"1Ki", 1024000, 1024},
      {"64Mi", 67108864000, 67108864},
      {"1.5Gi", 1610612736000, 1610612736},
      {"0.5Ki", 512000, 512},
      {"1.1Ki", 1126400, 1127},  // 1126.4 bytes
      {"1Ti", 1099511627776000, 1099511627776},
      {"1Pi", 1125899906842624000, 1125899906842624},
      {"1e3", 1000000, 1000},
      {"1E3", 1000000, 1000},
      {"1e+3", 1000000, 1000},
      {"1e-3", 1, 1},
      {"12e0", 12000, 12},
      {"1.5e3", 1500000, 1500},
      {"+5", 5000, 5},
      {"007", 7000, 7},
      {"00.250", 250, 1},
      {"-0", 0, 0},
      {"0.000", 0, 0},
      {"0.000000001", 1, 1},
      {"1e-30", 1, 1},
      // More digits than int64 holds: exact, no double rounding.
      {"1.000000000000000000000000001", 1001, 2},
      {"123456789012345678901234567890e-20", 1234567890124, 1234567891},
      {"100000000000000000000000e-20", 1000000, 1000},
      {"9223372036854775807", 0, INT64_MAX},
      {"9223372036854775807m", INT64_MAX, 9223372036854776},
  };
  for (const ValidCase& c : cases) {
    SCOPED_TRACE(c.text);
    auto q = Quantity::Parse(c.text);
    ASSERT_TRUE(q) << q.error().ToString();
    EXPECT_EQ(q->text(), c.text);
    auto value = q->Value();
    ASSERT_TRUE(value) << value.error().ToString();
    EXPECT_EQ(*value, c.value);
    if (c.milli != 0 || c.value == 0) {
      auto milli = q->MilliValue();
      ASSERT_TRUE(milli) << milli.error().ToString();
      EXPECT_EQ(*milli, c.milli);
    }
  }
}

// apimachinery quirks kept on purpose: a number without digits ("-", ".", "Gi") is zero.
TEST(QuantityTest, NumberWithoutDigitsIsZeroAsUpstream) {
  for (const char* text : {"+", "-", ".", "+.", "-000", "Gi", "m", "e3"}) {
    auto q = Quantity::Parse(text);
    ASSERT_TRUE(q) << text;
    EXPECT_TRUE(q->IsZero()) << text;
    EXPECT_EQ(*q->MilliValue(), 0) << text;
  }
}

TEST(QuantityTest, RejectsMalformedQuotingTheText) {
  for (const char* text :
       {"",     "12x", "1KiB", "1K",   "1ki",   "1mi",  "1e",  "1E3.5",         "1.2.3",
        "abc",  " 1",  "1 ",   "0x10", "1e3e3", "1Mi3", "--1", "1e99999999999", "1 Gi",
        "1Gi ", "1e-", "1m1",  "١"}) {
    SCOPED_TRACE(text);
    auto q = Quantity::Parse(text);
    ASSERT_FALSE(q);
    EXPECT_EQ(q.error().code(), ErrorCode::kInvalidSpec);
    EXPECT_EQ(q.error().ToString(), "invalid quantity \"" + std::string(text) + "\"");
  }
}

TEST(QuantityTest, RejectsNegative) {
  for (const char* text : {"-1", "-0.1", "-1Ki", "-1n", "-1e-30"}) {
    SCOPED_TRACE(text);
    auto q = Quantity::Parse(text);
    ASSERT_FALSE(q);
    EXPECT_EQ(q.error().ToString(),
              "invalid quantity \"" + std::string(text) + "\": must not be negative");
  }
}

TEST(QuantityTest, OutOfRangeIsAnErrorNotAWrap) {
  EXPECT_TRUE(Quantity::Parse("8E")->Value());
  EXPECT_EQ(*Quantity::Parse("7Ei")->Value(), 8070450532247928832);
  for (const char* text : {"9223372036854775808", "10E", "8Ei", "1e19", "1e2000000000"}) {
    SCOPED_TRACE(text);
    auto q = Quantity::Parse(text);
    ASSERT_TRUE(q);
    auto value = q->Value();
    ASSERT_FALSE(value);
    EXPECT_EQ(value.error().ToString(),
              "invalid quantity \"" + std::string(text) + "\": out of range");
  }
  EXPECT_FALSE(Quantity::Parse("1E")->MilliValue());
  EXPECT_FALSE(Quantity::Parse("9223372036854775807")->MilliValue());
}

// A 400,000-digit quantity (the hardening issue) is refused at once, and the error quotes only
// its start; a quantity of exactly the limit is still parsed (and read back exactly).
TEST(QuantityTest, OverlongTextIsRefusedWithAShortMessage) {
  for (const std::string& text : {std::string(400'000, '9'), std::string(400'000, '9') + "Ei",
                                  "0." + std::string(400'000, '0') + "1"}) {
    auto q = Quantity::Parse(text);
    ASSERT_FALSE(q);
    EXPECT_EQ(q.error().ToString(), "invalid quantity \"" + text.substr(0, 32) + "\"... (" +
                                        std::to_string(text.size()) +
                                        " characters): longer than the 64-character limit");
  }
  const std::string longest = "0." + std::string(61, '0') + "1";  // 64 characters
  ASSERT_EQ(longest.size(), kMaxQuantityChars);
  EXPECT_EQ(*ParseResourceQuantity("memory", longest), 1);
  EXPECT_FALSE(ParseResourceQuantity("memory", longest + "0"));
}

TEST(QuantityTest, ResourceQuantityUsesTheCanonicalUnit) {
  EXPECT_EQ(*ParseResourceQuantity("cpu", "100m"), 100);
  EXPECT_EQ(*ParseResourceQuantity("cpu", "1.5"), 1500);
  EXPECT_EQ(*ParseResourceQuantity("memory", "100m"), 1);
  EXPECT_EQ(*ParseResourceQuantity("memory", "128Mi"), 134217728);
  EXPECT_EQ(*ParseResourceQuantity("hugepages-2Mi", "4Mi"), 4194304);
  EXPECT_EQ(*ParseResourceQuantity("example.com/gpu", "2"), 2);
  auto bad = ParseResourceQuantity("cpu", "1x");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().ToString(), "invalid quantity \"1x\"");
}

}  // namespace
}  // namespace podshim::cgroups
