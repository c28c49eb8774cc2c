// The mark on each parent cgroup directory podshim creates (--cgroup-parent components, and the
// ancestors of a `podshim oci` cgroupsPath), so that whichever podshim removes the last cgroup
// below it removes the parent too, not only the one that happened to create it. trusted.*: only
// root can set it, so no one else can make podshim remove a directory (rmdir of an empty one at
// that). Where the filesystem has no xattrs, only the creator removes it.
#pragma once

#include <sys/xattr.h>

#include <filesystem>

namespace podshim::cgroups {

inline constexpr char kCreatedParentXattr[] = "trusted.podshim.created-parent";

inline void MarkCreatedParent(const std::filesystem::path& dir) {
  (void)::setxattr(dir.c_str(), kCreatedParentXattr, "1", 1, 0);
}

inline bool MarkedCreatedParent(const std::filesystem::path& dir) {
  return ::getxattr(dir.c_str(), kCreatedParentXattr, nullptr, 0) >= 0;
}

}  // namespace podshim::cgroups
