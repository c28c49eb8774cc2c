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
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "common/version.h"
#include "shim/run/event_loop_impl.h"

namespace podshim::shim {
namespace {

// An adopted process's keeper writes its exit just after it reaped it, usually within a
// millisecond of the pidfd waking the loop: looked for again after 1 ms, doubling up to 512 ms
// (about 1 s in all), before the exit counts as unknown. Short first waits keep the order in
// which adopted containers are seen to end close to the order they ended in.
constexpr int kOrphanExitTries = 10;
constexpr std::chrono::milliseconds kOrphanExitFirstRetry(1);

}  // namespace

Status EventLoop::Impl::Recover(LoopRecovery& r) {
  for (const PodEvent& e : r.missing_events) Emit(e);
  for (AdoptedInstance& a : r.adopted) {
    ContainerSlot* slot = slots.Find(a.container);
    if (!slot) continue;
    ContainerInstance inst;
    inst.handle = std::move(a.handle);
    inst.leaf = a.leaf;
    if (!a.child) inst.adopted_start_ticks = a.start_ticks;
    if (inst.leaf) {
      slot->leaf = inst.leaf;
      if (auto before = config.cgroups->ReadOomKills(*inst.leaf)) inst.oom_before = *before;
    }
    spdlog::info(
        "took back {} (pid {}{})", a.container, inst.handle.pid(),
        a.child ? "" : ", not our child: its exit status comes from a keeper or is unknown");
    slots.SetRunning(*slot, std::move(inst));
    if (!a.child) WatchAdopted(*slot);
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
  AdoptPipes(r.pipes);
  return Ok();
}

void EventLoop::Impl::WatchAdopted(ContainerSlot& slot) {
  const pid_t pid = slot.running->handle.pid();
  const int fd = ::dup(slot.running->handle.pidfd());
  if (fd < 0) {
    spdlog::error("watch {}: dup pidfd: {}", slot.name(), std::strerror(errno));
    return;
  }
  auto watch = std::make_shared<boost::asio::posix::stream_descriptor>(io, fd);
  watch->async_wait(boost::asio::posix::stream_descriptor::wait_read,
                    [this, watch, pid](const boost::system::error_code& ec) {
                      if (ec) return;
                      OnAdoptedExit(pid, kOrphanExitTries);
                    });
}

void EventLoop::Impl::OnAdoptedExit(pid_t pid, int tries) {
  ContainerSlot* slot = slots.FindRunning(pid);
  if (!slot) return;
  // Its parent (the dead shim's keeper, or init) reaps it. Through waitid if it is our child
  // after all; else as a zombie or in the keeper's exit file (AdoptedExit).
  std::optional<ContainerExit> exit;
  siginfo_t info{};
  if (::waitid(P_PIDFD, static_cast<id_t>(slot->running->handle.pidfd()), &info,
               WEXITED | WNOHANG) == 0 &&
      info.si_pid == pid) {
    exit = info.si_code == CLD_EXITED ? ContainerExit::Code(info.si_status)
                                      : ContainerExit::Signalled(info.si_status);
  } else if (slot->running->adopted_start_ticks && config.recovery) {
    const LoopRecovery& r = *config.recovery;
    exit = AdoptedExit(pid, *slot->running->adopted_start_ticks, r.orphan_exits);
    if (!exit && r.keeper_reaps && tries > 0) {
      // Not reaped yet: look again soon, without holding up the loop.
      const auto wait = kOrphanExitFirstRetry * (1 << (kOrphanExitTries - tries));
      auto timer = std::make_shared<boost::asio::steady_timer>(io, wait);
      timer->async_wait([this, timer, pid, tries](const boost::system::error_code& ec) {
        if (!ec) OnAdoptedExit(pid, tries - 1);
      });
      return;
    }
  }
  if (!exit) spdlog::warn("{} (pid {}) ended; its exit status is unknown", slot->name(), pid);
  EndInstance(*slot, exit.value_or(ContainerExit::Unknown()));
  Process();
}

// An upgrade's or a keeper's pipes: the stdout and stderr of one instance share its log file,
// opened for appending as the image before had it.
void EventLoop::Impl::AdoptPipes(std::vector<HandedPipe>& pipes) {
  std::map<std::pair<std::string, int>, std::shared_ptr<CriLogFile>> logs;
  for (HandedPipe& p : pipes) {
    UniqueFd fd(std::exchange(p.fd, -1));
    ContainerSlot* slot = slots.Find(p.container);
    if (!slot) continue;
    std::shared_ptr<CriLogFile>& log = logs[{p.container, p.restart_count}];
    if (!log) log = OpenLog(p.container, p.restart_count);
    auto pump = std::make_unique<LogPump>(io, std::move(fd), p.stream, log, *config.clock);
    pump->set_instance(p.restart_count);
    pump->Carry(p.pending);
    pump->Start();
    slot->pumps.push_back(std::move(pump));
  }
}

void EventLoop::Impl::EmitShimUpgraded() {
  PodEvent e;
  e.type = "ShimUpgraded";
  e.time = config.clock->WallNow();
  e.fields = {{"from", config.upgraded_from}, {"to", std::string(ProjectVersion())}};
  Emit(e);
}

}  // namespace podshim::shim
