// The pod phase, computed from the container statuses exactly as the kubelet's getPhase
// (pkg/kubelet/kubelet_pods.go; SEMANTICS 6.4): failed regular init under Never -> Failed;
// Pending during initialization; terminated sidecars ignored; app containers decide the rest.
// Pure.
#pragma once

#include <span>
#include <string_view>

#include "shim/pod/container_snapshot.h"
#include "shim/pod/pod_plan.h"

namespace podshim::shim {

enum class PodPhase { kPending, kRunning, kSucceeded, kFailed };
std::string_view PodPhaseName(PodPhase phase);  // "Pending", "Running", "Succeeded", "Failed"

// `containers` in spec order. `pod_is_terminal`: the pod was stopped (deleted, killed, or
// finished) and nothing in it will run again; then the phase is always Succeeded (every app
// container exited 0) or Failed (kubelet generateAPIPodStatus turns a non-terminal phase of a
// terminal pod into Failed).
PodPhase ComputePodPhase(PodRestartPolicy policy, std::span<const ContainerSnapshot> containers,
                         bool pod_is_terminal);

}  // namespace podshim::shim
