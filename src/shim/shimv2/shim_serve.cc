#include "shim/shimv2/shim_serve.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>

#include "common/daemon.h"
#include "common/page_trim.h"
#include "shim/shimv2/oom_watcher.h"
#include "shim/shimv2/stdin_pump.h"
#include "shim/shimv2/terminal_relay.h"
#include "shim/task/task_runtime_oci.h"
#include "shim/task/task_service.h"
#include "shim/ttrpc/event_forwarder.h"
#include "shim/ttrpc/server.h"
#include "signals/reaper.h"

namespace podshim::shim::shimv2 {
namespace {

namespace asio = boost::asio;

// How long after a Create, Start, Exec or Delete the shim drops its one-time pages: enough for
// the reply and the task event to be written (well under a millisecond on an idle machine).
constexpr std::chrono::milliseconds kTrimDelay{100};
// After any other RPC (State, Wait, Stats, ...): those a client sends more often than this keep
// their pages mapped; an idle task's shim gives them back.
constexpr std::chrono::seconds kIdleTrimDelay{5};

// How long a shim that was told to go waits for its last events to reach containerd
// (containerd gives Shutdown 3 s).
constexpr std::chrono::seconds kEventFlush{2};

void Log(const std::string& line) { std::fprintf(stderr, "podshim shim: %s\n", line.c_str()); }

// A reader gone from a fifo or socket is an EPIPE error, not a death: the signal stays blocked
// in the shim (its containers start with an empty mask, oci/child_setup.cc).
void BlockSigpipe() {
  sigset_t set;
  ::sigemptyset(&set);
  ::sigaddset(&set, SIGPIPE);
  ::sigprocmask(SIG_BLOCK, &set, nullptr);
}

// Every exit, the containers' and the orphans' the kernel re-parents to us, goes to the service;
// re-arms itself.
void ReapOnSigchld(asio::signal_set& sigchld, task::TaskService& service) {
  sigchld.async_wait([&sigchld, &service](const boost::system::error_code& ec, int) {
    if (ec) return;
    auto exits = signals::ReapAll();
    if (!exits) Log(exits.error().ToString());
    for (const signals::ExitEvent& e : exits ? *exits : std::vector<signals::ExitEvent>{}) {
      service.OnExit(e);
    }
    ReapOnSigchld(sigchld, service);
  });
}

// SIGTERM and SIGINT stop the pod (TaskService::StopPod), every time they come.
void StopPodOnSignal(asio::signal_set& signals, task::TaskService& service) {
  signals.async_wait([&signals, &service](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    service.StopPod(sig == SIGTERM ? "SIGTERM" : "SIGINT");
    StopPodOnSignal(signals, service);
  });
}

// The pod stop's one timer (TaskServiceOptions::arm_stop_timer) on `timer`; `service` is set
// once the service exists, before anything can arm it.
std::function<void(std::optional<Clock::TimePoint>)> StopTimerArmer(asio::steady_timer& timer,
                                                                    task::TaskService*& service) {
  return [&timer, &service](std::optional<Clock::TimePoint> at) {
    timer.cancel();
    if (!at) return;
    timer.expires_at(*at);
    timer.async_wait([&service](const boost::system::error_code& ec) {
      if (!ec) service->OnStopTimer();
    });
  };
}

}  // namespace

int Serve(UniqueFd listener, ServeOptions opts) {
  BlockSigpipe();
  if (auto sub = signals::BecomeSubreaper(); !sub) Log(sub.error().ToString());
  asio::io_context loop;
  asio::signal_set sigchld(loop, SIGCHLD);
  ttrpc::EventForwarder events(loop, opts.events_address);
  task::OciTaskRuntime runtime(/*create_in_forked_child=*/true);
  AsioTerminalRelays terminals(loop);
  std::function<void(const std::string&, uint64_t)> on_oom_kills;  // set once the service is
  AsioOomWatch oom(loop, [&](const std::string& id, uint64_t kills) { on_oom_kills(id, kills); });
  AsioStdinPumps stdin_pumps(loop);
  std::unique_ptr<ttrpc::Server> server;

  bool stopping = false;
  asio::steady_timer stop_timer(loop);
  task::TaskService* service_ptr = nullptr;
  task::TaskServiceOptions service_opts;
  service_opts.arm_stop_timer = StopTimerArmer(stop_timer, service_ptr);
  service_opts.shim_pid = ::getpid();
  service_opts.ns = opts.ns;
  service_opts.terminals = &terminals;
  service_opts.oom = &oom;
  service_opts.stdin_pumps = &stdin_pumps;
  service_opts.on_shutdown = [&] {
    if (std::exchange(stopping, true)) return;
    asio::post(loop, [&] {
      events.Flush(kEventFlush, [&](bool) {
        server->Close();
        loop.stop();
      });
    });
  };
  task::TaskService service(
      runtime,
      [&](std::string topic, std::string type_url, std::string bytes) {
        events.Publish(opts.ns, std::move(topic), std::move(type_url), std::move(bytes));
      },
      std::move(service_opts));
  service_ptr = &service;
  on_oom_kills = [&](const std::string& id, uint64_t kills) { service.OnOomKills(id, kills); };
  // The pages an RPC touched leave the resident shim (common/page_trim.h) once it is over: the
  // RPCs that launch or delete run code once per container, dropped kTrimDelay after the last of
  // a burst (its reply and events are out by then); any other RPC, kIdleTrimDelay after the last
  // one. An idle shim arms nothing.
  asio::steady_timer trim_timer(loop);
  server =
      std::make_unique<ttrpc::Server>(loop, [&](ttrpc::RpcCall call, ttrpc::Responder respond) {
        const bool one_time = call.method == "Create" || call.method == "Start" ||
                              call.method == "Exec" || call.method == "Delete";
        service.Handle(std::move(call), std::move(respond));
        trim_timer.expires_after(one_time ? std::chrono::milliseconds(kTrimDelay)
                                          : std::chrono::milliseconds(kIdleTrimDelay));
        trim_timer.async_wait([](const boost::system::error_code& ec) {
          if (!ec) TrimResidentPages();
        });
      });

  ReapOnSigchld(sigchld, service);
  // Told to stop (SIGTERM, SIGINT): the pod stops in order; containerd then deletes the tasks and
  // shuts the shim down as usual.
  asio::signal_set stop_signals(loop, SIGTERM, SIGINT);
  StopPodOnSignal(stop_signals, service);
  if (auto serving = server->Serve(std::move(listener)); !serving) {
    (void)daemon::SendLine(opts.ready_channel.get(), "error " + serving.error().ToString());
    (void)::unlink(opts.socket_path.c_str());
    return 1;
  }
  (void)daemon::SendLine(opts.ready_channel.get(), "ready");
  opts.ready_channel.Reset();
  loop.run();
  (void)::unlink(opts.socket_path.c_str());
  return 0;
}

}  // namespace podshim::shim::shimv2
