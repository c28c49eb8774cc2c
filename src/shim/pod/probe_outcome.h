// How one probe run or httpGet hook ended, as plain data the pure core consumes, and the pure
// reading of an exec probe's exit (kubelet's messages). The runners that produce outcomes are in
// shim/run/ (ProbeRunner, HttpGetClient, ContainerExecutor).
#pragma once

#include <chrono>
#include <functional>
#include <string>

namespace podshim::shim {

// `message` says why it failed, kubelet-style ("HTTP probe failed with statuscode: 404",
// "dial tcp 127.0.0.1:80: connect: connection refused", "timed out after 1s"); on success it is
// informational ("HTTP 200") or empty.
struct ProbeOutcome {
  bool success = false;
  std::string message;
};
using ProbeCallback = std::function<void(ProbeOutcome)>;

// How an exec'd probe command ended.
struct ExecProbeExit {
  int exit_code = 0;       // 128+N after signal N
  bool timed_out = false;  // killed at the timeout (exit_code is then meaningless)
  std::string output;      // what it printed (kubelet puts it in the failure message)
};
// Exit 0 is success; a timeout is a failure "timed out after Ns"; another code is
// "command exited with code N" (plus ": <output>" when it printed something).
ProbeOutcome InterpretExecProbeExit(const ExecProbeExit& exit, std::chrono::seconds timeout);

// "1s", "1500ms": how timeouts appear in messages.
std::string FormatTimeout(std::chrono::steady_clock::duration d);

}  // namespace podshim::shim
