// CgroupV2Manager::CreateAt and AdoptCreated: a cgroup at an exact path, for `podshim oci`
// (linux.cgroupsPath), beside the pod layout of manager.cc.
#include <errno.h>

#include <algorithm>

#include "cgroups/created_parent_mark.h"
#include "cgroups/manager.h"

namespace podshim::cgroups {
namespace {

bool IsErrno(const Error& e, int err) {
  return e.code() == std::error_code(err, std::system_category());
}

}  // namespace

Result<std::vector<CgroupPath>> CgroupV2Manager::CreateAt(const CgroupPath& cg) {
  if (cg.IsRoot()) return Error::Invalid("create cgroup: the cgroup2 root cannot hold a container");
  const size_t first_new = created_.size();
  auto undo = [this, first_new] {
    for (size_t i = created_.size(); i > first_new; --i) (void)fs_->RemoveDir(created_[i - 1]);
    created_.resize(first_new);
  };
  for (size_t depth = 1; depth < cg.Depth(); ++depth) {
    const CgroupPath dir = cg.Prefix(depth);
    if (PODSHIM_TRY(fs_->Exists(dir))) continue;
    Status made = fs_->MakeDir(dir);
    if (!made && IsErrno(made.error(), EEXIST)) continue;  // created concurrently: not ours
    if (!made) {
      undo();
      return std::move(made).error().Wrap("create cgroup");
    }
    created_.push_back(dir);
    MarkCreatedParent(fs_->FullPath(dir));
  }
  const std::set<std::string> base(options_.base_controllers.begin(),
                                   options_.base_controllers.end());
  auto reaching = EnableControllers(cg, base);
  if (!reaching) {
    undo();
    return std::move(reaching).error().Wrap("create cgroup " + fs_->FullPath(cg).string());
  }
  Status made = fs_->MakeDir(cg);
  if (made) {
    created_.push_back(cg);
  } else if (!IsErrno(made.error(), EEXIST)) {
    undo();
    return std::move(made).error().Wrap("create cgroup");
  }
  return std::vector<CgroupPath>(created_.begin() + static_cast<ptrdiff_t>(first_new),
                                 created_.end());
}

void CgroupV2Manager::AdoptCreated(const std::vector<CgroupPath>& dirs) {
  for (const CgroupPath& dir : dirs) {
    if (std::find(created_.begin(), created_.end(), dir) == created_.end()) created_.push_back(dir);
  }
}

void CgroupV2Manager::RemoveEmptyParentsOf(const CgroupPath& cg) {
  for (size_t depth = cg.Depth(); depth-- > 1;) {
    const CgroupPath dir = cg.Prefix(depth);
    auto mine = std::find(created_.begin(), created_.end(), dir);
    if (mine == created_.end() && !MarkedCreatedParent(fs_->FullPath(dir))) break;
    Status removed = fs_->RemoveDir(dir);
    if (!removed && !IsErrno(removed.error(), ENOENT)) break;  // EBUSY: another cgroup is there
    if (mine != created_.end()) created_.erase(mine);
  }
}

}  // namespace podshim::cgroups
