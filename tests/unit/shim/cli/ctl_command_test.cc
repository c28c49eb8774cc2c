// podshim ctl against a control server with a fake pod (on its own io_context thread) and
// against a dead socket; stdout and stderr are captured into files around each call.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <cstdio>
#include <future>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "common/sys.h"
#include "fixtures/fakes/fake_control_handler.h"
#include "fixtures/fakes/temp_dir.h"
#include "fixtures/run_ctl.h"
#include "shim/cli/commands.h"
#include "shim/cli/ctl_format.h"
#include "shim/control/control_server.h"
#include "shim/record/exit_records.h"

namespace podshim::shim {
namespace {

namespace asio = boost::asio;

using testing::CtlOutput;
using testing::RunCtl;

class CtlCommandTest : public ::testing::Test {
 protected:
  template <class F>
  auto OnLoop(F f) {
    std::packaged_task<decltype(f())()> task(std::move(f));
    auto result = task.get_future();
    asio::post(io_, [&task] { task(); });
    return result.get();
  }

  void SetUp() override {
    ASSERT_TRUE(dir_.ok());
    socket_ = (dir_.path() / "podshim.sock").string();
    thread_ = std::thread([this] { io_.run(); });
    Status st = OnLoop([this] { return server_.Listen(socket_); });
    ASSERT_TRUE(st.has_value()) << st.error().ToString();
  }
  void TearDown() override {
    OnLoop([this] { server_.Close(); });
    guard_.reset();
    thread_.join();
  }
  CtlOutput Ctl(std::vector<std::string> args) {
    args.insert(args.begin(), {"--socket", socket_});
    return RunCtl(dir_, std::move(args));
  }

  testing::TempDir dir_;
  std::string socket_;
  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard_{
      io_.get_executor()};
  testing::FakeControlHandler handler_{io_};
  control::ControlServer server_{io_, handler_};
  std::thread thread_;
};

TEST_F(CtlCommandTest, StatusHumanAndJson) {
  CtlOutput h = Ctl({"status"});
  EXPECT_EQ(h.status, 0) << h.err;
  EXPECT_NE(h.out.find("Running, ready"), std::string::npos) << h.out;
  EXPECT_NE(h.out.find("web"), std::string::npos) << h.out;
  CtlOutput j = Ctl({"--json", "status"});
  EXPECT_EQ(j.status, 0);
  auto parsed = nlohmann::json::parse(j.out);
  EXPECT_EQ(parsed["ok"], true);
  EXPECT_EQ(parsed["result"]["phase"], "Running");
}

TEST_F(CtlCommandTest, KillRestartStopStatsExec) {
  CtlOutput k = Ctl({"kill", "web", "--signal", "USR1"});
  EXPECT_EQ(k.status, 0) << k.err;
  EXPECT_EQ(k.out, "sent SIGUSR1 to web\n");
  CtlOutput r = Ctl({"restart", "proxy"});
  EXPECT_EQ(r.out, "restarting proxy\n");
  CtlOutput s = Ctl({"stop", "--grace=4"});
  EXPECT_EQ(s.out, "stopping the pod (grace period 4s)\n");
  CtlOutput st = Ctl({"stats"});
  EXPECT_EQ(st.status, 0);
  EXPECT_NE(st.out.find("(pod)"), std::string::npos) << st.out;
  EXPECT_NE(st.out.find("4.0KiB"), std::string::npos) << st.out;
  CtlOutput e = Ctl({"exec", "web", "--timeout", "3", "--", "echo", "--not-an-option", "x"});
  EXPECT_EQ(e.status, 0) << e.err;
  EXPECT_EQ(e.out, "--not-an-option x\n");
  OnLoop([this] {
    EXPECT_EQ(handler_.kills, (std::vector<std::pair<std::string, int>>{{"web", SIGUSR1}}));
    EXPECT_EQ(handler_.restarts, std::vector<std::string>{"proxy"});
  });
}

TEST_F(CtlCommandTest, ErrorsFromTheShimExitOne) {
  CtlOutput k = Ctl({"kill", "nope"});
  EXPECT_EQ(k.status, 1);
  EXPECT_EQ(k.err, "podshim ctl: no container \"nope\" in pod \"web\" (unknown_container)\n");
  CtlOutput j = Ctl({"--json", "restart", "nope"});
  EXPECT_EQ(j.status, 1);
  EXPECT_EQ(nlohmann::json::parse(j.out)["error"]["code"], "unknown_container");
}

TEST_F(CtlCommandTest, EventsReplayAndFollow) {
  OnLoop([this] {
    handler_.AddEvent("PodStarted");
    handler_.AddEvent("ContainerStarted");
  });
  CtlOutput all = Ctl({"events"});
  EXPECT_EQ(all.status, 0) << all.err;
  EXPECT_EQ(all.out,
            "2026-01-01T00:00:00.000000000Z PodStarted\n"
            "2026-01-01T00:00:00.000000000Z ContainerStarted\n");
  CtlOutput from = Ctl({"--json", "events", "--from", "2"});
  EXPECT_EQ(from.out.find("PodStarted"), std::string::npos) << from.out;
  EXPECT_NE(from.out.find("\"end\":true"), std::string::npos) << from.out;

  // --follow returns once the pod finishes.
  std::thread finisher([this] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    OnLoop([this] {
      handler_.Finish();
      server_.NotifyEvents();
    });
  });
  CtlOutput follow = Ctl({"events", "--follow"});
  finisher.join();
  EXPECT_EQ(follow.status, 0) << follow.err;
  EXPECT_NE(follow.out.find("PodFinished"), std::string::npos) << follow.out;
}

TEST_F(CtlCommandTest, HugeGraceIsClampedAndLeavesThePodsGrace) {
  // Above 100 years (kMaxManifestSeconds) a grace cannot shrink the pod's: it is clamped, not
  // refused by the protocol (at most 2^40 s) nor overflowed.
  for (std::string huge : {"9223372036854775807", "99999999999999999999999", "2000000h"}) {
    CtlOutput s = Ctl({"stop", "--grace", huge});
    EXPECT_EQ(s.status, 0) << huge << ": " << s.err;
    // The first call stops the fake pod; the later ones find it terminating.
    EXPECT_THAT(s.out, ::testing::EndsWith(" (grace period 30s)\n")) << huge;
  }
}

TEST_F(CtlCommandTest, UsageErrorsExitTwo) {
  for (std::vector<std::string> args :
       std::vector<std::vector<std::string>>{{"frobnicate"},
                                             {"kill"},
                                             {"exec", "web"},
                                             {"stop", "--grace", "soon"},
                                             {"kill", "web", "--signal", "SIGFOO"},
                                             {"events", "--from", "x"},
                                             {"status", "extra"}}) {
    CtlOutput o = Ctl(args);
    EXPECT_EQ(o.status, 2) << args[0];
    EXPECT_EQ(o.err.rfind("podshim ctl: ", 0), 0u) << o.err;
  }
  EXPECT_EQ(RunCtl(dir_, {"status"}).status, 2);  // no --socket
}

TEST(CtlDeadSocketTest, MissingSocketIsAClearError) {
  testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::string path = (dir.path() / "podshim.sock").string();
  CtlOutput o = RunCtl(dir, {"--socket", path, "stats"});
  EXPECT_EQ(o.status, 1);
  EXPECT_EQ(o.err,
            "podshim ctl: cannot reach the shim at " + path + ": no such file or directory\n");
}

TEST(CtlDeadSocketTest, UsageErrorsEscapeTheArgument) {
  testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::string path = (dir.path() / "podshim.sock").string();
  CtlOutput o = RunCtl(dir, {"--socket", path, "fr\nob\xff"});
  EXPECT_EQ(o.status, 2);
  EXPECT_EQ(o.err.rfind("podshim ctl: unknown command \"fr\\nob\\xff\"\n", 0), 0u) << o.err;
  o = RunCtl(dir, {"--socket", path, "stop", "--grace", "so\non"});
  EXPECT_EQ(o.status, 2);
  EXPECT_EQ(o.err.rfind("podshim ctl: stop: --grace needs seconds, not \"so\\non\"\n", 0), 0u)
      << o.err;
}

TEST(CtlDeadSocketTest, DeadSocketIsConnectionRefused) {
  testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::string path = (dir.path() / "podshim.sock").string();
  {
    asio::io_context io;
    asio::local::stream_protocol::socket s(io);
    s.open();
    s.bind(asio::local::stream_protocol::endpoint(path));
  }
  CtlOutput o = RunCtl(dir, {"--socket", path, "kill", "web"});
  EXPECT_EQ(o.status, 1);
  EXPECT_EQ(o.err, "podshim ctl: cannot reach the shim at " + path + ": connection refused\n");
}

TEST(CtlDeadSocketTest, StatusOfAGoneShimShowsTheLastKnownStateAndExitRecords) {
  testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::string path = (dir.path() / "podshim.sock").string();
  ASSERT_TRUE(sys::WriteFile(dir.path() / "status.json",
                             R"({"name":"web","phase":"Running","ready":true,
                                 "initContainerStatuses":[],
                                 "containerStatuses":[
                                   {"name":"app","role":"app","state":{"running":{}},
                                    "ready":true,"restartCount":0,"pid":42},
                                   {"name":"db","role":"app","state":{"running":{}},
                                    "ready":true,"restartCount":0,"pid":43}]})")
                  .has_value());
  ExitRecords records(dir.path());
  ASSERT_TRUE(records.Write("app", {137, true}).has_value());

  CtlOutput o = RunCtl(dir, {"--socket", path, "status"});
  EXPECT_EQ(o.status, 1);
  EXPECT_NE(
      o.out.find("the shim is gone: cannot reach it at " + path + ": no such file or directory"),
      std::string::npos)
      << o.out;
  EXPECT_NE(o.out.find("pod web: Running"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("app: exit status 137 (OOM killed)"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("db: none (no exit was recorded)"), std::string::npos) << o.out;

  CtlOutput j = RunCtl(dir, {"--socket", path, "--json", "status"});
  EXPECT_EQ(j.status, 1);
  auto parsed = nlohmann::json::parse(j.out);
  EXPECT_EQ(parsed["ok"], false);
  EXPECT_EQ(parsed["error"]["code"], "unavailable");
  EXPECT_EQ(parsed["lastKnown"]["status"]["phase"], "Running");
  EXPECT_EQ(parsed["lastKnown"]["exitRecords"]["app"],
            nlohmann::json::parse(R"({"status":137,"oom":true})"));
  EXPECT_EQ(parsed["lastKnown"]["exitRecords"]["db"], nullptr);
}

TEST(CtlFormatTest, EventAndStatusText) {
  EXPECT_EQ(control::EventText(R"({"time":"T","pod":"p","type":"ContainerExited",)"
                               R"("container":"web","role":"app","exitCode":1,"signal":null,)"
                               R"("reason":"Error","restartCount":2})"),
            "T ContainerExited web exitCode=1 signal=- reason=Error restartCount=2");
  std::string text = control::StatusText(
      R"({"name":"p","phase":"Failed","ready":false,"qosClass":"BestEffort",)"
      R"("initContainerStatuses":[],"containerStatuses":[{"name":"web","role":"app",)"
      R"("state":{"terminated":{"exitCode":1,"reason":"Error"}},"lastState":{},)"
      R"("ready":false,"restartCount":3,"pid":null}]})");
  EXPECT_EQ(text,
            "pod p: Failed, not ready, qos BestEffort\n"
            "NAME  ROLE  STATE                       READY  RESTARTS  PID  LAST STATE\n"
            "web   app   terminated (Error, exit 1)  false  3         -    -\n");
  EXPECT_EQ(control::StatusText("not json"), "not json\n");
}

}  // namespace
}  // namespace podshim::shim
