// The command line of `podshim oci exec`: repeatable options keep every value, the first
// positional argument ends the options (the command's own flags reach it).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "shim/cli/oci_args.h"

namespace podshim::shim {
namespace {

Result<OciArgs> ParseExec(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (std::string& s : args) argv.push_back(s.data());
  const OciCommandSpec* exec = FindOciCommand("exec");
  if (exec == nullptr) return Error::Invalid("no exec command");
  return ParseOciCommand(*exec, argv);
}

TEST(OciExecArgsTest, RepeatedOptionsKeepEveryValueAndTheCommandKeepsItsFlags) {
  auto a =
      ParseExec({"-e",         "A=1",       "--env", "B=2", "--env=C=3", "-c",       "CAP_KILL",
                 "--cap",      "CAP_CHOWN", "-g",    "7",   "-u",        "1:2",      "-d",
                 "--pid-file", "/p",        "web",   "sh",  "-c",        "echo -e x"});
  ASSERT_TRUE(a) << a.error().ToString();
  EXPECT_EQ(a->Values("env"), (std::vector<std::string>{"A=1", "B=2", "C=3"}));
  EXPECT_EQ(a->Values("cap"), (std::vector<std::string>{"CAP_KILL", "CAP_CHOWN"}));
  EXPECT_EQ(a->Values("additional-gids"), (std::vector<std::string>{"7"}));
  EXPECT_EQ(a->Value("user"), "1:2");
  EXPECT_TRUE(a->Has("detach"));
  EXPECT_EQ(a->positional, (std::vector<std::string>{"web", "sh", "-c", "echo -e x"}));
  EXPECT_TRUE(a->Values("process").empty());
}

TEST(OciExecArgsTest, RuncsProcessFormAndTheIdAlone) {
  auto a = ParseExec({"--process", "/tmp/p.json", "--detach", "--console-socket", "/s", "-t",
                      "--preserve-fds", "2", "web"});
  ASSERT_TRUE(a) << a.error().ToString();
  EXPECT_EQ(a->Value("process"), "/tmp/p.json");
  EXPECT_EQ(a->Value("preserve-fds"), "2");
  EXPECT_TRUE(a->Has("tty"));
  EXPECT_EQ(a->positional, (std::vector<std::string>{"web"}));
  EXPECT_FALSE(ParseExec({"--process", "/p"}));  // the id is required
}

}  // namespace
}  // namespace podshim::shim
