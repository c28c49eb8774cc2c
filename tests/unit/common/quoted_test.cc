#include "common/quoted.h"

#include <gtest/gtest.h>

#include <string>

namespace podshim {
namespace {

TEST(QuotedTest, PlainTextIsOnlyQuoted) { EXPECT_EQ(Quoted("web-1"), "\"web-1\""); }

TEST(QuotedTest, EmptyIsTwoQuotes) { EXPECT_EQ(Quoted(""), "\"\""); }

TEST(QuotedTest, QuotesAndBackslashesAreEscaped) {
  EXPECT_EQ(Quoted("a\"b\\c"), "\"a\\\"b\\\\c\"");
}

TEST(QuotedTest, ControlCharactersBecomeEscapes) {
  EXPECT_EQ(Quoted("a\nb\tc\rd"), "\"a\\nb\\tc\\rd\"");
  EXPECT_EQ(Quoted(std::string("x\0y", 3)), "\"x\\x00y\"");
  EXPECT_EQ(Quoted("\x1b[31m\x7f"), "\"\\x1b[31m\\x7f\"");
}

TEST(QuotedTest, ValidUtf8IsKept) {
  EXPECT_EQ(Quoted("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb3"),
            "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb3\"");
}

TEST(QuotedTest, BytesThatAreNotUtf8BecomeHexEscapes) {
  EXPECT_EQ(Quoted("\xff"), "\"\\xff\"");
  EXPECT_EQ(Quoted("\xc3"), "\"\\xc3\"");                             // truncated sequence
  EXPECT_EQ(Quoted("\xc0\xaf"), "\"\\xc0\\xaf\"");                    // overlong '/'
  EXPECT_EQ(Quoted("\xed\xa0\x80"), "\"\\xed\\xa0\\x80\"");           // a UTF-16 surrogate
  EXPECT_EQ(Quoted("\xf4\x90\x80\x80"), "\"\\xf4\\x90\\x80\\x80\"");  // above U+10FFFF
}

}  // namespace
}  // namespace podshim
