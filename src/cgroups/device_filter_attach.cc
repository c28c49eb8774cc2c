#include "cgroups/device_filter_attach.h"

#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "cgroups/device_program.h"

namespace podshim::cgroups {
namespace {

// The program calls no helper, so the licence string gates nothing; "GPL" as systemd passes.
constexpr char kLicense[] = "GPL";
constexpr char kProgramName[] = "podshim_dev";  // at most 15 characters (BPF_OBJ_NAME_LEN)

long Bpf(int cmd, bpf_attr& attr) {
  long r;
  do {
    r = ::syscall(SYS_bpf, cmd, &attr, sizeof(attr));
  } while (r < 0 && errno == EINTR);
  return r;
}

// Every byte zero: the kernel refuses an attr whose unused tail is not.
bpf_attr ZeroAttr() {
  bpf_attr attr;
  std::memset(&attr, 0, sizeof(attr));
  return attr;
}

uint64_t Ptr(const void* p) { return reinterpret_cast<uintptr_t>(p); }

Result<UniqueFd> ProgramFdById(uint32_t id) {
  bpf_attr attr = ZeroAttr();
  attr.prog_id = id;
  long fd = Bpf(BPF_PROG_GET_FD_BY_ID, attr);
  if (fd < 0) return Error::Errno(errno, "open BPF program id " + std::to_string(id));
  return UniqueFd(static_cast<int>(fd));
}

Result<uint32_t> ProgramId(int prog_fd) {
  bpf_prog_info info{};
  bpf_attr attr = ZeroAttr();
  attr.info.bpf_fd = static_cast<uint32_t>(prog_fd);
  attr.info.info_len = sizeof(info);
  attr.info.info = Ptr(&info);
  if (Bpf(BPF_OBJ_GET_INFO_BY_FD, attr) < 0) {
    return Error::Errno(errno, "read the device program's id");
  }
  return info.id;
}

Status Attach(int cgroup_dir_fd, int prog_fd, int replace_fd) {
  bpf_attr attr = ZeroAttr();
  attr.target_fd = static_cast<uint32_t>(cgroup_dir_fd);
  attr.attach_bpf_fd = static_cast<uint32_t>(prog_fd);
  attr.attach_type = BPF_CGROUP_DEVICE;
  attr.attach_flags = BPF_F_ALLOW_MULTI;
  if (replace_fd >= 0) {
    attr.attach_flags |= BPF_F_REPLACE;
    attr.replace_bpf_fd = static_cast<uint32_t>(replace_fd);
  }
  if (Bpf(BPF_PROG_ATTACH, attr) < 0) {
    return Error::Errno(errno, replace_fd >= 0 ? "replace the cgroup's device program"
                                               : "attach the device program to the cgroup");
  }
  return Ok();
}

Status Detach(int cgroup_dir_fd, int prog_fd) {
  bpf_attr attr = ZeroAttr();
  attr.target_fd = static_cast<uint32_t>(cgroup_dir_fd);
  attr.attach_bpf_fd = static_cast<uint32_t>(prog_fd);
  attr.attach_type = BPF_CGROUP_DEVICE;
  if (Bpf(BPF_PROG_DETACH, attr) < 0 && errno != ENOENT) {
    return Error::Errno(errno, "detach the cgroup's old device program");
  }
  return Ok();
}

}  // namespace

Result<UniqueFd> LoadDeviceProgram(std::span<const bpf_insn> program) {
  auto load = [&](char* log, uint32_t log_size) {
    bpf_attr attr = ZeroAttr();
    attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    attr.insns = Ptr(program.data());
    attr.insn_cnt = static_cast<uint32_t>(program.size());
    attr.license = Ptr(kLicense);
    attr.log_buf = Ptr(log);
    attr.log_size = log_size;
    attr.log_level = log ? 1 : 0;
    std::memcpy(attr.prog_name, kProgramName, sizeof(kProgramName));
    return Bpf(BPF_PROG_LOAD, attr);
  };
  long fd = load(nullptr, 0);
  if (fd >= 0) return UniqueFd(static_cast<int>(fd));
  int err = errno;
  // Again with the verifier's log, to say why.
  std::string log(64 * 1024, '\0');
  fd = load(log.data(), static_cast<uint32_t>(log.size()));
  if (fd >= 0) return UniqueFd(static_cast<int>(fd));  // the first failure was transient
  log.resize(::strnlen(log.data(), log.size()));
  while (!log.empty() && log.back() == '\n') log.pop_back();
  return Error::Errno(err, "load the device program (" + std::to_string(program.size()) +
                               " instructions)" + (log.empty() ? "" : ": " + log));
}

Result<std::vector<uint32_t>> AttachedDevicePrograms(int cgroup_dir_fd) {
  std::vector<uint32_t> ids(16);
  for (;;) {
    bpf_attr attr = ZeroAttr();
    attr.query.target_fd = static_cast<uint32_t>(cgroup_dir_fd);
    attr.query.attach_type = BPF_CGROUP_DEVICE;
    attr.query.prog_ids = Ptr(ids.data());
    attr.query.prog_cnt = static_cast<uint32_t>(ids.size());
    if (Bpf(BPF_PROG_QUERY, attr) == 0) {
      ids.resize(attr.query.prog_cnt);
      return ids;
    }
    if (errno != ENOSPC) return Error::Errno(errno, "list the cgroup's device programs");
    ids.resize(ids.size() * 4);  // prog_cnt holds the count; more may appear meanwhile
  }
}

Result<uint32_t> AttachLoadedDeviceProgram(int cgroup_dir_fd, int prog_fd) {
  auto old_ids = PODSHIM_TRY(AttachedDevicePrograms(cgroup_dir_fd));
  uint32_t id = PODSHIM_TRY(ProgramId(prog_fd));
  std::vector<UniqueFd> old;
  for (uint32_t old_id : old_ids) {
    auto fd = ProgramFdById(old_id);
    if (fd) {
      old.push_back(std::move(*fd));
    } else if (fd.error().code() != std::errc::no_such_file_or_directory) {
      return fd.error();  // ENOENT: it went away meanwhile
    }
  }
  if (old.size() == 1) {
    PODSHIM_TRY(Attach(cgroup_dir_fd, prog_fd, old[0].get()));
    return id;
  }
  PODSHIM_TRY(Attach(cgroup_dir_fd, prog_fd, -1));
  for (const UniqueFd& fd : old) PODSHIM_TRY(Detach(cgroup_dir_fd, fd.get()));
  return id;
}

Result<uint32_t> AttachDeviceProgram(int cgroup_dir_fd, std::span<const bpf_insn> program) {
  UniqueFd prog = PODSHIM_TRY(LoadDeviceProgram(program));
  return AttachLoadedDeviceProgram(cgroup_dir_fd, prog.get());
}

Result<uint32_t> ApplyDeviceRules(int cgroup_dir_fd, const DeviceRules& rules) {
  return AttachDeviceProgram(cgroup_dir_fd, BuildDeviceProgram(rules));
}

Status DetachDevicePrograms(int cgroup_dir_fd) {
  auto ids = PODSHIM_TRY(AttachedDevicePrograms(cgroup_dir_fd));
  for (uint32_t id : ids) {
    auto fd = ProgramFdById(id);
    if (!fd) {
      if (fd.error().code() == std::errc::no_such_file_or_directory) continue;
      return fd.error();
    }
    PODSHIM_TRY(Detach(cgroup_dir_fd, fd->get()));
  }
  return Ok();
}

}  // namespace podshim::cgroups
