// The fixture of the `podshim oci` integration tests (root): the real binary (PODSHIM_BINARY) on
// a busybox bundle from scripts/make-bundle.sh in a temporary directory, a per-test --root, a host
// directory at /shared, each container's cgroup below a parent of this test. A test class picks
// its options (child subreaper, no /shared, its own cgroups) in its constructor.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

extern char** environ;

namespace podshim_test {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

struct CmdResult {
  int status = -1;  // exit status, or 128+N for a signal
  std::string out;
  std::string err;
};

inline std::string ReadText(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline int DecodeWait(int w) { return WIFEXITED(w) ? WEXITSTATUS(w) : 128 + WTERMSIG(w); }

// Polls `cond` for up to `limit`.
inline bool Eventually(const std::function<bool()>& cond,
                       std::chrono::milliseconds limit = 5000ms) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return cond();
}

inline bool ProcessGone(pid_t pid) {
  std::string stat = ReadText("/proc/" + std::to_string(pid) + "/stat");
  if (stat.empty()) return true;
  size_t close = stat.rfind(')');
  return close != std::string::npos && stat[close + 2] == 'Z';
}

class OciCliFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (namespaces, mounts)";
    if (!fs::exists(PODSHIM_BINARY)) GTEST_SKIP() << PODSHIM_BINARY << " is not built";
    if (!fs::exists("/bin/busybox")) GTEST_SKIP() << "busybox-static is not installed";
    std::string tmpl = (fs::temp_directory_path() / (tmp_prefix_ + "-XXXXXX")).string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    tmp_ = tmpl;
    root_ = tmp_ / "state";
    shared_ = tmp_ / "shared";
    fs::create_directories(shared_);
    bundle_ = tmp_ / "bundle";
    std::string cmd = "PODSHIM=" PODSHIM_BINARY " " PODSHIM_SOURCE_DIR "/scripts/make-bundle.sh " +
                      bundle_.string() + " >" + (tmp_ / "make-bundle.log").string() + " 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << ReadText(tmp_ / "make-bundle.log");
    config_ = json::parse(ReadText(bundle_ / "config.json"));
    // As conmon and containerd's shim: orphaned containers come to us, with their status.
    if (subreaper_) {
      ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    }
    if (!mount_shared_) return;
    // The default spec's `cgroup` mount stays as it is: podshim mounts cgroup2 there.
    json mounts = config_["mounts"];
    mounts.push_back({{"destination", "/shared"},
                      {"type", "bind"},
                      {"source", shared_.string()},
                      {"options", {"rbind", "rw"}}});
    config_["mounts"] = mounts;
  }

  void TearDown() override {
    if (tmp_.empty()) return;
    // Whatever a failed test left running: delete --force every container of our root.
    for (const std::string& id : ListIds()) Podshim({"delete", "--force", id});
    if (place_cgroups_) ExpectCgroupParentGone();
    if (subreaper_) {
      while (::waitpid(-1, nullptr, WNOHANG) > 0) {
      }
      ::prctl(PR_SET_CHILD_SUBREAPER, 0);
    }
    std::error_code ec;
    fs::remove_all(tmp_, ec);
  }

  // With place_cgroups_: the cgroup parent of this test's containers (podshim-itest-<tmp
  // name>). create and run put each container at <parent>/<id> unless the test set
  // linux.cgroupsPath itself, so that parallel runs never share a cgroup.
  std::string CgroupParent() const { return "/podshim-itest-" + tmp_.filename().string(); }
  void PlaceCgroup(const std::vector<std::string>& args) {
    if (args.empty() || (args[0] != "create" && args[0] != "run")) return;
    json c = json::parse(ReadText(bundle_ / "config.json"), nullptr, false);
    if (c.is_discarded() || !c.is_object()) return;
    std::string set = c["linux"].value("cgroupsPath", "");
    if (!set.empty() && !set.starts_with(CgroupParent() + "/")) return;
    c["linux"]["cgroupsPath"] = CgroupParent() + "/" + args.back();
    std::ofstream(bundle_ / "config.json") << c.dump(2);
  }
  // delete removed every cgroup create made, the parent too.
  void ExpectCgroupParentGone() {
    for (const char* mount : {"/sys/fs/cgroup/unified", "/sys/fs/cgroup"}) {
      if (!fs::exists(fs::path(mount) / "cgroup.controllers")) continue;
      const fs::path parent = mount + CgroupParent();
      EXPECT_FALSE(fs::exists(parent)) << parent << " left behind";
      ::rmdir(parent.c_str());
      break;
    }
  }

  // Writes config.json with process.args = sh -c SCRIPT (plus `edit` applied).
  void WriteConfig(const std::string& script, const std::function<void(json&)>& edit = {}) {
    json c = config_;
    c["process"]["args"] = {"sh", "-c", script};
    if (edit) edit(c);
    std::ofstream(bundle_ / "config.json") << c.dump(2);
  }

  std::vector<std::string> Argv(const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {PODSHIM_BINARY, "oci", "--root", root_.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }

  // Starts podshim with stdout/stderr in files (a created container keeps inherited pipes
  // open, so pipes would never reach EOF). Returns the pid.
  pid_t Spawn(const std::vector<std::string>& args, const std::string& tag,
              const std::vector<std::string>& prefix = {},
              const std::vector<std::string>& fd_files = {},
              const std::string& stdin_file = "/dev/null") {
    if (place_cgroups_) PlaceCgroup(args);
    std::vector<std::string> argv = prefix;
    for (const std::string& a : Argv(args)) argv.push_back(a);
    std::vector<char*> cargv;
    for (std::string& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    std::string out = (tmp_ / (tag + ".out")).string(), err = (tmp_ / (tag + ".err")).string();
    posix_spawn_file_actions_addopen(&fa, 0, stdin_file.c_str(), O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    // fd_files[i] is opened (append) at fd 3 + i.
    for (size_t i = 0; i < fd_files.size(); ++i) {
      posix_spawn_file_actions_addopen(&fa, static_cast<int>(3 + i), fd_files[i].c_str(),
                                       O_WRONLY | O_CREAT | O_APPEND, 0644);
    }
    pid_t pid = -1;
    int rc = ::posix_spawnp(&pid, argv[0].c_str(), &fa, nullptr, cargv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    EXPECT_EQ(rc, 0);
    return pid;
  }

  CmdResult Wait(pid_t pid, const std::string& tag) {
    int w = 0;
    while (::waitpid(pid, &w, 0) < 0 && errno == EINTR) {
    }
    return {DecodeWait(w), ReadText(tmp_ / (tag + ".out")), ReadText(tmp_ / (tag + ".err"))};
  }

  CmdResult Podshim(const std::vector<std::string>& args,
                    const std::vector<std::string>& prefix = {},
                    const std::vector<std::string>& fd_files = {}) {
    std::string tag = "cmd" + std::to_string(++calls_);
    return Wait(Spawn(args, tag, prefix, fd_files), tag);
  }

  // Podshim(args) with its stdin read from `stdin_file`.
  CmdResult PodshimWithStdin(const std::vector<std::string>& args, const std::string& stdin_file) {
    std::string tag = "cmd" + std::to_string(++calls_);
    return Wait(Spawn(args, tag, {}, {}, stdin_file), tag);
  }

  json State(const std::string& id) {
    CmdResult r = Podshim({"state", id});
    EXPECT_EQ(r.status, 0) << r.err;
    return r.status == 0 ? json::parse(r.out) : json();
  }

  std::vector<std::string> ListIds() {
    std::vector<std::string> ids;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(root_, ec)) ids.push_back(e.path().filename());
    return ids;
  }

  bool MountsMention(const std::string& needle) {
    return ReadText("/proc/self/mountinfo").find(needle) != std::string::npos;
  }

  // Options: set in a test class's constructor.
  std::string tmp_prefix_ = "podshim-oci-exec";  // the temporary directory's name, before -XXXXXX
  // A cgroup parent per test, checked gone at the end: a container without one would get the
  // cgroup /<id> at the hierarchy's root, shared with any other run using the same id.
  bool place_cgroups_ = true;
  bool subreaper_ = false;    // the test is the child subreaper (reaps orphaned containers)
  bool mount_shared_ = true;  // the host directory shared_ at /shared in config_

  fs::path tmp_, root_, shared_, bundle_;
  json config_;
  int calls_ = 0;
};

// A program that records that it ran and then waits for SIGTERM (pid 1 of a pid namespace needs
// a handler to be stopped by anything but SIGKILL).
constexpr const char kRecordAndWait[] =
    "echo ran > /shared/ran; trap 'exit 0' TERM; while :; do sleep 0.05; done";

}  // namespace podshim_test
