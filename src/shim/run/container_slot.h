// ContainerSlot: everything the event loop keeps about one container, in one place: the manifest
// entry, the prepared spec, the limits of its leaves, its probes, the instance now running (pid
// handle, leaf, OOM count at start) and its log pumps. ContainerSlots finds a slot by name or by
// the pid of its running instance, so a container is looked up once per event.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "cgroups/manager.h"
#include "common/process_handle.h"
#include "oci/exec_template.h"
#include "oci/spec.h"
#include "shim/manifest/manifest.h"
#include "shim/run/container_probes.h"
#include "shim/run/log_pump.h"

namespace podshim::shim {

// One start of a container, from its launch until its exit was reaped.
struct ContainerInstance {
  ProcessHandle handle;
  std::optional<cgroups::CgroupPath> leaf;  // this instance's own leaf (nullopt: no cgroups)
  std::optional<uint64_t> oom_before;       // memory.events oom_kill when it started
  // Taken back from a dead shim and not our child: its /proc start time, which tells its zombie
  // from a later process with the same pid.
  std::optional<uint64_t> adopted_start_ticks;
};

struct ContainerSlot {
  const Container* container = nullptr;  // the manifest entry (in the caller's Pod)
  std::optional<oci::Spec> spec;         // prepared (pod namespaces and mounts applied)
  // What every exec in it (probe, hook, ctl exec) reuses: made from `spec` on the first exec,
  // so capabilities and seccomp are resolved and compiled once per container, not per exec.
  std::optional<oci::ExecTemplate> exec_template;
  std::optional<cgroups::CgroupFileValues> values;  // applied to every instance's leaf
  std::unique_ptr<ContainerProbes> probes;          // nullptr: the container has no probes
  std::optional<ContainerInstance> running;
  // The latest instance's leaf until it is removed (what `ctl stats` reads).
  std::optional<cgroups::CgroupPath> leaf;
  // Output pumps of this container's instances; a pump goes once it reached EOF.
  std::list<std::unique_ptr<LogPump>> pumps;

  const std::string& name() const { return container->name; }
};

class ContainerSlots {
 public:
  // A slot for every container of `pod` (init containers, then the others), without spec.
  explicit ContainerSlots(const Pod& pod);
  ContainerSlots(const ContainerSlots&) = delete;
  ContainerSlots& operator=(const ContainerSlots&) = delete;

  // nullptr for a name that is not in the pod.
  ContainerSlot* Find(std::string_view name);
  // The slot whose running instance has `pid`; nullptr for any other process.
  ContainerSlot* FindRunning(pid_t pid);

  // `slot` runs `instance` now (the previous one must have ended).
  void SetRunning(ContainerSlot& slot, ContainerInstance instance);
  // The running instance of `slot` has ended: it is taken out.
  ContainerInstance TakeRunning(ContainerSlot& slot);

  // Each container's latest leaf, by name (for `ctl stats`).
  std::map<std::string, cgroups::CgroupPath> Leaves() const;

  template <class Fn>
  void ForEach(Fn&& fn) {
    for (auto& [name, slot] : slots_) fn(slot);
  }

 private:
  std::map<std::string, ContainerSlot, std::less<>> slots_;
  std::map<pid_t, ContainerSlot*> by_pid_;
};

}  // namespace podshim::shim
