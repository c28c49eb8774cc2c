#include "shim/task/pod_stop_order.h"

#include <algorithm>
#include <charconv>
#include <optional>
#include <string_view>

#include "common/quoted.h"

namespace podshim::shim::task {
namespace {

// Names longer than a DNS label or lists longer than this are ignored: bounded work per input.
constexpr size_t kMaxSidecarsValue = 64 * 1024;

const std::string* Annotation(const PodMember& m, const char* key) {
  auto it = m.annotations.find(key);
  return it == m.annotations.end() ? nullptr : &it->second;
}

// The first member that carries `key` (pod annotations are the same on every member).
const std::string* PodAnnotation(const std::vector<PodMember>& members, const char* key) {
  for (const PodMember& m : members) {
    if (const std::string* v = Annotation(m, key)) return v;
  }
  return nullptr;
}

std::vector<std::string> SplitNames(std::string_view list) {
  std::vector<std::string> names;
  while (!list.empty()) {
    const size_t comma = list.find(',');
    std::string_view name = list.substr(0, comma);
    while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
    while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
    if (!name.empty()) names.emplace_back(name);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return names;
}

std::optional<std::chrono::seconds> ParseGrace(const std::string& text) {
  int64_t seconds = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, seconds);
  if (ec != std::errc() || ptr != end || seconds < 0) return std::nullopt;
  return std::chrono::seconds(std::min<int64_t>(seconds, signals::kMaxGracePeriod.count()));
}

std::string NameOf(const PodMember& m) {
  const std::string* name = Annotation(m, kCriContainerName);
  return name ? *name : m.id;
}

}  // namespace

PodStopOrder PodStopOrderOf(const std::vector<PodMember>& members) {
  PodStopOrder order;
  if (const std::string* g = PodAnnotation(members, kGraceAnnotation)) {
    if (auto grace = ParseGrace(*g)) {
      order.grace = *grace;
    } else {
      order.warnings.push_back(std::string(kGraceAnnotation) + ": " + Quoted(*g) +
                               " is not a whole number of seconds >= 0; using 30");
    }
  }
  std::vector<std::string> sidecars;
  if (const std::string* s = PodAnnotation(members, kSidecarsAnnotation)) {
    if (s->size() <= kMaxSidecarsValue) {
      sidecars = SplitNames(*s);
    } else {
      order.warnings.push_back(std::string(kSidecarsAnnotation) + ": longer than " +
                               std::to_string(kMaxSidecarsValue) + " bytes; ignored");
    }
  }
  std::vector<signals::TerminationContainer> apps;
  std::vector<std::pair<size_t, signals::TerminationContainer>> ordered_sidecars;
  for (const PodMember& m : members) {
    const std::string* type = Annotation(m, kCriContainerType);
    if (type && *type == "sandbox") {
      order.last.push_back(m.id);
      continue;
    }
    signals::TerminationContainer c;
    c.name = m.id;
    c.running = m.running;
    auto pos = std::find(sidecars.begin(), sidecars.end(), NameOf(m));
    if (pos != sidecars.end()) {
      c.role = ContainerRole::kSidecar;
      ordered_sidecars.emplace_back(static_cast<size_t>(pos - sidecars.begin()), std::move(c));
    } else {
      apps.push_back(std::move(c));
    }
  }
  std::stable_sort(ordered_sidecars.begin(), ordered_sidecars.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [index, c] : ordered_sidecars) order.containers.push_back(std::move(c));
  for (auto& c : apps) order.containers.push_back(std::move(c));
  return order;
}

}  // namespace podshim::shim::task
