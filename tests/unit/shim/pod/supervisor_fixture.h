// SupervisorTest: the fixture of the supervisor's unit tests (header-only). A test makes a
// Supervisor over a FakeClock, plays the shim's part (starts, exits, hook ends, deadlines) and
// reads the queued actions back as text ("Launch web #0", "Signal proxy SIGTERM", events).
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "fixtures/fakes/fake_clock.h"
#include "shim/pod/supervisor.h"

namespace podshim::shim::supervisor_test {

using std::chrono::minutes;
using std::chrono::seconds;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

inline ContainerPlan Container(std::string name, Role role) {
  ContainerPlan c;
  c.name = std::move(name);
  c.role = role;
  return c;
}
inline ContainerPlan Init(std::string name) { return Container(std::move(name), Role::kInit); }
inline ContainerPlan Sidecar(std::string name) {
  return Container(std::move(name), Role::kSidecar);
}
inline ContainerPlan App(std::string name) { return Container(std::move(name), Role::kApp); }

// A snapshot for the pure phase tests.
inline ContainerSnapshot Snap(std::string name, Role role, StateSnapshot::Kind kind,
                              std::optional<int> exit_code = std::nullopt) {
  ContainerSnapshot c;
  c.name = std::move(name);
  c.role = role;
  c.state.kind = kind;
  c.state.exit_code = exit_code;
  return c;
}

inline PodPlan Pod(PodRestartPolicy policy, std::vector<ContainerPlan> containers,
                   seconds grace = seconds(30)) {
  return {.pod_name = "pod",
          .restart_policy = policy,
          .grace = grace,
          .containers = std::move(containers)};
}

class SupervisorTest : public ::testing::Test {
 protected:
  void Make(PodPlan plan, SupervisorOptions options = {}) {
    auto s = Supervisor::Create(std::move(plan), clock_, options);
    ASSERT_TRUE(s.has_value()) << s.error().ToString();
    sup_.emplace(std::move(*s));
  }
  Supervisor& sup() { return *sup_; }

  // Every queued action, described (events included), then the queue is empty.
  std::vector<std::string> All() {
    std::vector<std::string> out;
    for (const SupervisorAction& a : sup().TakeActions()) out.push_back(DescribeAction(a));
    return out;
  }
  // Only what the shim must do (no events).
  std::vector<std::string> Ops() {
    std::vector<std::string> out;
    for (const SupervisorAction& a : sup().TakeActions()) {
      if (!std::holds_alternative<EmitAction>(a)) out.push_back(DescribeAction(a));
    }
    return out;
  }
  // Only the event types ("ContainerStarted app").
  std::vector<std::string> Events() {
    std::vector<std::string> out;
    for (const SupervisorAction& a : sup().TakeActions()) {
      if (const auto* e = std::get_if<EmitAction>(&a)) {
        out.push_back(e->event.type + (e->event.container.empty() ? "" : " " + e->event.container));
      }
    }
    return out;
  }

  // The shim's side of the conversation.
  void Start() { ASSERT_TRUE(sup().Start().has_value()); }
  void Running(std::string_view name) {
    auto s = sup().OnContainerStarted(name, next_pid_++);
    ASSERT_TRUE(s.has_value()) << s.error().ToString();
  }
  void Exit(std::string_view name, int code) {
    auto s = sup().OnContainerExited(name, ContainerExit::Code(code));
    ASSERT_TRUE(s.has_value()) << s.error().ToString();
  }
  void Killed(std::string_view name, int sig) {
    auto s = sup().OnContainerExited(name, ContainerExit::Signalled(sig));
    ASSERT_TRUE(s.has_value()) << s.error().ToString();
  }
  // Lets time pass to the next deadline and fires it.
  void FireDeadline() {
    auto d = sup().NextDeadline();
    ASSERT_TRUE(d.has_value()) << "no deadline armed";
    clock_.AdvanceTo(*d);
    sup().OnDeadline();
  }
  seconds UntilDeadline() {
    auto d = sup().NextDeadline();
    return d ? std::chrono::duration_cast<seconds>(*d - clock_.Now()) : seconds(-1);
  }
  const ContainerSnapshot& Status(std::string_view name) {
    snapshot_ = sup().Snapshot();
    for (const ContainerSnapshot& c : snapshot_.containers) {
      if (c.name == name) return c;
    }
    ADD_FAILURE() << "no container " << name;
    return snapshot_.containers.front();
  }

  FakeClock clock_;
  std::optional<Supervisor> sup_;
  PodSnapshot snapshot_;
  pid_t next_pid_ = 1000;
};

}  // namespace podshim::shim::supervisor_test
