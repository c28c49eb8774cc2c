#include "shim/cli/resource_flags.h"

#include <charconv>
#include <chrono>
#include <optional>
#include <string_view>

#include "common/duration.h"
#include "common/quoted.h"

namespace podshim::shim {
namespace {

Error Bad(std::string_view flag, std::string_view why) {
  return Error::Invalid(std::string(flag) + ": " + std::string(why));
}

}  // namespace

const char kResourceFlagsHelp[] =
    "  --cpu-weight-formula=2025|linear  shares -> cpu.weight: runc/crun 2025 curve (default)\n"
    "                                    or kubelet's linear one\n"
    "  --memory-qos                      memory.min/memory.low from requests (MemoryQoS)\n"
    "  --single-process-oom-kill         no memory.oom.group on container cgroups\n"
    "  --pod-pids-limit N                pids.max of the pod cgroup (default unlimited)\n"
    "  --cpu-cfs-period DURATION         CFS period, 1ms..1s (default 100ms)\n"
    "  --no-cpu-cfs-quota                do not enforce cpu limits (cpu.max \"max\")\n";

Result<bool> ConsumeResourceFlag(std::span<char* const> args, size_t* index,
                                 cgroups::CgroupValueOptions* options) {
  std::string_view arg = args[*index];
  std::string_view name = arg;
  std::optional<std::string_view> inline_value;
  if (size_t eq = arg.find('='); eq != std::string_view::npos) {
    name = arg.substr(0, eq);
    inline_value = arg.substr(eq + 1);
  }
  auto flag_only = [&](bool* field) -> Result<bool> {
    if (inline_value) return Bad(name, "takes no value");
    *field = true;
    ++*index;
    return true;
  };
  auto value = [&]() -> Result<std::string_view> {
    if (inline_value) return *inline_value;
    if (*index + 1 >= args.size()) return Bad(name, "needs a value");
    ++*index;
    return std::string_view(args[*index]);
  };

  if (name == "--memory-qos") return flag_only(&options->memory_qos);
  if (name == "--single-process-oom-kill") return flag_only(&options->single_process_oom_kill);
  if (name == "--no-cpu-cfs-quota") {
    bool disable = false;
    PODSHIM_TRY(flag_only(&disable));
    options->cpu_cfs_quota = false;
    return true;
  }
  if (name == "--cpu-weight-formula") {
    std::string_view v = PODSHIM_TRY(value());
    if (v == "2025") {
      options->cpu_weight_formula = cgroups::CpuWeightFormula::k2025;
    } else if (v == "linear") {
      options->cpu_weight_formula = cgroups::CpuWeightFormula::kLinear;
    } else {
      return Bad(name, Quoted(v) + " is not 2025 or linear");
    }
    ++*index;
    return true;
  }
  if (name == "--pod-pids-limit") {
    std::string_view v = PODSHIM_TRY(value());
    int64_t n = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc() || end != v.data() + v.size()) {
      return Bad(name, Quoted(v) + " is not an integer");
    }
    options->pod_pids_limit = n;
    ++*index;
    return true;
  }
  if (name == "--cpu-cfs-period") {
    std::string_view v = PODSHIM_TRY(value());
    auto d = ParseDuration(v);
    if (!d) return Bad(name, d.error().ToString());
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(*d);
    if (us != *d || us < std::chrono::milliseconds(1) || us > std::chrono::seconds(1)) {
      return Bad(name, Quoted(v) + " is not a whole number of microseconds in [1ms, 1s]");
    }
    options->cpu_cfs_period_us = us.count();
    ++*index;
    return true;
  }
  return false;
}

}  // namespace podshim::shim
