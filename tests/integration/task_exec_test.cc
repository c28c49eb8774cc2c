// Exec processes through the task service over the real runtime (OciTaskRuntime), a busybox
// rootfs bind-mounted as the task's: an exec's stdout and stderr FIFOs and its exit status, a
// child it leaves behind killed with its cgroup on Delete, and CloseIO giving `cat` its EOF
// through the shim's stdin pump (on an Asio loop run here). The test process reaps as the shim
// would and reports exits with OnExit. Needs root.
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "fixtures/bundle.h"
#include "fixtures/rpc_reply.h"
#include "gtest/gtest.h"
#include "oci/default_spec.h"
#include "shim/proto/task.pb.h"
#include "shim/shimv2/stdin_pump.h"
#include "shim/task/task_runtime_oci.h"
#include "shim/task/task_service.h"

namespace podshim::shim::task {
namespace {

namespace fs = std::filesystem;
namespace v2 = containerd::task::v2;
using nlohmann::json;
using namespace std::chrono_literals;

std::string ReadText(const fs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Everything from a non-blocking read end until EOF, or nullopt on timeout.
std::optional<std::string> ReadToEof(int fd, std::chrono::milliseconds timeout) {
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + timeout;
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

// True when `pid` is gone or a zombie (dead, not reaped by its parent yet).
bool Dead(pid_t pid) {
  std::string stat = ReadText("/proc/" + std::to_string(pid) + "/stat");
  if (stat.empty()) return true;
  size_t paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] == 'Z';
}

class TaskExecIntegration : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (mounts, namespaces, cgroups)";
    if (!image_.ok()) GTEST_SKIP() << image_.error();
    std::string tmpl = (fs::temp_directory_path() / "podshim-exec-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    tmp_ = tmpl;
    bundle_ = tmp_ / "bundle";
    fs::create_directories(bundle_ / "rootfs");
    cgroup_parent_ = "/podshim-itest-" + tmp_.filename().string();
    for (const char* mount : {"/sys/fs/cgroup/unified", "/sys/fs/cgroup"}) {
      if (fs::exists(fs::path(mount) / "cgroup.controllers")) {
        cgroup_mount_ = mount;
        break;
      }
    }
    StartContainer();
  }
  void TearDown() override {
    if (tmp_.empty()) return;
    if (init_pid_ > 0 && service_.HasTasks()) {
      v2::KillRequest kill;
      kill.set_id("c1");
      kill.set_signal(9);
      kill.set_all(true);
      auto killed = Call("Kill", kill.SerializeAsString());
      EXPECT_TRUE(killed) << killed.error().message;
      ReapAllUntil(init_pid_);
      v2::DeleteRequest del;
      del.set_id("c1");
      EXPECT_TRUE(Call("Delete", del.SerializeAsString()));
    }
    if (!cgroup_mount_.empty()) {
      const fs::path parent = cgroup_mount_ + cgroup_parent_;
      EXPECT_FALSE(fs::exists(parent / "c1")) << parent << "/c1 left behind";
      ::rmdir((parent / "c1").c_str());
      ::rmdir(parent.c_str());
    }
    (void)UnmountRootfs(bundle_ / "rootfs");
    std::error_code ec;
    fs::remove_all(tmp_, ec);
  }

  // The container's linux.seccomp; null: none.
  virtual json Seccomp() const { return nullptr; }

  // A container whose init (sh, which reaps the orphans of its pid namespace) runs until killed.
  void StartContainer() {
    json c = json::parse(oci::DefaultSpecJson({"sh", "-c", "while :; do sleep 1; done"}));
    c["linux"]["cgroupsPath"] = cgroup_parent_ + "/c1";
    if (json seccomp = Seccomp(); !seccomp.is_null()) c["linux"]["seccomp"] = seccomp;
    std::ofstream(bundle_ / "config.json") << c.dump(2);
    v2::CreateTaskRequest req;
    req.set_id("c1");
    req.set_bundle(bundle_.string());
    auto* m = req.add_rootfs();
    m->set_type("bind");
    m->set_source(image_.rootfs().string());
    m->add_options("rbind");
    m->add_options("rw");
    auto created = Decode<v2::CreateTaskResponse>(Call("Create", req.SerializeAsString()));
    init_pid_ = static_cast<pid_t>(created.pid());
    v2::StartRequest start;
    start.set_id("c1");
    ASSERT_TRUE(Call("Start", start.SerializeAsString()));
  }

  fs::path Fifo(const std::string& name) {
    fs::path p = tmp_ / name;
    EXPECT_EQ(::mkfifo(p.c_str(), 0600), 0);
    return p;
  }
  // As containerd: the reader is open before the exec.
  UniqueFd OpenReader(const fs::path& p) {
    return UniqueFd(::open(p.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  }

  v2::ExecProcessRequest ExecRequest(const std::string& exec_id, std::vector<std::string> args) {
    json process = {{"args", args},
                    {"cwd", "/"},
                    {"env", {"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}},
                    {"user", {{"uid", 0}, {"gid", 0}}}};
    v2::ExecProcessRequest req;
    req.set_id("c1");
    req.set_exec_id(exec_id);
    req.mutable_spec()->set_type_url("types.containerd.io/opencontainers/runtime-spec/1/Process");
    req.mutable_spec()->set_value(process.dump());
    return req;
  }
  pid_t StartExec(const std::string& exec_id) {
    v2::StartRequest start;
    start.set_id("c1");
    start.set_exec_id(exec_id);
    return static_cast<pid_t>(
        Decode<v2::StartResponse>(Call("Start", start.SerializeAsString())).pid());
  }
  ttrpc::RpcResult DeleteExec(const std::string& exec_id) {
    v2::DeleteRequest del;
    del.set_id("c1");
    del.set_exec_id(exec_id);
    return Call("Delete", del.SerializeAsString());
  }

  ttrpc::RpcResult Call(const std::string& method, const std::string& payload) {
    return podshim::testing::CallNow(service_, method, payload);
  }
  template <class Reply>
  Reply Decode(const ttrpc::RpcResult& r) {
    return podshim::testing::DecodeReply<Reply>(r);
  }
  void Reap(pid_t pid) { podshim::testing::ReapAndReport(service_, pid); }

  // As the shim's reaper: every child, until `pid`. A pid namespace's init is not reapable
  // before the other processes of its namespace (an exec among them) are reaped.
  void ReapAllUntil(pid_t pid) {
    for (;;) {
      int status = 0;
      pid_t reaped = ::waitpid(-1, &status, 0);
      ASSERT_GT(reaped, 0) << "waitpid: " << errno;
      service_.OnExit(signals::DecodeWaitStatus(reaped, status));
      if (reaped == pid) return;
    }
  }

  testing::BusyboxBundle image_;
  fs::path tmp_, bundle_;
  std::string cgroup_parent_, cgroup_mount_;
  pid_t init_pid_ = -1;
  boost::asio::io_context loop_;
  shimv2::AsioStdinPumps pumps_{loop_};
  OciTaskRuntime runtime_;
  std::vector<std::string> topics_;
  TaskService service_{
      runtime_,
      [this](std::string topic, std::string, std::string) { topics_.push_back(std::move(topic)); },
      [this] {
        TaskServiceOptions opts;
        opts.shim_pid = ::getpid();
        opts.ns = "default";
        opts.stdin_pumps = &pumps_;
        return opts;
      }()};
};

TEST_F(TaskExecIntegration, AnExecWritesBothStreamsAndReportsItsStatus) {
  const fs::path out = Fifo("out"), err = Fifo("err");
  UniqueFd out_reader = OpenReader(out), err_reader = OpenReader(err);
  auto req = ExecRequest("e1", {"sh", "-c", "echo out; echo err >&2; exit 7"});
  req.set_stdout(out.string());
  req.set_stderr(err.string());
  ASSERT_TRUE(Call("Exec", req.SerializeAsString()));
  const pid_t pid = StartExec("e1");
  ASSERT_GT(pid, 0);
  std::optional<ttrpc::RpcResult> waited;
  v2::WaitRequest wait;
  wait.set_id("c1");
  wait.set_exec_id("e1");
  service_.Handle({"containerd.task.v2.Task", "Wait", wait.SerializeAsString(), "", 0},
                  [&](ttrpc::RpcResult r) { waited = r; });
  EXPECT_FALSE(waited.has_value());
  Reap(pid);
  ASSERT_TRUE(waited.has_value());
  EXPECT_EQ(Decode<v2::WaitResponse>(*waited).exit_status(), 7u);
  EXPECT_EQ(ReadToEof(out_reader.get(), 5s), "out\n");
  EXPECT_EQ(ReadToEof(err_reader.get(), 5s), "err\n");
  auto deleted = Decode<v2::DeleteResponse>(DeleteExec("e1"));
  EXPECT_EQ(deleted.exit_status(), 7u);
  EXPECT_EQ(deleted.pid(), static_cast<uint32_t>(pid));
  EXPECT_EQ(topics_, (std::vector<std::string>{"/tasks/create", "/tasks/start", "/tasks/exec-added",
                                               "/tasks/exec-started", "/tasks/exit"}));
}

TEST_F(TaskExecIntegration, WhatAnExecLeftBehindDiesWithItsCgroupOnDelete) {
  if (cgroup_mount_.empty()) GTEST_SKIP() << "no cgroup2 mount";
  ASSERT_TRUE(
      Call("Exec", ExecRequest("e1", {"sh", "-c", "sleep 100 & exit 0"}).SerializeAsString()));
  const pid_t pid = StartExec("e1");
  Reap(pid);
  const fs::path exec_cgroup = cgroup_mount_ + cgroup_parent_ + "/c1/podshim-exec-e1";
  ASSERT_TRUE(fs::is_directory(exec_cgroup));
  std::vector<pid_t> left;
  for (int i = 0; i < 50 && left.empty(); ++i) {  // the sleep may still be forking
    std::istringstream procs(ReadText(exec_cgroup / "cgroup.procs"));
    for (pid_t p; procs >> p;) left.push_back(p);
    if (left.empty()) std::this_thread::sleep_for(20ms);
  }
  ASSERT_EQ(left.size(), 1u) << "the sleep should be in the exec's cgroup";
  // The container's Pids see it too (the cgroups below its own).
  v2::PidsRequest pids;
  pids.set_id("c1");
  auto listed = Decode<v2::PidsResponse>(Call("Pids", pids.SerializeAsString()));
  bool found = false;
  for (const auto& p : listed.processes()) found |= static_cast<pid_t>(p.pid()) == left[0];
  EXPECT_TRUE(found) << "Pids lacks the exec's child " << left[0];

  ASSERT_TRUE(DeleteExec("e1"));
  EXPECT_FALSE(fs::exists(exec_cgroup));
  EXPECT_TRUE(Dead(left[0]));
}

TEST_F(TaskExecIntegration, CloseIOGivesCatItsEof) {
  const fs::path in = Fifo("in"), out = Fifo("out");
  UniqueFd out_reader = OpenReader(out);
  auto req = ExecRequest("e1", {"cat"});
  req.set_stdin(in.string());
  req.set_stdout(out.string());
  ASSERT_TRUE(Call("Exec", req.SerializeAsString()));
  const pid_t pid = StartExec("e1");
  UniqueFd writer(::open(in.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
  ASSERT_TRUE(writer);
  ASSERT_EQ(::write(writer.get(), "hello\n", 6), 6);
  writer.Reset();  // the client is done; without CloseIO cat must not see EOF yet
  loop_.run_for(300ms);
  int status = 0;
  EXPECT_EQ(::waitpid(pid, &status, WNOHANG), 0) << "cat ended before CloseIO";
  v2::CloseIORequest close;
  close.set_id("c1");
  close.set_exec_id("e1");
  close.set_stdin(true);
  ASSERT_TRUE(Call("CloseIO", close.SerializeAsString()));
  pid_t reaped = 0;
  for (int i = 0; i < 250 && reaped == 0; ++i) {
    loop_.restart();  // the pump's end leaves the loop without work: it stops
    loop_.run_for(10ms);
    std::this_thread::sleep_for(10ms);
    reaped = ::waitpid(pid, &status, WNOHANG);
  }
  ASSERT_EQ(reaped, pid) << "cat did not get EOF";
  service_.OnExit(signals::DecodeWaitStatus(pid, status));
  EXPECT_EQ(ReadToEof(out_reader.get(), 5s), "hello\n");
  EXPECT_EQ(Decode<v2::DeleteResponse>(DeleteExec("e1")).exit_status(), 0u);
}

// The container's seccomp profile denies mkdir; the shim compiles it on the first exec and keeps it
// for the next ones (ExecSeccompCache): each exec must still run under it.
class TaskExecSeccompIntegration : public TaskExecIntegration {
 protected:
  json Seccomp() const override {
    return {{"defaultAction", "SCMP_ACT_ALLOW"},
            {"syscalls",
             {{{"names", {"mkdir", "mkdirat"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 30}}}}};
  }
};

TEST_F(TaskExecSeccompIntegration, EveryExecRunsUnderTheContainersFilter) {
  for (const std::string exec_id : {"e1", "e2", "e3"}) {
    SCOPED_TRACE(exec_id);
    const fs::path out = Fifo(exec_id + ".out");
    UniqueFd reader = OpenReader(out);
    auto req = ExecRequest(
        exec_id,
        {"sh", "-c", "mkdir /tmp/x 2>/dev/null || echo denied; grep ^Seccomp: /proc/self/status"});
    req.set_stdout(out.string());
    ASSERT_TRUE(Call("Exec", req.SerializeAsString()));
    const pid_t pid = StartExec(exec_id);
    ASSERT_GT(pid, 0);
    Reap(pid);
    EXPECT_EQ(ReadToEof(reader.get(), 5s), "denied\nSeccomp:\t2\n");
    ASSERT_TRUE(DeleteExec(exec_id));
  }
}

}  // namespace
}  // namespace podshim::shim::task
