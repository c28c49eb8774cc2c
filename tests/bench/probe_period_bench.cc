// probe_period_bench: how punctually the probe scheduler (ProbeSet) runs probes when driven the
// way the shim drives it: one io_context, one steady_timer re-armed at NextDeadline(), real
// tcpSocket probes (ProbeRunner) against a loopback listener. Prints numbers; asserts nothing.
//   probe_period_bench [probes=100] [period_ms=10]   lateness of each run against its due time
//   probe_period_bench --cpu [containers=10] [seconds=10]   CPU used with 1 s probes
//   probe_period_bench --get PORT [http|https] [n=500] [path=/status/404]   per-probe cost of
//     n httpGet probes, one after the other, against a server on 127.0.0.1:PORT (e.g.
//     `test_proc https 0 -`): this process's CPU time and each probe's wall time
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/unique_fd.h"
#include "shim/pod/probes.h"
#include "shim/run/probe_runner.h"

namespace {

using namespace std::chrono_literals;
using podshim::Clock;
using podshim::UniqueFd;
namespace shim = podshim::shim;
namespace asio = boost::asio;

// Probe periods are whole seconds in the manifest model; this clock runs `scale` times faster
// than steady_clock so that a 1 s period lasts 1 s / scale of real time.
class ScaledClock final : public Clock {
 public:
  explicit ScaledClock(long scale) : scale_(scale), origin_(std::chrono::steady_clock::now()) {}
  TimePoint Now() const override {
    return origin_ + (std::chrono::steady_clock::now() - origin_) * scale_;
  }
  std::chrono::system_clock::time_point WallNow() const override {
    return std::chrono::system_clock::now();
  }
  // The real time at which this clock shows `t`.
  TimePoint Real(TimePoint t) const { return origin_ + (t - origin_) / scale_; }

 private:
  long scale_;
  TimePoint origin_;
};

int Listen(UniqueFd& fd) {
  fd = UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sa;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
      ::listen(fd.get(), 4096) != 0 ||
      ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
    std::perror("listen");
    std::exit(1);
  }
  return ntohs(sa.sin_port);
}

// Drains the listener so its backlog never fills (the probes only connect).
void DrainAccepts(int fd) {
  for (;;) {
    int c = ::accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c < 0) return;
    ::close(c);
  }
}

shim::Probe TcpProbe(int port) {
  shim::Probe p;
  shim::TcpSocketAction tcp;
  tcp.port = port;
  p.handler = tcp;
  p.period = 1s;
  p.timeout = 1s;
  return p;
}

// One container's probes, driven like the event loop will: after every event, re-arm the
// timer at the earliest NextDeadline().
struct Driver {
  Driver(asio::io_context& io, const ScaledClock& clock, int port, int containers, bool liveness)
      : io(io), clock(clock), timer(io), runner(io) {
    for (int i = 0; i < containers; ++i) {
      sets.emplace_back(clock, std::nullopt, TcpProbe(port),
                        liveness ? std::optional(TcpProbe(port)) : std::nullopt);
      sets.back().OnContainerStarted();
    }
  }

  void Arm() {
    std::optional<Clock::TimePoint> next;
    for (const auto& s : sets) {
      auto d = s.NextDeadline();
      if (d && (!next || *d < *next)) next = d;
    }
    if (!next || stop) return;
    armed_for = *next;
    timer.expires_at(clock.Real(*next));
    timer.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) Fire();
    });
  }

  void Fire() {
    auto real_now = std::chrono::steady_clock::now();
    auto now = clock.Now();
    for (auto& s : sets) {
      for (const shim::ProbeRun& run : s.DueProbes(now)) {
        lateness.push_back(real_now - clock.Real(armed_for));
        ++started;
        runner.Run(-1, run.probe, [this, &s, run](shim::ProbeOutcome o) {
          if (!o.success) ++failures;
          (void)s.OnProbeResult(run.kind, run.run_id, o.success, o.message);
          if (listener >= 0) DrainAccepts(listener);
          if (!stop) Arm();
        });
      }
    }
    Arm();
  }

  asio::io_context& io;
  const ScaledClock& clock;
  asio::steady_timer timer;
  shim::ProbeRunner runner;
  std::vector<shim::ProbeSet> sets;
  Clock::TimePoint armed_for{};
  std::vector<Clock::Duration> lateness;
  long started = 0;
  long failures = 0;
  bool stop = false;
  int listener = -1;
};

double Ms(Clock::Duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double CpuSeconds() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
         (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

int Accuracy(long probes, long period_ms) {
  UniqueFd listen_fd;
  int port = Listen(listen_fd);
  ScaledClock clock(1000 / period_ms);
  asio::io_context io;
  Driver d(io, clock, port, 1, false);
  d.listener = listen_fd.get();
  d.Arm();
  while (d.started < probes) io.run_one();
  d.stop = true;
  d.timer.cancel();
  io.run_for(1s);
  d.lateness.resize(probes);
  Clock::Duration sum{};
  for (auto l : d.lateness) sum += l;
  auto worst = *std::max_element(d.lateness.begin(), d.lateness.end());
  std::vector<Clock::Duration> sorted = d.lateness;
  std::sort(sorted.begin(), sorted.end());
  std::printf(
      "probe period accuracy: %ld tcpSocket probes every %ld ms (ProbeSet + steady_timer + "
      "ProbeRunner, one thread)\n",
      probes, period_ms);
  std::printf("  lateness mean %.3f ms, median %.3f ms, p99 %.3f ms, worst %.3f ms; %ld failed\n",
              Ms(sum / probes), Ms(sorted[sorted.size() / 2]),
              Ms(sorted[std::min<std::size_t>(sorted.size() - 1, sorted.size() * 99 / 100)]),
              Ms(worst), d.failures);
  return 0;
}

int Cpu(int containers, int seconds) {
  UniqueFd listen_fd;
  int port = Listen(listen_fd);
  ScaledClock clock(1);
  asio::io_context io;
  Driver d(io, clock, port, containers, true);
  d.listener = listen_fd.get();
  double cpu0 = CpuSeconds();
  auto t0 = std::chrono::steady_clock::now();
  d.Arm();
  io.run_for(std::chrono::seconds(seconds));
  double cpu = CpuSeconds() - cpu0;
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf(
      "%d containers, readiness + liveness tcpSocket probes every 1 s, %.1f s: %ld probes, "
      "%ld failed, CPU %.3f s = %.3f%% of one core\n",
      containers, wall, d.started, d.failures, cpu, 100.0 * cpu / wall);
  return 0;
}

// Per-probe cost of httpGet: n sequential runs of ProbeRunner::HttpGet (no namespace excursion).
int GetCost(int port, bool tls, long n, const char* path) {
  asio::io_context io;
  shim::ProbeRunner runner(io);
  shim::HttpGetAction a;
  a.port = port;
  a.path = path;
  a.scheme = tls ? shim::HttpScheme::kHttps : shim::HttpScheme::kHttp;
  std::vector<Clock::Duration> wall;
  long failures = 0;
  std::string last;
  auto one = [&] {
    bool done = false;
    auto t0 = std::chrono::steady_clock::now();
    runner.HttpGet(-1, a, 5s, [&](shim::ProbeOutcome o) {
      done = true;
      if (!o.success) ++failures;
      last = o.message;
    });
    while (!done) {
      if (io.stopped()) io.restart();  // run_one() stops the context whenever it runs dry
      io.run_one();
    }
    return std::chrono::steady_clock::now() - t0;
  };
  for (int i = 0; i < 20; ++i) one();  // warm-up: the TLS context, page faults, the server
  failures = 0;
  double cpu0 = CpuSeconds();
  auto t0 = std::chrono::steady_clock::now();
  for (long i = 0; i < n; ++i) wall.push_back(one());
  double cpu = CpuSeconds() - cpu0;
  double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::sort(wall.begin(), wall.end());
  Clock::Duration sum{};
  for (auto w : wall) sum += w;
  std::printf(
      "%s GET %s x %ld: CPU %.3f ms/probe (%.3f s user+sys over %.2f s); wall mean %.3f ms, "
      "median %.3f ms, p99 %.3f ms; %ld failed (last: %s)\n",
      tls ? "https" : "http", path, n, cpu * 1000 / n, cpu, total, Ms(sum / n),
      Ms(wall[wall.size() / 2]),
      Ms(wall[std::min<std::size_t>(wall.size() - 1, wall.size() * 99 / 100)]), failures,
      last.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 2 && std::strcmp(argv[1], "--get") == 0) {
    return GetCost(std::atoi(argv[2]), argc > 3 && std::strcmp(argv[3], "https") == 0,
                   argc > 4 ? std::atol(argv[4]) : 500, argc > 5 ? argv[5] : "/status/404");
  }
  if (argc > 1 && std::strcmp(argv[1], "--cpu") == 0) {
    return Cpu(argc > 2 ? std::atoi(argv[2]) : 10, argc > 3 ? std::atoi(argv[3]) : 10);
  }
  long probes = argc > 1 ? std::atol(argv[1]) : 100;
  long period_ms = argc > 2 ? std::atol(argv[2]) : 10;
  if (probes < 1 || period_ms < 1 || 1000 % period_ms != 0) {
    std::fprintf(stderr, "usage: probe_period_bench [probes>=1] [period_ms dividing 1000]\n");
    return 2;
  }
  return Accuracy(probes, period_ms);
}
