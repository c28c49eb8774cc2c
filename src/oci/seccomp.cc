#include "oci/seccomp.h"

#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <string>

#include "common/quoted.h"
#include "common/sys.h"
#include "common/unique_fd.h"

namespace podshim::oci {
namespace {

constexpr uint32_t kDefaultErrno = EPERM;

struct CtxDeleter {
  void operator()(void* ctx) const { ::seccomp_release(ctx); }
};
using Ctx = std::unique_ptr<void, CtxDeleter>;

Error Invalid(const std::string& path, const std::string& what) {
  return Error::Invalid("config.json: linux.seccomp." + path + ": " + what);
}
Error Unsupported(const std::string& path, const std::string& what) {
  return Error::Domain(ErrorCode::kUnsupported, "config.json: linux.seccomp." + path + ": " + what);
}
Error LibseccompFailed(int rc, const std::string& what) {
  return Error::Errno(-rc, "libseccomp: " + what);
}

// `path` names the action's JSON property, `errno_path` its errnoRet, for errors.
Result<uint32_t> ToAction(SeccompAction action, std::optional<uint32_t> errno_ret,
                          const std::string& path, const std::string& errno_path) {
  uint32_t ret = errno_ret.value_or(kDefaultErrno);
  if (errno_ret && action != SeccompAction::kErrno && action != SeccompAction::kTrace) {
    return Invalid(errno_path, "only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE");
  }
  switch (action) {
    case SeccompAction::kKill:
      return SCMP_ACT_KILL;
    case SeccompAction::kKillProcess:
      return SCMP_ACT_KILL_PROCESS;
    case SeccompAction::kKillThread:
      return SCMP_ACT_KILL_THREAD;
    case SeccompAction::kTrap:
      return SCMP_ACT_TRAP;
    case SeccompAction::kErrno:
      // The BPF return value keeps 16 bits of data (SECCOMP_RET_DATA).
      if (ret > 0xffff) return Invalid(errno_path, "must be at most 65535");
      return SCMP_ACT_ERRNO(ret);
    case SeccompAction::kTrace:
      if (ret > 0xffff) return Invalid(errno_path, "must be at most 65535");
      return SCMP_ACT_TRACE(ret);
    case SeccompAction::kAllow:
      return SCMP_ACT_ALLOW;
    case SeccompAction::kLog:
      return SCMP_ACT_LOG;
    case SeccompAction::kNotify:
      return Unsupported(path, "SCMP_ACT_NOTIFY is not supported (no listenerPath support)");
  }
  return Invalid(path, "unknown action");
}

scmp_compare ToCompare(SeccompOp op) {
  switch (op) {
    case SeccompOp::kNotEqual:
      return SCMP_CMP_NE;
    case SeccompOp::kLessThan:
      return SCMP_CMP_LT;
    case SeccompOp::kLessEqual:
      return SCMP_CMP_LE;
    case SeccompOp::kEqualTo:
      return SCMP_CMP_EQ;
    case SeccompOp::kGreaterEqual:
      return SCMP_CMP_GE;
    case SeccompOp::kGreaterThan:
      return SCMP_CMP_GT;
    case SeccompOp::kMaskedEqual:
      return SCMP_CMP_MASKED_EQ;
  }
  return SCMP_CMP_EQ;
}

scmp_arg_cmp ToArgCmp(const SeccompArg& arg) {
  // MASKED_EQ compares (arg & value) == valueTwo: datum_a is the mask, datum_b the value.
  return scmp_arg_cmp{arg.index, ToCompare(arg.op), arg.value, arg.value_two};
}

Result<unsigned int> ToFlags(const std::vector<std::string>& flags) {
  unsigned int out = 0;
  for (size_t i = 0; i < flags.size(); ++i) {
    const std::string& f = flags[i];
    if (f == "SECCOMP_FILTER_FLAG_TSYNC") {
      out |= SECCOMP_FILTER_FLAG_TSYNC;
    } else if (f == "SECCOMP_FILTER_FLAG_LOG") {
      out |= SECCOMP_FILTER_FLAG_LOG;
    } else if (f == "SECCOMP_FILTER_FLAG_SPEC_ALLOW") {
      out |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
    } else if (f == "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV") {
      // The kernel accepts it only together with SECCOMP_FILTER_FLAG_NEW_LISTENER.
      return Unsupported("flags[" + std::to_string(i) + "]",
                         f + " needs a seccomp listener, which podshim does not support");
    } else {
      return Invalid("flags[" + std::to_string(i) + "]", "unknown seccomp flag " + Quoted(f));
    }
  }
  return out;
}

Status AddArchitectures(void* ctx, const std::vector<std::string>& architectures) {
  for (size_t i = 0; i < architectures.size(); ++i) {
    std::string name = architectures[i];
    if (name.starts_with("SCMP_ARCH_")) name = name.substr(10);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    uint32_t token = ::seccomp_arch_resolve_name(name.c_str());
    if (token == 0) {
      return Unsupported("architectures[" + std::to_string(i) + "]",
                         Quoted(architectures[i]) + " is not supported by this libseccomp");
    }
    int rc = ::seccomp_arch_add(ctx, token);
    if (rc < 0 && rc != -EEXIST) return LibseccompFailed(rc, "add " + architectures[i]);
  }
  return Ok();
}

Status AddRules(void* ctx, const SeccompSyscall& sc, uint32_t action, size_t index) {
  std::vector<scmp_arg_cmp> conditions;
  std::map<uint32_t, int> per_index;
  bool repeated_index = false;
  for (const SeccompArg& arg : sc.args) {
    conditions.push_back(ToArgCmp(arg));
    repeated_index = repeated_index || ++per_index[arg.index] > 1;
  }
  for (const std::string& name : sc.names) {
    int nr = ::seccomp_syscall_resolve_name(name.c_str());
    if (nr == __NR_SCMP_ERROR) continue;  // unknown here: skipped, as runc does
    auto add = [&](const scmp_arg_cmp* cmps, unsigned count) -> Status {
      int rc = ::seccomp_rule_add_array(ctx, action, nr, count, cmps);
      if (rc < 0) {
        return LibseccompFailed(rc, "linux.seccomp.syscalls[" + std::to_string(index) +
                                        "]: add rule for " + Quoted(name));
      }
      return Ok();
    };
    if (!repeated_index) {
      PODSHIM_TRY(add(conditions.data(), static_cast<unsigned>(conditions.size())));
    } else {
      for (const scmp_arg_cmp& cmp : conditions) PODSHIM_TRY(add(&cmp, 1));
    }
  }
  return Ok();
}

Result<std::vector<sock_filter>> ExportBpf(void* ctx) {
  int raw = ::memfd_create("podshim-seccomp", MFD_CLOEXEC);
  if (raw < 0) return Error::Errno(errno, "memfd_create");
  UniqueFd fd(raw);
  int rc = ::seccomp_export_bpf(ctx, fd.get());
  if (rc < 0) return LibseccompFailed(rc, "export BPF");
  if (::lseek(fd.get(), 0, SEEK_SET) < 0) return Error::Errno(errno, "lseek seccomp memfd");
  std::string bytes = PODSHIM_TRY(sys::ReadAll(fd.get()));
  if (bytes.empty() || bytes.size() % sizeof(sock_filter) != 0) {
    return Error::Errno(EINVAL, "libseccomp exported " + std::to_string(bytes.size()) +
                                    " bytes, not whole BPF instructions");
  }
  if (bytes.size() / sizeof(sock_filter) > BPF_MAXINSNS) {
    return Error::Domain(ErrorCode::kUnsupported,
                         "config.json: linux.seccomp: the filter has " +
                             std::to_string(bytes.size() / sizeof(sock_filter)) +
                             " BPF instructions, more than the kernel's " +
                             std::to_string(BPF_MAXINSNS));
  }
  std::vector<sock_filter> filter(bytes.size() / sizeof(sock_filter));
  std::memcpy(filter.data(), bytes.data(), bytes.size());
  return filter;
}

}  // namespace

Result<SeccompProgram> CompileSeccomp(const LinuxSeccomp& seccomp) {
  uint32_t default_action = PODSHIM_TRY(ToAction(seccomp.default_action, seccomp.default_errno_ret,
                                                 "defaultAction", "defaultErrnoRet"));
  SeccompProgram program;
  program.flags = PODSHIM_TRY(ToFlags(seccomp.flags));
  Ctx ctx(::seccomp_init(default_action));
  if (!ctx) return Error::Errno(EINVAL, "libseccomp: seccomp_init");
  PODSHIM_TRY(AddArchitectures(ctx.get(), seccomp.architectures));
  for (size_t i = 0; i < seccomp.syscalls.size(); ++i) {
    const SeccompSyscall& sc = seccomp.syscalls[i];
    std::string path = "syscalls[" + std::to_string(i) + "]";
    uint32_t action =
        PODSHIM_TRY(ToAction(sc.action, sc.errno_ret, path + ".action", path + ".errnoRet"));
    if (action == default_action) continue;  // libseccomp refuses it; it changes nothing
    PODSHIM_TRY(AddRules(ctx.get(), sc, action, i));
  }
  program.filter = PODSHIM_TRY(ExportBpf(ctx.get()));
  return program;
}

int LoadSeccompInChild(const SeccompProgram& program) noexcept {
  sock_fprog prog{};
  prog.len = static_cast<unsigned short>(program.filter.size());
  prog.filter = const_cast<sock_filter*>(program.filter.data());
  if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, program.flags, &prog) < 0) return errno;
  return 0;
}

}  // namespace podshim::oci
