// Parsing and formatting of cgroup v2 control-file syntax
// (Documentation/admin-guide/cgroup-v2.rst): space-separated controller lists, flat-keyed files
// (cgroup.events, memory.events, cpu.stat), single numbers, "max", cpu.max and cgroup.procs. Pure:
// no I/O, table-tested.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace podshim::cgroups {

// cgroup.controllers / cgroup.subtree_control: "cpu io memory pids\n" ->
// {"cpu","io","memory","pids"}. An empty file is an empty list.
Result<std::vector<std::string>> ParseControllerList(std::string_view text);
// "+cpu +memory" (enable) or "-cpu" (disable): one write to cgroup.subtree_control.
std::string FormatSubtreeControl(const std::vector<std::string>& enable,
                                 const std::vector<std::string>& disable = {});

// Flat-keyed files: one "key value" pair per line, values unsigned 64-bit.
Result<std::vector<std::pair<std::string, uint64_t>>> ParseFlatKeyed(std::string_view text);

// cgroup.events.
struct CgroupEvents {
  bool populated = false;  // a process lives in this cgroup or a descendant
  bool frozen = false;     // the freeze requested by cgroup.freeze has completed
  bool operator==(const CgroupEvents&) const = default;
};
Result<CgroupEvents> ParseCgroupEvents(std::string_view text);

// memory.events. Keys the kernel does not print (older kernels lack oom_group_kill) stay 0.
struct MemoryEvents {
  uint64_t low = 0;
  uint64_t high = 0;
  uint64_t max = 0;
  uint64_t oom = 0;       // the limit was hit and the OOM path ran (not every run kills)
  uint64_t oom_kill = 0;  // processes killed by the OOM killer: this is what "OOMKilled" counts
  uint64_t oom_group_kill = 0;
  bool operator==(const MemoryEvents&) const = default;
};
Result<MemoryEvents> ParseMemoryEvents(std::string_view text);

// cpu.stat. nr_* and throttled_usec appear only with the cpu controller enabled; they stay 0.
struct CpuStat {
  uint64_t usage_usec = 0;
  uint64_t user_usec = 0;
  uint64_t system_usec = 0;
  uint64_t nr_periods = 0;
  uint64_t nr_throttled = 0;
  uint64_t throttled_usec = 0;
  bool operator==(const CpuStat&) const = default;
};
Result<CpuStat> ParseCpuStat(std::string_view text);

// A single unsigned number ("4096\n"): memory.current, pids.current, cpu.weight.
Result<uint64_t> ParseNumber(std::string_view text);
// "max" -> nullopt (unlimited), otherwise a number: memory.max, pids.max, hugetlb.*.max.
Result<std::optional<uint64_t>> ParseMaxOrNumber(std::string_view text);
std::string FormatMaxOrNumber(std::optional<uint64_t> value);

// cpu.max: "$MAX $PERIOD" with $MAX "max" or a quota in microseconds.
struct CpuMax {
  std::optional<uint64_t> quota_usec;  // nullopt: no quota
  uint64_t period_usec = 100000;
  bool operator==(const CpuMax&) const = default;
};
Result<CpuMax> ParseCpuMax(std::string_view text);
std::string FormatCpuMax(const CpuMax& value);

// cgroup.procs: one pid per line.
Result<std::vector<pid_t>> ParseProcs(std::string_view text);

// The controller a control file belongs to: "memory.max" -> "memory", "hugetlb.2MB.max" ->
// "hugetlb". Core files ("cgroup.*") return "cgroup", which is always available.
std::string_view ControllerOf(std::string_view file);

// Whether `read_back` is what the kernel shows after `written` was written to `file`. Equal
// strings (whitespace-normalised) match. The kernel also legitimately changes two kinds of value:
// - memory.{max,high,low,min,swap.max}: byte counts are stored in pages, so the kernel reports
//   the value rounded DOWN to a multiple of page_size (mm/page_counter.c page_counter_memparse).
// - hugetlb.<size>.{max,rsvd.max}: rounded down to the huge page size named in the file, and
//   "max" reads back as the largest page count in bytes (e.g. 9223372036854771712), not "max".
bool ReadBackMatches(std::string_view file, std::string_view written, std::string_view read_back,
                     uint64_t page_size);

// Strips leading/trailing whitespace (kernel files end in "\n").
std::string_view TrimSpace(std::string_view text);

}  // namespace podshim::cgroups
