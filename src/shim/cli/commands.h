// The subcommands of the podshim binary. main.cc dispatches to these; each lives in its own
// *_command.cc and returns the process exit status (2 for bad input, as DESIGN.md fixes).
#pragma once

namespace podshim::shim {

// argv[0] is the subcommand name ("oci", "run", ...); argv[1..] its arguments.
int RunOciCommand(int argc, char** argv);
int RunResourcesCommand(int argc, char** argv);
int RunValidateCommand(int argc, char** argv);
int RunPodCommand(int argc, char** argv);    // podshim run
int StartPodCommand(int argc, char** argv);  // podshim start
int RunCtlCommand(int argc, char** argv);
// `podshim keeper`: the pod keeper `start` execs beside its shim (keeper_command.cc); hidden.
int RunKeeperCommand(int argc, char** argv);

// `podshim --version` and `podshim oci --version`: runc's shape ("podshim version X", "commit:",
// "spec:", "libseccomp:"), on stdout; returns 0.
int PrintVersion();

}  // namespace podshim::shim
