// One cgroup v2 control file and the exact string podshim writes to it ("cpu.max" = "50000
// 100000"). The pure resource math produces these in write order; the manager writes them. A value
// that kubelet leaves unset is absent, never written as a default.
#pragma once

#include <string>
#include <vector>

namespace podshim::cgroups {

struct CgroupFileValue {
  std::string file;   // e.g. "memory.max", "hugetlb.2MB.max"
  std::string value;  // e.g. "209715200", "max", "50000 100000"
  bool operator==(const CgroupFileValue&) const = default;
};
using CgroupFileValues = std::vector<CgroupFileValue>;

}  // namespace podshim::cgroups
