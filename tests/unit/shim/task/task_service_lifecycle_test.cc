// TaskService: Create, Start, Wait, exit, Delete mapped onto the runtime, replies and events.
#include <signal.h>

#include "fake_task_runtime.h"

namespace podshim::shim::task {
namespace {

using ttrpc::Code;

TEST_F(TaskServiceHarness, CreatePassesEveryFieldToTheRuntimeAndPublishesTaskCreate) {
  v2::CreateTaskRequest req;
  req.set_id("c1");
  req.set_bundle("/run/b/c1");
  auto* m = req.add_rootfs();
  m->set_type("overlay");
  m->set_source("overlay");
  m->add_options("lowerdir=/l");
  m->add_options("upperdir=/u");
  req.set_stdout("/fifo/out");
  req.set_stderr("/fifo/err");
  auto reply = Decode<v2::CreateTaskResponse>(Call("Create", req));
  EXPECT_EQ(reply.pid(), 100u);
  ASSERT_EQ(runtime_.launches.size(), 1u);
  const TaskLaunch& l = runtime_.launches[0];
  EXPECT_EQ(l.key.id, "c1");
  EXPECT_EQ(l.key.bundle, "/run/b/c1");
  ASSERT_EQ(l.rootfs.size(), 1u);
  EXPECT_EQ(l.rootfs[0].type, "overlay");
  EXPECT_EQ(l.rootfs[0].options, (std::vector<std::string>{"lowerdir=/l", "upperdir=/u"}));
  EXPECT_EQ(l.stdin_path, "");
  EXPECT_EQ(l.stdout_path, "/fifo/out");
  EXPECT_EQ(l.stderr_path, "/fifo/err");

  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(events_[0].topic, "/tasks/create");
  EXPECT_EQ(events_[0].type_url, "containerd.events.TaskCreate");
  events::TaskCreate ev;
  ASSERT_TRUE(ev.ParseFromString(events_[0].bytes));
  EXPECT_EQ(ev.container_id(), "c1");
  EXPECT_EQ(ev.bundle(), "/run/b/c1");
  EXPECT_EQ(ev.pid(), 100u);
  EXPECT_EQ(ev.rootfs_size(), 1);
  EXPECT_EQ(ev.io().stdout(), "/fifo/out");
  EXPECT_TRUE(service_.HasTasks());
}

TEST_F(TaskServiceHarness, CreateRefusals) {
  CreateTask("c1");
  v2::CreateTaskRequest again;
  again.set_id("c1");
  again.set_bundle("/run/b/c1");
  auto r = Call("Create", again);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::kAlreadyExists);
  EXPECT_EQ(r.error().message, "container \"c1\" already exists");

  v2::CreateTaskRequest relative;
  relative.set_id("c2");
  relative.set_bundle("b");
  EXPECT_EQ(Call("Create", relative).error().code, Code::kInvalidArgument);
  v2::CreateTaskRequest no_id;
  no_id.set_bundle("/b");
  EXPECT_EQ(Call("Create", no_id).error().code, Code::kInvalidArgument);
  v2::CreateTaskRequest checkpoint;
  checkpoint.set_id("c3");
  checkpoint.set_bundle("/b");
  checkpoint.set_checkpoint("/cp");
  auto t = Call("Create", checkpoint);
  EXPECT_EQ(t.error().code, Code::kUnimplemented);
  EXPECT_NE(t.error().message.find("checkpoint"), std::string::npos);
  EXPECT_EQ(runtime_.launches.size(), 1u);  // none of them reached the runtime
}

TEST_F(TaskServiceHarness, CreateFailureIsMappedAndLeavesNoTask) {
  runtime_.fail_create = Error::Invalid("config.json: process.args: required");
  v2::CreateTaskRequest req;
  req.set_id("c1");
  req.set_bundle("/b");
  auto r = Call("Create", req);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::kInvalidArgument);
  EXPECT_EQ(r.error().message, "config.json: process.args: required");
  EXPECT_FALSE(service_.HasTasks());
  EXPECT_TRUE(events_.empty());
}

TEST_F(TaskServiceHarness, EventsOfAnInstantExitComeInOrderCreateStartExitDelete) {
  CreateTask("c1");
  auto started = Decode<v2::StartResponse>(StartTask("c1"));
  EXPECT_EQ(started.pid(), 100u);
  service_.OnExit(Exited(3));
  v2::DeleteRequest del;
  del.set_id("c1");
  auto deleted = Decode<v2::DeleteResponse>(Call("Delete", del));
  EXPECT_EQ(deleted.pid(), 100u);
  EXPECT_EQ(deleted.exit_status(), 3u);
  EXPECT_EQ(deleted.exited_at().seconds(), 1'700'000'000);
  EXPECT_EQ(deleted.exited_at().nanos(), 5);
  EXPECT_EQ(Topics(), (std::vector<std::string>{"/tasks/create", "/tasks/start", "/tasks/exit",
                                                "/tasks/delete"}));
  EXPECT_EQ(runtime_.calls, (std::vector<std::string>{"create c1 /run/b/c1", "start c1",
                                                      "record-exit c1 3", "remove c1"}));
  events::TaskExit exit;
  ASSERT_TRUE(exit.ParseFromString(events_[2].bytes));
  EXPECT_EQ(exit.container_id(), "c1");
  EXPECT_EQ(exit.id(), "c1");
  EXPECT_EQ(exit.pid(), 100u);
  EXPECT_EQ(exit.exit_status(), 3u);
  events::TaskDelete gone;
  ASSERT_TRUE(gone.ParseFromString(events_[3].bytes));
  EXPECT_EQ(gone.exit_status(), 3u);
  EXPECT_EQ(gone.id(), "c1");
  EXPECT_FALSE(service_.HasTasks());
}

TEST_F(TaskServiceHarness, ExitStatusIs128PlusTheSignal) {
  CreateTask("c1");
  ASSERT_TRUE(StartTask("c1"));
  service_.OnExit(Killed(SIGKILL));
  v2::StateRequest req;
  req.set_id("c1");
  auto state = Decode<v2::StateResponse>(Call("State", req));
  EXPECT_EQ(state.status(), v2::STOPPED);
  EXPECT_EQ(state.exit_status(), 137u);
}

TEST_F(TaskServiceHarness, WaitIsAnsweredAtTheExitAndAtOnceAfterIt) {
  CreateTask("c1");
  ASSERT_TRUE(StartTask("c1"));
  v2::WaitRequest req;
  req.set_id("c1");
  std::vector<ttrpc::RpcResult> answers;
  for (int i = 0; i < 2; ++i) {
    service_.Handle({"containerd.task.v2.Task", "Wait", req.SerializeAsString(), "", 0},
                    [&](ttrpc::RpcResult r) { answers.push_back(r); });
  }
  EXPECT_TRUE(answers.empty());
  service_.OnExit(signals::ExitedWith(999, 0));  // not a task: ignored
  EXPECT_TRUE(answers.empty());
  service_.OnExit(Exited(7));
  ASSERT_EQ(answers.size(), 2u);
  for (const auto& a : answers) {
    auto w = Decode<v2::WaitResponse>(a);
    EXPECT_EQ(w.exit_status(), 7u);
    EXPECT_EQ(w.exited_at().seconds(), 1'700'000'000);
  }
  EXPECT_EQ(Decode<v2::WaitResponse>(Call("Wait", req)).exit_status(), 7u);
  service_.OnExit(Exited(9));  // reported twice: the first exit stands
  EXPECT_EQ(Decode<v2::WaitResponse>(Call("Wait", req)).exit_status(), 7u);
}

TEST_F(TaskServiceHarness, StartTwiceOrAfterTheExitIsAFailedPrecondition) {
  CreateTask("c1");
  ASSERT_TRUE(StartTask("c1"));
  EXPECT_EQ(StartTask("c1").error().code, Code::kFailedPrecondition);
  service_.OnExit(Exited(0));
  EXPECT_EQ(StartTask("c1").error().code, Code::kFailedPrecondition);
}

TEST_F(TaskServiceHarness, StartFailureKeepsTheTaskCreated) {
  CreateTask("c1");
  runtime_.fail_start = Error::Errno(ESRCH, "container \"c1\": exited before start");
  auto r = StartTask("c1");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::kNotFound);
  EXPECT_EQ(Topics(), (std::vector<std::string>{"/tasks/create"}));
}

TEST_F(TaskServiceHarness, DeleteOfARunningTaskIsRefused) {
  CreateTask("c1");
  ASSERT_TRUE(StartTask("c1"));
  v2::DeleteRequest del;
  del.set_id("c1");
  EXPECT_EQ(Call("Delete", del).error().code, Code::kFailedPrecondition);
  EXPECT_TRUE(service_.HasTasks());
}

TEST_F(TaskServiceHarness, DeleteOfACreatedTaskKillsItAndAnswersItsWaits) {
  CreateTask("c1");
  v2::WaitRequest wait;
  wait.set_id("c1");
  std::optional<ttrpc::RpcResult> waited;
  service_.Handle({"containerd.task.v2.Task", "Wait", wait.SerializeAsString(), "", 0},
                  [&](ttrpc::RpcResult r) { waited = r; });
  v2::DeleteRequest del;
  del.set_id("c1");
  auto reply = Decode<v2::DeleteResponse>(Call("Delete", del));
  EXPECT_EQ(reply.exit_status(), 137u);
  ASSERT_TRUE(waited.has_value());
  EXPECT_EQ(Decode<v2::WaitResponse>(*waited).exit_status(), 137u);
  EXPECT_EQ(Topics(), (std::vector<std::string>{"/tasks/create", "/tasks/exit", "/tasks/delete"}));
  service_.OnExit(Killed(SIGKILL));  // the reaper's late report: ignored
  EXPECT_EQ(events_.size(), 3u);
}

TEST_F(TaskServiceHarness, DeleteErrorStillForgetsTheTask) {
  CreateTask("c1");
  service_.OnExit(Exited(0));
  runtime_.fail_remove = Error::Errno(EBUSY, "unmount /b/rootfs");
  v2::DeleteRequest del;
  del.set_id("c1");
  auto r = Call("Delete", del);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::kUnknown);
  EXPECT_FALSE(service_.HasTasks());
}

}  // namespace
}  // namespace podshim::shim::task
