#include "shim/run/pod_sandbox.h"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string_view>
#include <utility>

#include "cgroups/quantity.h"
#include "common/quoted.h"
#include "common/scope_guard.h"
#include "common/sys.h"
#include "oci/spec_parse.h"

namespace podshim::shim {
namespace {

// A directory on another filesystem than its parent's: something is mounted on it.
bool IsMountPoint(const std::filesystem::path& dir) {
  struct stat self {
  }, parent{};
  if (::stat(dir.c_str(), &self) != 0) return false;
  if (::stat(dir.parent_path().c_str(), &parent) != 0) return false;
  return self.st_dev != parent.st_dev;
}

using oci::NamespaceType;

// The helper child: enters new namespaces, sets them up, reports one status byte, then waits
// until the parent opened its namespace files. Only async-signal-safe calls.
[[noreturn]] void SandboxChild(int flags, const char* hostname, int report_fd, int wait_fd,
                               int parent_fds[2]) {
  // The parent's ends: the hold pipe reaches EOF only once no writer is left.
  ::close(parent_fds[0]);
  ::close(parent_fds[1]);
  char status = 0;
  if (::unshare(flags) < 0) {
    status = 1;
  } else if ((flags & CLONE_NEWUTS) && ::sethostname(hostname, std::strlen(hostname)) < 0) {
    status = 2;
  } else if (flags & CLONE_NEWNET) {
    int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq ifr;
    std::memset(&ifr, 0, sizeof ifr);
    std::memcpy(ifr.ifr_name, "lo", 3);
    if (s < 0 || ::ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
      status = 3;
    } else {
      ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP | IFF_RUNNING);
      if (::ioctl(s, SIOCSIFFLAGS, &ifr) < 0) status = 3;
    }
  }
  char err = static_cast<char>(status == 0 ? 0 : errno);
  char msg[2] = {status, err};
  (void)!::write(report_fd, msg, sizeof msg);
  char c;
  while (::read(wait_fd, &c, 1) < 0 && errno == EINTR) {
  }
  ::_exit(0);
}

const char* SandboxStepName(char status) {
  switch (status) {
    case 1:
      return "unshare";
    case 2:
      return "sethostname";
    default:
      return "bring lo up";
  }
}

Status PrepareHostPath(const std::string& volume, const HostPathVolume& hp) {
  struct stat st;
  bool exists = ::stat(hp.path.c_str(), &st) == 0;
  auto fail = [&](std::string what) {
    return Error::Invalid("volume " + Quoted(volume) + ": hostPath " + hp.path + ": " + what);
  };
  if (hp.type == "DirectoryOrCreate") {
    if (!exists) return sys::MakeDirs(hp.path);
    if (!S_ISDIR(st.st_mode)) return fail("not a directory");
    return Ok();
  }
  if (hp.type == "FileOrCreate") {
    if (!exists) {
      PODSHIM_TRY(sys::MakeDirs(std::filesystem::path(hp.path).parent_path()));
      PODSHIM_TRY(sys::Open(hp.path, O_WRONLY | O_CREAT, 0644));
      return Ok();
    }
    if (!S_ISREG(st.st_mode)) return fail("not a regular file");
    return Ok();
  }
  if (hp.type.empty()) return Ok();  // no check, as Kubernetes
  if (!exists) return fail("does not exist");
  bool ok = (hp.type == "Directory" && S_ISDIR(st.st_mode)) ||
            (hp.type == "File" && S_ISREG(st.st_mode)) ||
            (hp.type == "Socket" && S_ISSOCK(st.st_mode)) ||
            (hp.type == "CharDevice" && S_ISCHR(st.st_mode)) ||
            (hp.type == "BlockDevice" && S_ISBLK(st.st_mode));
  if (!ok) return fail("is not of type " + hp.type);
  return Ok();
}

}  // namespace

int PodSandbox::NamespaceFlags(const Pod& pod) {
  if (pod.spec.host_network) {
    paths_.host_namespaces = {NamespaceType::kNetwork, NamespaceType::kUts};
    return CLONE_NEWIPC;
  }
  return CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWUTS;
}

Result<PodSandbox> PodSandbox::Create(const Pod& pod, const std::filesystem::path& state_dir) {
  PodSandbox box;
  box.volumes_dir_ = state_dir / "volumes";
  const int flags = box.NamespaceFlags(pod);
  PODSHIM_TRY(box.CreateNamespaces(flags, pod.metadata.name));
  // On failure box's destructor removes what was made.
  for (const Volume& v : pod.spec.volumes) PODSHIM_TRY(box.PrepareVolume(v));
  return box;
}

Result<PodSandbox> PodSandbox::Adopt(const Pod& pod, const std::filesystem::path& state_dir,
                                     pid_t member) {
  if (member <= 0) return Create(pod, state_dir);  // the namespaces died with the last container
  PodSandbox box;
  box.volumes_dir_ = state_dir / "volumes";
  const int flags = box.NamespaceFlags(pod);
  PODSHIM_TRY(box.OpenNamespacesOf(member, flags));
  for (const Volume& v : pod.spec.volumes) PODSHIM_TRY(box.PrepareVolume(v));
  return box;
}

Status PodSandbox::CreateNamespaces(int flags, const std::string& hostname) {
  sys::PipePair report = PODSHIM_TRY(sys::Pipe(O_CLOEXEC));
  sys::PipePair hold = PODSHIM_TRY(sys::Pipe(O_CLOEXEC));
  pid_t pid = ::fork();
  if (pid < 0) return Error::Errno(errno, "fork the pod sandbox helper");
  if (pid == 0) {
    int parent_fds[2] = {report.read.get(), hold.write.get()};
    SandboxChild(flags, hostname.c_str(), report.write.get(), hold.read.get(), parent_fds);
  }
  report.write.Reset();
  hold.read.Reset();
  // The helper exits once the hold pipe closes: after its namespace files are open, or on error.
  ScopeGuard finish_child([&] {
    hold.write.Reset();
    int st;
    while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
  });
  char msg[2] = {0, 0};
  ssize_t n;
  do {
    n = ::read(report.read.get(), msg, sizeof msg);
  } while (n < 0 && errno == EINTR);
  if (n != 2) return Error::Invalid("pod sandbox helper died before setting up namespaces");
  if (msg[0] != 0) {
    return Error::Errno(msg[1], std::string("pod sandbox: ") + SandboxStepName(msg[0]));
  }
  return OpenNamespacesOf(pid, flags);
}

Status PodSandbox::OpenNamespacesOf(pid_t pid, int flags) {
  return HoldNamespaces(flags, [pid](const char* name) {
    return sys::Open("/proc/" + std::to_string(pid) + "/ns/" + name, O_RDONLY);
  });
}

Status PodSandbox::HoldNamespaces(int flags,
                                  const std::function<Result<UniqueFd>(const char*)>& open) {
  struct NsFile {
    int flag;
    NamespaceType type;
    const char* name;
  };
  for (const NsFile& ns : {NsFile{CLONE_NEWNET, NamespaceType::kNetwork, "net"},
                           NsFile{CLONE_NEWIPC, NamespaceType::kIpc, "ipc"},
                           NsFile{CLONE_NEWUTS, NamespaceType::kUts, "uts"}}) {
    if (!(flags & ns.flag)) continue;
    auto fd = open(ns.name);
    if (!fd) return std::move(fd).error().Wrap("pod sandbox");
    // A handed-over fd must be a namespace of the kind it is named for.
    if (int type = ::ioctl(fd->get(), NS_GET_NSTYPE); type != ns.flag) {
      return Error::Invalid("pod sandbox: fd " + std::to_string(fd->get()) + " is not a " +
                            ns.name + " namespace");
    }
    paths_.namespaces[ns.type] = "/proc/self/fd/" + std::to_string(fd->get());
    if (ns.type == NamespaceType::kNetwork) netns_fd_ = fd->get();
    named_fds_[ns.name] = fd->get();
    ns_fds_.push_back(std::move(*fd));
  }
  return Ok();
}

Result<PodSandbox> PodSandbox::AdoptHandedOver(const Pod& pod,
                                               const std::filesystem::path& state_dir,
                                               const std::map<std::string, int>& fds) {
  PodSandbox box;
  box.volumes_dir_ = state_dir / "volumes";
  const int flags = box.NamespaceFlags(pod);
  PODSHIM_TRY(box.HoldNamespaces(flags, [&fds](const char* name) -> Result<UniqueFd> {
    auto it = fds.find(name);
    if (it == fds.end())
      return Error::Invalid(std::string("no handed-over ") + name + " namespace");
    return UniqueFd(it->second);
  }));
  for (const Volume& v : pod.spec.volumes) PODSHIM_TRY(box.PrepareVolume(v));
  return box;
}

Status PodSandbox::PrepareVolume(const Volume& v) {
  if (const auto* hp = std::get_if<HostPathVolume>(&v.source)) {
    PODSHIM_TRY(PrepareHostPath(v.name, *hp));
    paths_.volumes[v.name] = hp->path;
    return Ok();
  }
  const auto& ed = std::get<EmptyDirVolume>(v.source);
  std::filesystem::path dir = volumes_dir_ / v.name;
  PODSHIM_TRY(sys::MakeDirs(dir, 0777));
  (void)::chmod(dir.c_str(), 0777);  // like kubelet's emptyDir: writable by any container user
  if (ed.medium == "Memory" && IsMountPoint(dir)) {
    tmpfs_mounts_.push_back(dir);  // mounted by the shim that this one took over from
  } else if (ed.medium == "Memory") {
    std::string opts = "mode=0777";
    if (ed.size_limit) {
      int64_t bytes = PODSHIM_TRY_WRAP(
          cgroups::ParseResourceQuantity("memory", ed.size_limit->value), ed.size_limit->path);
      if (bytes > 0) opts += ",size=" + std::to_string(bytes);
    }
    if (::mount("tmpfs", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, opts.c_str()) < 0) {
      return Error::Errno(errno, "volume " + Quoted(v.name) + ": mount tmpfs on " + dir.string());
    }
    tmpfs_mounts_.push_back(dir);
  }
  paths_.volumes[v.name] = dir;
  return Ok();
}

PodSandbox::PodSandbox(PodSandbox&& o) noexcept
    : ns_fds_(std::move(o.ns_fds_)),
      named_fds_(std::move(o.named_fds_)),
      netns_fd_(std::exchange(o.netns_fd_, -1)),
      paths_(std::move(o.paths_)),
      volumes_dir_(std::move(o.volumes_dir_)),
      tmpfs_mounts_(std::move(o.tmpfs_mounts_)),
      torn_down_(std::exchange(o.torn_down_, true)) {}

PodSandbox::~PodSandbox() { (void)Teardown(); }

Result<oci::Spec> PodSandbox::ContainerSpec(const Container& c) const {
  oci::Spec spec = PODSHIM_TRY_WRAP(oci::LoadSpec(c.bundle), "container " + Quoted(c.name));
  PODSHIM_TRY(ApplyPodToSpec(c, paths_, spec));
  return spec;
}

Status PodSandbox::Teardown() {
  if (torn_down_) return Ok();
  torn_down_ = true;
  Status result = Ok();
  for (const auto& dir : tmpfs_mounts_) {
    if (::umount2(dir.c_str(), MNT_DETACH) < 0 && errno != EINVAL && result) {
      result = Error::Errno(errno, "umount " + dir.string());
    }
  }
  tmpfs_mounts_.clear();
  if (!volumes_dir_.empty() && std::filesystem::exists(volumes_dir_)) {
    Status rm = sys::RemoveTree(volumes_dir_);
    if (!rm && result) result = std::move(rm);
  }
  ns_fds_.clear();
  named_fds_.clear();
  netns_fd_ = -1;
  return result;
}

}  // namespace podshim::shim
