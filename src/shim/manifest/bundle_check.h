// Checks that each container's OCI bundle of a parsed pod manifest is usable: the directory
// exists, config.json is present and parses (oci::LoadSpec), root.path is a directory, the
// container's spec (the pod applied to it) gives a launch plan, and its stop signal is one. The
// one bundle check, used by `podshim validate` and by `podshim run`/`start` before they create
// anything.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/result.h"
#include "oci/spec.h"
#include "shim/manifest/manifest.h"

namespace podshim::shim {

// The annotation that carries an image's STOPSIGNAL into a bundle (OCI image-spec, "Conversion
// to OCI Runtime Configuration"; umoci, buildah and podman write it): a name ("SIGQUIT") or a
// number ("3").
inline constexpr std::string_view kStopSignalAnnotation = "org.opencontainers.image.stopSignal";

// The bundle's stop signal: the annotation's signal, or SIGTERM without one. kInvalidSpec
// naming the annotation when it is not a signal.
Result<int> BundleStopSignal(const oci::Spec& spec);

// Container name -> the stop signal its bundle asks for (BundleStopSignal).
using StopSignals = std::map<std::string, int, std::less<>>;

// Every problem, each a kInvalidSpec Error "<container path>.bundle: <what is wrong>", in spec
// order (init containers, then containers). Containers without a bundle are skipped (the manifest
// parser already reported them). With `stop_signals`, the stop signal of every usable bundle is
// put there.
std::vector<Error> CheckBundles(const PodSpec& spec, StopSignals* stop_signals = nullptr);

}  // namespace podshim::shim
