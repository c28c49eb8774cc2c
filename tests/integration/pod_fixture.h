// PodRunTest: the fixture of the pod integration tests (header-only). Each test gets a temporary
// directory with a busybox bundle (scripts/make-bundle.sh), writes pod.yaml, runs `podshim run`
// on it and reads <state-dir>/events.jsonl; ExpectNothingLeft checks that no cgroup, mount or
// process of the pod remains. C() and Spec() write manifest pieces.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace podshim::pod_test {

namespace fs = std::filesystem;
using json = nlohmann::json;

inline std::string ReadText(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The --cgroup-parent of every pod this test binary runs: "podshim-itest-<pid>". Per process,
// so that a run killed half-way (its pod cgroups stay) or the same tests running at the same time
// from another build dir never find a pod cgroup of theirs already there. podshim creates the
// parent and removes it with the last pod below it.
inline std::string CgroupParent() { return "podshim-itest-" + std::to_string(::getpid()); }

// The marker C() puts in every container's command line: "podrun-token-<pid of this test
// binary>", so ExpectNothingLeft does not mistake the pods of another integration_pod binary
// running at the same time (another build dir) for leftovers of this one.
inline std::string Token() { return "podrun-token-" + std::to_string(::getpid()); }

// `base` made unique to this test binary ("<base>-<pid>"): a pod name whose cgroup
// (<cgroup-parent>/pod-<name>) cannot collide with the same test run from another build dir.
inline std::string UniqueName(const std::string& base) {
  return base + "-" + std::to_string(::getpid());
}
// A sidecar or app that runs until SIGTERM, then exits 0.
constexpr const char kUntilTerm[] = "trap 'exit 0' TERM; while :; do sleep 0.05; done";

class PodRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (namespaces, mounts, cgroups)";
    std::string tmpl = (fs::temp_directory_path() / "podshim-podrun-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    tmp_ = tmpl;
    fs::path bundle = tmp_ / "bundle";
    std::string cmd = "PODSHIM=" PODSHIM_BINARY " " PODSHIM_SOURCE_DIR "/scripts/make-bundle.sh " +
                      bundle.string() + " >" + (tmp_ / "make-bundle.log").string() + " 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << ReadText(tmp_ / "make-bundle.log");
    state_ = tmp_ / "state";
  }

  void TearDown() override {
    // A test that failed an assertion while its shim ran: stop the pod before removing its files.
    for (pid_t pid : std::vector<pid_t>(live_)) {
      ADD_FAILURE() << "podshim run " << pid << " still running at the end of the test";
      Stop(pid);
    }
    if (tmp_.empty()) return;
    if (HasFailure()) std::cout << "events.jsonl and the shim's stderr:\n" << Dump();
    std::error_code ec;
    fs::remove_all(tmp_, ec);
  }

  // Writes pod.yaml: `body` is everything under `spec:` (indented two spaces).
  void WriteManifest(const std::string& name, const std::string& body) {
    pod_name_ = name;
    std::ofstream(tmp_ / "pod.yaml")
        << "apiVersion: v1\nkind: Pod\nmetadata: {name: " << name << "}\nspec:\n"
        << body;
  }

  std::vector<std::string> Argv(const std::vector<std::string>& extra) const {
    std::vector<std::string> argv = {PODSHIM_BINARY,
                                     "run",
                                     "--state-dir",
                                     state_.string(),
                                     "--cgroup-parent",
                                     CgroupParent(),
                                     "--backoff-initial=200ms",
                                     "--backoff-max=400ms",
                                     "--log-level=warn"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back((tmp_ / "pod.yaml").string());
    return argv;
  }

  pid_t Spawn(const std::vector<std::string>& extra = {}) {
    return SpawnProgram(PODSHIM_BINARY, Argv(extra));
  }

  // Starts PROGRAM (looked up in PATH when it has no slash) with ARGV, stdin and stdout on
  // /dev/null and stderr in shim.err; the pid is ended at tear-down if still running.
  pid_t SpawnProgram(const char* program, std::vector<std::string> argv) {
    std::vector<char*> cargv;
    for (std::string& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    std::string err = (tmp_ / "shim.err").string();
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid = -1;
    EXPECT_EQ(::posix_spawnp(&pid, program, &fa, nullptr, cargv.data(), environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    if (pid > 0) live_.push_back(pid);
    return pid;
  }

  // The shim's exit status (128+N if it died of signal N).
  int Wait(pid_t pid) {
    int st = 0;
    EXPECT_EQ(::waitpid(pid, &st, 0), pid);
    Reaped(pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }

  int Run(const std::vector<std::string>& extra = {}) { return Wait(Spawn(extra)); }

  std::vector<json> Events() const {
    std::vector<json> out;
    std::istringstream in(ReadText(state_ / "events.jsonl"));
    for (std::string line; std::getline(in, line);) out.push_back(json::parse(line));
    return out;
  }

  // Index of the n-th (0-based) event of `type` for `container` ("" = pod event), or -1.
  static int Find(const std::vector<json>& ev, const std::string& type,
                  const std::string& container = "", int n = 0) {
    for (size_t i = 0; i < ev.size(); ++i) {
      if (ev[i]["type"] != type) continue;
      if (!container.empty() && ev[i].value("container", "") != container) continue;
      if (n-- == 0) return static_cast<int>(i);
    }
    return -1;
  }

  static int Count(const std::vector<json>& ev, const std::string& type,
                   const std::string& container) {
    int n = 0;
    for (const json& e : ev) n += e["type"] == type && e.value("container", "") == container;
    return n;
  }

  bool WaitForEvent(const std::string& type, const std::string& container) {
    for (int i = 0; i < 200; ++i) {
      if (fs::exists(state_ / "events.jsonl") && Find(Events(), type, container) >= 0) {
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    return false;
  }

  std::string Dump() const {
    return ReadText(state_ / "events.jsonl") + ReadText(tmp_ / "shim.err");
  }

  // Nothing of the pod is left: no cgroup, no mount under the test dir, no process whose command
  // line holds this binary's Token().
  void ExpectNothingLeft() {
    EXPECT_FALSE(
        fs::exists(fs::path("/sys/fs/cgroup/unified") / CgroupParent() / ("pod-" + pod_name_)));
    EXPECT_FALSE(fs::exists(fs::path("/sys/fs/cgroup") / CgroupParent() / ("pod-" + pod_name_)));
    EXPECT_EQ(ReadText("/proc/self/mountinfo").find(tmp_.string()), std::string::npos);
    const std::string manifest = ReadText(tmp_ / "pod.yaml");
    for (const auto& entry : fs::directory_iterator("/proc")) {
      std::string pid = entry.path().filename();
      if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
      std::string cmdline = ReadText(entry.path() / "cmdline");
      for (char& c : cmdline) c = c == '\0' ? ' ' : c;
      if (cmdline.find(Token()) == std::string::npos) continue;
      ADD_FAILURE() << "process left: " << pid << " " << cmdline;
    }
  }

  // Waits up to `timeout` for the n-th (0-based) event of `type` for `container` ("" = any);
  // false if it does not come or the shim `pid` (when given) exits first.
  bool WaitForEventN(const std::string& type, const std::string& container, int n,
                     std::chrono::milliseconds timeout, pid_t pid = -1) {
    auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      if (fs::exists(state_ / "events.jsonl") && Find(Events(), type, container, n) >= 0) {
        return true;
      }
      if (pid > 0) {  // peek: the exit stays to be collected by Wait()
        siginfo_t info{};
        if (::waitid(P_PID, pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid) {
          return false;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    return false;
  }

  // The shim's exit status (128+N after signal N) once it exited, -1 when it is not our child;
  // nullopt when it still runs after `limit`.
  std::optional<int> PollExit(pid_t pid, std::chrono::milliseconds limit) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      int st = 0;
      pid_t r = ::waitpid(pid, &st, WNOHANG);
      if (r == pid) {
        Reaped(pid);
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      }
      if (r < 0) return -1;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    return std::nullopt;
  }

  // The shim's exit status if it exits within `limit`; otherwise a failure is recorded, the pod is
  // stopped (SIGTERM, then SIGINT = kill everything now) and -1 returned, so a hung shim fails
  // the test instead of hanging the test binary.
  int WaitBounded(pid_t pid, std::chrono::milliseconds limit) {
    if (std::optional<int> status = PollExit(pid, limit)) return *status;
    ADD_FAILURE() << "podshim run still running after " << limit.count() << " ms; stopping it";
    Stop(pid);
    return -1;
  }

  // SIGTERM to the shim (graceful pod stop) and its exit status; after `limit` a second signal
  // (SIGINT: kill everything now) and -1.
  int Stop(pid_t pid, std::chrono::milliseconds limit = std::chrono::seconds(30)) {
    ::kill(pid, SIGTERM);
    if (std::optional<int> status = PollExit(pid, limit)) return *status;
    ADD_FAILURE() << "podshim run did not stop within " << limit.count() << " ms of SIGTERM";
    ::kill(pid, SIGINT);
    Wait(pid);
    return -1;
  }

  // Runs the pod to its end, at most `limit` (see WaitBounded).
  int RunBounded(std::chrono::milliseconds limit, const std::vector<std::string>& extra = {}) {
    return WaitBounded(Spawn(extra), limit);
  }

  // <state-dir>/status.json, or null when it is missing or not JSON.
  json Status() const {
    return json::parse(ReadText(state_ / "status.json"), nullptr, /*allow_exceptions=*/false);
  }

  // The host directory tests/ctl volume `ctl` (hostPath) is backed by: the test drives probe
  // results and reads what hooks wrote through it. Created on first use.
  fs::path CtlDir() const {
    fs::create_directories(tmp_ / "ctl");
    return tmp_ / "ctl";
  }
  // The `ctl` volume entry for Spec()'s extra_volumes.
  std::string CtlVolume() const {
    return "{name: ctl, hostPath: {path: " + CtlDir().string() + ", type: Directory}}";
  }

  // Pids of processes whose command line contains `cmd` and that belong to this test's pod:
  // their environment holds `token` (exec probes and hooks get the container's env) or their
  // cgroup is under the pod cgroup.
  std::vector<std::string> PodProcesses(const std::string& cmd, const std::string& token) const {
    std::vector<std::string> out;
    const std::string cg = "/" + CgroupParent() + "/pod-" + pod_name_;
    for (const auto& entry : fs::directory_iterator("/proc")) {
      std::string pid = entry.path().filename();
      if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
      std::string cmdline = ReadText(entry.path() / "cmdline");
      for (char& c : cmdline) c = c == '\0' ? ' ' : c;
      if (cmdline.find(cmd) == std::string::npos) continue;
      std::string env = ReadText(entry.path() / "environ");
      std::string cgroups = ReadText(entry.path() / "cgroup") + "\n";
      bool in_pod = cgroups.find(cg + "/") != std::string::npos ||
                    cgroups.find(cg + "\n") != std::string::npos;
      if (env.find(token) != std::string::npos || in_pod) out.push_back(pid + " " + cmdline);
    }
    return out;
  }

  // The pid of a process whose command line contains `cmd` and whose environment contains
  // `env`, or "" when there is none.
  static std::string FindProcess(const std::string& cmd, const std::string& env) {
    for (const auto& entry : fs::directory_iterator("/proc")) {
      std::string pid = entry.path().filename();
      if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
      std::string cmdline = ReadText(entry.path() / "cmdline");
      for (char& c : cmdline) c = c == '\0' ? ' ' : c;
      if (cmdline.find(cmd) == std::string::npos) continue;
      if (ReadText(entry.path() / "environ").find(env) != std::string::npos) return pid;
    }
    return "";
  }

  // The cgroup directory of this test's pod, relative to the cgroup2 mount (as in
  // /proc/PID/cgroup's "0::" line).
  std::string PodCgroupPath() const { return "/" + CgroupParent() + "/pod-" + pod_name_; }

  fs::path tmp_;
  fs::path state_;
  std::string pod_name_;

  // Forgets a spawned pid: its exit was collected (or the test collects it itself).
  void Reaped(pid_t pid) { std::erase(live_, pid); }

 private:
  std::vector<pid_t> live_;  // shims spawned and not yet reaped
};

// Polls `done` every 25 ms until it returns true (true) or `timeout` passes (false).
template <typename Pred>
bool WaitUntil(Pred done, std::chrono::milliseconds timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  return true;
}

// Seconds since the epoch of an event's RFC 3339 `time` ("2026-11-22T12:08:01.123456789Z").
inline double EventSeconds(const json& e) {
  std::string t = e.value("time", "");
  std::tm tm{};
  const char* rest = ::strptime(t.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (rest == nullptr) return 0;
  double frac = *rest == '.' ? std::strtod(rest, nullptr) : 0;
  return static_cast<double>(::timegm(&tm)) + frac;
}

// Index of the n-th (0-based) event of `type` for `container` ("" = any) whose field `key`
// equals `value`, or -1.
inline int FindWith(const std::vector<json>& ev, const std::string& type,
                    const std::string& container, const std::string& key, const json& value,
                    int n = 0) {
  for (size_t i = 0; i < ev.size(); ++i) {
    if (ev[i]["type"] != type) continue;
    if (!container.empty() && ev[i].value("container", "") != container) continue;
    if (!ev[i].contains(key) || ev[i][key] != value) continue;
    if (n-- == 0) return static_cast<int>(i);
  }
  return -1;
}

inline int CountWith(const std::vector<json>& ev, const std::string& type,
                     const std::string& container, const std::string& key, const json& value) {
  int n = 0;
  while (FindWith(ev, type, container, key, value, n) >= 0) ++n;
  return n;
}

// The entry `name` of status.json's initContainerStatuses or containerStatuses, or null.
inline json ContainerStatusOf(const json& status, const std::string& name) {
  if (!status.is_object()) return nullptr;
  for (const char* list : {"initContainerStatuses", "containerStatuses"}) {
    if (!status.contains(list) || !status[list].is_array()) continue;
    for (const json& c : status[list]) {
      if (c.value("name", "") == name) return c;
    }
  }
  return nullptr;
}

// A container entry: `sh -c SCRIPT` with a token so leftovers can be found in /proc.
// `extra_mounts`: more flow-style volumeMounts entries, comma-separated.
inline std::string C(const std::string& name, const std::string& script, bool sidecar = false,
                     const std::string& extra_mounts = "") {
  std::string s = "  - name: " + name + "\n    bundle: bundle\n";
  if (sidecar) s += "    restartPolicy: Always\n";
  json cmd = {"sh", "-c", ": " + Token() + "; " + script};
  s += "    command: " + cmd.dump() + "\n";
  s += "    volumeMounts: [{name: shared, mountPath: /shared}" +
       (extra_mounts.empty() ? "" : ", " + extra_mounts) + "]\n";
  return s;
}

// A container field line under a C() entry, e.g. Field("readinessProbe", "{exec: ...}").
inline std::string Field(const std::string& key, const std::string& flow_yaml) {
  return "    " + key + ": " + flow_yaml + "\n";
}

// `extra_volumes`: more flow-style volume entries, comma-separated (e.g. PodRunTest::CtlVolume()).
inline std::string Spec(const std::string& policy, const std::string& inits,
                        const std::string& apps, int grace = 5,
                        const std::string& extra_volumes = "") {
  std::string s = "  restartPolicy: " + policy +
                  "\n  terminationGracePeriodSeconds: " + std::to_string(grace) +
                  "\n  volumes: [{name: shared, emptyDir: {}}" +
                  (extra_volumes.empty() ? "" : ", " + extra_volumes) + "]\n";
  if (!inits.empty()) s += "  initContainers:\n" + inits;
  s += "  containers:\n" + apps;
  return s;
}

}  // namespace podshim::pod_test
