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
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
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

constexpr const char kCgroupParent[] = "podshim-itest";
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
    json config = json::parse(ReadText(bundle / "config.json"));
    // This host's hybrid hierarchy refuses a cgroup v1 mount (see oci_cli_test.cc).
    for (json& m : config["mounts"]) {
      if (m["type"] == "cgroup") m["type"] = m["source"] = "cgroup2";
    }
    std::ofstream(bundle / "config.json") << config.dump(2);
    state_ = tmp_ / "state";
  }

  void TearDown() override {
    if (tmp_.empty()) return;
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
                                     kCgroupParent,
                                     "--backoff-initial=200ms",
                                     "--backoff-max=400ms",
                                     "--log-level=warn"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back((tmp_ / "pod.yaml").string());
    return argv;
  }

  pid_t Spawn(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv = Argv(extra);
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
    EXPECT_EQ(::posix_spawn(&pid, PODSHIM_BINARY, &fa, nullptr, cargv.data(), environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    return pid;
  }

  // The shim's exit status (128+N if it died of signal N).
  int Wait(pid_t pid) {
    int st = 0;
    EXPECT_EQ(::waitpid(pid, &st, 0), pid);
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

  // Nothing of the pod is left: no cgroup, no mount under the test dir, no process running a
  // command from this test's manifest.
  void ExpectNothingLeft() {
    EXPECT_FALSE(
        fs::exists(fs::path("/sys/fs/cgroup/unified") / kCgroupParent / ("pod-" + pod_name_)));
    EXPECT_FALSE(fs::exists(fs::path("/sys/fs/cgroup") / kCgroupParent / ("pod-" + pod_name_)));
    EXPECT_EQ(ReadText("/proc/self/mountinfo").find(tmp_.string()), std::string::npos);
    const std::string manifest = ReadText(tmp_ / "pod.yaml");
    for (const auto& entry : fs::directory_iterator("/proc")) {
      std::string pid = entry.path().filename();
      if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
      std::string cmdline = ReadText(entry.path() / "cmdline");
      for (char& c : cmdline) c = c == '\0' ? ' ' : c;
      if (cmdline.find("podrun-token") == std::string::npos) continue;
      ADD_FAILURE() << "process left: " << pid << " " << cmdline;
    }
  }

  fs::path tmp_;
  fs::path state_;
  std::string pod_name_;
};

// A container entry: `sh -c SCRIPT` with a token so leftovers can be found in /proc.
inline std::string C(const std::string& name, const std::string& script, bool sidecar = false) {
  std::string s = "  - name: " + name + "\n    bundle: bundle\n";
  if (sidecar) s += "    restartPolicy: Always\n";
  json cmd = {"sh", "-c", ": podrun-token; " + script};
  s += "    command: " + cmd.dump() + "\n";
  s += "    volumeMounts: [{name: shared, mountPath: /shared}]\n";
  return s;
}

inline std::string Spec(const std::string& policy, const std::string& inits,
                        const std::string& apps, int grace = 5) {
  std::string s = "  restartPolicy: " + policy +
                  "\n  terminationGracePeriodSeconds: " + std::to_string(grace) +
                  "\n  volumes: [{name: shared, emptyDir: {}}]\n";
  if (!inits.empty()) s += "  initContainers:\n" + inits;
  s += "  containers:\n" + apps;
  return s;
}

}  // namespace podshim::pod_test
