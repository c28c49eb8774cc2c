#include "shim/run/container_exec.h"

#include <fcntl.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <array>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/quoted.h"
#include "common/sys.h"
#include "oci/exec_plan.h"

namespace podshim::shim {

struct ContainerExecutor::Execution {
  Execution(boost::asio::io_context& io, uint64_t id) : id(id), out(io), err(io), timer(io) {}

  uint64_t id;
  std::string container;
  ExecCallback done;
  std::size_t limit = 0;
  ProcessHandle handle;
  std::optional<cgroups::CgroupPath> group;
  boost::asio::posix::stream_descriptor out;
  boost::asio::posix::stream_descriptor err;
  boost::asio::steady_timer timer;
  std::array<char, 16384> out_buffer{};
  std::array<char, 16384> err_buffer{};
  bool exited = false;
  bool out_open = true;
  bool err_open = true;
  ExecOutcome outcome;
};

ContainerExecutor::ContainerExecutor(boost::asio::io_context& io, oci::ProcessLauncher& launcher,
                                     cgroups::CgroupManager* cgroups)
    : io_(io), launcher_(launcher), cgroups_(cgroups) {}

ContainerExecutor::~ContainerExecutor() { KillAll(); }

namespace {

// Keeps reading `stream` into `text` (up to `limit` bytes, the rest dropped) until EOF, then
// calls `closed`.
template <class OnClosed>
void ReadStream(std::weak_ptr<int> alive, boost::asio::posix::stream_descriptor& stream,
                std::array<char, 16384>& buffer, std::string& text, bool& truncated,
                std::size_t limit, OnClosed closed) {
  stream.async_read_some(boost::asio::buffer(buffer),
                         [alive, &stream, &buffer, &text, &truncated, limit, closed](
                             const boost::system::error_code& ec, std::size_t n) {
                           if (alive.expired()) return;
                           if (ec) {
                             if (ec != boost::asio::error::operation_aborted) closed();
                             return;
                           }
                           const std::size_t room = limit > text.size() ? limit - text.size() : 0;
                           text.append(buffer.data(), std::min(room, n));
                           if (n > room) truncated = true;
                           ReadStream(alive, stream, buffer, text, truncated, limit, closed);
                         });
}

}  // namespace

void ContainerExecutor::Run(const ExecTarget& target, ExecCommand command, ExecCallback done) {
  const uint64_t id = next_id_++;
  auto e = std::make_shared<Execution>(io_, id);
  e->container = target.container;
  e->done = std::move(done);
  e->limit = command.output_limit;

  auto start = [&]() -> Status {
    if (!target.exec) return Error::Invalid("no spec for container " + Quoted(target.container));
    UniqueFd cgroup_fd;
    if (cgroups_ && target.leaf) {
      e->group = PODSHIM_TRY(cgroups_->CreateExecGroup(*target.leaf, "exec-" + std::to_string(id)));
      cgroup_fd = PODSHIM_TRY(cgroups_->OpenDirFd(*e->group));
    }
    sys::PipePair out = PODSHIM_TRY(sys::Pipe(O_CLOEXEC));
    sys::PipePair err = PODSHIM_TRY(sys::Pipe(O_CLOEXEC));
    UniqueFd devnull = PODSHIM_TRY(sys::Open("/dev/null", O_RDONLY));
    oci::ExecOptions opts;
    opts.container_id = target.container;
    opts.container_pid = target.pid;
    opts.argv = command.argv;
    opts.stdin_fd = devnull.get();
    opts.stdout_fd = out.write.get();
    opts.stderr_fd = err.write.get();
    opts.cgroup_dir_fd = cgroup_fd.get();
    oci::LaunchPlan plan = PODSHIM_TRY(oci::BuildExecPlan(*target.exec, opts));
    e->handle = PODSHIM_TRY(launcher_.Launch(plan));
    e->out.assign(out.read.Release());
    e->err.assign(err.read.Release());
    return Ok();
  };
  Status started = start();
  if (!started) {
    if (e->group) (void)cgroups_->Remove(*e->group);
    ExecOutcome failed;
    failed.start_error = started.error().ToString();
    boost::asio::post(io_, [alive = std::weak_ptr<int>(alive_), done = std::move(e->done),
                            failed = std::move(failed)]() mutable {
      if (!alive.expired()) done(std::move(failed));
    });
    return;
  }
  runs_[id] = e;
  by_pid_[e->handle.pid()] = id;
  std::weak_ptr<int> alive = alive_;
  // The handlers hold `e` until the stream closes.
  ReadStream(alive, e->out, e->out_buffer, e->outcome.stdout_text, e->outcome.truncated, e->limit,
             [this, e] {
               e->out_open = false;
               MaybeFinish(e->id);
             });
  ReadStream(alive, e->err, e->err_buffer, e->outcome.stderr_text, e->outcome.truncated, e->limit,
             [this, e] {
               e->err_open = false;
               MaybeFinish(e->id);
             });
  if (command.timeout) {
    e->timer.expires_after(*command.timeout);
    e->timer.async_wait([this, alive, id](const boost::system::error_code& ec) {
      if (ec || alive.expired()) return;
      auto it = runs_.find(id);
      if (it == runs_.end() || it->second->exited) return;
      it->second->outcome.timed_out = true;
      KillExecution(*it->second);
    });
  }
}

void ContainerExecutor::KillExecution(Execution& e) {
  Status st = Ok();
  if (e.group && cgroups_) {
    st = cgroups_->Kill(*e.group);
  } else if (!e.exited && e.handle.pidfd() >= 0) {
    st = sys::PidfdSendSignal(e.handle.pidfd(), SIGKILL);
  }
  if (!st) spdlog::debug("kill exec in {}: {}", e.container, st.error().ToString());
}

bool ContainerExecutor::OnProcessExited(const signals::ExitEvent& exit) {
  auto it = by_pid_.find(exit.pid);
  if (it == by_pid_.end()) return false;
  const uint64_t id = it->second;
  by_pid_.erase(it);
  auto run = runs_.find(id);
  if (run == runs_.end()) return true;
  Execution& e = *run->second;
  e.exited = true;
  e.outcome.exit_code = exit.status;
  e.timer.cancel();
  if (e.group) {
    // Whatever the command left running in its exec cgroup goes with it, so the output pipes
    // close and the cgroup can be removed.
    KillExecution(e);
  } else {
    // Without a cgroup a leftover process could hold the pipes open for ever: take what is
    // there now and stop reading.
    boost::system::error_code ignored;
    e.out.close(ignored);
    e.err.close(ignored);
    e.out_open = e.err_open = false;
  }
  MaybeFinish(id);
  return true;
}

void ContainerExecutor::MaybeFinish(uint64_t id) {
  auto it = runs_.find(id);
  if (it == runs_.end()) return;
  Execution& e = *it->second;
  if (!e.exited || e.out_open || e.err_open) return;
  Finish(id);
}

void ContainerExecutor::Finish(uint64_t id) {
  auto it = runs_.find(id);
  if (it == runs_.end()) return;
  std::shared_ptr<Execution> e = it->second;
  runs_.erase(it);
  if (e->group && cgroups_) {
    Status removed = cgroups_->Remove(*e->group);
    if (!removed) spdlog::warn("remove exec cgroup: {}", removed.error().ToString());
  }
  boost::system::error_code ignored;
  e->out.close(ignored);
  e->err.close(ignored);
  ExecCallback done = std::move(e->done);
  ExecOutcome outcome = std::move(e->outcome);
  // Deferred: the streams' aborted handlers still hold `e`; it dies after them.
  boost::asio::post(io_, [alive = std::weak_ptr<int>(alive_), done = std::move(done),
                          outcome = std::move(outcome), e]() mutable {
    if (!alive.expired()) done(std::move(outcome));
  });
}

void ContainerExecutor::KillAll() {
  for (auto& [id, e] : runs_) {
    KillExecution(*e);
    boost::system::error_code ignored;
    e->out.close(ignored);
    e->err.close(ignored);
    e->timer.cancel();
  }
  runs_.clear();
  by_pid_.clear();
  alive_ = std::make_shared<int>(0);
}

}  // namespace podshim::shim
