// process.capabilities: capability names ("CAP_NET_ADMIN") resolved with libcap into five bit
// masks, and a libcap cap_t prepared in the parent so the container's child only has to make
// syscalls (prctl(2), capset(2) via cap_set_proc) on data that already exists.
//
// The child's sequence (ApplyCapStateInChild does steps 1, 3 and 4; the launcher does 2):
//   1. while still privileged: for cap in 0..last_cap not in `bounding`: prctl(PR_CAPBSET_DROP)
//      (needs CAP_SETPCAP, so before the uid change);
//   2. prctl(PR_SET_KEEPCAPS, 1), then setgroups/setresgid/setresuid (a change away from uid 0
//      clears the effective set even with keepcaps, hence step 3 comes after it);
//   3. cap_set_proc(prepared): sets effective, permitted and inheritable at once;
//   4. for cap in `ambient`: prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap) (Linux 4.3; the
//      kernel refuses with EPERM unless cap is in both permitted and inheritable).
#pragma once

#include <sys/capability.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"
#include "oci/spec.h"

namespace podshim::oci {

// Bit n set = capability n in the set.
struct CapabilitySets {
  uint64_t bounding = 0;
  uint64_t effective = 0;
  uint64_t inheritable = 0;
  uint64_t permitted = 0;
  uint64_t ambient = 0;
};

// "CAP_KILL" -> 5, through libcap's cap_from_name. Only upper-case "CAP_" names, as the spec
// writes them; anything else is kInvalidSpec `unknown capability "CAP_FOO"`.
Result<int> CapabilityFromName(std::string_view name);
// 5 -> "CAP_KILL" (libcap's cap_to_name, upper-cased); a value libcap has no name for is
// kInvalidSpec.
Result<std::string> CapabilityName(int value);

// The highest capability the running kernel knows, from the text of
// /proc/sys/kernel/cap_last_cap ("40\n").
Result<int> ParseCapLastCap(std::string_view text);
Result<int> ReadCapLastCap();

// Resolves every set. A name libcap does not know is an error naming its JSON path
// ("config.json: process.capabilities.bounding[3]: unknown capability \"CAP_FOO\""). A name
// libcap knows but the kernel does not (value > last_cap, an older kernel) is left out of the
// sets, as runc does: the kernel cannot grant it, and asking would fail with EINVAL.
Result<CapabilitySets> ResolveCapabilities(const LinuxCapabilities& caps, int last_cap);
// The same with last_cap from ReadCapLastCap().
Result<CapabilitySets> ResolveCapabilities(const LinuxCapabilities& caps);

// Owns a libcap cap_t holding the effective, permitted and inheritable sets, plus the masks the
// child needs for the bounding and ambient steps. Move-only; cap_free on destruction.
class CapState {
 public:
  CapState(cap_t caps, CapabilitySets sets, int last_cap)
      : caps_(caps), sets_(sets), last_cap_(last_cap) {}
  CapState(const CapState&) = delete;
  CapState& operator=(const CapState&) = delete;
  CapState(CapState&& o) noexcept;
  CapState& operator=(CapState&& o) noexcept;
  ~CapState();

  cap_t get() const { return caps_; }
  const CapabilitySets& sets() const { return sets_; }
  int last_cap() const { return last_cap_; }

 private:
  cap_t caps_ = nullptr;
  CapabilitySets sets_;
  int last_cap_ = 0;
};

// Builds the cap_t in the parent (libcap allocates). `last_cap` bounds step 1 and must be the
// running kernel's (ReadCapLastCap); the other overload reads it.
Result<CapState> BuildCapState(const CapabilitySets& sets, int last_cap);
Result<CapState> BuildCapState(const CapabilitySets& sets);

// Steps 1, 3 and 4 of the sequence above, for a child that has not changed its uid (or has done
// step 2 itself in between, calling the Bounding/Process/Ambient parts separately). Only
// prctl(2) and cap_set_proc: async-signal-safe on prepared data, no allocation. Returns 0 or
// the errno of the first failing call.
int DropBoundingInChild(const CapState& state) noexcept;
int SetProcessCapsInChild(const CapState& state) noexcept;
int RaiseAmbientInChild(const CapState& state) noexcept;
int ApplyCapStateInChild(const CapState& state) noexcept;

}  // namespace podshim::oci
