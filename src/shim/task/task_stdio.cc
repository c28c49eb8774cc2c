#include "shim/task/task_stdio.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "common/sys.h"

namespace podshim::shim::task {
namespace {

Status ClearNonblock(int fd, const std::string& what) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
    return Error::Errno(errno, "fcntl " + what);
  }
  return Ok();
}

// `path` opened as described in task_stdio.h; `blocking`: O_NONBLOCK cleared afterwards.
Result<UniqueFd> OpenInput(const std::string& path, bool blocking = true) {
  if (path.empty()) return sys::Open("/dev/null", O_RDONLY | O_CLOEXEC);
  UniqueFd fd = PODSHIM_TRY_WRAP(sys::Open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC), "stdin");
  if (blocking) PODSHIM_TRY(ClearNonblock(fd.get(), "stdin " + path));
  return fd;
}

Result<UniqueFd> OpenOutput(const std::string& path, const char* stream, bool blocking = true) {
  if (path.empty()) return sys::Open("/dev/null", O_WRONLY | O_CLOEXEC);
  auto fd = sys::Open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (!fd && fd.error().code() == std::error_code(ENXIO, std::system_category())) {
    // A FIFO nobody reads yet: O_RDWR opens at once; the reader still sees EOF once every
    // writer (then only the container) has closed it.
    fd = sys::Open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
  }
  if (!fd) return std::move(fd).error().Wrap(stream);
  if (blocking) PODSHIM_TRY(ClearNonblock(fd->get(), std::string(stream) + " " + path));
  return std::move(*fd);
}

}  // namespace

Result<TaskStdio> OpenTaskStdio(const std::string& stdin_path, const std::string& stdout_path,
                                const std::string& stderr_path) {
  TaskStdio io;
  io.in = PODSHIM_TRY(OpenInput(stdin_path));
  io.out = PODSHIM_TRY(OpenOutput(stdout_path, "stdout"));
  io.err = PODSHIM_TRY(OpenOutput(stderr_path, "stderr"));
  return io;
}

Result<TaskStdio> OpenTerminalFifos(const std::string& stdin_path, const std::string& stdout_path) {
  TaskStdio io;
  if (!stdin_path.empty()) io.in = PODSHIM_TRY(OpenInput(stdin_path, /*blocking=*/false));
  if (!stdout_path.empty()) {
    io.out = PODSHIM_TRY(OpenOutput(stdout_path, "stdout", /*blocking=*/false));
  }
  return io;
}

Result<UniqueFd> OpenFifoKeeper(const std::string& path) {
  return PODSHIM_TRY_WRAP(sys::Open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC), "stdin keeper");
}

Result<PumpedStdin> OpenPumpedStdin(const std::string& path) {
  PumpedStdin in;
  in.fifo = PODSHIM_TRY(OpenInput(path, /*blocking=*/false));
  in.keep = PODSHIM_TRY(OpenFifoKeeper(path));  // after the reader: O_WRONLY opens at once
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC) < 0) return Error::Errno(errno, "stdin pipe");
  in.process_end = UniqueFd(ends[0]);
  in.pump_end = UniqueFd(ends[1]);
  int flags = ::fcntl(in.pump_end.get(), F_GETFL);
  if (flags < 0 || ::fcntl(in.pump_end.get(), F_SETFL, flags | O_NONBLOCK) < 0) {
    return Error::Errno(errno, "stdin pipe: fcntl O_NONBLOCK");
  }
  return in;
}

}  // namespace podshim::shim::task
