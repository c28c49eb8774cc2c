// The task service's pod stop (task_service.h StopPod): the order of pod_stop_order.h carried out
// by signals::TerminationPlan, whose deadlines come back through the caller's one timer.
#include <signal.h>

#include <algorithm>
#include <utility>

#include "common/line_log.h"
#include "shim/task/pod_stop_order.h"
#include "shim/task/task_service.h"

namespace podshim::shim::task {

void TaskService::StopPod(const std::string& reason) {
  // Nothing left to stop (no task, or every one has exited): the shim goes now. containerd runs
  // `<shim> delete` for a task it still knows, which reports the durable exit record.
  const bool alive = std::any_of(tasks_.begin(), tasks_.end(),
                                 [](const auto& t) { return t.second.phase != Phase::kStopped; });
  if (!alive) {
    line_log::Warn("told to stop (" + reason + ") with no live task: exiting");
    if (opts_.on_shutdown) opts_.on_shutdown();
    return;
  }
  if (std::exchange(pod_stopping_, true)) return;
  std::vector<const Task*> by_creation;
  for (const auto& [id, task] : tasks_) by_creation.push_back(&task);
  std::sort(by_creation.begin(), by_creation.end(),
            [](const Task* a, const Task* b) { return a->created_seq < b->created_seq; });
  std::vector<PodMember> members;
  for (const Task* t : by_creation) {
    members.push_back({t->key.id, t->annotations, t->phase == Phase::kRunning});
  }
  PodStopOrder order = PodStopOrderOf(members);
  for (const std::string& w : order.warnings) line_log::Warn("pod stop: " + w);
  line_log::Warn("stopping the pod (" + reason + "): " + std::to_string(order.containers.size()) +
                 " containers, grace " + std::to_string(order.grace.count()) + " s");
  stop_last_ = std::move(order.last);
  if (order.containers.empty()) return EndPodStop();
  const Clock& clock = opts_.steady_clock ? *opts_.steady_clock : steady_clock_;
  auto plan = signals::TerminationPlan::Create(clock, std::move(order.containers), order.grace);
  if (!plan) {  // unique task ids and a bounded grace: not expected; stop at once instead
    line_log::Error("pod stop: " + plan.error().ToString() + "; killing every task");
    for (auto& [id, task] : tasks_) stop_last_.push_back(id);
    return EndPodStop();
  }
  stop_plan_.emplace(std::move(*plan));
  TakeStopActions(stop_plan_->Start());
}

void TaskService::OnStopTimer() {
  if (stop_plan_) TakeStopActions(stop_plan_->OnDeadline());
}

void TaskService::TakeStopActions(std::vector<signals::TerminationAction> actions) {
  for (const signals::TerminationAction& a : actions) {
    auto it = tasks_.find(a.container);
    if (it == tasks_.end() || it->second.phase != Phase::kRunning) continue;
    // kStartPreStop never comes: the shim knows no preStop hooks (the kubelet runs them).
    const bool kill = a.kind == signals::TerminationAction::Kind::kKill;
    Status sent = kill ? runtime_.SignalAll(it->second.key, SIGKILL)
                       : runtime_.Signal(it->second.key, a.signal);
    if (!sent) line_log::Error("pod stop: " + a.container + ": " + sent.error().ToString());
  }
  if (opts_.arm_stop_timer) opts_.arm_stop_timer(stop_plan_->NextDeadline());
  if (stop_plan_->Done()) EndPodStop();
}

void TaskService::EndPodStop() {
  stop_plan_.reset();
  if (opts_.arm_stop_timer) opts_.arm_stop_timer(std::nullopt);
  std::vector<std::string> last = std::exchange(stop_last_, {});
  for (auto& [id, task] : tasks_) {
    if (task.phase == Phase::kCreated) last.push_back(id);  // never started: nothing to wait for
  }
  for (const std::string& id : last) {
    auto it = tasks_.find(id);
    if (it == tasks_.end() || it->second.phase == Phase::kStopped) continue;
    Status sent = runtime_.SignalAll(it->second.key, SIGKILL);
    if (!sent) line_log::Error("pod stop: " + id + ": " + sent.error().ToString());
  }
}

}  // namespace podshim::shim::task
