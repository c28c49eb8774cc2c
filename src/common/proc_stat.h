// What /proc says about one process, for a shim that takes back a process it did not start:
// its start time (to tell it from a later process with the same pid), its parent, and its
// cgroup v2 path. The parsers are pure; the readers read /proc/<pid>/{stat,cgroup}.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace podshim {

struct ProcStat {
  char state = '?';          // field 3: R, S, D, Z, ...
  pid_t ppid = 0;            // field 4
  uint64_t start_ticks = 0;  // field 22: clock ticks after boot
  // Field 52 (Linux 3.5): the wait status of a zombie (state 'Z'), as waitpid(2) reports it.
  std::optional<int> exit_status;
};

// Parses a /proc/<pid>/stat line (the command in field 2 may hold spaces and parentheses).
Result<ProcStat> ParseProcStat(std::string_view text);
// The cgroup v2 path of a /proc/<pid>/cgroup text (the "0::" line), e.g. "/podshim/pod-a/web-0".
Result<std::string> ParseProcCgroupV2(std::string_view text);

Result<ProcStat> ReadProcStat(pid_t pid);
Result<std::string> ReadProcCgroupV2(pid_t pid);

}  // namespace podshim
