// TaskService's OOM watch over a fake: a task with a cgroup is watched from Create to Delete, a
// rise of memory.events' oom_kill publishes TaskOOM (before TaskExit when it is read at the
// exit) and marks the exit record; a normal exit, a task without a cgroup or a cgroup without
// the memory controller publish none.
#include <map>

#include "fake_task_runtime.h"

namespace podshim::shim::task {
namespace {

// Records the calls ("add t1 /cg", "read t1", "remove t1"); counters are set by the test.
class FakeOomWatch : public OomWatch {
 public:
  Result<std::optional<uint64_t>> Add(const std::string& id,
                                      const std::filesystem::path& cgroup_dir) override {
    calls.push_back("add " + id + " " + cgroup_dir.string());
    if (no_memory_controller) return std::optional<uint64_t>();
    return std::optional<uint64_t>(kills[id]);
  }
  std::optional<uint64_t> Read(const std::string& id) override {
    calls.push_back("read " + id);
    return kills[id];
  }
  void Remove(const std::string& id) override { calls.push_back("remove " + id); }

  std::vector<std::string> calls;
  std::map<std::string, uint64_t> kills;
  bool no_memory_controller = false;
};

class TaskOomTest : public TaskServiceHarness {
 protected:
  TaskOomTest() { runtime_.cgroup_dir = "/sys/fs/cgroup/k8s.io/t1"; }

  ttrpc::RpcResult Send(const std::string& method, const std::string& payload) {
    ttrpc::RpcResult out = std::unexpected(ttrpc::RpcError{ttrpc::Code::kUnknown, "none"});
    oom_service_.Handle({"containerd.task.v2.Task", method, payload, "", 0},
                        [&out](ttrpc::RpcResult r) { out = std::move(r); });
    return out;
  }
  void CreateAndStart(const std::string& id) {
    v2::CreateTaskRequest create;
    create.set_id(id);
    create.set_bundle("/run/b/" + id);
    ASSERT_TRUE(Send("Create", create.SerializeAsString()));
    v2::StartRequest start;
    start.set_id(id);
    ASSERT_TRUE(Send("Start", start.SerializeAsString()));
  }
  ttrpc::RpcResult Delete(const std::string& id) {
    v2::DeleteRequest req;
    req.set_id(id);
    return Send("Delete", req.SerializeAsString());
  }
  std::vector<std::string> OomTopics() const {
    std::vector<std::string> out;
    for (const PublishedEvent& e : published_) out.push_back(e.topic);
    return out;
  }

  FakeOomWatch oom_;
  std::vector<PublishedEvent> published_;
  TaskService oom_service_{
      runtime_,
      [this](std::string topic, std::string type_url, std::string bytes) {
        published_.push_back({std::move(topic), std::move(type_url), std::move(bytes)});
      },
      [this] {
        TaskServiceOptions opts;
        opts.shim_pid = kShimPid;
        opts.ns = "default";
        opts.clock = [this] { return kNow; };
        opts.oom = &oom_;
        return opts;
      }()};
};

TEST_F(TaskOomTest, AnOomKillSeenAtTheExitIsPublishedBeforeTaskExitAndRecorded) {
  CreateAndStart("t1");
  EXPECT_EQ(oom_.calls, (std::vector<std::string>{"add t1 /sys/fs/cgroup/k8s.io/t1"}));
  oom_.kills["t1"] = 1;  // the kernel counted it; the inotify event has not come yet
  oom_service_.OnExit(Killed(SIGKILL));
  EXPECT_EQ(OomTopics(), (std::vector<std::string>{"/tasks/create", "/tasks/start", "/tasks/oom",
                                                   "/tasks/exit"}));
  events::TaskOOM ev;
  ASSERT_TRUE(ev.ParseFromString(published_[2].bytes));
  EXPECT_EQ(published_[2].type_url, "containerd.events.TaskOOM");
  EXPECT_EQ(ev.container_id(), "t1");
  EXPECT_EQ(runtime_.calls.back(), "record-exit t1 137 oom");

  oom_service_.OnOomKills("t1", 1);  // the late inotify report: no second event
  EXPECT_EQ(OomTopics().size(), 4u);
  ASSERT_TRUE(Delete("t1"));
  EXPECT_EQ(oom_.calls.back(), "remove t1");
}

TEST_F(TaskOomTest, TheWatchReportsEachRiseOnceWhileTheTaskRuns) {
  oom_.kills["t1"] = 2;  // a reused cgroup's earlier kills are the baseline
  CreateAndStart("t1");
  oom_service_.OnOomKills("t1", 2);
  EXPECT_EQ(OomTopics().size(), 2u) << "no rise yet";
  oom_service_.OnOomKills("t1", 3);  // a child was OOM-killed; the init lives on
  oom_service_.OnOomKills("t1", 3);
  oom_service_.OnOomKills("t1", 4);
  oom_service_.OnOomKills("other", 9);
  EXPECT_EQ(OomTopics(), (std::vector<std::string>{"/tasks/create", "/tasks/start", "/tasks/oom",
                                                   "/tasks/oom"}));
  oom_.kills["t1"] = 4;
  oom_service_.OnExit(Exited(0));
  EXPECT_EQ(runtime_.calls.back(), "record-exit t1 0 oom") << "OOMKilled sticks, as in CRI";
}

TEST_F(TaskOomTest, ANormalExitPublishesNoTaskOomAndRecordsNoOom) {
  CreateAndStart("t1");
  oom_service_.OnOomKills("t1", 0);  // memory.events changed (memory.high, say), no kill
  oom_service_.OnExit(Exited(3));
  EXPECT_EQ(OomTopics(),
            (std::vector<std::string>{"/tasks/create", "/tasks/start", "/tasks/exit"}));
  EXPECT_EQ(runtime_.calls.back(), "record-exit t1 3");
  ASSERT_TRUE(Delete("t1"));
  EXPECT_EQ(oom_.calls,
            (std::vector<std::string>{"add t1 /sys/fs/cgroup/k8s.io/t1", "read t1", "remove t1"}));
}

TEST_F(TaskOomTest, NoCgroupOrNoMemoryControllerMeansNoWatch) {
  runtime_.cgroup_dir.clear();
  CreateAndStart("t1");
  EXPECT_TRUE(oom_.calls.empty());
  oom_service_.OnExit(Exited(0));
  EXPECT_TRUE(oom_.calls.empty());

  runtime_.cgroup_dir = "/sys/fs/cgroup/unified/t2";
  oom_.no_memory_controller = true;
  runtime_.next_pid = 200;
  CreateAndStart("t2");
  oom_service_.OnOomKills("t2", 5);  // not watched: ignored
  oom_service_.OnExit(signals::KilledBy(200, SIGKILL));
  ASSERT_TRUE(Delete("t2"));
  EXPECT_EQ(oom_.calls, (std::vector<std::string>{"add t2 /sys/fs/cgroup/unified/t2"}));
  for (const PublishedEvent& e : published_) EXPECT_NE(e.topic, "/tasks/oom");
}

TEST_F(TaskOomTest, ACreatedTaskDeletedBeforeItRanIsUnwatchedFirst) {
  v2::CreateTaskRequest create;
  create.set_id("t1");
  create.set_bundle("/run/b/t1");
  ASSERT_TRUE(Send("Create", create.SerializeAsString()));
  ASSERT_TRUE(Delete("t1"));
  EXPECT_EQ(oom_.calls, (std::vector<std::string>{"add t1 /sys/fs/cgroup/k8s.io/t1", "remove t1"}));
  EXPECT_EQ(runtime_.calls.back(), "record-exit t1 137");
}

}  // namespace
}  // namespace podshim::shim::task
