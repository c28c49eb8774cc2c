// Logging set-up: one synchronous spdlog logger (the shim has one thread) writing to stderr
// or a file. Leaf modules log at debug at most; shim/ logs an error once where it decides.
#pragma once

#include <spdlog/spdlog.h>

#include <string>
#include <string_view>

#include "common/result.h"

namespace podshim::log {

// level: trace|debug|info|warn|error|off. file empty means stderr; a file is appended to and
// its fd is close-on-exec (containers and hooks never inherit it).
Status Init(std::string_view level, const std::string& file = "");

}  // namespace podshim::log
