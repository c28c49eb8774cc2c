#include "shim/run/dead_shim.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace podshim::shim {
namespace {

using Json = nlohmann::json;

constexpr char kRunning[] = R"({
  "name": "web", "phase": "Running",
  "initContainerStatuses": [
    {"name": "init", "role": "init", "state": {"terminated": {"exitCode": 0}}, "restartCount": 0},
    {"name": "side", "role": "sidecar", "state": {"running": {}}, "restartCount": 2}
  ],
  "containerStatuses": [
    {"name": "app", "role": "app", "state": {"running": {}}, "restartCount": 0},
    {"name": "job", "role": "app", "state": {"waiting": {"reason": "CrashLoopBackOff"}},
     "restartCount": 1}
  ]
})";

TEST(UnknownEndEvents, EachRunningContainerEndsWithNoExitCodeThenThePodIsUnknown) {
  auto lines = UnknownEndEvents(kRunning, 77, "2026-12-02T10:00:00.000000000Z");
  ASSERT_EQ(lines.size(), 3u);
  Json side = Json::parse(lines[0]);
  EXPECT_EQ(side["type"], "ContainerExited");
  EXPECT_EQ(side["pod"], "web");
  EXPECT_EQ(side["container"], "side");
  EXPECT_EQ(side["role"], "sidecar");
  EXPECT_TRUE(side["exitCode"].is_null());
  EXPECT_TRUE(side["signal"].is_null());
  EXPECT_EQ(side["reason"], "ContainerStatusUnknown");
  EXPECT_EQ(side["restartCount"], 2);
  EXPECT_NE(side["message"].get<std::string>().find("pid 77"), std::string::npos);
  EXPECT_EQ(side["time"], "2026-12-02T10:00:00.000000000Z");
  EXPECT_EQ(Json::parse(lines[1])["container"], "app");
  Json pod = Json::parse(lines[2]);
  EXPECT_EQ(pod["type"], "PodFinished");
  EXPECT_EQ(pod["phase"], "Unknown");
  // The first keys in the order of every event line.
  EXPECT_TRUE(lines[0].starts_with(R"({"time":"2026-12-02T10:00:00.000000000Z","pod":"web",)"
                                   R"("type":"ContainerExited","container":"side")"));
}

TEST(UnknownEndEvents, NothingForAFinishedPodOrNoStatus) {
  std::string finished = kRunning;
  finished.replace(finished.find("Running"), 7, "Succeeded");
  EXPECT_TRUE(UnknownEndEvents(finished, 1, "t").empty());
  EXPECT_TRUE(UnknownEndEvents("", 1, "t").empty());
  EXPECT_TRUE(UnknownEndEvents("{\"phase\": \"Runn", 1, "t").empty());
}

}  // namespace
}  // namespace podshim::shim
