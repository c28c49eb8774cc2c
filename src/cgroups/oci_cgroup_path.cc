#include "cgroups/oci_cgroup_path.h"

#include <algorithm>
#include <string>
#include <vector>

#include "common/quoted.h"

namespace podshim::cgroups {
namespace {

constexpr std::string_view kField = "linux.cgroupsPath";
constexpr std::string_view kSliceSuffix = ".slice";
constexpr std::string_view kDefaultSlice = "system.slice";

Error Bad(std::string_view value, std::string_view why) {
  return Error::Invalid(std::string(kField) + ": " + Quoted(value) + ": " + std::string(why));
}

}  // namespace

Result<CgroupPath> ExpandSystemdSlice(std::string_view slice) {
  if (slice.empty() || slice == "-.slice") return CgroupPath();
  if (slice.find('/') != std::string_view::npos) {
    return Bad(slice, "a systemd slice name must not contain '/'");
  }
  if (!slice.ends_with(kSliceSuffix) || slice.size() == kSliceSuffix.size()) {
    return Bad(slice, "a systemd slice name must end in \".slice\"");
  }
  std::string_view stem = slice.substr(0, slice.size() - kSliceSuffix.size());
  // Each dash opens a nested slice: a-b-c.slice lives in a.slice/a-b.slice.
  CgroupPath path;
  size_t pos = 0;
  for (;;) {
    size_t dash = stem.find('-', pos);
    std::string_view part = stem.substr(pos, dash == std::string_view::npos ? dash : dash - pos);
    if (part.empty()) return Bad(slice, "empty part between dashes in a systemd slice name");
    const std::string prefix(stem.substr(0, dash == std::string_view::npos ? stem.size() : dash));
    path = PODSHIM_TRY_WRAP(path.Child(prefix + std::string(kSliceSuffix)), std::string(kField));
    if (dash == std::string_view::npos) break;
    pos = dash + 1;
  }
  return path;
}

Result<CgroupPath> ResolveSystemdCgroupsPath(std::string_view cgroups_path) {
  const size_t first = cgroups_path.find(':');
  const size_t second = first == std::string_view::npos ? first : cgroups_path.find(':', first + 1);
  if (second == std::string_view::npos ||
      cgroups_path.find(':', second + 1) != std::string_view::npos) {
    return Bad(cgroups_path, "expected \"slice:prefix:name\"");
  }
  std::string_view slice = cgroups_path.substr(0, first);
  std::string_view prefix = cgroups_path.substr(first + 1, second - first - 1);
  std::string_view name = cgroups_path.substr(second + 1);
  if (name.empty()) return Bad(cgroups_path, "the name (after the second ':') is empty");
  if (name.find('/') != std::string_view::npos || prefix.find('/') != std::string_view::npos) {
    return Bad(cgroups_path, "prefix and name must not contain '/'");
  }
  CgroupPath parent = PODSHIM_TRY(ExpandSystemdSlice(slice.empty() ? kDefaultSlice : slice));
  std::string unit;
  if (name.ends_with(kSliceSuffix)) {
    unit = std::string(name);
  } else if (prefix.empty()) {
    unit = std::string(name) + ".scope";
  } else {
    unit = std::string(prefix) + "-" + std::string(name) + ".scope";
  }
  return PODSHIM_TRY_WRAP(parent.Child(unit), std::string(kField));
}

bool IsSystemdCgroupsPath(std::string_view cgroups_path) {
  return std::count(cgroups_path.begin(), cgroups_path.end(), ':') == 2 &&
         cgroups_path.find('/') == std::string_view::npos;
}

Result<CgroupPath> ResolveOciCgroupsPath(std::string_view cgroups_path,
                                         std::string_view container_id) {
  if (cgroups_path.empty()) {
    return PODSHIM_TRY_WRAP(CgroupPath().Child(container_id), "cgroup for the container id");
  }
  if (IsSystemdCgroupsPath(cgroups_path)) return ResolveSystemdCgroupsPath(cgroups_path);
  CgroupPath path = PODSHIM_TRY_WRAP(CgroupPath::Parse(cgroups_path), std::string(kField));
  if (path.IsRoot()) return Bad(cgroups_path, "the cgroup2 root cannot hold a container");
  return path;
}

}  // namespace podshim::cgroups
