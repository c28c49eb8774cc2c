// Helpers for the VM tier (tests/vm, run inside qemu by scripts/vm-test.sh): read cgroup files,
// run podshim in the foreground or background with its output in files, read events.jsonl, and
// PodDir, a temporary directory holding a busybox bundle (tests/fixtures/bundle.h) and the
// manifests written for `podshim run`. Header-only; everything a test creates is removed.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "fixtures/bundle.h"
#include "oci/default_spec.h"

extern char** environ;

namespace podshim::vmtest {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

inline constexpr const char* kCgroupRoot = "/sys/fs/cgroup";

inline bool InVm() { return std::getenv("PODSHIM_IN_VM") != nullptr; }

// Set by the guest's /init (scripts/vm-test.sh): /podshim/podshim and /podshim/test_proc.
inline std::string Binary() {
  const char* b = std::getenv("PODSHIM_BINARY");
  return b ? b : "/podshim/podshim";
}

inline std::string TestProc() {
  const char* t = std::getenv("PODSHIM_TEST_PROC");
  return t ? t : "/podshim/test_proc";
}

inline std::string ReadText(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// A file holding one number ("16\n"); nullopt when absent or not a number.
inline std::optional<uint64_t> NumberIn(const fs::path& file) {
  std::istringstream in(ReadText(file));
  uint64_t v = 0;
  if (in >> v) return v;
  return std::nullopt;
}

// One value of a flat keyed file (cpu.stat "usage_usec 123", memory.events "oom_kill 1").
inline std::optional<uint64_t> KeyedValue(const fs::path& file, const std::string& key) {
  std::istringstream in(ReadText(file));
  std::string k;
  uint64_t v = 0;
  while (in >> k >> v) {
    if (k == key) return v;
  }
  return std::nullopt;
}

inline int DecodeWait(int w) { return WIFEXITED(w) ? WEXITSTATUS(w) : 128 + WTERMSIG(w); }

// Starts argv[0] with stdin /dev/null and stdout/stderr appended to the given files.
inline pid_t Spawn(const std::vector<std::string>& argv, const fs::path& out, const fs::path& err) {
  std::vector<std::string> copy = argv;
  std::vector<char*> cargv;
  for (std::string& a : copy) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, cargv[0], &fa, nullptr, cargv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  return rc == 0 ? pid : -1;
}

// Waits for `pid` up to `timeout`; SIGKILLs and reaps it past that. Returns the exit status
// (128+N for a signal), or -1 on timeout.
inline int WaitFor(pid_t pid, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int w = 0;
    pid_t r = ::waitpid(pid, &w, WNOHANG);
    if (r == pid) return DecodeWait(w);
    if (r < 0) return -1;
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &w, 0);
      return -1;
    }
    std::this_thread::sleep_for(20ms);
  }
}

// Polls `pred` every 20 ms until it holds or `timeout` passes; returns its last value.
inline bool Eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
}

// Every complete line of events.jsonl that parses, in order.
inline std::vector<json> ReadEvents(const fs::path& events_file) {
  std::vector<json> events;
  std::istringstream in(ReadText(events_file));
  std::string line;
  while (std::getline(in, line)) {
    json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!j.is_discarded()) events.push_back(std::move(j));
  }
  return events;
}

inline std::string Str(const json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

// Events of `type` (and of `container`, when given).
inline std::vector<json> EventsOf(const std::vector<json>& events, const std::string& type,
                                  const std::string& container = "") {
  std::vector<json> out;
  for (const json& e : events) {
    if (Str(e, "type") == type && (container.empty() || Str(e, "container") == container)) {
      out.push_back(e);
    }
  }
  return out;
}

// True when `pid` no longer runs: gone from /proc, or a zombie waiting to be reaped.
inline bool ProcessGone(pid_t pid) {
  std::string status = ReadText("/proc/" + std::to_string(pid) + "/status");
  return status.empty() || status.find("State:\tZ") != std::string::npos;
}

// Every pid in `cgroup` and its descendants (cgroup.procs of each directory).
inline std::vector<pid_t> PidsInTree(const fs::path& cgroup) {
  std::vector<pid_t> pids;
  std::error_code ec;
  if (!fs::exists(cgroup, ec)) return pids;
  std::vector<fs::path> dirs = {cgroup};
  for (auto it = fs::recursive_directory_iterator(cgroup, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_directory(ec)) dirs.push_back(it->path());
  }
  for (const fs::path& d : dirs) {
    std::istringstream in(ReadText(d / "cgroup.procs"));
    pid_t p = 0;
    while (in >> p) pids.push_back(p);
  }
  return pids;
}

// The cgroup directory of `pid` (its "0::" line of /proc/PID/cgroup under kCgroupRoot), or ""
// when the process is gone.
inline fs::path CgroupOf(pid_t pid) {
  std::istringstream in(ReadText("/proc/" + std::to_string(pid) + "/cgroup"));
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("0::", 0) == 0) return fs::path(kCgroupRoot) / line.substr(4);
  }
  return {};
}

// Removes a cgroup tree left by a failed test, leaves first (after cgroup.kill).
inline void RemoveCgroupTree(const fs::path& cg) {
  std::error_code ec;
  if (!fs::exists(cg, ec)) return;
  std::ofstream(cg / "cgroup.kill") << "1";
  std::vector<fs::path> dirs;
  for (auto it = fs::recursive_directory_iterator(cg, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_directory(ec)) dirs.push_back(it->path());
  }
  for (auto d = dirs.rbegin(); d != dirs.rend(); ++d) {
    Eventually([&] { return ::rmdir(d->c_str()) == 0 || errno == ENOENT; }, 2s);
  }
  Eventually([&] { return ::rmdir(cg.c_str()) == 0 || errno == ENOENT; }, 2s);
}

// A busybox bundle (with /test_proc) whose config.json is podshim's default spec.
class VmBundle {
 public:
  VmBundle() : bundle_(TestProc()) {
    if (bundle_.ok()) {
      // The default spec's `cgroup` mount: podshim mounts cgroup2 there.
      Status s = bundle_.WriteConfig(oci::DefaultSpecJson({"sh"}));
      if (!s) error_ = s.error().ToString();
    }
  }
  std::string error() const { return bundle_.ok() ? error_ : bundle_.error(); }
  bool ok() const { return error().empty(); }
  const fs::path& dir() const { return bundle_.dir(); }

 private:
  testing::BusyboxBundle bundle_;
  std::string error_;
};

struct PodRunResult {
  int status = -1;  // podshim's exit status; -1 when it did not finish in time
  std::string err;  // its stderr
  std::vector<json> events;
};

// A temporary directory for one pod: manifest.json, state/, podshim's output, and the
// `podshim run` process. The pod cgroup is <root>/<parent>/pod-<id>.
class PodDir {
 public:
  PodDir(std::string id, std::string parent) : id_(std::move(id)), parent_(std::move(parent)) {
    std::string tmpl = (fs::temp_directory_path() / "podshim-vm-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) != nullptr) dir_ = tmpl;
  }
  PodDir(const PodDir&) = delete;
  PodDir& operator=(const PodDir&) = delete;
  ~PodDir() {
    if (pid_ > 0) WaitFor(pid_, 0ms);
    RemoveCgroupTree(fs::path(kCgroupRoot) / parent_);
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }

  bool ok() const { return !dir_.empty(); }
  const fs::path& dir() const { return dir_; }
  fs::path state() const { return dir_ / "state"; }
  fs::path events_file() const { return state() / "events.jsonl"; }
  fs::path manifest() const { return dir_ / "manifest.json"; }
  fs::path pod_cgroup() const { return fs::path(kCgroupRoot) / parent_ / ("pod-" + id_); }
  fs::path parent_cgroup() const { return fs::path(kCgroupRoot) / parent_; }
  // The leaf of `container`'s instance `restart_count`: every start gets its own
  // (<pod>/<name>-<restartCount>, cgroups::InstanceLeafName).
  fs::path leaf(const std::string& container, int restart_count = 0) const {
    return pod_cgroup() / (container + "-" + std::to_string(restart_count));
  }
  std::vector<json> events() const { return ReadEvents(events_file()); }
  std::string stderr_text() const { return ReadText(dir_ / "podshim.err"); }

  void WriteManifest(const json& pod) const { std::ofstream(manifest()) << pod.dump(2); }

  // `podshim SUBCOMMAND [flags] manifest.json`, run to completion; returns stdout.
  std::string Capture(const std::string& subcommand, const std::vector<std::string>& flags,
                      int* status) const {
    std::vector<std::string> argv = {Binary(), subcommand};
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.push_back(manifest().string());
    fs::path out = dir_ / (subcommand + ".out"), err = dir_ / (subcommand + ".err");
    std::error_code ec;
    fs::remove(out, ec);
    *status = WaitFor(Spawn(argv, out, err), 60s);
    return ReadText(out);
  }

  // Starts `podshim run --id ID --state-dir STATE --cgroup-parent PARENT --backoff-initial 200ms
  // [extra] manifest.json` in the background.
  void Start(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv = {Binary(),
                                     "run",
                                     "--id",
                                     id_,
                                     "--state-dir",
                                     state().string(),
                                     "--cgroup-parent",
                                     parent_,
                                     "--backoff-initial",
                                     "200ms"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back(manifest().string());
    pid_ = Spawn(argv, dir_ / "podshim.out", dir_ / "podshim.err");
  }

  // Sends `sig` to the running `podshim run`.
  void Signal(int sig) const {
    if (pid_ > 0) ::kill(pid_, sig);
  }

  // Waits for `podshim run` to finish.
  PodRunResult Wait(std::chrono::milliseconds timeout) {
    PodRunResult r;
    r.status = WaitFor(pid_, timeout);
    pid_ = -1;
    r.err = stderr_text();
    r.events = events();
    return r;
  }

  // True when this build's `podshim run` says it is not implemented (the caller fails).
  bool RunNotImplemented() const {
    return stderr_text().find("not implemented") != std::string::npos;
  }

  // Waits until events.jsonl holds an event of `type` for `container`, or `podshim run` exited.
  bool WaitForEvent(const std::string& type, const std::string& container,
                    std::chrono::milliseconds timeout, size_t count = 1) {
    return Eventually(
               [&] {
                 if (EventsOf(events(), type, container).size() >= count) return true;
                 int w = 0;
                 if (pid_ > 0 && ::waitpid(pid_, &w, WNOHANG) == pid_) {
                   exited_status_ = DecodeWait(w);
                   pid_ = -1;
                 }
                 return pid_ <= 0;
               },
               timeout) &&
           EventsOf(events(), type, container).size() >= count;
  }

  bool running() const { return pid_ > 0; }
  int exited_status() const { return exited_status_; }

 private:
  std::string id_;
  std::string parent_;
  fs::path dir_;
  pid_t pid_ = -1;
  int exited_status_ = -1;
};

// A pod manifest (JSON) with the given containers; `bundle` is filled in for each container.
inline json PodManifest(const std::string& name, const fs::path& bundle, json init_containers,
                        json containers, const std::string& restart_policy = "Never",
                        int grace_seconds = 5) {
  for (json* list : {&init_containers, &containers}) {
    for (json& c : *list) c["bundle"] = bundle.string();
  }
  json spec = {{"restartPolicy", restart_policy},
               {"terminationGracePeriodSeconds", grace_seconds},
               {"containers", containers}};
  if (!init_containers.empty()) spec["initContainers"] = init_containers;
  return {{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", {{"name", name}}}, {"spec", spec}};
}

}  // namespace podshim::vmtest
