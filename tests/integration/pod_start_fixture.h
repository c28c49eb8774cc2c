// PodStartTest: the fixture of the `podshim start` integration tests (header-only): it runs
// `podshim start` and `ctl` to their end capturing their output, knows the detached shim's pid,
// and at tear-down stops a shim left running and removes what a SIGKILLed shim left (its
// orphaned containers, cgroups and mounts). Used by pod_start_test.cc and pod_recover_test.cc.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "integration/pod_fixture.h"

namespace podshim::pod_start_test {

using namespace podshim::pod_test;  // NOLINT: the fixture and its helpers

namespace fs = std::filesystem;
using json = nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

struct Outcome {
  int status = -1;  // exit status, 128+N for signal N
  std::string out;
  std::string err;
};

// True while `pid` exists and is not a zombie (the shim is nobody's child we could reap).
inline bool Alive(pid_t pid) {
  std::string stat = ReadText("/proc/" + std::to_string(pid) + "/stat");
  size_t paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] != 'Z';
}

// The parent pid from /proc/<pid>/stat, or -1.
inline pid_t ParentOf(pid_t pid) {
  std::string stat = ReadText("/proc/" + std::to_string(pid) + "/stat");
  size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return -1;
  std::istringstream rest(stat.substr(paren + 2));
  std::string state;
  pid_t ppid = -1;
  rest >> state >> ppid;
  return ppid;
}

// The pids status.json shows for the running containers `names`, once each of them runs.
inline std::map<std::string, pid_t> RunningPids(const json& status,
                                                const std::vector<std::string>& names) {
  std::map<std::string, pid_t> pids;
  for (const std::string& n : names) {
    json c = ContainerStatusOf(status, n);
    if (!c.is_object() || !c["state"].contains("running") || !c["pid"].is_number()) return {};
    pids[n] = c["pid"].get<pid_t>();
  }
  return pids;
}

class PodStartTest : public PodRunTest {
 protected:
  void TearDown() override {
    // A test that failed while its shim ran: stop the pod, then remove what is left.
    if (shim_ > 0 && Alive(shim_)) {
      ADD_FAILURE() << "the shim " << shim_ << " still runs at the end of the test";
      ::kill(shim_, SIGTERM);
      if (!WaitUntil([&] { return !Alive(shim_); }, seconds(20))) ::kill(shim_, SIGKILL);
    }
    RemoveOrphans();
    PodRunTest::TearDown();
  }

  fs::path Socket() const { return state_ / "podshim.sock"; }
  fs::path PodCgroup() const {
    return fs::path("/sys/fs/cgroup/unified") / CgroupParent() / ("pod-" + pod_name_);
  }

  // Runs argv to its end (at most 60 s, then SIGKILL), capturing stdout and stderr.
  Outcome Exec(std::vector<std::string> argv, const std::vector<std::string>& env = {}) {
    std::vector<char*> cargv;
    for (std::string& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    const std::string out = (tmp_ / "exec.out").string(), err = (tmp_ / "exec.err").string();
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid = -1;
    std::vector<std::string> env_copy = env;
    std::vector<char*> cenv;
    for (char** e = environ; *e != nullptr; ++e) cenv.push_back(*e);
    for (std::string& e : env_copy) cenv.push_back(e.data());
    cenv.push_back(nullptr);
    int rc = ::posix_spawn(&pid, cargv[0], &fa, nullptr, cargv.data(), cenv.data());
    posix_spawn_file_actions_destroy(&fa);
    Outcome o;
    if (rc != 0) {
      ADD_FAILURE() << "spawn " << argv[0] << ": " << std::strerror(rc);
      return o;
    }
    int st = 0;
    bool done = WaitUntil([&] { return ::waitpid(pid, &st, WNOHANG) == pid; }, seconds(60));
    if (!done) {
      ADD_FAILURE() << argv[1] << " did not return within 60 s";
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &st, 0);
    }
    o.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    o.out = ReadText(out);
    o.err = ReadText(err);
    return o;
  }

  std::vector<std::string> StartArgv(const std::vector<std::string>& extra) const {
    std::vector<std::string> argv = Argv(extra);
    argv[1] = "start";
    return argv;
  }

  // `podshim start`; on success remembers the shim's pid (TearDown stops a shim left running).
  Outcome Start(const std::vector<std::string>& extra = {}, const fs::path& pid_file = fs::path()) {
    Outcome o = Exec(StartArgv(extra));
    if (o.status == 0) {
      shim_ = ReadPid(pid_file.empty() ? state_ / "podshim.pid" : pid_file);
    }
    return o;
  }

  Outcome Ctl(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {PODSHIM_BINARY, "ctl", "--socket", Socket().string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return Exec(argv);
  }

  // `ctl --json status`'s result, or null.
  json CtlStatus() {
    Outcome o = Ctl({"--json", "status"});
    json r = json::parse(o.out, nullptr, /*allow_exceptions=*/false);
    if (o.status != 0 || !r.is_object() || !r.contains("result")) return nullptr;
    return r["result"];
  }

  static pid_t ReadPid(const fs::path& pid_file) {
    std::string text = ReadText(pid_file);
    if (text.empty() || text.back() != '\n') return -1;
    return static_cast<pid_t>(std::stol(text));
  }

  // The shim's processes: any process whose command line names this test's directory.
  std::vector<std::string> ShimProcesses() const {
    std::vector<std::string> out;
    for (const auto& entry : fs::directory_iterator("/proc")) {
      std::string pid = entry.path().filename();
      if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
      if (!Alive(std::stoi(pid))) continue;
      std::string cmdline = ReadText(entry.path() / "cmdline");
      for (char& c : cmdline) c = c == '\0' ? ' ' : c;
      if (cmdline.find("podshim start") != std::string::npos &&
          cmdline.find(tmp_.string()) != std::string::npos) {
        out.push_back(pid + " " + cmdline);
      }
    }
    return out;
  }

  // After a shim was SIGKILLed: kill its orphaned containers (cgroup.kill), remove the pod's
  // cgroups and unmount whatever of this test is still mounted.
  void RemoveOrphans() {
    if (!pod_name_.empty() && fs::exists(PodCgroup())) {
      std::ofstream(PodCgroup() / "cgroup.kill") << "1";
      WaitUntil(
          [&] {
            return ReadText(PodCgroup() / "cgroup.events").find("populated 0") != std::string::npos;
          },
          seconds(10));
      std::vector<fs::path> dirs;
      for (const auto& e : fs::recursive_directory_iterator(PodCgroup())) {
        if (e.is_directory()) dirs.push_back(e.path());
      }
      for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) ::rmdir(it->c_str());
      ::rmdir(PodCgroup().c_str());
      // The killed shim made the shared parent too and cannot remove it: the shim's manager's
      // rule (only when empty; EBUSY while another pod is under it) applied here.
      ::rmdir(PodCgroup().parent_path().c_str());
    }
    if (tmp_.empty()) return;
    std::istringstream mounts(ReadText("/proc/self/mountinfo"));
    std::vector<std::string> points;
    for (std::string line; std::getline(mounts, line);) {
      std::istringstream f(line);
      std::string id, parent, dev, root, point;
      f >> id >> parent >> dev >> root >> point;
      if (point.starts_with(tmp_.string())) points.push_back(point);
    }
    for (auto it = points.rbegin(); it != points.rend(); ++it) ::umount2(it->c_str(), MNT_DETACH);
  }

  // Nothing of a start that failed: no state dir, pid file, cgroup, mount or process.
  void ExpectFailedStartLeftNothing(const fs::path& state_dir) {
    EXPECT_FALSE(fs::exists(state_dir)) << state_dir;
    EXPECT_FALSE(fs::exists(state_ / "podshim.pid"));
    EXPECT_TRUE(WaitUntil([&] { return ShimProcesses().empty(); }, seconds(5)))
        << ShimProcesses().front();
    ExpectNothingLeft();
  }

  // The pids of `names` once each of them runs (status.json); empty if not within `timeout`.
  std::map<std::string, pid_t> WaitForRunning(const std::vector<std::string>& names,
                                              std::chrono::seconds timeout = seconds(10)) {
    std::map<std::string, pid_t> pids;
    (void)WaitUntil([&] { return !(pids = RunningPids(Status(), names)).empty(); }, timeout);
    return pids;
  }

  pid_t shim_ = -1;
};

// The unknown-exit records a new shim writes for a dead shim's running containers.
inline int UnknownEnd(const std::vector<json>& ev, const std::string& container) {
  for (size_t i = 0; i < ev.size(); ++i) {
    const json& e = ev[i];
    if (e["type"] == "ContainerExited" && e.value("container", "") == container &&
        e.value("reason", "") == "ContainerStatusUnknown") {
      return static_cast<int>(i);
    }
  }
  return -1;
}

}  // namespace podshim::pod_start_test
