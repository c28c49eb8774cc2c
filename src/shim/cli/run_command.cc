// `podshim run [opts] MANIFEST`: checks everything first (manifest, resources, every bundle's
// launch plan: exit 2, nothing started, nothing left behind), then sets up the pod cgroup and
// sandbox and runs the pod in the foreground until it finishes (exit 0 Succeeded, 1 Failed,
// 128+N after signal N), removing its cgroups, mounts and volume directories afterwards.
#include <cstdio>
#include <span>
#include <string>

#include "common/log.h"
#include "shim/cli/commands.h"
#include "shim/cli/pod_flags.h"
#include "shim/run/pod_runner.h"
#include "shim/run/stop_signals.h"

namespace podshim::shim {

int RunPodCommand(int argc, char** argv) {
  // First: a SIGTERM or SIGINT from here on ends the run by its exit status 128+N, never by the
  // signal (stop_signals.h); one before the pod started is handled as the event loop's first.
  BlockStopSignals();
  std::span<char* const> args(argv, static_cast<size_t>(argc));
  Result<PodCommandLine> line = ParsePodOptions(args, PodCommand::kRun);
  if (!line) {
    PrintPodError("run", line.error());
    std::fputs("run `podshim run --help` for usage\n", stderr);
    return 2;
  }
  if (line->help) {
    std::fputs(PodUsage(PodCommand::kRun).c_str(), stdout);
    return 0;
  }
  PodOptions* o = &line->options;
  SetInvocation(*o);
  if (Status st = log::Init(o->log_level); !st) {
    PrintPodError("run", st.error());
    return 2;
  }
  Result<CheckedPod> checked = CheckPod(*o);
  if (!checked) {
    PrintPodError("run", checked.error());
    return 2;
  }
  Result<int> status = RunCheckedPod(*o, *checked);
  if (!status) {
    PrintPodError("run", status.error());
    return 1;
  }
  return *status;
}

}  // namespace podshim::shim
