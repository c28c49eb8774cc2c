// The command lines of `podshim oci` (CLI11): runc-style options before positionals, value forms,
// `--`, global options before or after the command, help, and clear errors.
#include "shim/cli/oci_args.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fixtures/fakes/temp_dir.h"
#include "shim/cli/commands.h"

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

// argv-like storage for the parse functions.
struct Argv {
  explicit Argv(std::vector<std::string> a) : words(std::move(a)) {
    for (std::string& w : words) ptrs.push_back(w.data());
  }
  std::vector<std::string> words;
  std::vector<char*> ptrs;
};

Result<OciArgs> ParseCommand(std::string_view name, std::vector<std::string> args) {
  const OciCommandSpec* command = FindOciCommand(name);
  EXPECT_NE(command, nullptr) << name;
  if (!command) return Error::Invalid("no such command");
  Argv argv(std::move(args));
  return ParseOciCommand(*command, argv.ptrs);
}

TEST(OciCommandLineTest, GlobalOptionsBeforeTheCommandStopAtIt) {
  Argv argv({"--root", "/r", "--log=/l", "-debug", "list", "--root", "/x", "-q"});
  auto r = ParseOciGlobal(argv.ptrs);
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->Value("root"), "/r");
  EXPECT_EQ(r->Value("log"), "/l");
  EXPECT_TRUE(r->Has("debug"));
  EXPECT_EQ(r->positional, (std::vector<std::string>{"list", "--root", "/x", "-q"}));
}

TEST(OciCommandLineTest, GlobalOptionsAfterTheCommandInEveryForm) {
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"--root", "/r", "-q"},
                                             {"--root=/r", "-q"},
                                             {"-root", "/r", "--quiet"},
                                             {"-q", "--log", "/l", "--log-format=json",
                                              "--systemd-cgroup", "--debug", "--root", "/r"}}) {
    auto r = ParseCommand("list", args);
    ASSERT_TRUE(r) << args[0] << ": " << r.error().ToString();
    EXPECT_EQ(r->Value("root"), "/r") << args[0];
    EXPECT_TRUE(r->Has("quiet")) << args[0];
    EXPECT_TRUE(r->positional.empty());
  }
  auto state = ParseCommand("state", {"--root", "/r", "id"});
  ASSERT_TRUE(state) << state.error().ToString();
  EXPECT_EQ(state->positional, std::vector<std::string>{"id"});
  EXPECT_EQ(state->Value("root"), "/r");
}

TEST(OciCommandLineTest, ACommandsOwnOptionWinsOverTheGlobalOfTheSameName) {
  auto spec = ParseCommand("spec", {"--rootless", "--bundle", "/b"});
  ASSERT_TRUE(spec) << spec.error().ToString();
  EXPECT_TRUE(spec->Has("rootless"));  // spec's flag, not the global --rootless VALUE
  EXPECT_EQ(spec->Value("bundle"), "/b");
}

TEST(OciCommandLineTest, PositionalCountsAndUnknownOptions) {
  auto missing = ParseCommand("state", {});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().ToString(), "missing argument (see --help)");
  auto extra = ParseCommand("kill", {"id", "TERM", "x\n"});
  ASSERT_FALSE(extra);
  EXPECT_EQ(extra.error().ToString(), "unexpected argument \"x\\n\"");
  auto unknown = ParseCommand("list", {"--bogus"});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().ToString(), "unknown option \"--bogus\"");
  auto after_id = ParseCommand("kill", {"id", "-9"});  // runc: the signal, not an option
  ASSERT_TRUE(after_id) << after_id.error().ToString();
  EXPECT_EQ(after_id->positional, (std::vector<std::string>{"id", "-9"}));
  auto help = ParseCommand("delete", {"id", "--help"});
  ASSERT_TRUE(help);
  EXPECT_TRUE(help->help);
}

TEST(OciCommandLineTest, HelpTextsListEveryOption) {
  const std::string top = OciHelp();
  EXPECT_THAT(top, ::testing::StartsWith("usage: podshim oci "));
  for (const char* flag : {"--root", "--log", "--log-format", "--debug", "--systemd-cgroup",
                           "--rootless", "--version", "--help"}) {
    EXPECT_THAT(top, ::testing::HasSubstr(flag));
  }
  for (const OciCommandSpec& c : OciCommands()) {
    EXPECT_THAT(top, ::testing::HasSubstr("  " + std::string(c.name) + " "));
    const std::string help = OciCommandHelp(c);
    EXPECT_THAT(help, ::testing::StartsWith("usage: podshim oci " + std::string(c.name)));
    for (const OciOption& o : c.options) {
      EXPECT_THAT(help, ::testing::HasSubstr("--" + std::string(o.name))) << c.name;
    }
    EXPECT_THAT(help, ::testing::HasSubstr("--root")) << c.name;
  }
}

// The whole `podshim oci` dispatch: runc takes `list --root X`; podshim refused it before CLI11.
TEST(OciCommandLineTest, ListWithRootAfterTheCommandRunsThere) {
  testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  const std::string root = (dir.path() / "root").string();
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"oci", "list", "--root", root, "-q"}, {"oci", "list", "--root=" + root, "-q"}}) {
    Argv argv(args);
    ::testing::internal::CaptureStdout();
    ::testing::internal::CaptureStderr();
    int status = RunOciCommand(static_cast<int>(argv.ptrs.size()), argv.ptrs.data());
    std::string out = ::testing::internal::GetCapturedStdout();
    std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(status, 0) << args[2] << ": " << err;
    EXPECT_EQ(out, "");
  }
  Argv bad({"oci", "list", "--root="});
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(RunOciCommand(static_cast<int>(bad.ptrs.size()), bad.ptrs.data()), 2);
  EXPECT_THAT(::testing::internal::GetCapturedStderr(),
              ::testing::StartsWith("podshim oci: --root: must not be empty\n"));
}

}  // namespace
}  // namespace podshim::shim
