// The task service's terminal mapping: Create with terminal=true asks the runtime for a pty and
// hands it to the relays, exit and Delete reach the relays, ResizePty goes to the task's master.
#include "fake_task_runtime.h"
#include "gtest/gtest.h"

namespace podshim::shim::task {
namespace {

using ttrpc::Code;

class TaskTerminalTest : public TaskServiceHarness {
 protected:
  ttrpc::RpcResult CreateTty(const std::string& id, bool terminal = true) {
    v2::CreateTaskRequest req;
    req.set_id(id);
    req.set_bundle("/run/b/" + id);
    req.set_terminal(terminal);
    req.set_stdin("/fifo/" + id + "-in");
    req.set_stdout("/fifo/" + id + "-out");
    return Call("Create", req);
  }
  ttrpc::RpcResult Resize(const std::string& id, uint32_t width, uint32_t height,
                          const std::string& exec_id = "") {
    v2::ResizePtyRequest req;
    req.set_id(id);
    req.set_exec_id(exec_id);
    req.set_width(width);
    req.set_height(height);
    return Call("ResizePty", req);
  }
};

TEST_F(TaskTerminalTest, CreateWithATerminalAsksForAPtyAndStartsItsRelay) {
  auto created = Decode<v2::CreateTaskResponse>(CreateTty("t1"));
  EXPECT_EQ(created.pid(), 100u);
  ASSERT_EQ(runtime_.launches.size(), 1u);
  EXPECT_TRUE(runtime_.launches[0].terminal);
  EXPECT_EQ(runtime_.launches[0].stdin_path, "/fifo/t1-in");
  EXPECT_EQ(terminals_.calls, std::vector<std::string>{"start t1 master in out"});
  ASSERT_EQ(Topics(), std::vector<std::string>{"/tasks/create"});
  events::TaskCreate ev;
  ASSERT_TRUE(ev.ParseFromString(events_[0].bytes));
  EXPECT_TRUE(ev.io().terminal());
  v2::StateRequest state;
  state.set_id("t1");
  EXPECT_TRUE(Decode<v2::StateResponse>(Call("State", state)).terminal());
}

TEST_F(TaskTerminalTest, WithoutATerminalNothingIsRelayed) {
  ASSERT_TRUE(CreateTty("t1", /*terminal=*/false));
  EXPECT_FALSE(runtime_.launches[0].terminal);
  EXPECT_TRUE(terminals_.calls.empty());
  auto r = Resize("t1", 80, 24);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::kFailedPrecondition);
  EXPECT_EQ(r.error().message, "container \"t1\" has no terminal (created without one)");
}

TEST_F(TaskTerminalTest, ARelayThatCannotStartUndoesTheCreate) {
  terminals_.fail_start = Error::Errno(EPERM, "terminal relay: stdin FIFO: epoll");
  auto r = CreateTty("t1");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("stdin FIFO"), std::string::npos);
  EXPECT_EQ(runtime_.calls.back(), "remove t1");
  EXPECT_FALSE(service_.HasTasks());
  EXPECT_TRUE(events_.empty());
}

TEST_F(TaskTerminalTest, ExitDrainsTheRelayAndDeleteStopsIt) {
  ASSERT_TRUE(CreateTty("t1"));
  ASSERT_TRUE(StartTask("t1"));
  service_.OnExit(Exited(5));
  EXPECT_EQ(terminals_.calls.back(), "exited t1");
  v2::DeleteRequest del;
  del.set_id("t1");
  EXPECT_EQ(Decode<v2::DeleteResponse>(Call("Delete", del)).exit_status(), 5u);
  EXPECT_EQ(terminals_.calls,
            (std::vector<std::string>{"start t1 master in out", "exited t1", "stop t1"}));
}

TEST_F(TaskTerminalTest, ResizePtySetsTheWindowOfTheTasksMaster) {
  ASSERT_TRUE(CreateTty("t1"));
  ASSERT_TRUE(StartTask("t1"));
  ASSERT_TRUE(Resize("t1", 120, 40));
  EXPECT_EQ(runtime_.calls.back(), "resize 120x40");
}

TEST_F(TaskTerminalTest, ResizePtyRefusals) {
  ASSERT_TRUE(CreateTty("t1"));
  EXPECT_EQ(Resize("nope", 80, 24).error().code, Code::kNotFound);
  EXPECT_EQ(Resize("t1", 80, 24, "exec1").error().code, Code::kNotFound);
  auto big = Resize("t1", 70000, 24);
  EXPECT_EQ(big.error().code, Code::kInvalidArgument);
  EXPECT_NE(big.error().message.find("width and height"), std::string::npos);
  runtime_.fail_resize = Error::Errno(ENOTTY, "resize pty (TIOCSWINSZ)");
  EXPECT_FALSE(Resize("t1", 80, 24));
  EXPECT_EQ(Call("ResizePty", std::string("\xff\xff")).error().code, Code::kInvalidArgument);
}

}  // namespace
}  // namespace podshim::shim::task
