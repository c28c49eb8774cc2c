// The command line of `podshim ctl --socket PATH [--json] COMMAND ...`, declared once for CLI11
// (command_line.h), which writes its help: the global options before or after the command, each
// command's options after its arguments too (`kill CONTAINER --signal SIG`), `--` before exec's
// command.
#pragma once

#include <span>
#include <string>

#include "common/result.h"
#include "shim/control/control_protocol.h"

namespace podshim::shim {

struct CtlInvocation {
  std::string socket;
  bool json = false;
  control::Request request;
};

struct CtlArgs {
  bool help = false;      // -h/--help: print help_text on stdout, nothing else was checked
  std::string help_text;  // of `ctl`, or of the command given
  CtlInvocation invocation;
};

// args: what follows "ctl". Errors (kInvalidSpec) name the option or the command.
Result<CtlArgs> ParseCtlArgs(std::span<char* const> args);

// The help of `podshim ctl`.
std::string CtlUsage();

}  // namespace podshim::shim
