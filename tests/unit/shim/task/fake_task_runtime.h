// FakeTaskRuntime: a TaskRuntime that records each call as a line ("create t1", "signal t1 15")
// and fails where a test says so; TaskServiceHarness drives a TaskService over it and keeps
// the events it publishes.
#pragma once

#include <fcntl.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fixtures/rpc_reply.h"
#include "gtest/gtest.h"
#include "shim/proto/events.pb.h"
#include "shim/proto/task.pb.h"
#include "shim/task/task_service.h"

namespace podshim::shim::task {

class FakeTaskRuntime : public TaskRuntime {
 public:
  Result<CreatedTask> Create(const TaskLaunch& launch) override {
    calls.push_back("create " + launch.key.id + " " + launch.key.bundle.string());
    launches.push_back(launch);
    if (fail_create) return *fail_create;
    CreatedTask created;
    created.pid = next_pid++;
    if (auto it = annotations.find(launch.key.id); it != annotations.end()) {
      created.annotations = it->second;
    }
    if (launch.terminal) {  // stand-ins: the service only keeps and passes them on
      created.master = UniqueFd(::open("/dev/null", O_RDWR | O_CLOEXEC));
      if (!launch.stdin_path.empty()) created.stdin_fifo = UniqueFd(::open("/dev/null", O_RDONLY));
      if (!launch.stdout_path.empty())
        created.stdout_fifo = UniqueFd(::open("/dev/null", O_WRONLY));
    } else if (!launch.stdin_path.empty()) {  // the stdin pump's FIFO and pipe
      created.stdin_fifo = UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
      created.stdin_pipe = UniqueFd(::open("/dev/null", O_WRONLY | O_CLOEXEC));
    }
    if (!launch.stdin_path.empty()) {
      created.stdin_keep = UniqueFd(::open("/dev/null", O_WRONLY | O_CLOEXEC));
    }
    return created;
  }
  Status ResizePty(int master, uint16_t width, uint16_t height) override {
    return Record("resize " + std::to_string(width) + "x" + std::to_string(height) +
                      (master >= 0 ? "" : " (no master)"),
                  fail_resize);
  }
  Status Start(const TaskKey& key) override { return Record("start " + key.id, fail_start); }
  Result<CreatedTask> StartExec(const ExecLaunch& launch) override {
    calls.push_back("start-exec " + launch.key.id + " " + launch.exec_id +
                    (launch.cgroup_dir.empty() ? "" : " cgroup=" + launch.cgroup_dir.string()));
    exec_launches.push_back(launch);
    if (fail_start_exec) return *fail_start_exec;
    CreatedTask created;
    created.pid = next_pid++;
    if (launch.process.terminal) created.master = UniqueFd(::open("/dev/null", O_RDWR | O_CLOEXEC));
    if (!launch.stdin_path.empty()) {  // stand-ins for the FIFO, its keeper and the pipe
      created.stdin_fifo = UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
      created.stdin_keep = UniqueFd(::open("/dev/null", O_WRONLY | O_CLOEXEC));
      if (!launch.process.terminal) {
        created.stdin_pipe = UniqueFd(::open("/dev/null", O_WRONLY | O_CLOEXEC));
      }
    }
    return created;
  }
  Status SignalProcess(pid_t pid, int sig) override {
    return Record("signal-pid " + std::to_string(pid) + " " + std::to_string(sig), fail_signal);
  }
  Status Signal(const TaskKey& key, int sig) override {
    return Record("signal " + key.id + " " + std::to_string(sig), fail_signal);
  }
  Status SignalAll(const TaskKey& key, int sig) override {
    return Record("signal-all " + key.id + " " + std::to_string(sig), fail_signal);
  }
  Result<std::vector<pid_t>> Pids(const TaskKey& key) override {
    calls.push_back("pids " + key.id);
    return pids;
  }
  Result<std::filesystem::path> CgroupDir(const TaskKey& key) override {
    calls.push_back("cgroup-dir " + key.id);
    return cgroup_dir;
  }
  Status Update(const TaskKey& key, const std::string& resources_json,
                const std::string& field) override {
    return Record("update " + key.id + " " + field + " " + resources_json, fail_update);
  }
  Status Pause(const TaskKey& key) override { return Record("pause " + key.id, fail_pause); }
  Status Resume(const TaskKey& key) override { return Record("resume " + key.id, fail_resume); }
  Status RecordExit(const TaskKey& key, int exit_status, bool oom) override {
    return Record("record-exit " + key.id + " " + std::to_string(exit_status) + (oom ? " oom" : ""),
                  std::nullopt);
  }
  Status Remove(const TaskKey& key) override { return Record("remove " + key.id, fail_remove); }

  std::vector<std::string> calls;
  std::vector<TaskLaunch> launches;
  std::vector<ExecLaunch> exec_launches;
  pid_t next_pid = 100;
  std::vector<pid_t> pids = {100, 101};
  std::filesystem::path cgroup_dir;
  // The spec annotations Create reports, by task id.
  std::map<std::string, std::map<std::string, std::string>>
      annotations;  // CgroupDir's answer (empty: no cgroup)
  std::optional<Error> fail_create, fail_start, fail_signal, fail_remove, fail_resize;
  std::optional<Error> fail_update, fail_pause, fail_resume, fail_start_exec;

 private:
  Status Record(std::string call, const std::optional<Error>& fail) {
    calls.push_back(std::move(call));
    if (fail) return *fail;
    return Ok();
  }
};

// Records the relays' calls ("start t1 master in out", "exited t1", "stop t1").
class FakeTerminalRelays : public TerminalRelays {
 public:
  Status Start(const std::string& id, UniqueFd master, UniqueFd in, UniqueFd out) override {
    calls.push_back("start " + id + (master ? " master" : "") + (in ? " in" : "") +
                    (out ? " out" : ""));
    if (fail_start) return *fail_start;
    return Ok();
  }
  void TaskExited(const std::string& id) override { calls.push_back("exited " + id); }
  void Stop(const std::string& id) override { calls.push_back("stop " + id); }

  std::vector<std::string> calls;
  std::optional<Error> fail_start;
};

// Records the pumps' calls ("start t1/e1", "stop t1/e1").
class FakeStdinPumps : public StdinPumps {
 public:
  Status Start(const std::string& key, UniqueFd fifo, UniqueFd pipe) override {
    calls.push_back("start " + key + (fifo && pipe ? "" : " (missing fd)"));
    return Ok();
  }
  void Stop(const std::string& key) override { calls.push_back("stop " + key); }

  std::vector<std::string> calls;
};

struct PublishedEvent {
  std::string topic;
  std::string type_url;
  std::string bytes;
};

namespace v2 = containerd::task::v2;
namespace events = containerd::events;

class TaskServiceHarness : public ::testing::Test {
 protected:
  static constexpr pid_t kShimPid = 4242;
  const WallTime kNow = WallTime(std::chrono::seconds(1'700'000'000) + std::chrono::nanoseconds(5));

  // The reply of a call answered at once (the test fails if it was not).
  ttrpc::RpcResult Call(const std::string& method, const std::string& payload,
                        const std::string& service = "containerd.task.v2.Task") {
    auto out = std::make_shared<std::optional<ttrpc::RpcResult>>();
    service_.Handle({service, method, payload, "", 0}, [out](ttrpc::RpcResult r) { *out = r; });
    EXPECT_TRUE(out->has_value()) << method << " was not answered at once";
    if (!out->has_value()) return std::unexpected(ttrpc::RpcError{ttrpc::Code::kUnknown, "none"});
    return **out;
  }
  template <class Request>
  requires(!std::is_convertible_v<Request, std::string>) ttrpc::RpcResult
      Call(const std::string& method, const Request& req) {
    return Call(method, req.SerializeAsString());
  }
  // Parses a successful reply as `Reply` (the test fails on an error).
  template <class Reply>
  Reply Decode(const ttrpc::RpcResult& r) {
    return podshim::testing::DecodeReply<Reply>(r);
  }

  v2::CreateTaskResponse CreateTask(const std::string& id) {
    v2::CreateTaskRequest req;
    req.set_id(id);
    req.set_bundle("/run/b/" + id);
    return Decode<v2::CreateTaskResponse>(Call("Create", req));
  }
  ttrpc::RpcResult StartTask(const std::string& id) {
    v2::StartRequest req;
    req.set_id(id);
    return Call("Start", req);
  }
  std::vector<std::string> Topics() const {
    std::vector<std::string> out;
    for (const PublishedEvent& e : events_) out.push_back(e.topic);
    return out;
  }

  FakeTaskRuntime runtime_;
  FakeTerminalRelays terminals_;
  FakeStdinPumps pumps_;
  std::vector<PublishedEvent> events_;
  int shutdowns_ = 0;
  TaskService service_{
      runtime_,
      [this](std::string topic, std::string type_url, std::string bytes) {
        events_.push_back({std::move(topic), std::move(type_url), std::move(bytes)});
      },
      Options()};

  TaskServiceOptions Options() {
    TaskServiceOptions opts;
    opts.shim_pid = kShimPid;
    opts.ns = "default";
    opts.on_shutdown = [this] { ++shutdowns_; };
    opts.clock = [this] { return kNow; };
    opts.terminals = &terminals_;
    opts.stdin_pumps = &pumps_;
    return opts;
  }
};

// A waitpid status: exited with `code`, or killed by `sig`.
// The reaper's report for pid 100, the fake runtime's first task.
inline signals::ExitEvent Exited(int code) { return signals::ExitedWith(100, code); }
inline signals::ExitEvent Killed(int sig) { return signals::KilledBy(100, sig); }

}  // namespace podshim::shim::task
