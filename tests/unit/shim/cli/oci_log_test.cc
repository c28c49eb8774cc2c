// runc's --log lines: the JSON containerd's runc shim parses for a failed create's reason, and
// logrus' text form; the log file is appended to, never truncated.
#include "shim/cli/oci_log.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "fixtures/fakes/temp_dir.h"

namespace podshim::shim {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(OciLogTest, JsonLineIsRuncsShape) {
  EXPECT_EQ(OciLogLine("json", "container \"x\" does not exist", "2026-12-02T17:01:58Z"),
            "{\"level\":\"error\",\"msg\":\"container \\\"x\\\" does not exist\","
            "\"time\":\"2026-12-02T17:01:58Z\"}\n");
}

TEST(OciLogTest, JsonLineStaysValidForBadUtf8AndNewlines) {
  std::string line = OciLogLine("json", "bad \xff\nbyte", "t");
  ASSERT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  auto parsed = nlohmann::json::parse(line);
  EXPECT_EQ(parsed["level"], "error");
}

TEST(OciLogTest, TextLineIsLogrusShape) {
  EXPECT_EQ(OciLogLine("text", "container does not exist", "2026-12-02T17:01:58Z"),
            "time=\"2026-12-02T17:01:58Z\" level=error msg=\"container does not exist\"\n");
}

TEST(OciLogTest, ErrorsAreAppendedToTheConfiguredFile) {
  testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  const std::string path = (dir.path() / "log.json").string();
  { std::ofstream(path) << "{\"level\":\"info\",\"msg\":\"earlier\"}\n"; }
  ASSERT_TRUE(ConfigureOciLog(path, "json"));
  OciLogError("first");
  OciLogError("second");
  ASSERT_TRUE(ConfigureOciLog("", "json"));
  OciLogError("not written");
  std::istringstream lines(Slurp(path));
  std::string line;
  std::vector<std::string> msgs;
  while (std::getline(lines, line)) msgs.push_back(nlohmann::json::parse(line)["msg"]);
  EXPECT_EQ(msgs, (std::vector<std::string>{"earlier", "first", "second"}));
}

TEST(OciLogTest, UnwritablePathFailsAtConfiguration) {
  testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  auto s = ConfigureOciLog((dir.path() / "no" / "such" / "log").string(), "json");
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().ToString().find("--log"), std::string::npos);
}

}  // namespace
}  // namespace podshim::shim
