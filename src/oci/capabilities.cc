#include "oci/capabilities.h"

#include <sys/prctl.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <string>
#include <utility>
#include <vector>

#include "common/quoted.h"
#include "common/sys.h"

namespace podshim::oci {
namespace {

constexpr int kMaxMaskBit = 63;  // CapabilitySets holds 64 bits

Status AddToSet(const std::vector<std::string>& names, std::string_view field, int last_cap,
                uint64_t& mask) {
  for (size_t i = 0; i < names.size(); ++i) {
    auto value = CapabilityFromName(names[i]);
    if (!value) {
      return Error::Invalid("config.json: process.capabilities." + std::string(field) + "[" +
                            std::to_string(i) + "]: " + value.error().context());
    }
    // Known to libcap but not to this kernel: it cannot be granted, so it is left out.
    if (*value > last_cap) continue;
    mask |= uint64_t{1} << *value;
  }
  return Ok();
}

std::vector<cap_value_t> Members(uint64_t mask) {
  std::vector<cap_value_t> out;
  for (int cap = 0; cap <= kMaxMaskBit; ++cap) {
    if (mask & (uint64_t{1} << cap)) out.push_back(cap);
  }
  return out;
}

Status SetFlag(cap_t caps, cap_flag_t flag, uint64_t mask) {
  std::vector<cap_value_t> values = Members(mask);
  if (values.empty()) return Ok();
  if (::cap_set_flag(caps, flag, static_cast<int>(values.size()), values.data(), CAP_SET) < 0) {
    return Error::Errno(errno, "cap_set_flag");
  }
  return Ok();
}

}  // namespace

Result<int> CapabilityFromName(std::string_view name) {
  std::string s(name);
  cap_value_t value = -1;
  // libcap also accepts lower case and bare numbers; the spec only has "CAP_" names.
  bool upper = true;
  for (char c : s) upper = upper && !std::islower(static_cast<unsigned char>(c));
  if (!s.starts_with("CAP_") || !upper || ::cap_from_name(s.c_str(), &value) < 0 || value < 0 ||
      value > kMaxMaskBit) {
    return Error::Invalid("unknown capability " + Quoted(s));
  }
  return static_cast<int>(value);
}

Result<std::string> CapabilityName(int value) {
  if (value < 0 || value > kMaxMaskBit) {
    return Error::Invalid("capability " + std::to_string(value) + " out of range");
  }
  char* raw = ::cap_to_name(static_cast<cap_value_t>(value));
  if (raw == nullptr) return Error::Errno(errno, "cap_to_name");
  std::string name(raw);
  ::cap_free(raw);
  // libcap names a value it does not know by its number.
  if (!name.starts_with("cap_")) {
    return Error::Invalid("capability " + std::to_string(value) + " has no name in libcap");
  }
  for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return name;
}

Result<int> ParseCapLastCap(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  int value = -1;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 0 || value > kMaxMaskBit) {
    return Error::Invalid("cap_last_cap: expected a number between 0 and 63, got " + Quoted(text));
  }
  return value;
}

Result<int> ReadCapLastCap() {
  std::string text = PODSHIM_TRY(sys::ReadFile("/proc/sys/kernel/cap_last_cap"));
  return ParseCapLastCap(text);
}

Result<CapabilitySets> ResolveCapabilities(const LinuxCapabilities& caps, int last_cap) {
  CapabilitySets sets;
  PODSHIM_TRY(AddToSet(caps.bounding, "bounding", last_cap, sets.bounding));
  PODSHIM_TRY(AddToSet(caps.effective, "effective", last_cap, sets.effective));
  PODSHIM_TRY(AddToSet(caps.inheritable, "inheritable", last_cap, sets.inheritable));
  PODSHIM_TRY(AddToSet(caps.permitted, "permitted", last_cap, sets.permitted));
  PODSHIM_TRY(AddToSet(caps.ambient, "ambient", last_cap, sets.ambient));
  return sets;
}

Result<CapabilitySets> ResolveCapabilities(const LinuxCapabilities& caps) {
  int last_cap = PODSHIM_TRY(ReadCapLastCap());
  return ResolveCapabilities(caps, last_cap);
}

CapState::CapState(CapState&& o) noexcept
    : caps_(std::exchange(o.caps_, nullptr)), sets_(o.sets_), last_cap_(o.last_cap_) {}

CapState& CapState::operator=(CapState&& o) noexcept {
  if (this != &o) {
    if (caps_ != nullptr) ::cap_free(caps_);
    caps_ = std::exchange(o.caps_, nullptr);
    sets_ = o.sets_;
    last_cap_ = o.last_cap_;
  }
  return *this;
}

CapState::~CapState() {
  if (caps_ != nullptr) ::cap_free(caps_);
}

Result<CapState> BuildCapState(const CapabilitySets& sets, int last_cap) {
  if (last_cap < 0 || last_cap > kMaxMaskBit) {
    return Error::Invalid("cap_last_cap " + std::to_string(last_cap) + " out of range");
  }
  cap_t raw = ::cap_init();  // all flags clear
  if (raw == nullptr) return Error::Errno(errno, "cap_init");
  CapState state(raw, sets, last_cap);
  PODSHIM_TRY(SetFlag(raw, CAP_EFFECTIVE, sets.effective));
  PODSHIM_TRY(SetFlag(raw, CAP_PERMITTED, sets.permitted));
  PODSHIM_TRY(SetFlag(raw, CAP_INHERITABLE, sets.inheritable));
  return state;
}

Result<CapState> BuildCapState(const CapabilitySets& sets) {
  int last_cap = PODSHIM_TRY(ReadCapLastCap());
  return BuildCapState(sets, last_cap);
}

int DropBoundingInChild(const CapState& state) noexcept {
  for (int cap = 0; cap <= state.last_cap(); ++cap) {
    if (state.sets().bounding & (uint64_t{1} << cap)) continue;
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) return errno;
  }
  return 0;
}

int SetProcessCapsInChild(const CapState& state) noexcept {
  if (::cap_set_proc(state.get()) < 0) return errno;
  return 0;
}

int RaiseAmbientInChild(const CapState& state) noexcept {
  for (int cap = 0; cap <= state.last_cap(); ++cap) {
    if (!(state.sets().ambient & (uint64_t{1} << cap))) continue;
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0) return errno;
  }
  return 0;
}

int ApplyCapStateInChild(const CapState& state) noexcept {
  if (int err = DropBoundingInChild(state)) return err;
  if (int err = SetProcessCapsInChild(state)) return err;
  return RaiseAmbientInChild(state);
}

}  // namespace podshim::oci
