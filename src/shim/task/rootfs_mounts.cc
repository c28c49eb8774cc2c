#include "shim/task/rootfs_mounts.h"

#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "common/quoted.h"
#include "oci/mounts.h"

namespace podshim::shim::task {
namespace {

// mount(2) copies at most one page of data.
long PageSize() { return ::sysconf(_SC_PAGESIZE); }

Status MountOne(const RootfsMountCalls& c, const std::filesystem::path& target) {
  const std::string t = target.string();
  if (::mount(c.source.c_str(), t.c_str(), c.fstype.c_str(), c.flags,
              c.data.empty() ? nullptr : c.data.c_str()) < 0) {
    return Error::Errno(errno, "mount " + c.fstype + " " + c.source + " on " + t);
  }
  if (c.propagation != 0 && ::mount("", t.c_str(), "", c.propagation, nullptr) < 0) {
    const int err = errno;
    (void)::umount2(t.c_str(), MNT_DETACH);
    return Error::Errno(err, "set propagation of " + t);
  }
  if (c.remount_readonly &&
      ::mount("", t.c_str(), "", c.flags | MS_REMOUNT | MS_RDONLY, nullptr) < 0) {
    const int err = errno;
    (void)::umount2(t.c_str(), MNT_DETACH);
    return Error::Errno(err, "remount " + t + " read-only");
  }
  return Ok();
}

}  // namespace

Result<RootfsMountCalls> PlanRootfsMount(const RootfsMount& mount, const std::string& field) {
  for (const std::string& opt : mount.options) {
    if (opt == "loop") {
      return Error::Domain(ErrorCode::kUnsupported,
                           field + ".options: \"loop\" (a loop device) is not supported");
    }
  }
  if (mount.type.empty()) return Error::Invalid(field + ".type: required");
  oci::MountOptions opts = oci::ParseMountOptions(mount.options);
  RootfsMountCalls c;
  c.source = mount.source;
  c.fstype = mount.type;
  c.flags = opts.flags;
  if (opts.bind || mount.type == "bind") c.flags |= MS_BIND;
  if (opts.recursive_bind) c.flags |= MS_REC;
  c.data = std::move(opts.data);
  c.propagation = opts.propagation;
  c.remount_readonly = (c.flags & MS_BIND) && (c.flags & MS_RDONLY) && !(c.flags & MS_REMOUNT);
  if (static_cast<long>(c.data.size()) >= PageSize()) {
    // containerd shortens long overlay lowerdirs with a chdir trick; podshim does not yet.
    return Error::Domain(ErrorCode::kUnsupported,
                         field + ".options: " + std::to_string(c.data.size()) +
                             " bytes of mount data do not fit in one page");
  }
  if (mount.source.empty() && (c.flags & MS_BIND)) {
    return Error::Invalid(field + ".source: required for a bind mount");
  }
  return c;
}

Status MountRootfs(const std::vector<RootfsMount>& mounts, const std::filesystem::path& target) {
  std::vector<RootfsMountCalls> calls;
  for (size_t i = 0; i < mounts.size(); ++i) {
    calls.push_back(PODSHIM_TRY(PlanRootfsMount(mounts[i], "rootfs[" + std::to_string(i) + "]")));
  }
  for (size_t i = 0; i < calls.size(); ++i) {
    Status mounted = MountOne(calls[i], target);
    if (!mounted) {
      (void)UnmountRootfs(target);
      return std::move(mounted).error().Wrap("rootfs[" + std::to_string(i) + "]");
    }
  }
  return Ok();
}

Status UnmountRootfs(const std::filesystem::path& target) {
  // Each call detaches the topmost mount; EINVAL: nothing (more) mounted there.
  for (int layer = 0; layer < 64; ++layer) {
    if (::umount2(target.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) == 0) continue;
    if (errno == EINVAL || errno == ENOENT) return Ok();
    return Error::Errno(errno, "unmount " + target.string());
  }
  return Error::Errno(EBUSY, "unmount " + target.string() + ": more than 64 mounts stacked");
}

}  // namespace podshim::shim::task
