#include "cgroups/oci_resources.h"

#include <gtest/gtest.h>

#include <string>

namespace podshim::cgroups {
namespace {

CgroupFileValues Files(std::string_view json, OciResourceOptions options = {}) {
  auto r = MapOciResources(json, options);
  EXPECT_TRUE(r) << (r ? "" : r.error().ToString());
  return r ? r->files : CgroupFileValues{};
}

std::vector<std::string> Ignored(std::string_view json) {
  auto r = MapOciResources(json);
  EXPECT_TRUE(r) << (r ? "" : r.error().ToString());
  return r ? r->ignored : std::vector<std::string>{};
}

std::string ErrorOf(std::string_view json) {
  auto r = MapOciResources(json);
  return r ? "no error" : r.error().ToString();
}

TEST(OciResourcesTest, NothingMapsToNothing) {
  EXPECT_TRUE(Files("").empty());
  EXPECT_TRUE(Files("{}").empty());
  EXPECT_TRUE(Files(R"({"memory":null,"cpu":{}})").empty());
}

TEST(OciResourcesTest, PidsLimit) {
  EXPECT_EQ(Files(R"({"pids":{"limit":100}})"), (CgroupFileValues{{"pids.max", "100"}}));
  EXPECT_EQ(Files(R"({"pids":{"limit":-1}})"), (CgroupFileValues{{"pids.max", "max"}}));
  EXPECT_TRUE(Files(R"({"pids":{"limit":0}})").empty());
  EXPECT_EQ(ErrorOf(R"({"pids":{"limit":"x"}})"),
            "linux.resources.pids.limit: expected a 64-bit integer, got \"x\"");
}

TEST(OciResourcesTest, MemoryLimitAndReservation) {
  EXPECT_EQ(Files(R"({"memory":{"limit":104857600,"reservation":52428800}})"),
            (CgroupFileValues{{"memory.max", "104857600"}, {"memory.low", "52428800"}}));
  EXPECT_EQ(Files(R"({"memory":{"reservation":-1}})"), (CgroupFileValues{{"memory.low", "max"}}));
  EXPECT_NE(ErrorOf(R"({"memory":{"limit":-2}})").find("linux.resources.memory.limit: expected -1"),
            std::string::npos);
  EXPECT_NE(ErrorOf(R"({"memory":{"limit":1.5}})").find("linux.resources.memory.limit"),
            std::string::npos);
}

TEST(OciResourcesTest, UnlimitedMemoryMeansUnlimitedSwapToo) {
  EXPECT_EQ(Files(R"({"memory":{"limit":-1}})"),
            (CgroupFileValues{{"memory.swap.max", "max"}, {"memory.max", "max"}}));
}

TEST(OciResourcesTest, SwapIsMemoryPlusSwapInTheSpec) {
  // swap 300M, memory 100M: 200M of swap on cgroup v2; written before memory.max, as runc does.
  EXPECT_EQ(Files(R"({"memory":{"limit":104857600,"swap":314572800}})"),
            (CgroupFileValues{{"memory.swap.max", "209715200"}, {"memory.max", "104857600"}}));
  // swap == memory: no swap at all, written as 0.
  EXPECT_EQ(Files(R"({"memory":{"limit":104857600,"swap":104857600}})"),
            (CgroupFileValues{{"memory.swap.max", "0"}, {"memory.max", "104857600"}}));
  EXPECT_EQ(Files(R"({"memory":{"limit":104857600,"swap":-1}})"),
            (CgroupFileValues{{"memory.swap.max", "max"}, {"memory.max", "104857600"}}));
}

TEST(OciResourcesTest, SwapConversionEdges) {
  EXPECT_EQ(*SwapToCgroupV2(0, 0), 0);
  EXPECT_EQ(*SwapToCgroupV2(0, -1), -1);
  EXPECT_EQ(*SwapToCgroupV2(-1, 100), -1);
  EXPECT_EQ(*SwapToCgroupV2(300, 100), 200);
  EXPECT_FALSE(SwapToCgroupV2(100, 0));
  EXPECT_FALSE(SwapToCgroupV2(100, -1));
  EXPECT_FALSE(SwapToCgroupV2(50, 100));
  EXPECT_EQ(ErrorOf(R"({"memory":{"swap":100}})"),
            "linux.resources.memory.swap: a swap limit needs a memory limit (memory.limit)");
  EXPECT_NE(ErrorOf(R"({"memory":{"limit":200,"swap":100}})").find("must not be below"),
            std::string::npos);
}

TEST(OciResourcesTest, V1OnlyMemorySettingsAreNotedNotWritten) {
  auto r = MapOciResources(
      R"({"memory":{"disableOOMKiller":true,"kernel":1000,"kernelTCP":1000,"swappiness":10}})");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->files.empty());
  ASSERT_EQ(r->ignored.size(), 4u);
  EXPECT_EQ(r->ignored[0],
            "linux.resources.memory.disableOOMKiller: cgroup v2 has no switch to disable the OOM "
            "killer");
  EXPECT_NE(r->ignored[1].find("memory.kernel:"), std::string::npos);
  EXPECT_TRUE(Ignored(R"({"memory":{"disableOOMKiller":false}})").empty());
  EXPECT_EQ(ErrorOf(R"({"memory":{"disableOOMKiller":1}})"),
            "linux.resources.memory.disableOOMKiller: expected true or false");
}

TEST(OciResourcesTest, CpuSharesBecomeWeight) {
  EXPECT_EQ(Files(R"({"cpu":{"shares":1024}})"), (CgroupFileValues{{"cpu.weight", "100"}}));
  EXPECT_EQ(Files(R"({"cpu":{"shares":2}})"), (CgroupFileValues{{"cpu.weight", "1"}}));
  EXPECT_EQ(Files(R"({"cpu":{"shares":262144}})"), (CgroupFileValues{{"cpu.weight", "10000"}}));
  OciResourceOptions linear;
  linear.weight_formula = CpuWeightFormula::kLinear;
  EXPECT_EQ(Files(R"({"cpu":{"shares":1024}})", linear), (CgroupFileValues{{"cpu.weight", "39"}}));
  EXPECT_TRUE(Files(R"({"cpu":{"shares":0}})").empty());
  EXPECT_NE(ErrorOf(R"({"cpu":{"shares":-5}})").find("linux.resources.cpu.shares"),
            std::string::npos);
}

TEST(OciResourcesTest, CpuQuotaAndPeriodBecomeCpuMax) {
  EXPECT_EQ(Files(R"({"cpu":{"quota":50000,"period":100000}})"),
            (CgroupFileValues{{"cpu.max", "50000 100000"}}));
  EXPECT_EQ(Files(R"({"cpu":{"quota":50000}})"), (CgroupFileValues{{"cpu.max", "50000"}}));
  EXPECT_EQ(Files(R"({"cpu":{"period":20000}})"), (CgroupFileValues{{"cpu.max", "max 20000"}}));
  EXPECT_EQ(Files(R"({"cpu":{"quota":-1,"period":100000}})"),
            (CgroupFileValues{{"cpu.max", "max 100000"}}));
  EXPECT_EQ(Files(R"({"cpu":{"quota":20000,"burst":10000}})"),
            (CgroupFileValues{{"cpu.max", "20000"}, {"cpu.max.burst", "10000"}}));
  EXPECT_NE(ErrorOf(R"({"cpu":{"quota":-7}})").find("linux.resources.cpu.quota"),
            std::string::npos);
}

TEST(OciResourcesTest, CpuIdleCpusetAndOrder) {
  EXPECT_EQ(Files(R"({"cpu":{"idle":1}})"), (CgroupFileValues{{"cpu.idle", "1"}}));
  EXPECT_EQ(Files(R"({"cpu":{"cpus":"0-1","mems":"0"}})"),
            (CgroupFileValues{{"cpuset.cpus", "0-1"}, {"cpuset.mems", "0"}}));
  EXPECT_TRUE(Files(R"({"cpu":{"cpus":""}})").empty());
  EXPECT_EQ(Files(R"({"cpu":{"cpus":"0","shares":1024,"quota":1000,"idle":0},"pids":{"limit":5},
                      "memory":{"limit":4096}})"),
            (CgroupFileValues{{"pids.max", "5"},
                              {"memory.max", "4096"},
                              {"cpu.idle", "0"},
                              {"cpu.weight", "100"},
                              {"cpu.max", "1000"},
                              {"cpuset.cpus", "0"}}));
  auto ignored = Ignored(R"({"cpu":{"realtimeRuntime":1000,"realtimePeriod":5000}})");
  ASSERT_EQ(ignored.size(), 2u);
  EXPECT_EQ(ignored[0], "linux.resources.cpu.realtimeRuntime: cgroup v2 has no realtime cpu files");
  EXPECT_EQ(ErrorOf(R"({"cpu":{"cpus":3}})"), "linux.resources.cpu.cpus: expected a string, got 3");
}

TEST(OciResourcesTest, HugepageLimits) {
  EXPECT_EQ(Files(R"({"hugepageLimits":[{"pageSize":"2MB","limit":209715200},
                                        {"pageSize":"1GB","limit":0}]})"),
            (CgroupFileValues{{"hugetlb.2MB.max", "209715200"}, {"hugetlb.1GB.max", "0"}}));
  EXPECT_EQ(ErrorOf(R"({"hugepageLimits":[{"pageSize":"../x","limit":1}]})"),
            "linux.resources.hugepageLimits[0].pageSize: \"../x\" is not a page size such as "
            "\"2MB\" or \"1GB\"");
  EXPECT_EQ(ErrorOf(R"({"hugepageLimits":[{"limit":1}]})"),
            "linux.resources.hugepageLimits[0]: pageSize and limit are required");
}

TEST(OciResourcesTest, BlkioWeightConversion) {
  EXPECT_EQ(BlkioWeightToIoWeight(0), 0u);
  EXPECT_EQ(BlkioWeightToIoWeight(10), 1u);
  EXPECT_EQ(BlkioWeightToIoWeight(500), 4950u);
  EXPECT_EQ(BlkioWeightToIoWeight(1000), 10000u);
  EXPECT_EQ(Files(R"({"blockIO":{"weight":500}})"), (CgroupFileValues{{"io.weight", "4950"}}));
  OciResourceOptions bfq;
  bfq.bfq = true;
  EXPECT_EQ(Files(R"({"blockIO":{"weight":500}})", bfq),
            (CgroupFileValues{{"io.bfq.weight", "500"}}));
  EXPECT_EQ(ErrorOf(R"({"blockIO":{"weight":5}})"),
            "linux.resources.blockIO.weight: expected 10 to 1000, got 5");
  EXPECT_NE(ErrorOf(R"({"blockIO":{"weight":1001}})").find("up to 1000"), std::string::npos);
}

TEST(OciResourcesTest, WeightDeviceNeedsBfq) {
  const char* json = R"({"blockIO":{"weightDevice":[{"major":8,"minor":0,"weight":300}]}})";
  OciResourceOptions bfq;
  bfq.bfq = true;
  EXPECT_EQ(Files(json, bfq), (CgroupFileValues{{"io.bfq.weight", "8:0 300"}}));
  auto r = MapOciResources(json);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->files.empty());
  ASSERT_EQ(r->ignored.size(), 1u);
  EXPECT_NE(r->ignored[0].find("blockIO.weightDevice[0]: per-device weights need the BFQ"),
            std::string::npos);
  EXPECT_EQ(Ignored(R"({"blockIO":{"leafWeight":300}})").size(), 1u);
}

TEST(OciResourcesTest, ThrottlesBecomeIoMaxLines) {
  EXPECT_EQ(Files(R"({"blockIO":{
      "throttleReadBpsDevice":[{"major":8,"minor":0,"rate":1048576}],
      "throttleWriteBpsDevice":[{"major":8,"minor":16,"rate":2097152}],
      "throttleReadIOPSDevice":[{"major":8,"minor":0,"rate":100}],
      "throttleWriteIOPSDevice":[{"major":8,"minor":0,"rate":0}]}})"),
            (CgroupFileValues{{"io.max", "8:0 rbps=1048576"},
                              {"io.max", "8:16 wbps=2097152"},
                              {"io.max", "8:0 riops=100"},
                              {"io.max", "8:0 wiops=max"}}));
  EXPECT_EQ(ErrorOf(R"({"blockIO":{"throttleReadBpsDevice":[{"major":8,"rate":1}]}})"),
            "linux.resources.blockIO.throttleReadBpsDevice[0]: major and minor are required, "
            "non-negative integers");
  EXPECT_EQ(ErrorOf(R"({"blockIO":{"throttleReadBpsDevice":[{"major":8,"minor":0}]}})"),
            "linux.resources.blockIO.throttleReadBpsDevice[0].rate: required");
  EXPECT_EQ(ErrorOf(R"({"blockIO":{"throttleReadBpsDevice":{}}})"),
            "linux.resources.blockIO.throttleReadBpsDevice: expected an array");
}

TEST(OciResourcesTest, Rdma) {
  EXPECT_EQ(Files(R"({"rdma":{"mlx5_1":{"hcaHandles":3,"hcaObjects":10000},"mlx4":{"hcaHandles":1},
                      "none":{}}})"),
            (CgroupFileValues{{"rdma.max", "mlx4 hca_handle=1"},
                              {"rdma.max", "mlx5_1 hca_handle=3 hca_object=10000"}}));
}

TEST(OciResourcesTest, NetworkIsNoted) {
  auto ignored = Ignored(R"({"network":{"classID":1048577}})");
  ASSERT_EQ(ignored.size(), 1u);
  EXPECT_EQ(ignored[0], "linux.resources.network: cgroup v2 has no net_cls or net_prio controller");
}

TEST(OciResourcesTest, DevicesAreLeftToTheDeviceProgram) {
  EXPECT_TRUE(Files(R"({"devices":[{"allow":false,"access":"rwm"}]})").empty());
}

TEST(OciResourcesTest, UnifiedIsVerbatimAndLast) {
  EXPECT_EQ(Files(R"({"unified":{"memory.high":"1G","cpu.weight":"50"},"pids":{"limit":9}})"),
            (CgroupFileValues{{"pids.max", "9"}, {"cpu.weight", "50"}, {"memory.high", "1G"}}));
  EXPECT_EQ(ErrorOf(R"({"unified":{"../memory.max":"1"}})"),
            "linux.resources.unified.../memory.max: not a cgroup file name "
            "(\"<controller>.<file>\", no '/')");
  EXPECT_NE(ErrorOf(R"({"unified":{"nodot":"1"}})").find("not a cgroup file name"),
            std::string::npos);
  EXPECT_NE(ErrorOf(R"({"unified":{"cgroup.procs":"1"}})").find("manages this file"),
            std::string::npos);
  EXPECT_EQ(ErrorOf(R"({"unified":{"memory.high":5}})"),
            "linux.resources.unified.memory.high: expected a string value");
}

TEST(OciResourcesTest, MalformedTopLevel) {
  EXPECT_EQ(ErrorOf("[1]"), "linux.resources: expected a JSON object");
  EXPECT_EQ(ErrorOf(R"({"memory":3})"), "linux.resources.memory: expected an object");
  auto r = MapOciResources(R"({"pids":{"limit":"x"}})", {}, "--resources");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().ToString().find("--resources.pids.limit"), std::string::npos);
}

}  // namespace
}  // namespace podshim::cgroups
