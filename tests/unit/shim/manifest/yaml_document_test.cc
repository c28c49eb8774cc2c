// The bounded YAML tree: core-schema typing of scalars (a linear matcher, no regex), tags and
// styles, aliases shared rather than copied, and every limit refused with the limit named.
#include "shim/manifest/yaml_document.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace podshim::shim {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using T = YamlScalarType;

// The one document of a stream, or nullptr (with a failure recorded).
const YamlNode* Root(const Result<std::vector<std::shared_ptr<const YamlNode>>>& r) {
  if (!r) {
    ADD_FAILURE() << r.error().ToString();
    return nullptr;
  }
  if (r->size() != 1) {
    ADD_FAILURE() << r->size() << " documents";
    return nullptr;
  }
  return r->front().get();
}

std::string ErrorOf(std::string_view text, const YamlLimits& limits = {}) {
  auto r = ParseYamlStream(text, limits);
  EXPECT_FALSE(r) << text.substr(0, 80);
  return r ? "" : r.error().ToString();
}

TEST(YamlScalarTest, CoreSchemaTypes) {
  for (const char* s : {"", "~", "null", "Null", "NULL"})
    EXPECT_EQ(ResolvePlainScalar(s), T::kNull);
  for (const char* s : {"true", "True", "TRUE", "false", "False", "FALSE"}) {
    EXPECT_EQ(ResolvePlainScalar(s), T::kBool) << s;
  }
  for (const char* s : {"0", "-1", "+12", "007", "0o17", "0x1F", "0xff"}) {
    EXPECT_EQ(ResolvePlainScalar(s), T::kInt) << s;
  }
  for (const char* s :
       {"1.5", ".5", "1.", "-1.5e3", "1e3", "+1E-3", ".inf", "-.Inf", "+.INF", ".nan", ".NaN"}) {
    EXPECT_EQ(ResolvePlainScalar(s), T::kFloat) << s;
  }
  for (const char* s : {"yes", "no",  "on",    "0x",   "0o",    "0o8",   "0xg",   "+",   "-",
                        ".",   "1e",  "1e+",   "e3",   "1.5.5", "+.nan", "1_000", "12x", "0b101",
                        " 1",  "tru", "nulll", "1:20", "--1",   ".inf.", "100m",  "64Mi"}) {
    EXPECT_EQ(ResolvePlainScalar(s), T::kString) << s;
  }
}

// std::regex recursed once per character and overflowed the stack on 400,000 digits.
TEST(YamlScalarTest, HugeNumbersAreClassifiedWithoutRecursion) {
  const std::string digits(400'000, '7');
  EXPECT_EQ(ResolvePlainScalar(digits), T::kInt);
  EXPECT_EQ(ResolvePlainScalar("-" + digits + "." + digits + "e" + digits), T::kFloat);
  EXPECT_EQ(ResolvePlainScalar(digits + "x"), T::kString);
  EXPECT_EQ(ResolvePlainScalar("0x" + std::string(400'000, 'f')), T::kInt);
}

TEST(YamlDocumentTest, QuotesTagsAndStylesDecideTheType) {
  auto r = ParseYamlStream(
      "- [5, '5', \"5\", !!str 5, ! 5, !!int '5', x, !foo true, null, '', ~]\n- |\n  5\n", {});
  const YamlNode* doc = Root(r);
  ASSERT_TRUE(doc);
  ASSERT_EQ(doc->size(), 2u);
  EXPECT_EQ(doc->item(1).type(), T::kString);  // a block scalar
  EXPECT_EQ(doc->item(1).text(), "5\n");
  const YamlNode& root = doc->item(0);
  ASSERT_TRUE(root.is_sequence());
  ASSERT_EQ(root.size(), 11u);
  const T want[] = {T::kInt,    T::kString, T::kString, T::kString, T::kString, T::kInt,
                    T::kString, T::kBool,   T::kNull,   T::kString, T::kNull};
  for (size_t i = 0; i < root.size(); ++i) {
    EXPECT_TRUE(root.item(i).is_scalar());
    EXPECT_EQ(root.item(i).type(), want[i]) << i;
  }
  EXPECT_TRUE(root.item(8).is_null());
  EXPECT_FALSE(root.item(9).is_null());
}

TEST(YamlDocumentTest, MappingsKeepOrderKeysAndPositions) {
  auto r = ParseYamlStream("b: 1\na:\n  - x\n  - {c: d}\n", {});
  const YamlNode* root_ptr = Root(r);
  ASSERT_TRUE(root_ptr);
  const YamlNode& root = *root_ptr;
  ASSERT_TRUE(root.is_mapping());
  ASSERT_EQ(root.size(), 2u);
  EXPECT_EQ(root.key(0).text(), "b");
  EXPECT_EQ(root.key(1).text(), "a");
  const YamlNode& list = root.value(1);
  ASSERT_TRUE(list.is_sequence());
  EXPECT_EQ(list.item(0).text(), "x");
  EXPECT_EQ(list.item(1).value(0).text(), "d");
  EXPECT_EQ(list.item(1).line(), 4u);
  EXPECT_EQ(list.item(1).column(), 5u);
}

TEST(YamlDocumentTest, JsonParses) {
  auto r = ParseYamlStream(R"({"a":1,"b":[true,null,"x\u00e9"],"c":{"d":-1.5}})", {});
  const YamlNode* root_ptr = Root(r);
  ASSERT_TRUE(root_ptr);
  const YamlNode& root = *root_ptr;
  ASSERT_EQ(root.size(), 3u);
  EXPECT_EQ(root.value(0).type(), T::kInt);
  EXPECT_EQ(root.value(1).item(2).text(), "x\xc3\xa9");
  EXPECT_EQ(root.value(2).value(0).type(), T::kFloat);
}

TEST(YamlDocumentTest, EveryDocumentOfTheStream) {
  auto r = ParseYamlStream("a: 1\n---\n---\nb: 2\n", {});
  ASSERT_TRUE(r) << r.error().ToString();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_TRUE((*r)[1]->is_null());  // the empty document between the two markers
  EXPECT_TRUE(ParseYamlStream("", {})->empty());
}

TEST(YamlDocumentTest, AnAliasSharesTheAnchoredNode) {
  auto r = ParseYamlStream("a: &x [1, {b: c}]\nd: *x\n", {});
  const YamlNode* root_ptr = Root(r);
  ASSERT_TRUE(root_ptr);
  const YamlNode& root = *root_ptr;
  EXPECT_EQ(&root.value(0), &root.value(1));
  EXPECT_EQ(root.value(1).item(1).value(0).text(), "c");
}

TEST(YamlDocumentTest, AliasesNeedAnAnchorBeforeThemInTheSameDocument) {
  EXPECT_EQ(ErrorOf("a: *x\n"), "a: alias \"x\" names no anchor before it");
  EXPECT_EQ(ErrorOf("a: &x [*x]\n"), "a[0]: alias \"x\" names no anchor before it");
  EXPECT_EQ(ErrorOf("a: &x 1\n---\nb: *x\n"), "b: alias \"x\" names no anchor before it");
}

// yaml-cpp 0.7 never returned on these (and grew without bound).
TEST(YamlDocumentTest, InputsThatHungYamlCppAreSyntaxErrors) {
  EXPECT_THAT(ErrorOf("!,"), StartsWith("invalid YAML or JSON at line 1, column "));
  EXPECT_THAT(ErrorOf(std::string_view(",+\0", 3)), StartsWith("invalid YAML or JSON"));
}

TEST(YamlDocumentTest, SyntaxErrorsNameTheirPlace) {
  EXPECT_EQ(ErrorOf("a: {b: c\nd: e\n"),
            "invalid YAML or JSON at line 2, column 2: did not find expected ',' or '}' (while "
            "parsing a flow mapping at line 1, column 4)");
  EXPECT_EQ(ErrorOf("a: \"\x01\"\n"),
            "invalid YAML or JSON at byte 4: control characters are not allowed (byte 0x01)");
}

TEST(YamlLimitsTest, AScalarOverTheLimitIsRefusedWithItsPath) {
  YamlLimits limits;
  limits.max_scalar_bytes = 8;
  EXPECT_TRUE(ParseYamlStream("a: [12345678]", limits));
  EXPECT_EQ(ErrorOf("a: {b: [x, 123456789]}", limits),
            "a.b[1]: scalar longer than the 8 bytes limit");
  EXPECT_EQ(ErrorOf("123456789", limits), "manifest: scalar longer than the 8 bytes limit");
  EXPECT_EQ(ErrorOf("a: " + std::string(256 * 1024 + 1, 'x')),
            "a: scalar longer than the 256 KiB limit");
  EXPECT_TRUE(ParseYamlStream("a: " + std::string(256 * 1024, 'x'), {}));
}

TEST(YamlLimitsTest, KeysInPathsAreQuotedWhenOdd) {
  YamlLimits limits;
  limits.max_scalar_bytes = 8;
  EXPECT_EQ(ErrorOf("\"a\\nb\": 123456789", limits),
            "\"a\\nb\": scalar longer than the 8 bytes limit");
}

TEST(YamlLimitsTest, NestingDeeperThanTheLimitIsRefused) {
  EXPECT_TRUE(ParseYamlStream(std::string(64, '[') + std::string(64, ']'), {}));
  std::string path;
  for (int i = 0; i < 64; ++i) path += "[0]";
  EXPECT_EQ(ErrorOf(std::string(65, '[') + std::string(65, ']')),
            path + ": nested deeper than the 64-level limit");
  std::string deep = ErrorOf(std::string(100'000, '['));
  EXPECT_THAT(deep, HasSubstr("nested deeper than the 64-level limit"));
  EXPECT_THAT(deep, StartsWith("[0][0][0]"));
  EXPECT_THAT(ErrorOf(std::string(100'000, '{')), HasSubstr("nested deeper than the 64-level"));
  std::string dashes;
  for (int i = 0; i < 100'000; ++i) dashes += "- ";
  EXPECT_THAT(ErrorOf(dashes + "x"), HasSubstr("nested deeper than the 64-level limit"));
}

// The issue's alias bomb: a 1 MiB anchored string used 1,000 times.
TEST(YamlLimitsTest, AliasBombOfOneBigScalarIsRefused) {
  std::string doc = "a: &a \"" + std::string(1 << 20, 'x') + "\"\nb: [";
  for (int i = 0; i < 1000; ++i) doc += i ? ", *a" : "*a";
  doc += "]\n";
  EXPECT_EQ(ErrorOf(doc), "a: scalar longer than the 256 KiB limit");
  // Under the scalar limit, the copies count against the stream's byte budget.
  doc = "a: &a \"" + std::string(200 * 1024, 'x') + "\"\nb: [";
  for (int i = 0; i < 1000; ++i) doc += i ? ", *a" : "*a";
  doc += "]\n";
  EXPECT_EQ(ErrorOf(doc),
            "b[14]: scalars longer than the 3 MiB limit in all (aliases counted "
            "as copies)");
}

// "Billion laughs": nine levels of ten aliases each stand for 10^9 nodes.
TEST(YamlLimitsTest, NestedAliasesCountAsTheCopiesTheyStandFor) {
  std::string doc = "l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 10; ++i) {
    std::string prev = "*l" + std::to_string(i - 1);
    doc += "l" + std::to_string(i) + ": &l" + std::to_string(i) + " [";
    for (int j = 0; j < 10; ++j) doc += (j ? ", " : "") + prev;
    doc += "]\n";
  }
  EXPECT_THAT(ErrorOf(doc), HasSubstr("more than the 1000000-node limit (aliases counted as "
                                      "copies)"));
  YamlLimits limits;
  limits.max_nodes = 5;
  EXPECT_EQ(ErrorOf("[a, b, c, d, e]", limits),
            "[4]: more than the 5-node limit (aliases "
            "counted as copies)");
}

TEST(YamlLimitsTest, FormatByteLimit) {
  EXPECT_EQ(FormatByteLimit(3 * 1024 * 1024), "3 MiB");
  EXPECT_EQ(FormatByteLimit(256 * 1024), "256 KiB");
  EXPECT_EQ(FormatByteLimit(1000), "1000 bytes");
}

}  // namespace
}  // namespace podshim::shim
