// runc's `update` flags as a linux.resources object (shim/ocirt/oci_cgroup_ops.h).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "shim/ocirt/oci_cgroup_ops.h"

namespace podshim::shim {
namespace {

using nlohmann::json;

json Resources(const std::map<std::string, std::string>& flags) {
  auto r = UpdateFlagsToResources(flags);
  EXPECT_TRUE(r) << (r ? "" : r.error().ToString());
  return r ? json::parse(*r) : json();
}

std::string ErrorOf(const std::map<std::string, std::string>& flags) {
  auto r = UpdateFlagsToResources(flags);
  return r ? "no error" : r.error().ToString();
}

TEST(OciUpdateFlagsTest, EveryFlagLandsInItsField) {
  json r = Resources({{"memory", "104857600"},
                      {"memory-reservation", "50m"},
                      {"memory-swap", "-1"},
                      {"cpu-share", "512"},
                      {"cpu-quota", "-1"},
                      {"cpu-period", "100000"},
                      {"cpuset-cpus", "0-1"},
                      {"cpuset-mems", "0"},
                      {"pids-limit", "64"},
                      {"blkio-weight", "300"},
                      {"root", "/run/x"}});  // a global option: not a resource
  EXPECT_EQ(r, json::parse(R"({
    "memory": {"limit": 104857600, "reservation": 52428800, "swap": -1},
    "cpu": {"shares": 512, "quota": -1, "period": 100000, "cpus": "0-1", "mems": "0"},
    "pids": {"limit": 64},
    "blockIO": {"weight": 300}})"));
  EXPECT_EQ(Resources({{"cpu-shares", "2048"}}), json::parse(R"({"cpu":{"shares":2048}})"));
  EXPECT_EQ(Resources({}), json::object());
}

TEST(OciUpdateFlagsTest, SizesTakeRuncsBinaryUnits) {
  EXPECT_EQ(Resources({{"memory", "1g"}})["memory"]["limit"], 1073741824);
  EXPECT_EQ(Resources({{"memory", "64M"}})["memory"]["limit"], 67108864);
  EXPECT_EQ(Resources({{"memory", "2KiB"}})["memory"]["limit"], 2048);
  EXPECT_EQ(Resources({{"memory", "3kb"}})["memory"]["limit"], 3072);
  EXPECT_EQ(Resources({{"memory", "512"}})["memory"]["limit"], 512);
  EXPECT_EQ(Resources({{"memory-swap", "-1"}})["memory"]["swap"], -1);
}

TEST(OciUpdateFlagsTest, BadValuesNameTheFlag) {
  EXPECT_EQ(ErrorOf({{"memory", "lots"}}),
            "--memory: expected -1 or a size such as 512m or 1g, got \"lots\"");
  EXPECT_NE(ErrorOf({{"memory", "1x"}}).find("--memory"), std::string::npos);
  EXPECT_NE(ErrorOf({{"memory", "-5"}}).find("--memory"), std::string::npos);
  EXPECT_EQ(ErrorOf({{"cpu-share", "-1"}}),
            "--cpu-share: expected a non-negative integer, got \"-1\"");
  EXPECT_EQ(ErrorOf({{"pids-limit", "ten"}}), "--pids-limit: expected an integer, got \"ten\"");
  EXPECT_NE(ErrorOf({{"l3-cache-schema", "L3:0=f"}}).find("Intel RDT is not supported"),
            std::string::npos);
}

}  // namespace
}  // namespace podshim::shim
