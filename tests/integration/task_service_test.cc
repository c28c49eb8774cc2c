// The task service over the real runtime (OciTaskRuntime) on a busybox image bind-mounted as the
// task's rootfs, as containerd drives it: Create with stdout on a FIFO, Start, the exit reaped
// here and reported with OnExit, Delete; nothing may be left (mount, cgroup, state, process), and
// CleanupTask (the `delete` subcommand) reports the recorded exit. Needs root.
#include "shim/task/task_service.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "fixtures/bundle.h"
#include "fixtures/rpc_reply.h"
#include "gtest/gtest.h"
#include "oci/default_spec.h"
#include "shim/proto/task.pb.h"
#include "shim/task/task_cleanup.h"
#include "shim/task/task_runtime_oci.h"

namespace podshim::shim::task {
namespace {

namespace fs = std::filesystem;
namespace v2 = containerd::task::v2;
using nlohmann::json;

std::string ReadText(const fs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

bool MountedAt(const fs::path& target) {
  return ReadText("/proc/self/mountinfo").find(" " + target.string() + " ") != std::string::npos;
}

// Everything from a non-blocking read end until EOF (every writer closed), or "" on timeout.
std::optional<std::string> ReadToEof(int fd, int timeout_ms) {
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    struct pollfd p = {fd, POLLIN, 0};
    ::poll(&p, 1, 100);
    char buf[256];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) out.append(buf, static_cast<size_t>(n));
    if (n == 0) return out;
  }
  return std::nullopt;
}

class TaskServiceIntegration : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (mounts, namespaces, cgroups)";
    if (!image_.ok()) GTEST_SKIP() << image_.error();
    std::string tmpl = (fs::temp_directory_path() / "podshim-task-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    tmp_ = tmpl;
    bundle_ = tmp_ / "bundle";
    fs::create_directories(bundle_ / "rootfs");
    cgroup_parent_ = "/podshim-itest-" + tmp_.filename().string();
  }
  void TearDown() override {
    if (tmp_.empty()) return;
    (void)UnmountRootfs(bundle_ / "rootfs");
    for (const char* mount : {"/sys/fs/cgroup/unified", "/sys/fs/cgroup"}) {
      if (fs::exists(fs::path(mount) / "cgroup.controllers")) {
        const fs::path parent = mount + cgroup_parent_;
        EXPECT_FALSE(fs::exists(parent)) << parent << " left behind";
        ::rmdir((parent / "c1").c_str());
        ::rmdir(parent.c_str());
        break;
      }
    }
    std::error_code ec;
    fs::remove_all(tmp_, ec);
  }

  void WriteConfig(const std::string& script) {
    json c = json::parse(oci::DefaultSpecJson({"sh", "-c", script}));
    c["linux"]["cgroupsPath"] = cgroup_parent_ + "/c1";
    std::ofstream(bundle_ / "config.json") << c.dump(2);
  }

  v2::CreateTaskRequest CreateRequest(const std::string& stdout_path) {
    v2::CreateTaskRequest req;
    req.set_id("c1");
    req.set_bundle(bundle_.string());
    auto* m = req.add_rootfs();
    m->set_type("bind");
    m->set_source(image_.rootfs().string());
    m->add_options("rbind");
    m->add_options("rw");
    req.set_stdout(stdout_path);
    return req;
  }

  ttrpc::RpcResult Call(const std::string& method, const std::string& payload) {
    return podshim::testing::CallNow(service_, method, payload);
  }
  template <class Reply>
  Reply Decode(const ttrpc::RpcResult& r) {
    return podshim::testing::DecodeReply<Reply>(r);
  }
  void ReapAndReport(pid_t pid) { podshim::testing::ReapAndReport(service_, pid); }

  testing::BusyboxBundle image_;
  fs::path tmp_, bundle_;
  std::string cgroup_parent_;
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

TEST_F(TaskServiceIntegration, RunsATaskToItsExitAndLeavesNothing) {
  WriteConfig("echo hello from the task; exit 3");
  const fs::path out = tmp_ / "stdout";
  ASSERT_EQ(::mkfifo(out.c_str(), 0600), 0);
  // As containerd: the reader is open before Create.
  UniqueFd reader(::open(out.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  ASSERT_TRUE(reader);

  auto created = Decode<v2::CreateTaskResponse>(
      Call("Create", CreateRequest(out.string()).SerializeAsString()));
  const pid_t pid = static_cast<pid_t>(created.pid());
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(MountedAt(bundle_ / "rootfs"));
  v2::StartRequest start;
  start.set_id("c1");
  EXPECT_EQ(Decode<v2::StartResponse>(Call("Start", start.SerializeAsString())).pid(),
            created.pid());
  ReapAndReport(pid);

  auto text = ReadToEof(reader.get(), 5000);
  ASSERT_TRUE(text.has_value()) << "no EOF on stdout: a write end outlived the container";
  EXPECT_EQ(*text, "hello from the task\n");
  v2::StateRequest state;
  state.set_id("c1");
  auto s = Decode<v2::StateResponse>(Call("State", state.SerializeAsString()));
  EXPECT_EQ(s.status(), v2::STOPPED);
  EXPECT_EQ(s.exit_status(), 3u);
  EXPECT_EQ(ReadText(bundle_ / ".podshim/containers/c1/exit"), "3\n");

  v2::DeleteRequest del;
  del.set_id("c1");
  auto deleted = Decode<v2::DeleteResponse>(Call("Delete", del.SerializeAsString()));
  EXPECT_EQ(deleted.exit_status(), 3u);
  EXPECT_EQ(deleted.pid(), created.pid());
  EXPECT_FALSE(MountedAt(bundle_ / "rootfs"));
  EXPECT_FALSE(fs::exists(bundle_ / ".podshim/oci"));
  EXPECT_FALSE(fs::exists("/proc/" + std::to_string(pid)));
  EXPECT_FALSE(service_.HasTasks());
  EXPECT_EQ(topics_, (std::vector<std::string>{"/tasks/create", "/tasks/start", "/tasks/exit",
                                               "/tasks/delete"}));

  // containerd's `delete` after the task: the recorded status, not 137.
  auto cleaned = CleanupTask(bundle_, "c1");
  ASSERT_TRUE(cleaned) << cleaned.error().ToString();
  EXPECT_EQ(cleaned->exit_status, 3);
  EXPECT_TRUE(cleaned->warnings.empty()) << cleaned->warnings[0];
  auto since = std::chrono::system_clock::now() - cleaned->exited_at;
  EXPECT_LT(since, std::chrono::seconds(60));
}

TEST_F(TaskServiceIntegration, CleanupTaskKillsALiveTaskFromOutside) {
  WriteConfig("sleep 1000");
  auto created =
      Decode<v2::CreateTaskResponse>(Call("Create", CreateRequest("").SerializeAsString()));
  const pid_t pid = static_cast<pid_t>(created.pid());
  ASSERT_GT(pid, 0);
  v2::StartRequest start;
  start.set_id("c1");
  ASSERT_TRUE(Call("Start", start.SerializeAsString()));
  v2::KillRequest kill;
  kill.set_id("c1");
  kill.set_signal(0);
  EXPECT_TRUE(Call("Kill", kill.SerializeAsString()));
  v2::PidsRequest pids;
  pids.set_id("c1");
  auto listed = Decode<v2::PidsResponse>(Call("Pids", pids.SerializeAsString()));
  ASSERT_GE(listed.processes_size(), 1);
  EXPECT_EQ(listed.processes(0).pid(), created.pid());

  // The shim still runs; `delete` touches the task directly.
  auto cleaned = CleanupTask(bundle_, "c1");
  ASSERT_TRUE(cleaned) << cleaned.error().ToString();
  EXPECT_EQ(cleaned->pid, pid);
  EXPECT_EQ(cleaned->exit_status, 137);  // no record yet: the shim had not reaped it
  EXPECT_FALSE(MountedAt(bundle_ / "rootfs"));
  EXPECT_FALSE(fs::exists(bundle_ / ".podshim/oci/c1"));
  ReapAndReport(pid);
  kill.set_signal(9);
  kill.set_all(true);
  EXPECT_TRUE(Call("Kill", kill.SerializeAsString()));  // after the exit: OK
  v2::DeleteRequest del;
  del.set_id("c1");
  EXPECT_EQ(Decode<v2::DeleteResponse>(Call("Delete", del.SerializeAsString())).exit_status(),
            137u);
  EXPECT_FALSE(service_.HasTasks());
}

TEST_F(TaskServiceIntegration, ABadBundleIsInvalidArgumentAndMountsNothing) {
  std::ofstream(bundle_ / "config.json")
      << R"({"ociVersion": "1.2.0", "root": {"path": "rootfs"}})";
  auto r = Call("Create", CreateRequest("").SerializeAsString());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ttrpc::Code::kInvalidArgument) << r.error().message;
  EXPECT_NE(r.error().message.find("process"), std::string::npos) << r.error().message;
  EXPECT_FALSE(MountedAt(bundle_ / "rootfs"));
  EXPECT_FALSE(service_.HasTasks());
}

}  // namespace
}  // namespace podshim::shim::task
