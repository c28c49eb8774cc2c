// ContainerProbes: one container's probes running on the shim's io_context. It owns the pure
// ProbeSet (probes.h), keeps one timer armed at its NextDeadline, carries out each due probe
// (tcpSocket / httpGet through ProbeRunner in the pod's network namespace, exec through the
// `exec` function, which runs it in the container) and hands every transition to `report`.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <vector>

#include "common/clock.h"
#include "shim/manifest/manifest.h"
#include "shim/pod/probes.h"
#include "shim/run/container_exec.h"
#include "shim/run/probe_runner.h"

namespace podshim::shim {

class ContainerProbes {
 public:
  using ExecFn = ExecInContainerFn;  // runs an exec probe's command in this container
  using ReportFn = std::function<void(std::vector<ProbeTransition>)>;

  // `container` is the manifest entry (its probes). Everything must outlive this object.
  ContainerProbes(boost::asio::io_context& io, const Clock& clock, const Container& container,
                  ProbeRunner& runner, int netns_fd, ExecFn exec, ReportFn report);
  ~ContainerProbes();
  ContainerProbes(const ContainerProbes&) = delete;
  ContainerProbes& operator=(const ContainerProbes&) = delete;

  // Container events, as ProbeSet's; transitions are reported before these return.
  void OnContainerStarted();
  void OnContainerExited();
  void OnTerminationStarted();

  bool has_probes() const;

 private:
  void Arm();
  void RunDue();
  void Deliver(ProbeKind kind, uint64_t run_id, const ProbeOutcome& outcome);
  void Report(std::vector<ProbeTransition> transitions);

  ProbeSet set_;
  const Clock& clock_;
  ProbeRunner& runner_;
  int netns_fd_;
  ExecFn exec_;
  ReportFn report_;
  boost::asio::steady_timer timer_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace podshim::shim
