// EventLoopTest: the fixture of the event loop's unit tests (header-only). It runs the real
// EventLoop over a manifest given as YAML with fakes for everything that touches the kernel:
// FakeLauncher (made-up pids), FakeCgroupManager, RecordingSignaller, FakeSignalSource (the test
// delivers signals and exits), FakeWakeTimer and a FakeClock (the test fires the supervisor's
// deadlines). The test's steps run one after the other on the loop's thread while Run() runs;
// the events are read back from events.jsonl in a temp dir.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "fixtures/bundle.h"
#include "fixtures/fakes/fake_cgroup_manager.h"
#include "fixtures/fakes/fake_clock.h"
#include "fixtures/fakes/fake_launcher.h"
#include "fixtures/fakes/fake_loop_sources.h"
#include "fixtures/fakes/recording_signaller.h"
#include "fixtures/fakes/temp_dir.h"
#include "shim/pod/pod_plan_from_manifest.h"
#include "shim/run/event_loop.h"

namespace podshim::shim::event_loop_test {

using Step = std::function<void()>;

class EventLoopTest : public ::testing::Test {
 protected:
  // Ten years beyond the real steady clock: a probe's real timer armed at a fake time never
  // fires during a test; only the test moves time (FakeWakeTimer::Fire).
  EventLoopTest() : clock_(std::chrono::steady_clock::now() + std::chrono::hours(24 * 3650)) {}

  // Reads the manifest; each container gets runc's default spec running `argv0 <name>`.
  void Make(const std::string& yaml, bool with_cgroups = true) {
    ASSERT_TRUE(dir_.ok());
    auto pod = ParseManifest(yaml, dir_.path() / "pod.yaml");
    ASSERT_TRUE(pod) << pod.error().ToString();
    pod_ = std::make_unique<Pod>(std::move(*pod));
    auto sup = Supervisor::Create(BuildPodPlan(*pod_), clock_);
    ASSERT_TRUE(sup) << sup.error().ToString();
    sup_ = std::make_unique<Supervisor>(std::move(*sup));
    auto events = EventWriter::Open(dir_.path() / "events.jsonl", pod_->metadata.name);
    ASSERT_TRUE(events) << events.error().ToString();
    events_ = std::make_unique<EventWriter>(std::move(*events));
    records_ = std::make_unique<ExitRecords>(dir_.path());
    std::filesystem::create_directories(dir_.path() / "logs");

    config_.pod = pod_.get();
    config_.supervisor = sup_.get();
    config_.clock = &clock_;
    for (const auto* list : {&pod_->spec.init_containers, &pod_->spec.containers}) {
      for (const Container& c : *list) {
        config_.specs.emplace(c.name, testing::DefaultTestSpec({"run", c.name}));
      }
    }
    if (with_cgroups) config_.cgroups = &cgroups_;
    config_.launcher = &launcher_;
    config_.signaller = &signaller_;
    config_.events = events_.get();
    config_.exit_records = records_.get();
    config_.status_path = dir_.path() / "status.json";
    config_.log_dir = dir_.path() / "logs";
    config_.status_context = {"BestEffort", "/sys/fs/cgroup/fake/pod-test"};
    config_.signal_source = &signals_;
    config_.wake_timer = &wake_;
  }

  // Runs the loop; `steps` run in order on its thread once the pod started, each after the loop
  // handled everything the previous one caused. A pod still running after the last step fails
  // the test (the loop is stopped, Run() returns an error).
  Result<PodOutcome> Run(std::vector<Step> steps) {
    EventLoop loop(std::move(config_));
    steps_ = std::move(steps);
    steps_.push_back([&loop] {
      ADD_FAILURE() << "the pod has not finished after the last step";
      loop.io().stop();
    });
    Post(loop, 0);
    return loop.Run();
  }

  // Every event as "Type container" ("PodStarted", "ContainerExited web").
  std::vector<std::string> Events() const {
    std::vector<std::string> out;
    for (const nlohmann::json& e : EventObjects()) {
      std::string line = e.at("type").get<std::string>();
      if (e.contains("container")) line += " " + e.at("container").get<std::string>();
      out.push_back(std::move(line));
    }
    return out;
  }
  // The events of one type, as parsed JSON objects.
  std::vector<nlohmann::json> EventsOf(const std::string& type) const {
    std::vector<nlohmann::json> out;
    for (nlohmann::json& e : EventObjects()) {
      if (e.at("type") == type) out.push_back(std::move(e));
    }
    return out;
  }
  std::vector<nlohmann::json> EventObjects() const {
    std::vector<nlohmann::json> out;
    std::ifstream in(dir_.path() / "events.jsonl");
    for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
    return out;
  }

  pid_t Pid(const std::string& container) const { return launcher_.PidOf(container); }
  std::vector<std::string> LaunchedNames() const {
    std::vector<std::string> out;
    for (const auto& l : launcher_.launched()) out.push_back(l.container);
    return out;
  }

  testing::TempDir dir_;
  FakeClock clock_;
  FakeLauncher launcher_;
  FakeCgroupManager cgroups_;
  RecordingSignaller signaller_;
  FakeSignalSource signals_;
  FakeWakeTimer wake_;
  std::unique_ptr<Pod> pod_;
  std::unique_ptr<Supervisor> sup_;
  std::unique_ptr<EventWriter> events_;
  std::unique_ptr<ExitRecords> records_;
  EventLoopConfig config_;

 private:
  void Post(EventLoop& loop, size_t i) {
    if (i >= steps_.size()) return;
    boost::asio::post(loop.io(), [this, &loop, i] {
      steps_[i]();
      Post(loop, i + 1);
    });
  }

  std::vector<Step> steps_;
};

}  // namespace podshim::shim::event_loop_test
