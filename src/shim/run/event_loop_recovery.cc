// The event loop's take-over of a running pod (EventLoopConfig::recovery): the events the dead
// shim never wrote, the processes taken back (and, for those that are not our children, a
// pidfd watch in place of SIGCHLD), the exits that happened while no shim watched, and the
// launches that were under way.
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>

#include "shim/run/event_loop_impl.h"
#include "shim/run/keeper_protocol.h"

namespace podshim::shim {
namespace {

// An adopted process's keeper writes its exit just after it reaped it: looked for 10 times,
// 100 ms apart, before the exit counts as unknown.
constexpr int kOrphanExitTries = 10;
constexpr std::chrono::milliseconds kOrphanExitRetry(100);

}  // namespace

Status EventLoop::Impl::Recover(LoopRecovery& r) {
  for (const PodEvent& e : r.missing_events) Emit(e);
  for (AdoptedInstance& a : r.adopted) {
    ContainerSlot* slot = slots.Find(a.container);
    if (!slot) continue;
    ContainerInstance inst;
    inst.handle = std::move(a.handle);
    inst.leaf = a.leaf;
    if (inst.leaf) {
      slot->leaf = inst.leaf;
      if (auto before = config.cgroups->ReadOomKills(*inst.leaf)) inst.oom_before = *before;
    }
    spdlog::info(
        "took back {} (pid {}{}{})", a.container, inst.handle.pid(),
        a.child ? "" : ", not our child: its exit status comes from a keeper or is unknown",
        a.out || a.err ? ", with its output pipes" : "");
    slots.SetRunning(*slot, std::move(inst));
    if (a.out || a.err) {
      // Its log goes on where it stands (the same file, appended to; older ones stay).
      const std::filesystem::path path =
          ContainerLogPath(config.log_dir, a.container, a.restart_count);
      auto opened = CriLogFile::Open(path);
      if (!opened) spdlog::error("log of {}: {}", a.container, opened.error().ToString());
      auto log = std::make_shared<CriLogFile>(opened ? std::move(*opened)
                                                     : CriLogFile::Unopened(path));
      for (auto [fd, stream] : {std::pair{&a.out, LogStream::kStdout},
                                std::pair{&a.err, LogStream::kStderr}}) {
        if (!*fd) continue;
        auto pump = std::make_unique<LogPump>(io, std::move(*fd), stream, log, *config.clock);
        pump->Start();
        slot->pumps.push_back(std::move(pump));
      }
    }
    if (!a.child) WatchAdopted(*slot, a.start_ticks);
    if (slot->probes) slot->probes->OnContainerStarted();
  }
  for (const std::string& name : r.poststart_unknown) {
    spdlog::warn("{}: the postStart hook the previous shim ran never reported; counted as done",
                 name);
    (void)Input(SupervisorInput::WithFlag(SupervisorInput::Kind::kPostStartFinished, name, true));
  }
  for (auto& [name, exit] : r.ended) {
    if (!exit.unknown) state.WriteExit(name, {exit.exit_code, exit.oom});
    Status st = Input(SupervisorInput::Exited(name, exit));
    if (!st) spdlog::error("report exit of {}: {}", name, st.error().ToString());
  }
  for (LaunchAction& a : r.relaunch) Do(a);
  return Ok();
}

void EventLoop::Impl::WatchAdopted(ContainerSlot& slot, uint64_t start_ticks) {
  const pid_t pid = slot.running->handle.pid();
  const int fd = ::dup(slot.running->handle.pidfd());
  if (fd < 0) {
    spdlog::error("watch {}: dup pidfd: {}", slot.name(), std::strerror(errno));
    return;
  }
  auto watch = std::make_shared<boost::asio::posix::stream_descriptor>(io, fd);
  watch->async_wait(boost::asio::posix::stream_descriptor::wait_read,
                    [this, watch, pid, start_ticks](const boost::system::error_code& ec) {
                      if (ec) return;
                      OnAdoptedExit(pid, start_ticks, kOrphanExitTries);
                    });
}

void EventLoop::Impl::OnAdoptedExit(pid_t pid, uint64_t start_ticks, int tries) {
  ContainerSlot* slot = slots.FindRunning(pid);
  if (!slot) return;
  // Its parent (the dead shim's keeper, or init) reaps it; the status is seen here only if it
  // is still a zombie now, else in the file the keeper writes once it reaped it.
  std::optional<ContainerExit> exit;
  siginfo_t info{};
  if (::waitid(P_PIDFD, static_cast<id_t>(slot->running->handle.pidfd()), &info,
               WEXITED | WNOHANG) == 0 &&
      info.si_pid == pid) {
    exit = info.si_code == CLD_EXITED ? ContainerExit::Code(info.si_status)
                                      : ContainerExit::Signalled(info.si_status);
  }
  if (!exit && !config.orphan_exits.empty() && start_ticks != 0) {
    const auto file = config.orphan_exits / keeper::OrphanExitName(pid, start_ticks);
    if (auto text = sys::ReadFile(file)) {
      if (auto e = keeper::ParseOrphanExit(*text)) {
        exit = e->signalled ? ContainerExit::Signalled(e->value) : ContainerExit::Code(e->value);
      } else {
        spdlog::warn("{}: {}", file.string(), e.error().ToString());
      }
    } else if (tries > 0) {
      // Not reaped yet (or no keeper): look again soon, without holding up the loop.
      auto timer = std::make_shared<boost::asio::steady_timer>(io, kOrphanExitRetry);
      timer->async_wait(
          [this, timer, pid, start_ticks, tries](const boost::system::error_code& ec) {
            if (!ec) OnAdoptedExit(pid, start_ticks, tries - 1);
          });
      return;
    }
  }
  if (!exit) spdlog::warn("{} (pid {}) ended; its exit status is unknown", slot->name(), pid);
  EndInstance(*slot, exit.value_or(ContainerExit::Unknown()));
  Process();
}

}  // namespace podshim::shim
