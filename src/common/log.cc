#include "common/log.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

namespace podshim::log {

Status Init(std::string_view level, const std::string& file) {
  auto lvl = spdlog::level::from_str(std::string(level));
  if (lvl == spdlog::level::off && level != "off") {
    return Error::Invalid("--log-level: unknown level \"" + std::string(level) +
                          "\" (trace, debug, info, warn, error, off)");
  }
  std::shared_ptr<spdlog::logger> logger;
  try {
    if (file.empty()) {
      logger = std::make_shared<spdlog::logger>(
          "podshim", std::make_shared<spdlog::sinks::stderr_sink_st>());
    } else {
      logger = std::make_shared<spdlog::logger>(
          "podshim", std::make_shared<spdlog::sinks::basic_file_sink_st>(file));
    }
  } catch (const spdlog::spdlog_ex& e) {
    return Error::Errno(EIO, std::string("open log ") + file + ": " + e.what());
  }
  logger->set_pattern("podshim %^%l%$: %v");
  logger->set_level(lvl);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(std::move(logger));
  return Ok();
}

}  // namespace podshim::log
