// The task service's OOM watch (task_service.h): each task with a cgroup has its memory.events
// watched from Create to Delete; a rise of oom_kill publishes /tasks/oom TaskOOM{container_id},
// the only source of CRI's OOMKilled reason, and marks the task's exit record.
#include "common/line_log.h"
#include "shim/proto/events.pb.h"
#include "shim/task/task_service.h"

namespace podshim::shim::task {

void TaskService::WatchOom(Task& task) {
  if (opts_.oom == nullptr) return;
  auto cgroup = runtime_.CgroupDir(task.key);
  if (!cgroup) {
    line_log::Error("container " + task.key.id + ": no OOM watch: " + cgroup.error().ToString());
    return;
  }
  if (cgroup->empty()) return;  // no cgroup2 on this host
  auto kills = opts_.oom->Add(task.key.id, *cgroup);
  if (!kills) {
    line_log::Error("container " + task.key.id + ": no OOM watch: " + kills.error().ToString());
    return;
  }
  if (!*kills) return;  // no memory controller in its cgroup
  task.oom_watched = true;
  task.oom_kills = **kills;  // the baseline: a reused cgroup's earlier kills are not ours
}

void TaskService::OnOomKills(const std::string& id, uint64_t count) {
  auto it = tasks_.find(id);
  if (it != tasks_.end() && it->second.oom_watched) NoteOomKills(it->second, count);
}

void TaskService::NoteOomKills(Task& task, uint64_t count) {
  if (count <= task.oom_kills) return;
  task.oom_kills = count;
  task.oom_killed = true;
  containerd::events::TaskOOM ev;
  ev.set_container_id(task.key.id);
  Emit("/tasks/oom", "TaskOOM", ev.SerializeAsString());
}

void TaskService::UnwatchOom(Task& task) {
  if (!task.oom_watched) return;
  opts_.oom->Remove(task.key.id);
  task.oom_watched = false;
}

}  // namespace podshim::shim::task
