// TaskCgroupFixture: the task service over the real runtime (OciTaskRuntime) with busybox tasks
// whose cgroups live below a parent this fixture makes under the cgroup2 mount
// (<mount>/podshim-itest-<unique>, made with mkdir, so not podshim's to remove) and removes at
// the end, checking that nothing is left below it. Each task has its own bundle, its rootfs a
// bind mount of one busybox image, as containerd gives them. Needs root and a cgroup2 mount.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "fixtures/bundle.h"
#include "fixtures/rpc_reply.h"
#include "gtest/gtest.h"
#include "oci/default_spec.h"
#include "shim/proto/task.pb.h"
#include "shim/task/rootfs_mounts.h"
#include "shim/task/task_runtime_oci.h"
#include "shim/task/task_service.h"

namespace podshim::shim::task {

namespace fs = std::filesystem;
namespace v2 = containerd::task::v2;

inline std::string ReadText(const fs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline bool Eventually(const std::function<bool()>& done, int timeout_ms = 10000) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

class TaskCgroupFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (mounts, namespaces, cgroups)";
    if (!image_.ok()) GTEST_SKIP() << image_.error();
    for (const char* m : {"/sys/fs/cgroup/unified", "/sys/fs/cgroup"}) {
      if (mount_.empty() && fs::exists(fs::path(m) / "cgroup.controllers")) mount_ = m;
    }
    if (mount_.empty()) GTEST_SKIP() << "no cgroup2 mount";
    std::string tmpl = (fs::temp_directory_path() / "podshim-taskcg-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    tmp_ = tmpl;
    parent_ = "podshim-itest-" + tmp_.filename().string();
    ASSERT_TRUE(fs::create_directory(mount_ / parent_));
  }

  void TearDown() override {
    if (tmp_.empty()) return;
    for (const auto& [id, pid] : pids_) {  // a test that failed half-way: kill and reap
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      (void)runtime_.Remove({id, tmp_ / id});
    }
    for (const auto& [id, pid] : pids_) (void)UnmountRootfs(tmp_ / id / "rootfs");
    std::vector<fs::path> left;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(mount_ / parent_, ec); !ec && it != fs::end(it);
         it.increment(ec)) {
      if (it->is_directory(ec)) left.push_back(it->path());
    }
    EXPECT_TRUE(left.empty()) << "cgroups left below " << parent_ << ", first " << left[0];
    for (auto it = left.rbegin(); it != left.rend(); ++it) ::rmdir(it->c_str());
    EXPECT_EQ(::rmdir((mount_ / parent_).c_str()), 0) << "the test's own parent cgroup";
    fs::remove_all(tmp_, ec);
  }

  // Writes <tmp>/<id>/config.json: `script` under sh, linux.cgroupsPath as given (relative to
  // the test's parent unless it has no '/', the systemd form) and linux.resources if any.
  void WriteBundle(const std::string& id, const std::string& script,
                   const std::string& cgroups_path,
                   const nlohmann::json& resources = nlohmann::json()) {
    const fs::path bundle = tmp_ / id;
    fs::create_directories(bundle / "rootfs");
    nlohmann::json c = nlohmann::json::parse(oci::DefaultSpecJson({"sh", "-c", script}));
    c["linux"]["cgroupsPath"] =
        cgroups_path.find('/') == std::string::npos ? cgroups_path : "/" + parent_ + cgroups_path;
    if (!resources.is_null()) c["linux"]["resources"] = resources;
    std::ofstream(bundle / "config.json") << c.dump(2);
  }

  ttrpc::RpcResult Call(const std::string& method, const std::string& payload) {
    return podshim::testing::CallNow(service_, method, payload);
  }
  template <class Request>
  ttrpc::RpcResult Call(const std::string& method, const Request& req) {
    return Call(method, req.SerializeAsString());
  }
  template <class Reply>
  Reply Decode(const ttrpc::RpcResult& r) {
    return podshim::testing::DecodeReply<Reply>(r);
  }

  // Create (rootfs: the busybox image, bind-mounted); the pid, or 0 on error (`error` says).
  pid_t Create(const std::string& id, ttrpc::RpcError* error = nullptr) {
    v2::CreateTaskRequest req;
    req.set_id(id);
    req.set_bundle((tmp_ / id).string());
    auto* m = req.add_rootfs();
    m->set_type("bind");
    m->set_source(image_.rootfs().string());
    m->add_options("rbind");
    m->add_options("rw");
    auto r = Call("Create", req);
    if (!r) {
      if (error) *error = r.error();
      return 0;
    }
    v2::CreateTaskResponse reply;
    EXPECT_TRUE(reply.ParseFromString(*r));
    pids_[id] = static_cast<pid_t>(reply.pid());
    return pids_[id];
  }
  ttrpc::RpcResult IdCall(const std::string& method, const std::string& id) {
    v2::StartRequest req;  // {id 1}: Start, Stats, Pause, Resume, Delete alike
    req.set_id(id);
    return Call(method, req);
  }
  v2::Status StateOf(const std::string& id) {
    return Decode<v2::StateResponse>(IdCall("State", id)).status();
  }
  // SIGKILL through the service, reaped here and reported as the shim's reaper does, then Delete.
  void KillAndDelete(const std::string& id) {
    v2::KillRequest kill;
    kill.set_id(id);
    kill.set_signal(SIGKILL);
    EXPECT_TRUE(Call("Kill", kill));
    podshim::testing::ReapAndReport(service_, pids_[id]);
    Delete(id);
  }
  void Delete(const std::string& id) {
    auto r = IdCall("Delete", id);
    EXPECT_TRUE(r) << r.error().message;
    if (r) ::waitpid(pids_[id], nullptr, 0);  // a created task: killed by Delete; else ECHILD
    pids_.erase(id);
  }
  // The cgroup of `path` (relative to the test's parent) under the mount.
  fs::path Cgroup(const std::string& path) const { return mount_ / parent_ / path.substr(1); }
  // The controllers the cgroup2 root offers ("pids", "memory", ...).
  bool RootOffers(const std::string& controller) const {
    std::string list = " " + ReadText(mount_ / "cgroup.controllers");
    for (char& c : list) c = c == '\n' ? ' ' : c;
    return list.find(" " + controller + " ") != std::string::npos;
  }

  testing::BusyboxBundle image_;
  fs::path mount_, tmp_;
  std::string parent_;
  std::map<std::string, pid_t> pids_;
  OciTaskRuntime runtime_;
  std::vector<std::string> topics_;
  TaskService service_{
      runtime_,
      [this](std::string topic, std::string, std::string) { topics_.push_back(std::move(topic)); },
      [] {
        TaskServiceOptions opts;
        opts.shim_pid = ::getpid();
        opts.ns = "default";
        return opts;
      }()};
};

}  // namespace podshim::shim::task
