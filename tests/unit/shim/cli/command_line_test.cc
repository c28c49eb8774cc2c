// CommandLine, the CLI11 glue every podshim command line goes through: the value forms of each
// style, where options end, help, and errors that name the option.
#include "shim/cli/command_line.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace podshim::shim {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// A command line with a value option (--name/-n) and a flag (--force/-f).
struct Line {
  explicit Line(FlagStyle style) : line("podshim test", "[options] ARG", "A test.", style) {
    line.Value("-n,--name", "NAME", "the name", [this](const std::string& v) -> Status {
      if (v == "bad") return Error::Invalid("--name: bad is bad");
      names.push_back(v);
      return Ok();
    });
    line.Flag("-f,--force", "force it", &force);
  }
  CommandLine line;
  std::vector<std::string> names;
  bool force = false;
};

TEST(CommandLineTest, ValueInTheNextArgumentOrAfterEquals) {
  for (FlagStyle style : {FlagStyle::kPodshim, FlagStyle::kRunc}) {
    for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
             {"--name", "x", "arg"}, {"--name=x", "arg"}, {"-n", "x", "arg"}, {"-n=x", "arg"}}) {
      Line l(style);
      auto r = l.line.Parse(args);
      ASSERT_TRUE(r) << args[0] << ": " << r.error().ToString();
      EXPECT_THAT(l.names, ElementsAre("x")) << args[0];
      EXPECT_THAT(r->positional, ElementsAre("arg")) << args[0];
    }
  }
}

TEST(CommandLineTest, ValuesMayStartWithADashOrBeEmptyOrHoldEquals) {
  Line l(FlagStyle::kPodshim);
  auto r = l.line.Parse({"--name", "-x", "--name=", "--name=a=b", "--name", ""});
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_THAT(l.names, ElementsAre("-x", "", "a=b", ""));
}

TEST(CommandLineTest, RuncStyleTakesSingleDashLongNamesAndFlagValues) {
  Line l(FlagStyle::kRunc);
  auto r = l.line.Parse({"-name", "x", "-force", "id"});
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_THAT(l.names, ElementsAre("x"));
  EXPECT_TRUE(l.force);
  Line off(FlagStyle::kRunc);
  ASSERT_TRUE(off.line.Parse({"--force", "--force=false"}));
  EXPECT_FALSE(off.force);
  Line on(FlagStyle::kRunc);
  ASSERT_TRUE(on.line.Parse({"--force=true"}));
  EXPECT_TRUE(on.force);
}

TEST(CommandLineTest, ErrorsInEachStyleNameTheOption) {
  struct Case {
    FlagStyle style;
    std::vector<std::string> args;
    std::string error;
  };
  const std::vector<Case> cases = {
      {FlagStyle::kPodshim, {"--nme", "x"}, "unknown option --nme"},
      {FlagStyle::kPodshim, {"-name", "x"}, "unknown option -name"},
      {FlagStyle::kPodshim, {"--na\tme"}, "unknown option \"--na\\tme\""},
      {FlagStyle::kPodshim, {"--name"}, "--name: missing value"},
      {FlagStyle::kPodshim, {"--force=true"}, "--force: takes no value"},
      {FlagStyle::kPodshim, {"--name", "bad"}, "--name: bad is bad"},
      {FlagStyle::kRunc, {"--nme", "x"}, "unknown option \"--nme\""},
      {FlagStyle::kRunc, {"-n"}, "option \"--name\" needs a value"},
      {FlagStyle::kRunc, {"--force=yes"}, "option \"--force\" takes no value"},
  };
  for (const Case& c : cases) {
    Line l(c.style);
    auto r = l.line.Parse(c.args);
    ASSERT_FALSE(r) << c.args[0];
    EXPECT_EQ(r.error().ToString(), c.error);
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidSpec);
  }
}

TEST(CommandLineTest, TheFirstErrorIsReported) {
  Line l(FlagStyle::kPodshim);
  auto r = l.line.Parse({"--name", "bad", "--name", "good"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().ToString(), "--name: bad is bad");
}

TEST(CommandLineTest, OptionsEndAtTheFirstPositionalOrDoubleDash) {
  Line l(FlagStyle::kRunc);
  auto r = l.line.Parse({"--name", "x", "--", "sh", "-c", "--force"});
  ASSERT_TRUE(r);
  EXPECT_THAT(r->positional, ElementsAre("sh", "-c", "--force"));
  EXPECT_FALSE(l.force);
  EXPECT_FALSE(r->after_dashes);
  Line after(FlagStyle::kRunc);
  auto rest = after.line.Parse({"id", "-f", "-9", "--", "x"});
  ASSERT_TRUE(rest);
  EXPECT_THAT(rest->positional, ElementsAre("id", "-f", "-9", "--", "x"));
  EXPECT_FALSE(after.force);
}

TEST(CommandLineTest, OptionsAnywhereReadsOptionsBetweenPositionals) {
  Line l(FlagStyle::kPodshim);
  l.line.OptionsAnywhere(true);
  auto r = l.line.Parse({"web", "--force", "x", "--name=n", "--", "echo", "--name"});
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_THAT(r->positional, ElementsAre("web", "x"));
  ASSERT_TRUE(r->after_dashes);
  EXPECT_THAT(*r->after_dashes, ElementsAre("echo", "--name"));
  EXPECT_TRUE(l.force);
  EXPECT_THAT(l.names, ElementsAre("n"));
}

TEST(CommandLineTest, HelpWinsUnlessAfterDoubleDash) {
  for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
           {"-h"}, {"--help"}, {"--nme", "--help"}, {"arg", "--help"}}) {
    Line l(FlagStyle::kPodshim);
    auto r = l.line.Parse(args);
    ASSERT_TRUE(r) << args[0] << ": " << r.error().ToString();
    EXPECT_TRUE(r->help) << args[0];
  }
  Line l(FlagStyle::kPodshim);
  auto dashes = l.line.Parse({"arg", "--", "--help"});
  ASSERT_TRUE(dashes);
  EXPECT_FALSE(dashes->help);
  Line not_anywhere(FlagStyle::kPodshim);
  not_anywhere.line.HelpAnywhere(false);
  auto sub = not_anywhere.line.Parse({"cmd", "--help"});
  ASSERT_TRUE(sub);
  EXPECT_FALSE(sub->help);
  EXPECT_THAT(sub->positional, ElementsAre("cmd", "--help"));
}

TEST(CommandLineTest, HelpIsGeneratedFromTheOptions) {
  Line l(FlagStyle::kPodshim);
  l.line.Subcommand("sub", "a subcommand");
  l.line.Footer("the footer");
  const std::string help = l.line.Help();
  EXPECT_THAT(help, StartsWith("usage: podshim test [options] ARG\nA test.\n"));
  for (const char* part : {"-n,--name NAME", "the name", "-f,--force", "force it", "-h,--help",
                           "sub", "a subcommand", "the footer"}) {
    EXPECT_THAT(help, HasSubstr(part));
  }
  EXPECT_EQ(help.back(), '\n');
  EXPECT_THAT(help, ::testing::Not(HasSubstr("\n\n\n")));
}

}  // namespace
}  // namespace podshim::shim
