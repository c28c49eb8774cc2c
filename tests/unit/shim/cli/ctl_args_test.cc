// `podshim ctl`'s command line (CLI11): the global options before or after the command, both value
// forms, each command's options after its arguments, `--` before exec's command, help and errors.
#include "shim/cli/ctl_args.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <variant>
#include <vector>

namespace podshim::shim {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

Result<CtlArgs> Parse(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  return ParseCtlArgs(argv);
}

TEST(CtlArgsTest, GlobalOptionsBeforeOrAfterTheCommandInBothForms) {
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"--socket", "/s", "--json", "status"},
                                             {"--socket=/s", "status", "--json"},
                                             {"status", "--socket", "/s", "--json"},
                                             {"--json", "status", "--socket=/s"}}) {
    auto r = Parse(args);
    ASSERT_TRUE(r) << args[0] << ": " << r.error().ToString();
    EXPECT_EQ(r->invocation.socket, "/s");
    EXPECT_TRUE(r->invocation.json);
    EXPECT_TRUE(std::holds_alternative<control::StatusRequest>(r->invocation.request));
  }
}

TEST(CtlArgsTest, CommandOptionsBeforeOrAfterTheirArguments) {
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"--socket", "/s", "kill", "web", "--signal", "KILL"},
                                             {"--socket", "/s", "kill", "--signal=9", "web"}}) {
    auto r = Parse(args);
    ASSERT_TRUE(r) << r.error().ToString();
    const auto* kill = std::get_if<control::KillRequest>(&r->invocation.request);
    ASSERT_NE(kill, nullptr);
    EXPECT_EQ(kill->container, "web");
    EXPECT_EQ(kill->signal, 9);
  }
  auto exec = Parse({"--socket", "/s", "exec", "web", "--timeout=3", "--", "sh", "--timeout", "x"});
  ASSERT_TRUE(exec) << exec.error().ToString();
  const auto* e = std::get_if<control::ExecRequest>(&exec->invocation.request);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->argv, (std::vector<std::string>{"sh", "--timeout", "x"}));
  EXPECT_EQ(e->timeout_seconds, 3);
  auto events = Parse({"--socket", "/s", "events", "--follow", "--from", "4"});
  ASSERT_TRUE(events) << events.error().ToString();
  const auto* ev = std::get_if<control::EventsRequest>(&events->invocation.request);
  ASSERT_NE(ev, nullptr);
  EXPECT_TRUE(ev->follow);
  EXPECT_EQ(ev->from_seq, 4u);
}

TEST(CtlArgsTest, ErrorsNameTheOptionOrCommand) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"status"}, "--socket PATH is required"},
      {{"--socket"}, "--socket: missing value"},
      {{"--socket", "/s"}, "missing command"},
      {{"--socket", "/s", "--bogus", "status"}, "unknown option --bogus"},
      {{"--socket", "/s", "status", "--from", "1"}, "status: unknown option --from"},
      {{"--socket", "/s", "events", "--from"}, "events: --from: missing value"},
      {{"--socket", "/s", "stats", "--json=1"}, "stats: --json: takes no value"},
      {{"--socket", "/s", "frob"}, "unknown command \"frob\""},
  };
  for (const auto& [args, message] : cases) {
    auto r = Parse(args);
    ASSERT_FALSE(r) << message;
    EXPECT_EQ(r.error().ToString(), message);
  }
}

TEST(CtlArgsTest, HelpOfCtlAndOfEachCommandListsItsOptions) {
  auto top = Parse({"--help"});
  ASSERT_TRUE(top);
  EXPECT_TRUE(top->help);
  EXPECT_EQ(top->help_text, CtlUsage());
  EXPECT_THAT(CtlUsage(), StartsWith("usage: podshim ctl --socket PATH [--json] COMMAND"));
  for (const char* part : {"--socket", "--json", "status", "events", "stop", "kill", "restart",
                           "exec", "stats", "--help"}) {
    EXPECT_THAT(CtlUsage(), HasSubstr(part));
  }
  const std::vector<std::pair<std::string, std::string>> commands = {
      {"events", "--from"}, {"events", "--follow"}, {"stop", "--grace"},
      {"kill", "--signal"}, {"exec", "--timeout"},  {"status", "--socket"}};
  for (const auto& [command, flag] : commands) {
    auto r = Parse({command, "--help"});
    ASSERT_TRUE(r) << command << ": " << r.error().ToString();
    EXPECT_TRUE(r->help) << command;
    EXPECT_THAT(r->help_text, StartsWith("usage: podshim ctl " + command)) << command;
    EXPECT_THAT(r->help_text, HasSubstr(flag)) << command;
  }
  auto exec = Parse({"--socket", "/s", "exec", "web", "--", "ls", "--help"});
  ASSERT_TRUE(exec) << exec.error().ToString();
  EXPECT_FALSE(exec->help);
}

}  // namespace
}  // namespace podshim::shim
