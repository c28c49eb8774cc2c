// device_filter_bench: what the device filter costs at create and update, on this host's cgroup2
// mount (root only). Prints numbers; asserts nothing.
//   device_filter_bench [n=200]   program size for `podman run`'s rule list, then n rounds of
//     BuildDeviceProgram, load alone, and ApplyDeviceRules (build + load + attach/replace) on one
//     cgroup "podshim-bench-<pid>-dev" created under the mount and removed at the end.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "cgroups/device_filter_attach.h"
#include "cgroups/device_program.h"
#include "cgroups/mountinfo.h"

namespace {

using namespace podshim::cgroups;
using Clock = std::chrono::steady_clock;

// What `podman run` sends (captured from podman 4.3 here: the deny-all alone) with the defaults
// runc appends, as create applies it.
DeviceRules PodmanRun() {
  return WithDefaultDevices({{false, DeviceType::kAll, {}, {}, kDeviceAllAccess}}, {});
}

// Median and 95th percentile in microseconds.
void Report(const char* what, std::vector<double> us) {
  std::sort(us.begin(), us.end());
  std::printf("%-32s median %8.1f us  p95 %8.1f us  (n=%zu)\n", what, us[us.size() / 2],
              us[us.size() * 95 / 100], us.size());
}

template <class F>
std::vector<double> Time(int n, F f) {
  std::vector<double> us;
  for (int i = 0; i < n; ++i) {
    auto start = Clock::now();
    if (!f()) std::exit(1);
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
  }
  return us;
}

}  // namespace

int main(int argc, char** argv) {
  int n = argc > 1 ? std::atoi(argv[1]) : 200;
  if (n <= 0) n = 200;
  DeviceRules rules = PodmanRun();
  auto prog = BuildDeviceProgram(rules);
  std::printf("podman run (+ runc defaults): %zu rules -> %zu instructions\n", rules.size(),
              prog.size());

  auto mount = ReadCgroup2Mount();
  if (!mount) {
    std::fprintf(stderr, "%s\n", mount.error().ToString().c_str());
    return 1;
  }
  std::string dir =
      (mount->mount_point / ("podshim-bench-" + std::to_string(::getpid()) + "-dev")).string();
  if (::mkdir(dir.c_str(), 0755) < 0) {
    std::perror(dir.c_str());
    return 1;
  }
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  auto fail = [](const podshim::Error& e) {
    std::fprintf(stderr, "%s\n", e.ToString().c_str());
    return false;
  };
  Report("build", Time(n, [&] { return !BuildDeviceProgram(rules).empty(); }));
  Report("load", Time(n, [&] {
           auto p = LoadDeviceProgram(prog);
           return p ? true : fail(p.error());
         }));
  Report("build+load+attach (replace)", Time(n, [&] {
           auto id = ApplyDeviceRules(fd, rules);
           return id ? true : fail(id.error());
         }));
  ::close(fd);
  if (::rmdir(dir.c_str()) < 0) std::perror(dir.c_str());
  return 0;
}
