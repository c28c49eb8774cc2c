#include "shim/shimv2/shim_start.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "common/daemon.h"
#include "common/sys.h"
#include "shim/shimv2/shim_serve.h"
#include "shim/shimv2/shim_socket.h"

namespace podshim::shim::shimv2 {
namespace {

namespace fs = std::filesystem;

int Fail(const std::string& what) {
  std::fprintf(stderr, "containerd-shim-podshim-v2 start: %s\n", what.c_str());
  return 1;
}

// containerd's oom_score_adj + 1, so the kernel picks the shim before containerd (runc's shim
// does the same); 0 when unreadable.
int ShimOomScoreAdj() {
  auto text = sys::ReadFile("/proc/" + std::to_string(::getppid()) + "/oom_score_adj");
  if (!text) return 0;
  int adj = std::atoi(text->c_str());
  return adj < 1000 ? adj + 1 : adj;
}

// In the daemon: stderr goes to the bundle's `log` fifo when containerd reads it.
void LogToBundleFifo(const fs::path& bundle) {
  UniqueFd log(::open((bundle / "log").c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
  if (!log) return;
  int flags = ::fcntl(log.get(), F_GETFL);
  if (flags >= 0) (void)::fcntl(log.get(), F_SETFL, flags & ~O_NONBLOCK);
  (void)::dup2(log.get(), STDERR_FILENO);
}

// Runs in the detached daemon: listens, tells the caller, serves until the last task is gone.
[[noreturn]] void BecomeShim(const ShimFlags& flags, const fs::path& bundle, const fs::path& socket,
                             int oom_score_adj, UniqueFd channel) {
  LogToBundleFifo(bundle);
  (void)sys::WriteFile("/proc/self/oom_score_adj", std::to_string(oom_score_adj));
  auto listener = ListenAt(socket);
  if (!listener) {
    bool taken = listener.error().code() == make_error_code(ErrorCode::kConflict);
    (void)daemon::SendLine(channel.get(),
                           taken ? "serving" : "error " + listener.error().ToString());
    std::_Exit(taken ? 0 : 1);
  }
  ServeOptions opts;
  opts.ns = flags.ns;
  opts.socket_path = socket;
  const char* ttrpc = std::getenv("TTRPC_ADDRESS");
  opts.events_address = ttrpc != nullptr ? ttrpc : "";
  opts.ready_channel = std::move(channel);
  std::_Exit(Serve(std::move(*listener), std::move(opts)));
}

}  // namespace

int RunStart(const ShimFlags& flags) {
  std::error_code ec;
  fs::path bundle = flags.bundle.empty() ? fs::current_path(ec) : fs::path(flags.bundle);
  if (ec) return Fail("cannot read the working directory (the bundle): " + ec.message());
  fs::path socket = ShimSocketPath(flags.address, flags.ns, TaskGroup(bundle, flags.id));
  if (!IsServing(socket)) {
    int adj = ShimOomScoreAdj();
    std::fflush(nullptr);
    auto detached = daemon::Detach();
    if (!detached) return Fail(detached.error().ToString());
    if (detached->in_daemon) BecomeShim(flags, bundle, socket, adj, std::move(detached->channel));
    auto line = sys::ReadAll(detached->channel.get(), 4096);
    if (!line) return Fail("shim did not report: " + line.error().ToString());
    if (line->starts_with("error ")) return Fail(line->substr(6, line->find('\n') - 6));
    if (!line->starts_with("ready") && !line->starts_with("serving")) {
      return Fail("shim exited before it served " + socket.native());
    }
  }
  if (auto written = WriteAddressFile(bundle, socket); !written) {
    return Fail(written.error().ToString());
  }
  std::fputs(("unix://" + socket.native()).c_str(), stdout);
  return 0;
}

}  // namespace podshim::shim::shimv2
