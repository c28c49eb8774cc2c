// The OCI "features" structure (runtime-spec features.md, features-linux.md) that
// `podshim oci features` prints: what this build of podshim recognises, as runc and crun report
// it. Per the spec it describes what is compiled in, except seccomp.supportedFlags, which is the
// subset of knownFlags that the linked libseccomp and the running kernel can apply.
#pragma once

#include <string>
#include <vector>

namespace podshim::oci {

inline constexpr const char kOciVersionMin[] = "1.0.0";
inline constexpr const char kOciVersionMax[] = "1.2.0";

// "CAP_CHOWN" ... for every capability 0..CAP_LAST_CAP of the headers podshim was built with that
// libcap knows by name.
std::vector<std::string> CompiledCapabilityNames();

// "SCMP_ARCH_X86_64" ... for the architectures the linked libseccomp can resolve.
std::vector<std::string> SeccompArchitectures();

// The seccomp filter flags podshim recognises, and those usable here (libseccomp API level).
std::vector<std::string> SeccompKnownFlags();
std::vector<std::string> SeccompSupportedFlags();

// "2.5.4": the version of the libseccomp podshim runs with ("unknown" if it does not say).
std::string LibseccompVersion();

// The whole features JSON document; indent < 0 gives one line (runc prints with 4 spaces).
std::string FeaturesJson(int indent = 4);

}  // namespace podshim::oci
