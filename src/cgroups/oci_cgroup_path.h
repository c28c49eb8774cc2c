// Where `podshim oci` puts a container's cgroup: linux.cgroupsPath resolved to a CgroupPath
// relative to the cgroup2 mount. Two forms: a path ("/a/b" or "a/b", both under the mount root,
// never escaping it) and systemd's "slice:prefix:name", mapped as crun and runc name the unit
// when they manage cgroupfs themselves ("system.slice:libpod:abc" ->
// system.slice/libpod-abc.scope). Pure.
#pragma once

#include <string_view>

#include "cgroups/cgroup_fs.h"
#include "common/result.h"

namespace podshim::cgroups {

// "a-b.slice" -> "a.slice/a-b.slice"; "-.slice" and "" (the root slice) -> "". Errors for a name
// without ".slice", with '/', or with an empty dash-separated part ("a--b.slice", "-a.slice").
Result<CgroupPath> ExpandSystemdSlice(std::string_view slice);

// "slice:prefix:name" -> <expanded slice>/<prefix>-<name>.scope ("<name>.scope" when prefix is
// empty; a name ending in ".slice" is used as is, the prefix ignored). An empty slice means
// "system.slice", as runc and crun default it. Errors name linux.cgroupsPath.
Result<CgroupPath> ResolveSystemdCgroupsPath(std::string_view cgroups_path);

// Whether linux.cgroupsPath has systemd's "slice:prefix:name" form: exactly two ':' and no '/'.
bool IsSystemdCgroupsPath(std::string_view cgroups_path);

// linux.cgroupsPath -> the container's cgroup. A value with exactly two ':' and no '/' is the
// systemd form; anything else is a path under the mount root ("." and ".." refused). Empty (the
// property absent): "<container_id>" at the mount root, as runc's cgroupfs driver places it.
Result<CgroupPath> ResolveOciCgroupsPath(std::string_view cgroups_path,
                                         std::string_view container_id);

}  // namespace podshim::cgroups
