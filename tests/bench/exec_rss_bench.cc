// exec_rss_bench: does a running shim grow with every exec? Sends WARMUP then COUNT `exec`
// requests (argv ["true"]) one after another over ONE connection to a shim's control socket and
// reads the shim's /proc/<pid>/status (VmRSS, RssAnon, VmHWM), fd count and CPU time after the
// warm-up and at checkpoints. Prints `key=value` lines for scripts/bench-exec.sh; asserts only
// that every exec answered exit code 0.
//   exec_rss_bench SOCKET SHIM_PID [count=10000] [warmup=100] [container=app]
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "common/unique_fd.h"
#include "shim/control/control_client.h"

namespace {

namespace control = podshim::shim::control;
using podshim::UniqueFd;

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// One connection to the shim: the control API's own client pieces.
struct Client {
  UniqueFd fd;
  control::LineReader reader{-1};
};

// What /proc says about the shim at one moment.
struct Sample {
  long execs = 0;
  long rss_kb = 0;
  long anon_kb = 0;
  long hwm_kb = 0;
  long fds = 0;
  double cpu_s = 0;               // utime + stime
  std::map<int, std::string> fd;  // fd -> what it refers to
};

long StatusField(const std::string& status, const std::string& key) {
  std::istringstream in(status);
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with(key + ":")) return std::atol(line.c_str() + key.size() + 1);
  }
  return -1;
}

Sample Read(int pid, long execs) {
  const std::string proc = "/proc/" + std::to_string(pid);
  std::ifstream st(proc + "/status");
  std::stringstream ss;
  ss << st.rdbuf();
  Sample s;
  s.execs = execs;
  s.rss_kb = StatusField(ss.str(), "VmRSS");
  s.anon_kb = StatusField(ss.str(), "RssAnon");
  s.hwm_kb = StatusField(ss.str(), "VmHWM");
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(proc + "/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    // One closed between the listing and here was transient (an exec's pipe, say): not counted.
    std::error_code lec;
    std::string target = std::filesystem::read_symlink(it->path(), lec).string();
    if (lec) continue;
    ++s.fds;
    s.fd[std::atoi(it->path().filename().c_str())] = target;
  }
  // Fields 14 and 15 of /proc/PID/stat, counted after the command name's closing parenthesis.
  std::ifstream stat(proc + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  std::istringstream rest(text.substr(text.rfind(')') + 2));
  std::vector<std::string> f((std::istream_iterator<std::string>(rest)),
                             std::istream_iterator<std::string>());
  if (f.size() > 12) {
    s.cpu_s = static_cast<double>(std::atol(f[11].c_str()) + std::atol(f[12].c_str())) /
              static_cast<double>(::sysconf(_SC_CLK_TCK));
  }
  return s;
}

void Print(const char* label, const Sample& s) {
  std::printf("%s execs=%ld rss_kb=%ld anon_kb=%ld hwm_kb=%ld fds=%ld cpu_s=%.2f\n", label, s.execs,
              s.rss_kb, s.anon_kb, s.hwm_kb, s.fds, s.cpu_s);
  std::fflush(stdout);
}

// One exec of `true`; its round trip in microseconds, or -1 after printing what went wrong.
double ExecOnce(Client& c, const std::string& request, long n) {
  auto t0 = Clock::now();
  if (!control::SendAll(c.fd.get(), request)) {
    std::fprintf(stderr, "exec %ld: the shim hung up\n", n);
    return -1;
  }
  std::optional<std::string> line = c.reader.Next();
  double us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
  if (!line) {
    std::fprintf(stderr, "exec %ld: no answer\n", n);
    return -1;
  }
  json r = json::parse(*line, nullptr, /*allow_exceptions=*/false);
  if (!r.is_object() || !r.value("ok", false) || !r["result"].is_object() ||
      r["result"].value("exitCode", -1) != 0) {
    std::fprintf(stderr, "exec %ld: unexpected answer %s\n", n, line->c_str());
    return -1;
  }
  return us;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr,
                 "usage: exec_rss_bench SOCKET SHIM_PID [count=10000] [warmup=100] "
                 "[container=app]\n");
    return 2;
  }
  const std::string socket = argv[1];
  const int pid = std::atoi(argv[2]);
  const long count = argc > 3 ? std::atol(argv[3]) : 10000;
  const long warmup = argc > 4 ? std::atol(argv[4]) : 100;
  const std::string container = argc > 5 ? argv[5] : "app";
  if (pid <= 0 || count < 1 || warmup < 0) {
    std::fprintf(stderr, "exec_rss_bench: bad SHIM_PID, count or warmup\n");
    return 2;
  }
  auto fd = control::ConnectControlSocket(socket);
  if (!fd) {
    std::fprintf(stderr, "exec_rss_bench: cannot connect to %s: %s\n", socket.c_str(),
                 fd.error().ToString().c_str());
    return 1;
  }
  const int raw = fd->get();
  Client c{std::move(*fd), control::LineReader(raw)};
  const std::string request =
      json({{"command", "exec"}, {"container", container}, {"argv", {"true"}}}).dump() + "\n";

  Print("start", Read(pid, 0));
  for (long i = 0; i < warmup; ++i) {
    if (ExecOnce(c, request, i) < 0) return 1;
  }
  const Sample base = Read(pid, 0);
  Print("warm", base);

  std::vector<double> us;
  us.reserve(static_cast<size_t>(count));
  const std::vector<long> checkpoints = {1000, 2000, 5000, 10000, 20000, 50000};
  auto t0 = Clock::now();
  for (long i = 1; i <= count; ++i) {
    double t = ExecOnce(c, request, warmup + i);
    if (t < 0) return 1;
    us.push_back(t);
    if (std::find(checkpoints.begin(), checkpoints.end(), i) != checkpoints.end() || i == count) {
      Print("at", Read(pid, i));
    }
  }
  double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  const Sample end = Read(pid, count);
  // Descriptors the shim holds now and did not after the warm-up (a leak grows this list).
  for (const auto& [fd, target] : end.fd) {
    auto it = base.fd.find(fd);
    if (it == base.fd.end() || it->second != target) {
      std::printf("newfd fd=%d target=%s\n", fd, target.c_str());
    }
  }

  std::vector<double> sorted = us;
  std::sort(sorted.begin(), sorted.end());
  double sum = 0;
  for (double t : us) sum += t;
  auto pct = [&](double p) {
    return sorted[std::min(sorted.size() - 1, static_cast<size_t>(p * sorted.size()))];
  };
  std::printf(
      "result execs=%ld wall_s=%.2f mean_us=%.0f p50_us=%.0f p99_us=%.0f max_us=%.0f "
      "shim_cpu_us_per_exec=%.0f rss_growth_kb=%ld anon_growth_kb=%ld fd_growth=%ld\n",
      count, wall, sum / static_cast<double>(count), pct(0.5), pct(0.99), sorted.back(),
      (end.cpu_s - base.cpu_s) * 1e6 / static_cast<double>(count), end.rss_kb - base.rss_kb,
      end.anon_kb - base.anon_kb, end.fds - base.fds);
  return 0;
}
