#include "shim/cli/resource_flags.h"

#include <charconv>
#include <chrono>
#include <string>
#include <string_view>

#include "common/duration.h"
#include "common/quoted.h"

namespace podshim::shim {
namespace {

constexpr const char kGroup[] = "resource options";

Error Bad(std::string_view flag, std::string_view why) {
  return Error::Invalid(std::string(flag) + ": " + std::string(why));
}

Status SetWeightFormula(const std::string& v, cgroups::CgroupValueOptions* options) {
  if (v == "2025") {
    options->cpu_weight_formula = cgroups::CpuWeightFormula::k2025;
  } else if (v == "linear") {
    options->cpu_weight_formula = cgroups::CpuWeightFormula::kLinear;
  } else {
    return Bad("--cpu-weight-formula", Quoted(v) + " is not 2025 or linear");
  }
  return Ok();
}

Status SetPidsLimit(const std::string& v, cgroups::CgroupValueOptions* options) {
  int64_t n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (v.empty() || ec != std::errc() || end != v.data() + v.size()) {
    return Bad("--pod-pids-limit", Quoted(v) + " is not an integer");
  }
  options->pod_pids_limit = n;
  return Ok();
}

Status SetCfsPeriod(const std::string& v, cgroups::CgroupValueOptions* options) {
  auto d = ParseDuration(v);
  if (!d) return Bad("--cpu-cfs-period", d.error().ToString());
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(*d);
  if (us != *d || us < std::chrono::milliseconds(1) || us > std::chrono::seconds(1)) {
    return Bad("--cpu-cfs-period",
               Quoted(v) + " is not a whole number of microseconds in [1ms, 1s]");
  }
  options->cpu_cfs_period_us = us.count();
  return Ok();
}

}  // namespace

void AddResourceFlags(CommandLine& line, cgroups::CgroupValueOptions* options) {
  line.Value("--cpu-weight-formula", "2025|linear",
             "shares -> cpu.weight: runc/crun 2025 curve (default) or kubelet's linear one",
             [options](const std::string& v) { return SetWeightFormula(v, options); })
      .Group(kGroup);
  line.Flag("--memory-qos", "memory.min/memory.low from requests (MemoryQoS)", &options->memory_qos)
      .Group(kGroup);
  line.Flag("--single-process-oom-kill", "no memory.oom.group on container cgroups",
            &options->single_process_oom_kill)
      .Group(kGroup);
  line.Value("--pod-pids-limit", "N", "pids.max of the pod cgroup (default unlimited)",
             [options](const std::string& v) { return SetPidsLimit(v, options); })
      .Group(kGroup);
  line.Value("--cpu-cfs-period", "DURATION", "CFS period, 1ms..1s (default 100ms)",
             [options](const std::string& v) { return SetCfsPeriod(v, options); })
      .Group(kGroup);
  line.FlagCallback("--no-cpu-cfs-quota", "do not enforce cpu limits (cpu.max \"max\")",
                    [options] { options->cpu_cfs_quota = false; })
      .Group(kGroup);
}

}  // namespace podshim::shim
