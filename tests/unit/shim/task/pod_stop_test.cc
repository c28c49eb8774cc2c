// The shim's own pod stop (SIGTERM): the order read from CRI's annotations (pod_stop_order.h) and
// the task service carrying it out with a fake clock: apps, then sidecars in reverse, SIGKILL at
// the grace period, the sandbox last.
#include <signal.h>

#include <optional>
#include <string>
#include <vector>

#include "fake_task_runtime.h"
#include "fixtures/fakes/fake_clock.h"
#include "gtest/gtest.h"
#include "shim/task/pod_stop_order.h"

namespace podshim::shim::task {
namespace {

using Annotations = std::map<std::string, std::string>;

Annotations Cri(const std::string& type, const std::string& name, const Annotations& pod = {}) {
  Annotations a = pod;
  a[kCriContainerType] = type;
  a[kCriContainerName] = name;
  return a;
}

std::vector<std::string> Names(const PodStopOrder& order) {
  std::vector<std::string> out;
  for (const auto& c : order.containers) {
    out.push_back(c.name + (c.role == ContainerRole::kSidecar ? ":sidecar" : ":app"));
  }
  return out;
}

TEST(PodStopOrderTest, SidecarsInSpecOrderThenAppsSandboxLast) {
  const Annotations pod = {{kSidecarsAnnotation, "proxy, logs"}, {kGraceAnnotation, "12"}};
  PodStopOrder order = PodStopOrderOf({
      {"s1", Cri("sandbox", "", pod), true},
      {"c-logs", Cri("container", "logs", pod), true},
      {"c-proxy", Cri("container", "proxy", pod), true},
      {"c-app", Cri("container", "app", pod), true},
  });
  EXPECT_EQ(Names(order),
            (std::vector<std::string>{"c-proxy:sidecar", "c-logs:sidecar", "c-app:app"}));
  EXPECT_EQ(order.last, std::vector<std::string>{"s1"});
  EXPECT_EQ(order.grace, std::chrono::seconds(12));
  EXPECT_TRUE(order.warnings.empty());
}

TEST(PodStopOrderTest, WithoutAnnotationsEveryTaskIsAnAppWithKubernetesDefaultGrace) {
  PodStopOrder order = PodStopOrderOf({{"a", {}, true}, {"b", {}, false}});
  EXPECT_EQ(Names(order), (std::vector<std::string>{"a:app", "b:app"}));
  EXPECT_FALSE(order.containers[1].running);
  EXPECT_TRUE(order.last.empty());
  EXPECT_EQ(order.grace, kDefaultPodGrace);
}

TEST(PodStopOrderTest, BadGraceIsNamedAndReplacedByTheDefault) {
  for (const char* bad : {"-1", "ten", "5s", ""}) {
    PodStopOrder order = PodStopOrderOf({{"a", {{kGraceAnnotation, bad}}, true}});
    EXPECT_EQ(order.grace, kDefaultPodGrace) << bad;
    ASSERT_EQ(order.warnings.size(), 1u) << bad;
    EXPECT_NE(order.warnings[0].find(kGraceAnnotation), std::string::npos) << order.warnings[0];
  }
  PodStopOrder huge = PodStopOrderOf({{"a", {{kGraceAnnotation, "99999999999999"}}, true}});
  EXPECT_EQ(huge.grace, signals::kMaxGracePeriod);
}

TEST(PodStopOrderTest, OversizedSidecarListIsIgnoredWithAWarning) {
  PodStopOrder order = PodStopOrderOf(
      {{"a", Cri("container", "a", {{kSidecarsAnnotation, std::string(70000, 'a')}}), true}});
  EXPECT_EQ(Names(order), std::vector<std::string>{"a:app"});
  ASSERT_EQ(order.warnings.size(), 1u);
  EXPECT_NE(order.warnings[0].find(kSidecarsAnnotation), std::string::npos);
}

// The service with a fake clock and a recorded stop timer.
class PodStopServiceTest : public ::testing::Test {
 protected:
  PodStopServiceTest() {
    opts_.shim_pid = 1;
    opts_.clock = [] { return WallTime(std::chrono::seconds(1'700'000'000)); };
    opts_.steady_clock = &clock_;
    opts_.arm_stop_timer = [this](std::optional<Clock::TimePoint> at) { timer_ = at; };
    service_.emplace(
        runtime_, [](std::string, std::string, std::string) {}, opts_);
  }
  void CreateAndStart(const std::string& id, const Annotations& annotations) {
    runtime_.annotations[id] = annotations;
    v2::CreateTaskRequest create;
    create.set_id(id);
    create.set_bundle("/run/b/" + id);
    service_->Handle({"containerd.task.v2.Task", "Create", create.SerializeAsString(), "", 0},
                     [](ttrpc::RpcResult r) { ASSERT_TRUE(r.has_value()) << r.error().message; });
    v2::StartRequest start;
    start.set_id(id);
    service_->Handle({"containerd.task.v2.Task", "Start", start.SerializeAsString(), "", 0},
                     [](ttrpc::RpcResult r) { ASSERT_TRUE(r.has_value()) << r.error().message; });
    pids_[id] = runtime_.next_pid - 1;
  }
  // The signals sent since the last call.
  std::vector<std::string> Sent() {
    std::vector<std::string> out;
    for (size_t i = seen_; i < runtime_.calls.size(); ++i) {
      if (runtime_.calls[i].rfind("signal", 0) == 0) out.push_back(runtime_.calls[i]);
    }
    seen_ = runtime_.calls.size();
    return out;
  }
  void Exit(const std::string& id, int code) {
    service_->OnExit(signals::ExitedWith(pids_.at(id), code));
  }
  void AdvanceToTimer() {
    ASSERT_TRUE(timer_.has_value());
    clock_.Advance(*timer_ - clock_.Now());
    service_->OnStopTimer();
  }

  FakeClock clock_;
  FakeTaskRuntime runtime_;
  std::optional<Clock::TimePoint> timer_;
  TaskServiceOptions opts_;
  std::optional<TaskService> service_;
  std::map<std::string, pid_t> pids_;
  size_t seen_ = 0;
};

TEST_F(PodStopServiceTest, AppsFirstThenSidecarsInReverseThenTheSandbox) {
  const Annotations pod = {{kSidecarsAnnotation, "proxy,logs"}, {kGraceAnnotation, "20"}};
  CreateAndStart("sb", Cri("sandbox", "", pod));
  CreateAndStart("proxy", Cri("container", "proxy", pod));
  CreateAndStart("logs", Cri("container", "logs", pod));
  CreateAndStart("app", Cri("container", "app", pod));
  Sent();
  service_->StopPod("SIGTERM");
  EXPECT_EQ(Sent(), std::vector<std::string>{"signal app 15"});
  Exit("app", 0);
  EXPECT_EQ(Sent(), std::vector<std::string>{"signal logs 15"});  // the last sidecar first
  Exit("logs", 0);
  EXPECT_EQ(Sent(), std::vector<std::string>{"signal proxy 15"});
  Exit("proxy", 0);
  EXPECT_EQ(Sent(), std::vector<std::string>{"signal-all sb 9"});
  EXPECT_FALSE(timer_.has_value());
  // Creates are refused while the pod stops.
  v2::CreateTaskRequest create;
  create.set_id("late");
  create.set_bundle("/run/b/late");
  std::optional<ttrpc::RpcResult> reply;
  service_->Handle({"containerd.task.v2.Task", "Create", create.SerializeAsString(), "", 0},
                   [&](ttrpc::RpcResult r) { reply = r; });
  ASSERT_TRUE(reply && !reply->has_value());
  EXPECT_EQ(reply->error().code, ttrpc::Code::kFailedPrecondition);
  EXPECT_NE(reply->error().message.find("stopping its pod"), std::string::npos);
}

TEST_F(PodStopServiceTest, AnAppIgnoringSigtermIsKilledAtTheGracePeriod) {
  const Annotations pod = {{kSidecarsAnnotation, "proxy"}, {kGraceAnnotation, "5"}};
  CreateAndStart("sb", Cri("sandbox", "", pod));
  CreateAndStart("proxy", Cri("container", "proxy", pod));
  CreateAndStart("app", Cri("container", "app", pod));
  Sent();
  service_->StopPod("SIGTERM");
  EXPECT_EQ(Sent(), std::vector<std::string>{"signal app 15"});
  const Clock::TimePoint t0 = clock_.Now();
  AdvanceToTimer();  // the app's SIGKILL at t0 + 5 s; the sidecar's wait ended too
  EXPECT_EQ(clock_.Now() - t0, std::chrono::seconds(5));
  EXPECT_EQ(Sent(), (std::vector<std::string>{"signal proxy 15", "signal-all app 9"}));
  Exit("app", 137);
  Exit("proxy", 0);
  EXPECT_EQ(Sent(), std::vector<std::string>{"signal-all sb 9"});
}

TEST_F(PodStopServiceTest, SecondStopDoesNothingAndExitedTasksAreNotSignalled) {
  CreateAndStart("a", {});
  CreateAndStart("b", {});
  Exit("b", 0);
  Sent();
  service_->StopPod("SIGTERM");
  service_->StopPod("SIGINT");
  EXPECT_EQ(Sent(), std::vector<std::string>{"signal a 15"});
  Exit("a", 0);
  EXPECT_TRUE(Sent().empty());
  EXPECT_FALSE(timer_.has_value());
}

TEST_F(PodStopServiceTest, OnlyASandboxIsKilledAtOnce) {
  CreateAndStart("sb", Cri("sandbox", ""));
  Sent();
  service_->StopPod("SIGTERM");
  EXPECT_EQ(Sent(), std::vector<std::string>{"signal-all sb 9"});
}

}  // namespace
}  // namespace podshim::shim::task

namespace podshim::shim::task {
namespace {

TEST_F(PodStopServiceTest, WithNoLiveTaskTheShimEndsAtOnce) {
  int shutdowns = 0;
  opts_.on_shutdown = [&] { ++shutdowns; };
  service_.emplace(
      runtime_, [](std::string, std::string, std::string) {}, opts_);
  service_->StopPod("SIGTERM");  // no task at all
  EXPECT_EQ(shutdowns, 1);
  CreateAndStart("a", {});
  service_->StopPod("SIGTERM");  // the stop begins
  EXPECT_EQ(shutdowns, 1);
  Exit("a", 0);
  service_->StopPod("SIGTERM");  // a second signal once everything has exited
  EXPECT_EQ(shutdowns, 2);
}

}  // namespace
}  // namespace podshim::shim::task
