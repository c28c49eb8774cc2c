// The cgroup v2 statistics files that control_files.h does not parse already, for the containerd
// shim's Stats: io.stat (nested keyed: "MAJ:MIN rbytes=N wbytes=N ..."), and the page size in a
// hugetlb counter's file name. memory.stat is flat keyed (ParseFlatKeyed), cpu.stat and
// memory.events have their own parsers there. Pure: no I/O, table-tested.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace podshim::cgroups {

// One device of io.stat. Keys the kernel does not print (or that a newer kernel adds, such as
// iocost's "cost.*") are 0 or ignored.
struct IoStatEntry {
  uint64_t major = 0;
  uint64_t minor = 0;
  uint64_t rbytes = 0;
  uint64_t wbytes = 0;
  uint64_t rios = 0;
  uint64_t wios = 0;
  uint64_t dbytes = 0;
  uint64_t dios = 0;
  bool operator==(const IoStatEntry&) const = default;
};

// io.stat, one entry per line in the kernel's order. Error naming the line for a device that is
// not "MAJ:MIN" or a known key whose value is not an unsigned number.
Result<std::vector<IoStatEntry>> ParseIoStat(std::string_view text);

// "hugetlb.2MB.current" -> "2MB"; any other name (including "hugetlb.2MB.rsvd.current" and
// "hugetlb.2MB.max") -> nullopt.
std::optional<std::string> HugetlbCurrentPageSize(std::string_view file_name);

}  // namespace podshim::cgroups
