// The task service's exec processes over the fake runtime: Exec records and checks (unknown
// container, duplicate id, bad JSON, unsafe ids), Start launches with exec-added, exec-started
// and exit events in that order, Wait/State/Kill/Delete/ResizePty/CloseIO with an exec_id,
// terminals, stdin pumps and the exec's own cgroup.
#include <signal.h>

#include <filesystem>

#include "fake_task_runtime.h"
#include "fixtures/fakes/temp_dir.h"
#include "gtest/gtest.h"

namespace podshim::shim::task {
namespace {

using ttrpc::Code;

constexpr const char* kProcessJson =
    R"({"args":["sh","-c","echo hi"],"cwd":"/","env":["PATH=/bin"],"user":{"uid":0,"gid":0}})";

class TaskExecTest : public TaskServiceHarness {
 protected:
  void SetUp() override {
    CreateTask("c1");
    ASSERT_TRUE(StartTask("c1"));
  }
  v2::ExecProcessRequest ExecRequest(const std::string& exec_id,
                                     const std::string& json = kProcessJson) {
    v2::ExecProcessRequest req;
    req.set_id("c1");
    req.set_exec_id(exec_id);
    req.mutable_spec()->set_type_url("types.containerd.io/opencontainers/runtime-spec/1/Process");
    req.mutable_spec()->set_value(json);
    return req;
  }
  ttrpc::RpcResult Exec(const std::string& exec_id, const std::string& json = kProcessJson) {
    return Call("Exec", ExecRequest(exec_id, json));
  }
  template <class Request>
  Request For(const std::string& exec_id) {
    Request req;
    req.set_id("c1");
    req.set_exec_id(exec_id);
    return req;
  }
  ttrpc::RpcResult StartExec(const std::string& exec_id) {
    return Call("Start", For<v2::StartRequest>(exec_id));
  }
  // Wait's reply, kept for when it comes.
  std::shared_ptr<std::optional<ttrpc::RpcResult>> WaitFor(const std::string& exec_id) {
    auto out = std::make_shared<std::optional<ttrpc::RpcResult>>();
    service_.Handle({"containerd.task.v2.Task", "Wait",
                     For<v2::WaitRequest>(exec_id).SerializeAsString(), "", 0},
                    [out](ttrpc::RpcResult r) { *out = r; });
    return out;
  }
};

TEST_F(TaskExecTest, ExecStartExitDeleteInOrder) {
  ASSERT_TRUE(Exec("e1"));
  EXPECT_EQ(runtime_.calls.back(), "start c1");  // nothing runs at Exec
  auto started = Decode<v2::StartResponse>(StartExec("e1"));
  EXPECT_EQ(started.pid(), 101u);
  ASSERT_EQ(runtime_.exec_launches.size(), 1u);
  const ExecLaunch& launch = runtime_.exec_launches[0];
  EXPECT_EQ(launch.key.id, "c1");
  EXPECT_EQ(launch.exec_id, "e1");
  EXPECT_EQ(launch.process.args, (std::vector<std::string>{"sh", "-c", "echo hi"}));
  EXPECT_FALSE(launch.process.terminal);
  EXPECT_TRUE(launch.cgroup_dir.empty());  // the container has none
  auto wait = WaitFor("e1");
  EXPECT_FALSE(wait->has_value());
  service_.OnExit(signals::ExitedWith(101, 7));
  ASSERT_TRUE(wait->has_value());
  EXPECT_EQ(Decode<v2::WaitResponse>(**wait).exit_status(), 7u);
  EXPECT_EQ(Decode<v2::WaitResponse>(*WaitFor("e1")->value()).exit_status(), 7u);  // at once

  auto state = Decode<v2::StateResponse>(Call("State", For<v2::StateRequest>("e1")));
  EXPECT_EQ(state.id(), "e1");
  EXPECT_EQ(state.exec_id(), "e1");
  EXPECT_EQ(state.status(), v2::STOPPED);
  EXPECT_EQ(state.exit_status(), 7u);
  EXPECT_EQ(state.pid(), 101u);
  // The container is untouched.
  v2::StateRequest init;
  init.set_id("c1");
  EXPECT_EQ(Decode<v2::StateResponse>(Call("State", init)).status(), v2::RUNNING);

  auto deleted = Decode<v2::DeleteResponse>(Call("Delete", For<v2::DeleteRequest>("e1")));
  EXPECT_EQ(deleted.pid(), 101u);
  EXPECT_EQ(deleted.exit_status(), 7u);
  EXPECT_EQ(deleted.exited_at().seconds(), 1'700'000'000);
  EXPECT_EQ(Call("State", For<v2::StateRequest>("e1")).error().code, Code::kNotFound);
  // No TaskDelete for an exec (runc's shim sends it for the init only).
  EXPECT_EQ(Topics(),
            (std::vector<std::string>{"/tasks/create", "/tasks/start", "/tasks/exec-added",
                                      "/tasks/exec-started", "/tasks/exit"}));
  events::TaskExecStarted ev_started;
  ASSERT_TRUE(ev_started.ParseFromString(events_[3].bytes));
  EXPECT_EQ(ev_started.container_id(), "c1");
  EXPECT_EQ(ev_started.exec_id(), "e1");
  EXPECT_EQ(ev_started.pid(), 101u);
  events::TaskExit ev_exit;
  ASSERT_TRUE(ev_exit.ParseFromString(events_[4].bytes));
  EXPECT_EQ(ev_exit.container_id(), "c1");
  EXPECT_EQ(ev_exit.id(), "e1");
  EXPECT_EQ(ev_exit.pid(), 101u);
  EXPECT_EQ(ev_exit.exit_status(), 7u);
  EXPECT_EQ(events_[2].type_url, "containerd.events.TaskExecAdded");
}

TEST_F(TaskExecTest, ExecRefusals) {
  auto unknown = ExecRequest("e1");
  unknown.set_id("nope");
  EXPECT_EQ(Call("Exec", unknown).error().code, Code::kNotFound);
  ASSERT_TRUE(Exec("e1"));
  auto dup = Exec("e1");
  EXPECT_EQ(dup.error().code, Code::kAlreadyExists);
  EXPECT_EQ(dup.error().message, "exec \"e1\" already exists in container \"c1\"");
  auto bad_json = Exec("e2", "{\"args\": [");
  EXPECT_EQ(bad_json.error().code, Code::kInvalidArgument);
  EXPECT_NE(bad_json.error().message.find("spec"), std::string::npos) << bad_json.error().message;
  auto no_args = Exec("e2", R"({"cwd":"/"})");
  EXPECT_EQ(no_args.error().code, Code::kInvalidArgument);
  EXPECT_NE(no_args.error().message.find("args"), std::string::npos) << no_args.error().message;
  auto wrong_type = ExecRequest("e2");
  wrong_type.mutable_spec()->set_type_url("types.containerd.io/opencontainers/runtime-spec/1/Spec");
  EXPECT_EQ(Call("Exec", wrong_type).error().code, Code::kInvalidArgument);
  for (const std::string& id :
       std::vector<std::string>{"", ".", "..", "a/b", std::string(129, 'x'), "a\nb"}) {
    auto r = Exec(id);
    ASSERT_FALSE(r) << id;
    EXPECT_EQ(r.error().code, Code::kInvalidArgument) << id;
    EXPECT_NE(r.error().message.find("exec_id"), std::string::npos) << r.error().message;
  }
  EXPECT_EQ(Topics().size(), 3u);  // only e1's exec-added
  EXPECT_EQ(StartExec("nope").error().code, Code::kNotFound);
}

TEST_F(TaskExecTest, StartTwiceOrAfterTheContainerStoppedIsRefused) {
  ASSERT_TRUE(Exec("e1"));
  ASSERT_TRUE(Exec("e2"));
  ASSERT_TRUE(StartExec("e1"));
  EXPECT_EQ(StartExec("e1").error().code, Code::kFailedPrecondition);
  service_.OnExit(Exited(0));  // the container's init
  EXPECT_EQ(StartExec("e2").error().code, Code::kFailedPrecondition);
  EXPECT_EQ(Exec("e3").error().code, Code::kFailedPrecondition);
}

TEST_F(TaskExecTest, AFailedStartLeavesTheExecCreated) {
  ASSERT_TRUE(Exec("e1"));
  runtime_.fail_start_exec =
      Error::Domain(ErrorCode::kConflict, "cannot exec in a stopped container");
  EXPECT_FALSE(StartExec("e1"));
  EXPECT_EQ(Decode<v2::StateResponse>(Call("State", For<v2::StateRequest>("e1"))).status(),
            v2::CREATED);
  EXPECT_EQ(Topics().back(), "/tasks/exec-added");
}

TEST_F(TaskExecTest, KillSignalsOnlyTheExecsProcess) {
  ASSERT_TRUE(Exec("e1"));
  auto kill = For<v2::KillRequest>("e1");
  kill.set_signal(SIGTERM);
  EXPECT_EQ(Call("Kill", kill).error().code, Code::kFailedPrecondition);  // not started
  ASSERT_TRUE(StartExec("e1"));
  kill.set_all(true);  // irrelevant for an exec
  ASSERT_TRUE(Call("Kill", kill));
  EXPECT_EQ(runtime_.calls.back(), "signal-pid 101 15");
  runtime_.fail_signal = Error::Errno(ESRCH, "signal 101");
  EXPECT_EQ(Call("Kill", kill).error().code, Code::kNotFound);
  service_.OnExit(signals::KilledBy(101, SIGTERM));
  const size_t calls = runtime_.calls.size();
  EXPECT_TRUE(Call("Kill", kill));  // after the exit: nothing to signal
  EXPECT_EQ(runtime_.calls.size(), calls);
  EXPECT_EQ(Decode<v2::StateResponse>(Call("State", For<v2::StateRequest>("e1"))).exit_status(),
            128u + SIGTERM);
}

TEST_F(TaskExecTest, DeleteOfARunningExecIsRefusedAndOfACreatedOneForgetsIt) {
  ASSERT_TRUE(Exec("e1"));
  ASSERT_TRUE(Exec("e2"));
  ASSERT_TRUE(StartExec("e1"));
  EXPECT_EQ(Call("Delete", For<v2::DeleteRequest>("e1")).error().code, Code::kFailedPrecondition);
  auto waiting = WaitFor("e2");
  auto deleted = Decode<v2::DeleteResponse>(Call("Delete", For<v2::DeleteRequest>("e2")));
  EXPECT_EQ(deleted.pid(), 0u);
  ASSERT_TRUE(waiting->has_value());
  EXPECT_EQ((*waiting)->error().code, Code::kNotFound);
  EXPECT_EQ(Call("Delete", For<v2::DeleteRequest>("e2")).error().code, Code::kNotFound);
}

TEST_F(TaskExecTest, TheExecGetsItsOwnCgroupWhichDeleteRemoves) {
  podshim::testing::TempDir cgroup;
  ASSERT_TRUE(cgroup.ok());
  runtime_.cgroup_dir = cgroup.path();
  ASSERT_TRUE(Exec("e1"));
  ASSERT_TRUE(StartExec("e1"));
  const auto dir = cgroup.path() / "podshim-exec-e1";
  EXPECT_EQ(runtime_.exec_launches.back().cgroup_dir, dir);
  EXPECT_TRUE(std::filesystem::is_directory(dir));
  service_.OnExit(signals::ExitedWith(101, 0));
  ASSERT_TRUE(Call("Delete", For<v2::DeleteRequest>("e1")));
  EXPECT_FALSE(std::filesystem::exists(dir));
}

TEST_F(TaskExecTest, DeletingTheContainerRemovesItsExecsCgroupsRelaysAndPumps) {
  podshim::testing::TempDir cgroup;
  ASSERT_TRUE(cgroup.ok());
  runtime_.cgroup_dir = cgroup.path();
  auto req = ExecRequest("e1");
  req.set_stdin("/fifo/e1-in");
  ASSERT_TRUE(Call("Exec", req));
  ASSERT_TRUE(StartExec("e1"));
  auto waiting = WaitFor("e1");
  service_.OnExit(Exited(0));  // the init; e1 still runs (no pid namespace)
  v2::DeleteRequest del;
  del.set_id("c1");
  ASSERT_TRUE(Call("Delete", del));
  EXPECT_FALSE(std::filesystem::exists(cgroup.path() / "podshim-exec-e1"));
  EXPECT_EQ(pumps_.calls, (std::vector<std::string>{"start c1/e1", "stop c1/e1", "stop c1"}));
  ASSERT_TRUE(waiting->has_value());
  EXPECT_EQ((*waiting)->error().code, Code::kNotFound);
}

TEST_F(TaskExecTest, AStartedExecThatFailsRemovesItsCgroup) {
  podshim::testing::TempDir cgroup;
  ASSERT_TRUE(cgroup.ok());
  runtime_.cgroup_dir = cgroup.path();
  ASSERT_TRUE(Exec("e1"));
  runtime_.fail_start_exec = Error::Errno(EPERM, "clone3");
  EXPECT_FALSE(StartExec("e1"));
  EXPECT_FALSE(std::filesystem::exists(cgroup.path() / "podshim-exec-e1"));
}

TEST_F(TaskExecTest, ATerminalExecIsRelayedAndResized) {
  auto req = ExecRequest("e1");
  req.set_terminal(true);
  req.set_stdin("/fifo/e1-in");
  req.set_stdout("/fifo/e1-out");
  ASSERT_TRUE(Call("Exec", req));
  ASSERT_TRUE(StartExec("e1"));
  EXPECT_TRUE(runtime_.exec_launches.back().process.terminal);
  EXPECT_EQ(terminals_.calls, std::vector<std::string>{"start c1/e1 master in"});
  EXPECT_TRUE(pumps_.calls.empty());  // a terminal's stdin goes through the relay
  auto resize = For<v2::ResizePtyRequest>("e1");
  resize.set_width(100);
  resize.set_height(30);
  ASSERT_TRUE(Call("ResizePty", resize));
  EXPECT_EQ(runtime_.calls.back(), "resize 100x30");
  EXPECT_TRUE(Decode<v2::StateResponse>(Call("State", For<v2::StateRequest>("e1"))).terminal());
  ASSERT_TRUE(Call("CloseIO", [] {
    auto r = v2::CloseIORequest();
    r.set_id("c1");
    r.set_exec_id("e1");
    r.set_stdin(true);
    return r;
  }()));
  service_.OnExit(signals::ExitedWith(101, 0));
  ASSERT_TRUE(Call("Delete", For<v2::DeleteRequest>("e1")));
  EXPECT_EQ(terminals_.calls,
            (std::vector<std::string>{"start c1/e1 master in", "exited c1/e1", "stop c1/e1"}));
}

TEST_F(TaskExecTest, ResizeOfAnExecWithoutATerminalIsRefused) {
  ASSERT_TRUE(Exec("e1"));
  auto resize = For<v2::ResizePtyRequest>("e1");
  resize.set_width(80);
  resize.set_height(24);
  EXPECT_EQ(Call("ResizePty", resize).error().code, Code::kFailedPrecondition);
}

TEST_F(TaskExecTest, StdinIsPumpedAndCloseIOFindsTheProcess) {
  v2::CreateTaskRequest create;
  create.set_id("c2");
  create.set_bundle("/run/b/c2");
  create.set_stdin("/fifo/c2-in");
  ASSERT_TRUE(Call("Create", create));
  auto req = ExecRequest("e1");
  req.set_stdin("/fifo/e1-in");
  ASSERT_TRUE(Call("Exec", req));
  ASSERT_TRUE(StartExec("e1"));
  EXPECT_EQ(pumps_.calls, (std::vector<std::string>{"start c2", "start c1/e1"}));
  v2::CloseIORequest close;
  close.set_id("c2");
  close.set_stdin(true);
  EXPECT_TRUE(Call("CloseIO", close));
  close.set_id("c1");
  close.set_exec_id("e1");
  EXPECT_TRUE(Call("CloseIO", close));
  EXPECT_TRUE(Call("CloseIO", close));  // twice is fine
  close.set_exec_id("nope");
  EXPECT_EQ(Call("CloseIO", close).error().code, Code::kNotFound);
  close.set_id("nope");
  EXPECT_EQ(Call("CloseIO", close).error().code, Code::kNotFound);
}

}  // namespace
}  // namespace podshim::shim::task

namespace podshim::shim::task {
namespace {

TEST_F(TaskExecTest, ExecsAndTasksAreBounded) {
  for (size_t i = 0; i < kMaxExecsPerTask; ++i) ASSERT_TRUE(Exec("e" + std::to_string(i)));
  auto over = Exec("one-more");
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, ttrpc::Code::kResourceExhausted);
  EXPECT_NE(over.error().message.find("\"c1\" has 1024 execs"), std::string::npos)
      << over.error().message;
  ASSERT_TRUE(Call("Delete", For<v2::DeleteRequest>("e0")));  // a created exec is just forgotten
  EXPECT_TRUE(Exec("one-more"));

  for (size_t i = 1; i < kMaxTasks; ++i) CreateTask("t" + std::to_string(i));
  v2::CreateTaskRequest req;
  req.set_id("too-many");
  req.set_bundle("/run/b/too-many");
  auto refused = Call("Create", req);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ttrpc::Code::kResourceExhausted);
  EXPECT_NE(refused.error().message.find("1024 tasks"), std::string::npos)
      << refused.error().message;
}

}  // namespace
}  // namespace podshim::shim::task
