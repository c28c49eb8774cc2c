#include "shim/task/cgroup_metrics.h"

#include <dirent.h>
#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <limits>
#include <optional>
#include <string>
#include <utility>

#include "cgroups/control_files.h"
#include "cgroups/stat_files.h"
#include "common/sys.h"

namespace podshim::shim::task {
namespace {

namespace fs = std::filesystem;
namespace cg2 = io::containerd::cgroups::v2;

constexpr uint64_t kUnlimited = std::numeric_limits<uint64_t>::max();  // "max", as containerd

// The gone-or-absent errors of a cgroup file: not there, or its cgroup being removed.
bool IsAbsent(int err) { return err == ENOENT || err == ENODEV || err == ENOTDIR; }

// One control file of the cgroup open at `dirfd`: nullopt when absent, at most
// kMaxStatFileBytes (cut at the last whole line).
class StatDir {
 public:
  StatDir(int dirfd, fs::path dir) : dirfd_(dirfd), dir_(std::move(dir)) {}

  Result<std::optional<std::string>> Read(const std::string& name) const {
    UniqueFd fd(::openat(dirfd_, name.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
      if (IsAbsent(errno)) return std::nullopt;
      return Error::Errno(errno, "open " + Path(name));
    }
    auto text = sys::ReadAll(fd.get(), kMaxStatFileBytes + 1);
    if (!text) {
      if (IsAbsent(text.error().code().value())) return std::nullopt;
      return std::move(text).error().Wrap(Path(name));
    }
    if (text->size() > kMaxStatFileBytes) {
      text->resize(kMaxStatFileBytes);
      text->resize(text->rfind('\n') == std::string::npos ? 0 : text->rfind('\n') + 1);
    }
    return std::optional<std::string>(std::move(*text));
  }

  // A single number, "max" as 2^64-1 where `max_allowed`; 0 when absent.
  Result<uint64_t> Number(const std::string& name, bool max_allowed = false) const {
    auto text = PODSHIM_TRY(Read(name));
    if (!text) return uint64_t{0};
    if (max_allowed) {
      auto v = cgroups::ParseMaxOrNumber(*text);
      if (!v) return std::move(v).error().Wrap(Path(name));
      return v->value_or(kUnlimited);
    }
    auto v = cgroups::ParseNumber(*text);
    if (!v) return std::move(v).error().Wrap(Path(name));
    return *v;
  }

  std::string Path(const std::string& name) const { return (dir_ / name).string(); }
  int fd() const { return dirfd_; }

 private:
  int dirfd_;
  fs::path dir_;
};

Status ReadCpu(const StatDir& d, cg2::CPUStat& out) {
  auto text = PODSHIM_TRY(d.Read("cpu.stat"));
  if (!text) return Ok();
  auto cpu = cgroups::ParseCpuStat(*text);
  if (!cpu) return std::move(cpu).error().Wrap(d.Path("cpu.stat"));
  out.set_usage_usec(cpu->usage_usec);
  out.set_user_usec(cpu->user_usec);
  out.set_system_usec(cpu->system_usec);
  out.set_nr_periods(cpu->nr_periods);
  out.set_nr_throttled(cpu->nr_throttled);
  out.set_throttled_usec(cpu->throttled_usec);
  return Ok();
}

// memory.stat's keys as containerd's MemoryStat names them (fields 1-31).
Status ReadMemoryStat(const StatDir& d, cg2::MemoryStat& out) {
  using M = cg2::MemoryStat;
  using Setter = void (M::*)(uint64_t);
  static constexpr std::pair<std::string_view, Setter> kKeys[] = {
      {"anon", &M::set_anon},
      {"file", &M::set_file},
      {"kernel_stack", &M::set_kernel_stack},
      {"slab", &M::set_slab},
      {"sock", &M::set_sock},
      {"shmem", &M::set_shmem},
      {"file_mapped", &M::set_file_mapped},
      {"file_dirty", &M::set_file_dirty},
      {"file_writeback", &M::set_file_writeback},
      {"anon_thp", &M::set_anon_thp},
      {"inactive_anon", &M::set_inactive_anon},
      {"active_anon", &M::set_active_anon},
      {"inactive_file", &M::set_inactive_file},
      {"active_file", &M::set_active_file},
      {"unevictable", &M::set_unevictable},
      {"slab_reclaimable", &M::set_slab_reclaimable},
      {"slab_unreclaimable", &M::set_slab_unreclaimable},
      {"pgfault", &M::set_pgfault},
      {"pgmajfault", &M::set_pgmajfault},
      {"workingset_refault", &M::set_workingset_refault},
      {"workingset_activate", &M::set_workingset_activate},
      {"workingset_nodereclaim", &M::set_workingset_nodereclaim},
      {"pgrefill", &M::set_pgrefill},
      {"pgscan", &M::set_pgscan},
      {"pgsteal", &M::set_pgsteal},
      {"pgactivate", &M::set_pgactivate},
      {"pgdeactivate", &M::set_pgdeactivate},
      {"pglazyfree", &M::set_pglazyfree},
      {"pglazyfreed", &M::set_pglazyfreed},
      {"thp_fault_alloc", &M::set_thp_fault_alloc},
      {"thp_collapse_alloc", &M::set_thp_collapse_alloc},
  };
  auto text = PODSHIM_TRY(d.Read("memory.stat"));
  if (!text) return Ok();
  auto pairs = cgroups::ParseFlatKeyed(*text);
  if (!pairs) return std::move(pairs).error().Wrap(d.Path("memory.stat"));
  for (const auto& [key, value] : *pairs) {
    for (const auto& [name, set] : kKeys) {
      if (key == name) (out.*set)(value);
    }
  }
  return Ok();
}

Status ReadMemory(const StatDir& d, cg2::MemoryStat& out) {
  PODSHIM_TRY(ReadMemoryStat(d, out));
  out.set_usage(PODSHIM_TRY(d.Number("memory.current")));
  out.set_usage_limit(PODSHIM_TRY(d.Number("memory.max", true)));
  out.set_swap_usage(PODSHIM_TRY(d.Number("memory.swap.current")));
  out.set_swap_limit(PODSHIM_TRY(d.Number("memory.swap.max", true)));
  out.set_max_usage(PODSHIM_TRY(d.Number("memory.peak")));
  out.set_swap_max_usage(PODSHIM_TRY(d.Number("memory.swap.peak")));
  return Ok();
}

Status ReadMemoryEvents(const StatDir& d, cg2::Metrics& out) {
  auto text = PODSHIM_TRY(d.Read("memory.events"));
  if (!text) return Ok();
  auto events = cgroups::ParseMemoryEvents(*text);
  if (!events) return std::move(events).error().Wrap(d.Path("memory.events"));
  cg2::MemoryEvents& e = *out.mutable_memory_events();
  e.set_low(events->low);
  e.set_high(events->high);
  e.set_max(events->max);
  e.set_oom(events->oom);
  e.set_oom_kill(events->oom_kill);
  return Ok();
}

Status ReadIo(const StatDir& d, cg2::IOStat& out) {
  auto text = PODSHIM_TRY(d.Read("io.stat"));
  if (!text) return Ok();
  auto entries = cgroups::ParseIoStat(*text);
  if (!entries) return std::move(entries).error().Wrap(d.Path("io.stat"));
  for (const cgroups::IoStatEntry& e : *entries) {
    cg2::IOEntry& entry = *out.add_usage();
    entry.set_major(e.major);
    entry.set_minor(e.minor);
    entry.set_rbytes(e.rbytes);
    entry.set_wbytes(e.wbytes);
    entry.set_rios(e.rios);
    entry.set_wios(e.wios);
  }
  return Ok();
}

// Every hugetlb.<size>.current of the directory, by page size name.
Status ReadHugetlb(const StatDir& d, cg2::Metrics& out) {
  UniqueFd copy(::openat(d.fd(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!copy) return IsAbsent(errno) ? Ok() : Error::Errno(errno, "list " + d.Path(""));
  DIR* dir = ::fdopendir(copy.get());
  if (dir == nullptr) return Error::Errno(errno, "list " + d.Path(""));
  (void)copy.Release();  // closedir closes it
  std::vector<std::string> sizes;
  while (const struct dirent* entry = ::readdir(dir)) {
    if (auto size = cgroups::HugetlbCurrentPageSize(entry->d_name)) sizes.push_back(*size);
  }
  ::closedir(dir);
  std::sort(sizes.begin(), sizes.end());
  for (const std::string& size : sizes) {
    cg2::HugeTlbStat& h = *out.add_hugetlb();
    h.set_pagesize(size);
    h.set_current(PODSHIM_TRY(d.Number("hugetlb." + size + ".current")));
    h.set_max(PODSHIM_TRY(d.Number("hugetlb." + size + ".max", true)));
  }
  return Ok();
}

}  // namespace

Result<cg2::Metrics> ReadCgroupMetrics(const fs::path& dir) {
  cg2::Metrics out;
  // Always present, even when all zeros: containerd's CRI plugin needs cpu and memory.
  (void)out.mutable_pids();
  (void)out.mutable_cpu();
  (void)out.mutable_memory();
  (void)out.mutable_io();
  if (dir.empty()) return out;
  UniqueFd dirfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dirfd) {
    if (IsAbsent(errno)) return out;
    return Error::Errno(errno, "open cgroup " + dir.string());
  }
  const StatDir d(dirfd.get(), dir);
  out.mutable_pids()->set_current(PODSHIM_TRY(d.Number("pids.current")));
  out.mutable_pids()->set_limit(PODSHIM_TRY(d.Number("pids.max", true)));
  PODSHIM_TRY(ReadCpu(d, *out.mutable_cpu()));
  PODSHIM_TRY(ReadMemory(d, *out.mutable_memory()));
  PODSHIM_TRY(ReadMemoryEvents(d, out));
  PODSHIM_TRY(ReadIo(d, *out.mutable_io()));
  PODSHIM_TRY(ReadHugetlb(d, out));
  return out;
}

}  // namespace podshim::shim::task
