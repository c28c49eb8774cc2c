// ParseOciArgs: runc-style options before positionals, value forms, `--`, and clear errors.
#include "shim/ocirt/oci_args.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace podshim::shim {
namespace {

constexpr OciOption kOptions[] = {
    {"bundle", 'b', true}, {"pid-file", '\0', true}, {"force", 'f', false}};

// Parses `args` as argv would hold them (ParseOciArgs copies what it keeps).
Result<OciArgs> Parse(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (std::string& s : args) argv.push_back(s.data());
  return ParseOciArgs(argv, kOptions);
}

TEST(OciArgsTest, AcceptsEveryValueForm) {
  for (const auto& args : std::vector<std::vector<std::string>>{{"--bundle", "/b", "id"},
                                                                {"--bundle=/b", "id"},
                                                                {"-b", "/b", "id"},
                                                                {"-bundle", "/b", "id"},
                                                                {"-b=/b", "id"}}) {
    auto r = Parse(args);
    ASSERT_TRUE(r) << args[0] << ": " << r.error().ToString();
    EXPECT_EQ(r->Value("bundle"), "/b") << args[0];
    EXPECT_EQ(r->positional, std::vector<std::string>{"id"}) << args[0];
  }
}

TEST(OciArgsTest, FlagsAndDefaults) {
  auto r = Parse({"-f", "id"});
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->Has("force"));
  EXPECT_EQ(r->Value("bundle", "."), ".");
  auto off = Parse({"--force=false", "id"});
  ASSERT_TRUE(off);
  EXPECT_FALSE(off->Has("force"));
}

TEST(OciArgsTest, OptionsEndAtTheFirstPositionalOrDoubleDash) {
  auto r = Parse({"--bundle", "/b", "--", "sh", "-c", "--force"});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->positional, (std::vector<std::string>{"sh", "-c", "--force"}));
  EXPECT_FALSE(r->Has("force"));
  auto after = Parse({"id", "-f"});
  ASSERT_TRUE(after);
  EXPECT_EQ(after->positional, (std::vector<std::string>{"id", "-f"}));
}

TEST(OciArgsTest, ErrorsNameTheOption) {
  auto unknown = Parse({"--bndle", "/b"});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().context(), "unknown option \"--bndle\"");
  auto missing = Parse({"--pid-file"});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().context(), "option \"--pid-file\" needs a value");
  auto flag_value = Parse({"--force=yes", "id"});
  ASSERT_FALSE(flag_value);
  EXPECT_EQ(flag_value.error().context(), "option \"--force\" takes no value");
}

TEST(OciArgsTest, UnknownOptionIsEscapedInTheError) {
  auto unknown = Parse({"--bn\ndle\xff"});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().context(), "unknown option \"--bn\\ndle\\xff\"");
}

}  // namespace
}  // namespace podshim::shim
