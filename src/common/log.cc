#include "common/log.h"

#include <fcntl.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <cstdio>

#include "common/quoted.h"

namespace podshim::log {

Status Init(std::string_view level, const std::string& file) {
  auto lvl = spdlog::level::from_str(std::string(level));
  if (lvl == spdlog::level::off && level != "off") {
    return Error::Invalid("--log-level: unknown level " + Quoted(level) +
                          " (trace, debug, info, warn, error, off)");
  }
  std::shared_ptr<spdlog::logger> logger;
  try {
    if (file.empty()) {
      logger = std::make_shared<spdlog::logger>("podshim",
                                                std::make_shared<spdlog::sinks::stderr_sink_st>());
    } else {
      // spdlog opens the file with fopen(): no O_CLOEXEC, so every container would inherit it.
      spdlog::file_event_handlers handlers;
      handlers.after_open = [](const spdlog::filename_t&, std::FILE* f) {
        (void)::fcntl(::fileno(f), F_SETFD, FD_CLOEXEC);
      };
      logger = std::make_shared<spdlog::logger>(
          "podshim",
          std::make_shared<spdlog::sinks::basic_file_sink_st>(file, /*truncate=*/false, handlers));
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
