// linux.seccomp compiled in the parent with libseccomp into a classic-BPF program (exported with
// seccomp_export_bpf), so the container's child only has to make one seccomp(2) call:
//   syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, program.flags, &sock_fprog{...})
// after prctl(PR_SET_NO_NEW_PRIVS, 1) or while it still has CAP_SYS_ADMIN (Linux 3.17).
#pragma once

#include <linux/filter.h>

#include <vector>

#include "common/result.h"
#include "oci/spec.h"

namespace podshim::oci {

struct SeccompProgram {
  std::vector<struct sock_filter> filter;
  unsigned int flags = 0;  // SECCOMP_FILTER_FLAG_* for seccomp(2)
};

// Builds the filter: the default action (SCMP_ACT_ERRNO returns defaultErrnoRet, else EPERM),
// the listed architectures besides the native one, then one rule per known syscall name.
// - A syscall name libseccomp does not know is skipped, as runc does (the kernel or libseccomp
//   may be older than the profile).
// - A rule whose action equals the default action is skipped (libseccomp refuses it).
// - Argument conditions are ANDed in one rule, unless two name the same argument index: then
//   each condition is its own rule (ORed), as runc does.
// - SCMP_ACT_ERRNO and SCMP_ACT_TRACE use errnoRet, else EPERM; errnoRet with any other action
//   is kInvalidSpec.
// - SCMP_ACT_NOTIFY and SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV are kUnsupported (podshim has no
//   listenerPath support); an architecture libseccomp lacks is kUnsupported.
// Errors name the JSON path: "config.json: linux.seccomp.syscalls[2].action: ...".
Result<SeccompProgram> CompileSeccomp(const LinuxSeccomp& seccomp);

// Installs `program` in the calling thread with seccomp(2). Async-signal-safe, no allocation;
// for the container's child after no_new_privs. Returns 0 or errno (EACCES without
// no_new_privs or CAP_SYS_ADMIN; EINVAL for an empty program or a flag the kernel lacks).
int LoadSeccompInChild(const SeccompProgram& program) noexcept;

}  // namespace podshim::oci
