// Checks every resource case of tests/fixtures/data/k8s-vectors.json (the upstream Kubernetes,
// runc and crun test tables; format in SEMANTICS.md 0.3) against src/cgroups: pod requests and
// limits, ResourceConfigForPod with its cgroup v2 encoding under both weight formulas, MemoryQoS,
// the conversion tables and the cpu.weight table. Each failure names its case.
#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cgroups/cgroup_values.h"
#include "cgroups/cpu_conversion.h"
#include "cgroups/pod_resources.h"
#include "cgroups/quantity.h"

namespace podshim::cgroups {
namespace {

using nlohmann::json;

const char* const kVectorsPath = PODSHIM_SOURCE_DIR "/tests/fixtures/data/k8s-vectors.json";

// Loaded once; a missing or unparsable file fails every test that needs it.
const json& Vectors() {
  static const json vectors = [] {
    std::ifstream in(kVectorsPath);
    if (!in) return json();
    return json::parse(in, nullptr, /*allow_exceptions=*/false);
  }();
  return vectors;
}

#define REQUIRE_VECTORS()                                                        \
  ASSERT_TRUE(Vectors().is_object()) << "cannot load or parse " << kVectorsPath; \
  ASSERT_EQ(Vectors().value("schema", ""), "podshim-k8s-vectors/1")

ResourceList ToResourceList(const json& quantities, const std::string& where) {
  ResourceList list;
  for (const auto& [name, quantity] : quantities.items()) {
    auto value = ParseResourceQuantity(name, quantity.get<std::string>());
    EXPECT_TRUE(value) << where << ": " << name << ": " << value.error().ToString();
    if (value) list[name] = *value;
  }
  return list;
}

// expected_canonical uses cpu_millis / memory_bytes for the two resources it normalises.
ResourceList CanonicalToResourceList(const json& canonical) {
  ResourceList list;
  for (const auto& [key, value] : canonical.items()) {
    if (key == "cpu_millis") {
      list["cpu"] = value.get<int64_t>();
    } else if (key == "memory_bytes") {
      list["memory"] = value.get<int64_t>();
    } else {
      ADD_FAILURE() << "unknown canonical key " << key;
    }
  }
  return list;
}

ContainerRole RoleOf(const std::string& kind) {
  if (kind == "init") return ContainerRole::kInit;
  if (kind == "sidecar") return ContainerRole::kSidecar;
  EXPECT_EQ(kind, "app");
  return ContainerRole::kApp;
}

PodResourcesInput PodFromVector(const json& v) {
  const std::string id = v.at("id").get<std::string>();
  PodResourcesInput pod;
  for (const json& c : v.at("containers")) {
    std::string where = id + " " + c.at("name").get<std::string>();
    pod.containers.push_back({c.at("name").get<std::string>(),
                              RoleOf(c.at("kind").get<std::string>()),
                              ToResourceList(c.at("requests"), where + " requests"),
                              ToResourceList(c.at("limits"), where + " limits")});
  }
  if (v.contains("pod_overhead")) pod.overhead = ToResourceList(v["pod_overhead"], id);
  const json& level = v.at("pod_level_resources");
  if (!level.is_null()) {
    pod.pod_level = PodLevelResources{ToResourceList(level.value("requests", json::object()), id),
                                      ToResourceList(level.value("limits", json::object()), id)};
  }
  return pod;
}

std::optional<int64_t> OptionalInt(const json& j) {
  if (j.is_null()) return std::nullopt;
  return j.get<int64_t>();
}

std::optional<std::string> FileValue(const CgroupFileValues& files, const std::string& name) {
  for (const CgroupFileValue& f : files) {
    if (f.file == name) return f.value;
  }
  return std::nullopt;
}

TEST(K8sVectorsTest, PodResourceVectors) {
  REQUIRE_VECTORS();
  const json& cases = Vectors().at("pod_resource_vectors");
  ASSERT_FALSE(cases.empty());
  int asserted = 0;
  for (const json& v : cases) {
    const std::string id = v.at("id").get<std::string>();
    SCOPED_TRACE("case " + id);
    PodResourcesInput pod = PodFromVector(v);
    PodResourcesOptions options{.exclude_overhead = v.at("options").at("exclude_overhead")};
    const json& expected = v.at("expected");
    const json& canonical = v.at("expected_canonical");
    if (!expected.at("requests").is_null()) {
      ResourceList got = PodRequests(pod, options);
      EXPECT_EQ(got, ToResourceList(expected["requests"], id)) << id << ": requests";
      EXPECT_EQ(got, CanonicalToResourceList(canonical.at("requests"))) << id << ": requests";
      ++asserted;
    }
    if (!expected.at("limits").is_null()) {
      ResourceList got = PodLimits(pod, options);
      EXPECT_EQ(got, ToResourceList(expected["limits"], id)) << id << ": limits";
      EXPECT_EQ(got, CanonicalToResourceList(canonical.at("limits"))) << id << ": limits";
      ++asserted;
    }
  }
  EXPECT_GE(asserted, static_cast<int>(cases.size()));  // every case asserts something
}

CgroupValueOptions OptionsFor(const json& v) {
  const json& in = v.at("kubelet_inputs");
  CgroupValueOptions options;
  options.cpu_cfs_quota = in.at("enforce_cpu_limits").get<bool>();
  options.cpu_cfs_period_us = in.at("cpu_cfs_quota_period_us").get<int64_t>();
  return options;
}

TEST(K8sVectorsTest, CgroupVectors) {
  REQUIRE_VECTORS();
  const json& cases = Vectors().at("cgroup_vectors");
  ASSERT_FALSE(cases.empty());
  for (const json& v : cases) {
    const std::string id = v.at("id").get<std::string>();
    SCOPED_TRACE("case " + id);
    PodResourcesInput pod = PodFromVector(v);
    CgroupValueOptions options = OptionsFor(v);
    auto config = PodResourceConfig(pod, ComputeQos(pod), options);
    ASSERT_TRUE(config) << id << ": " << config.error().ToString();
    const json& expected = v.at("expected_resource_config");
    EXPECT_EQ(config->cpu_shares, OptionalInt(expected.at("cpu_shares"))) << id;
    EXPECT_EQ(config->cpu_quota_us, OptionalInt(expected.at("cpu_quota"))) << id;
    EXPECT_EQ(config->cpu_period_us, OptionalInt(expected.at("cpu_period"))) << id;
    EXPECT_EQ(config->memory_limit_bytes, OptionalInt(expected.at("memory_bytes"))) << id;
    EXPECT_TRUE(config->hugepage_limits.empty()) << id;
    EXPECT_FALSE(config->pids_limit) << id;
    EXPECT_TRUE(config->unified.empty()) << id;

    const json& derived = v.at("derived_cgroup_v2_files");
    for (auto [formula, key] :
         {std::pair{CpuWeightFormula::kLinear, "cpu.weight(kubelet linear)"},
          std::pair{CpuWeightFormula::k2025,
                    "cpu.weight(runc>=1.3.2/crun>=1.23 quadratic, for comparison)"}}) {
      options.cpu_weight_formula = formula;
      auto files = CgroupFiles(*config, options);
      ASSERT_TRUE(files) << id;
      EXPECT_EQ(FileValue(*files, "cpu.weight"), std::to_string(derived.at(key).get<int64_t>()))
          << id << ": " << key;
      for (const char* file : {"cpu.max", "memory.max"}) {
        const json& want = derived.at(file);
        EXPECT_EQ(FileValue(*files, file),
                  want.is_null() ? std::nullopt : std::optional(want.get<std::string>()))
            << id << ": " << file;
      }
      EXPECT_EQ(files->size(), 1 + !derived["cpu.max"].is_null() + !derived["memory.max"].is_null())
          << id << ": nothing else is written";
    }
  }
}

TEST(K8sVectorsTest, MemoryQosVectors) {
  REQUIRE_VECTORS();
  const json& section = Vectors().at("memory_qos_vectors");
  ASSERT_EQ(section.at("kubelet_inputs").at("memory_reservation_policy"), "TieredReservation");
  const json& cases = section.at("cases");
  ASSERT_FALSE(cases.empty());
  for (const json& c : cases) {
    const std::string name = c.at("case").get<std::string>();
    SCOPED_TRACE("memory QoS case " + name);
    // The file has no "burstable-partial-limits" cgroup vector, only its "-with-tuned-quota"
    // twin: the same containers with another CFS period, which memory QoS does not read.
    const std::string pod_id = c.at("same_pod_as").get<std::string>();
    const json* pod_vector = nullptr;
    for (const std::string& id : {pod_id, pod_id + "-with-tuned-quota"}) {
      for (const json& v : Vectors().at("cgroup_vectors")) {
        if (!pod_vector && v.at("id") == id) pod_vector = &v;
      }
    }
    ASSERT_NE(pod_vector, nullptr) << name << ": no cgroup vector " << c.at("same_pod_as");
    PodResourcesInput pod = PodFromVector(*pod_vector);
    CgroupValueOptions options = OptionsFor(*pod_vector);
    options.memory_qos = true;
    auto config = PodResourceConfig(pod, ComputeQos(pod), options);
    ASSERT_TRUE(config) << name;
    std::map<std::string, std::string> expected;
    if (!c.at("expected_unified").is_null()) {
      expected = c["expected_unified"].get<std::map<std::string, std::string>>();
    }
    EXPECT_EQ(config->unified, expected) << name;
    auto files = CgroupFiles(*config, options);
    ASSERT_TRUE(files) << name;
    for (const auto& [file, value] : expected) EXPECT_EQ(FileValue(*files, file), value) << name;
  }
}

TEST(K8sVectorsTest, ConversionVectors) {
  REQUIRE_VECTORS();
  const json& conv = Vectors().at("conversion_vectors");
  ASSERT_EQ(conv.size(), 5u) << "a conversion table this test does not know";
  for (const json& row : conv.at("MilliCPUToShares").at("cases")) {
    EXPECT_EQ(MilliCpuToShares(row[0]), row[1].get<int64_t>()) << "MilliCPUToShares " << row;
  }
  for (const json& row : conv.at("MilliCPUToQuota").at("cases")) {
    EXPECT_EQ(MilliCpuToQuota(row[0], row[1]), row[2].get<int64_t>()) << "MilliCPUToQuota " << row;
  }
  for (const json& row : conv.at("SharesToMilliCPU").at("cases")) {
    EXPECT_EQ(SharesToMilliCpu(row[0]), row[1].get<int64_t>()) << "SharesToMilliCPU " << row;
  }
  for (const json& row : conv.at("QuotaToMilliCPU").at("cases")) {
    EXPECT_EQ(QuotaToMilliCpu(row[0], row[1]), row[2].get<int64_t>()) << "QuotaToMilliCPU " << row;
  }
  for (const json& c : conv.at("CPUSharesEqualAfterV2RoundTrip").at("cases")) {
    SCOPED_TRACE("CPUSharesEqualAfterV2RoundTrip " + c.dump());
    int64_t shares = MilliCpuToShares(c.at("milli_cpu"));
    EXPECT_EQ(shares, c.at("shares").get<int64_t>());
    int64_t weight = CpuWeightKubelet(shares);
    EXPECT_EQ(weight, c.at("weight").get<int64_t>());
    EXPECT_EQ(CpuWeightToSharesKubelet(weight), c.at("readback_shares").get<int64_t>());
  }
}

TEST(K8sVectorsTest, CpuWeightTable) {
  REQUIRE_VECTORS();
  const json& table = Vectors().at("cpu_weight_table");
  const json& columns = table.at("columns");
  ASSERT_EQ(columns.size(), 4u);
  ASSERT_TRUE(columns[1].get<std::string>().starts_with("linear_oci_old"));
  ASSERT_TRUE(columns[2].get<std::string>().starts_with("linear_kubelet"));
  ASSERT_TRUE(columns[3].get<std::string>().starts_with("quadratic_new"));
  ASSERT_FALSE(table.at("rows").empty());
  for (const json& row : table.at("rows")) {
    SCOPED_TRACE("cpu_weight_table row " + row.dump());
    const int64_t shares = row[0];
    EXPECT_EQ(CpuWeightLinearOci(shares), row[1].get<int64_t>());
    EXPECT_EQ(CpuWeightKubelet(shares), row[2].get<int64_t>());
    EXPECT_EQ(CpuWeight2025(shares), row[3].get<int64_t>());
    EXPECT_EQ(CpuSharesToWeight(shares, CpuWeightFormula::kLinear), row[2].get<int64_t>());
    EXPECT_EQ(CpuSharesToWeight(shares, CpuWeightFormula::k2025), row[3].get<int64_t>());
  }
  int pairs = 0;
  for (const json& source : table.at("upstream_asserted")) {
    SCOPED_TRACE("upstream_asserted " + source.at("source").dump());
    if (source.contains("pairs")) {
      ASSERT_EQ(source.at("formula"), "quadratic");
      for (const json& p : source["pairs"]) {
        EXPECT_EQ(CpuWeight2025(p[0]), p[1].get<int64_t>()) << p;
        ++pairs;
      }
    }
    for (const json& p : source.value("pairs_old", json::array())) {
      EXPECT_EQ(CpuWeightLinearOci(p[0]), p[1].get<int64_t>()) << p;
      ++pairs;
    }
    for (const json& p : source.value("pairs_new", json::array())) {
      EXPECT_EQ(CpuWeight2025(p[0]), p[1].get<int64_t>()) << p;
      ++pairs;
    }
  }
  EXPECT_EQ(pairs, 7);
}

}  // namespace
}  // namespace podshim::cgroups
