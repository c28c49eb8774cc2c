#include "shim/events.h"

#include <fcntl.h>

#include <nlohmann/json.hpp>
#include <type_traits>
#include <variant>

#include "common/sys.h"
#include "common/time_format.h"

namespace podshim::shim {
namespace {

nlohmann::ordered_json ToJson(const EventValue& value) {
  return std::visit(
      [](const auto& v) -> nlohmann::ordered_json {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::nullptr_t>) {
          return nullptr;
        } else {
          return v;
        }
      },
      value);
}

}  // namespace

std::string EventToJsonLine(const PodEvent& event, std::string_view pod) {
  nlohmann::ordered_json j;
  j["time"] = FormatRfc3339Nano(event.time);
  j["pod"] = std::string(pod);
  j["type"] = event.type;
  if (!event.container.empty()) j["container"] = event.container;
  if (event.role) j["role"] = std::string(ContainerRoleName(*event.role));
  for (const EventField& f : event.fields) j[f.key] = ToJson(f.value);
  // Replace invalid UTF-8 (a message quoting container output) instead of throwing.
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

Result<EventWriter> EventWriter::Open(const std::filesystem::path& path, std::string pod) {
  UniqueFd fd = PODSHIM_TRY(sys::Open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  return EventWriter(std::move(fd), path, std::move(pod));
}

Status EventWriter::Write(const PodEvent& event) {
  std::string line = EventToJsonLine(event, pod_);
  line += '\n';
  PODSHIM_TRY_WRAP(sys::WriteAll(fd_.get(), line), "append to " + path_.string());
  return Ok();
}

}  // namespace podshim::shim
