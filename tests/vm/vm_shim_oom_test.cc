// The containerd shim's OOM event in the VM (pure cgroup v2, the memory controller everywhere):
// the test plays containerd, serving Events/Forward on the socket it names as TTRPC_ADDRESS,
// runs `containerd-shim-podshim-v2 start`, and drives two tasks of one group over ttrpc: one
// allocates past its 32 MiB limit (no swap) and must give /tasks/oom before /tasks/exit, exit
// status 137 and an exit record marked OOM (read again by the `delete` subcommand); the other
// stays below it and must give no TaskOOM. A task whose child is OOM-killed gets TaskOOM from
// the inotify watch while it still runs.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "fixtures/bundle.h"
#include "oci/default_spec.h"
#include "shim/proto/events.pb.h"
#include "shim/proto/task.pb.h"
#include "shim/proto/wire_types.pb.h"
#include "shim/shimv2/shim_socket.h"
#include "shim/task/task_cleanup.h"
#include "shim/task/task_runtime_oci.h"
#include "shim/ttrpc/client.h"
#include "shim/ttrpc/server.h"
#include "vm/vm_cgroup_skip.h"
#include "vm/vm_util.h"

namespace podshim::vmtest {
namespace {

namespace v2 = containerd::task::v2;
namespace ttrpc = shim::ttrpc;
constexpr const char* kParent = "vmtest-shim-oom";
constexpr const char* kNs = "vmtest";
constexpr const char* kGroup = "vmoom";

// Set by the guest's /init (scripts/vm-test.sh).
std::string ShimBinary() {
  const char* s = std::getenv("PODSHIM_SHIM_BINARY");
  return s ? s : "/podshim/containerd-shim-podshim-v2";
}

struct Forwarded {
  std::string topic, type_url, bytes;
};

class VmShimOomTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string why = VmCgroupSkipReason(); !why.empty()) GTEST_SKIP() << why;
    ASSERT_EQ(::access(ShimBinary().c_str(), X_OK), 0) << ShimBinary() << " is not in the VM";
    ASSERT_TRUE(oom_bundle_.ok()) << oom_bundle_.error();
    ASSERT_TRUE(ok_bundle_.ok()) << ok_bundle_.error();
    std::string tmpl = "/tmp/shoom-XXXXXX";  // short: socket paths
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    ServeEvents();
  }
  void TearDown() override {
    if (shim_pid_ > 0 && !ProcessGone(shim_pid_)) ::kill(shim_pid_, SIGKILL);
    RemoveCgroupTree(fs::path(kCgroupRoot) / kParent);
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }

  // config.json: /test_proc alloc MB in <kParent>/<id>, 32 MiB of memory and no swap.
  static void Config(const testing::BusyboxBundle& bundle, const std::string& id, int mb) {
    json c = json::parse(oci::DefaultSpecJson({"/test_proc", "alloc", std::to_string(mb)}));
    c["linux"]["cgroupsPath"] = std::string("/") + kParent + "/" + id;
    c["linux"]["resources"] = {{"memory", {{"limit", 33554432}, {"swap", 33554432}}}};
    c["annotations"] = {{"io.containerd.runc.v2.group", kGroup}};
    Status s = bundle.WriteConfig(c.dump());
    ASSERT_TRUE(s) << s.error().ToString();
  }

  // containerd's side of the events: Events/Forward, every envelope kept in order.
  void ServeEvents() {
    events_socket_ = dir_ / "ev.sock";
    auto listener = shim::shimv2::ListenAt(events_socket_);
    ASSERT_TRUE(listener) << listener.error().ToString();
    events_server_ = std::make_unique<ttrpc::Server>(
        loop_, [this](ttrpc::RpcCall call, ttrpc::Responder respond) {
          containerd::events::ForwardRequest req;
          if (call.method != "Forward" || !req.ParseFromString(call.payload)) {
            return respond(std::unexpected(ttrpc::Unimplemented(call)));
          }
          const auto& env = req.envelope();
          forwarded_.push_back({env.topic(), env.event().type_url(), env.event().value()});
          respond(std::string());  // google.protobuf.Empty
        });
    ASSERT_TRUE(events_server_->Serve(std::move(*listener)));
  }

  // `containerd-shim-podshim-v2 FLAGS... ACTION` for `bundle`: its exit status; stdout in *out.
  int Shim(const testing::BusyboxBundle& bundle, const std::string& id, const std::string& action,
           std::string* out) {
    fs::path o = dir_ / (action + ".out"), e = dir_ / (action + ".err");
    std::error_code ec;
    fs::remove(o, ec);
    ::setenv("TTRPC_ADDRESS", events_socket_.c_str(), 1);
    pid_t pid =
        Spawn({ShimBinary(), "-namespace", kNs, "-address", (dir_ / "containerd.sock").string(),
               "-publish-binary", "/bin/true", "-id", id, "-bundle", bundle.dir().string(), action},
              o, e);
    // The loop runs meanwhile: `delete` may forward an event to us.
    int status = -1;
    RunUntil(
        [&] {
          int w = 0;
          if (::waitpid(pid, &w, WNOHANG) != pid) return false;
          status = DecodeWait(w);
          return true;
        },
        30s);
    if (status < 0) status = WaitFor(pid, 0ms);
    *out = ReadText(o);
    if (status != 0) ADD_FAILURE() << action << ": " << ReadText(e);
    return status;
  }

  void RunUntil(const std::function<bool()>& done, std::chrono::milliseconds limit) {
    auto until = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < until) {
      loop_.run_for(10ms);
      loop_.restart();
    }
  }

  // One Task call on the shim; the loop runs (events come in) until it is answered.
  template <class Reply, class Request>
  Reply Call(const std::string& method, const Request& req,
             std::chrono::milliseconds timeout = 60s) {
    std::optional<ttrpc::RpcResult> out;
    client_->Call("containerd.task.v2.Task", method, req.SerializeAsString(),
                  {{"containerd-namespace-ttrpc", kNs}}, timeout,
                  [&out](ttrpc::RpcResult r) { out = std::move(r); });
    RunUntil([&] { return out.has_value(); }, timeout + 2s);
    Reply reply;
    if (!out || !*out) {
      ADD_FAILURE() << method << ": " << (out ? (*out).error().message : "no answer");
    } else {
      EXPECT_TRUE(reply.ParseFromString(**out)) << method;
    }
    return reply;
  }

  // Create and Start `id` from `bundle` (no rootfs mounts: root.path is used as it is).
  void Run(const testing::BusyboxBundle& bundle, const std::string& id) {
    v2::CreateTaskRequest create;
    create.set_id(id);
    create.set_bundle(bundle.dir().string());
    EXPECT_NE(Call<v2::CreateTaskResponse>("Create", create).pid(), 0u);
    v2::StartRequest start;
    start.set_id(id);
    Call<v2::StartResponse>("Start", start);
  }

  // `start` for `bundle`'s task `id`, then a client connected to the shim it prints.
  void StartShim(const testing::BusyboxBundle& bundle, const std::string& id) {
    std::string address;
    ASSERT_EQ(Shim(bundle, id, "start", &address), 0);
    ASSERT_EQ(address.rfind("unix://", 0), 0u) << address;
    client_ = std::make_unique<ttrpc::Client>(loop_, address);
    v2::ConnectRequest connect;
    connect.set_id(id);
    shim_pid_ = static_cast<pid_t>(Call<v2::ConnectResponse>("Connect", connect).shim_pid());
    ASSERT_GT(shim_pid_, 0);
  }

  // Delete and Shutdown: the last Shutdown ends the shim (its answer or the closed connection
  // is success). Returns Delete's exit status.
  uint32_t DeleteAndShutdown(const std::string& id) {
    v2::DeleteRequest del;
    del.set_id(id);
    const uint32_t status = Call<v2::DeleteResponse>("Delete", del).exit_status();
    v2::ShutdownRequest shutdown;
    shutdown.set_id(id);
    std::optional<ttrpc::RpcResult> out;
    client_->Call("containerd.task.v2.Task", "Shutdown", shutdown.SerializeAsString(),
                  {{"containerd-namespace-ttrpc", kNs}}, 5s,
                  [&out](ttrpc::RpcResult r) { out = std::move(r); });
    RunUntil([&] { return out.has_value(); }, 7s);
    return status;
  }

  // The topics forwarded for container `id`, in order.
  std::vector<std::string> TopicsOf(const std::string& id) const {
    std::vector<std::string> out;
    for (const Forwarded& f : forwarded_) {
      std::string container;
      containerd::events::TaskOOM any;  // container_id is field 1 in every task event
      if (any.ParseFromString(f.bytes)) container = any.container_id();
      if (container == id) out.push_back(f.topic);
    }
    return out;
  }

  testing::BusyboxBundle oom_bundle_{TestProc()}, ok_bundle_{TestProc()};
  fs::path dir_, events_socket_;
  boost::asio::io_context loop_;
  std::unique_ptr<ttrpc::Server> events_server_;
  std::unique_ptr<ttrpc::Client> client_;
  std::vector<Forwarded> forwarded_;
  pid_t shim_pid_ = -1;
};

TEST_F(VmShimOomTest, AnOomKilledTaskGivesTaskOomBeforeItsExitAnd137AndAnOomExitRecord) {
  const auto t0 = std::chrono::steady_clock::now();
  Config(oom_bundle_, "oom1", 96);
  Config(ok_bundle_, "ok1", 8);
  StartShim(oom_bundle_, "oom1");
  Run(ok_bundle_, "ok1");  // below the limit: exits 0, no TaskOOM
  Run(oom_bundle_, "oom1");
  for (const char* id : {"ok1", "oom1"}) {
    v2::WaitRequest wait;
    wait.set_id(id);
    auto exited = Call<v2::WaitResponse>("Wait", wait);
    EXPECT_EQ(exited.exit_status(), std::string(id) == "oom1" ? 137u : 0u) << id;
  }
  RunUntil([&] { return TopicsOf("oom1").size() >= 3 && TopicsOf("ok1").size() >= 3; }, 10s);
  EXPECT_EQ(TopicsOf("oom1"), (std::vector<std::string>{"/tasks/create", "/tasks/start",
                                                        "/tasks/oom", "/tasks/exit"}));
  EXPECT_EQ(TopicsOf("ok1"),
            (std::vector<std::string>{"/tasks/create", "/tasks/start", "/tasks/exit"}));
  for (const Forwarded& f : forwarded_) {
    if (f.topic == "/tasks/oom") {
      EXPECT_EQ(f.type_url, "containerd.events.TaskOOM");
    }
  }

  // The durable record, before and after Delete (which leaves it for `delete`).
  auto record = shim::task::TaskExitRecords(oom_bundle_.dir()).Read("oom1");
  ASSERT_TRUE(record && *record);
  EXPECT_EQ((*record)->status, 137);
  EXPECT_TRUE((*record)->oom);
  auto ok_record = shim::task::TaskExitRecords(ok_bundle_.dir()).Read("ok1");
  ASSERT_TRUE(ok_record && *ok_record);
  EXPECT_FALSE((*ok_record)->oom);

  EXPECT_EQ(DeleteAndShutdown("ok1"), 0u);
  EXPECT_EQ(DeleteAndShutdown("oom1"), 137u);
  EXPECT_TRUE(Eventually([&] { return ProcessGone(shim_pid_); }, 10s)) << "the shim still runs";

  // containerd's `delete` after the task: the exit status from the record, which says OOM;
  // the server has published TaskOOM already, so `delete` publishes nothing.
  const size_t forwarded = forwarded_.size();
  std::string bytes;
  ASSERT_EQ(Shim(oom_bundle_, "oom1", "delete", &bytes), 0);
  v2::DeleteResponse deleted;
  ASSERT_TRUE(deleted.ParseFromString(bytes));
  EXPECT_EQ(deleted.exit_status(), 137u);
  EXPECT_EQ(forwarded_.size(), forwarded) << "delete published after a normal Delete";
  record = shim::task::TaskExitRecords(oom_bundle_.dir()).Read("oom1");
  ASSERT_TRUE(record && *record);
  EXPECT_TRUE((*record)->oom);
  auto cleaned = shim::task::CleanupTask(oom_bundle_.dir(), "oom1");  // what `delete` reads
  ASSERT_TRUE(cleaned);
  EXPECT_TRUE(cleaned->oom);
  EXPECT_EQ(cleaned->exit_status, 137);
  EXPECT_FALSE(fs::exists(fs::path(kCgroupRoot) / kParent / "oom1")) << "cgroup left";
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("VmShimOomTest: guest seconds %.2f\n", seconds);
}

// The OOM killer takes a child (the largest process), the init lives on: TaskOOM comes from the
// inotify watch while the task runs, and its exit after a Kill is still OOMKilled, as in CRI.
TEST_F(VmShimOomTest, AnOomKilledChildIsReportedWhileTheTaskRuns) {
  const auto t0 = std::chrono::steady_clock::now();
  json c = json::parse(oci::DefaultSpecJson(
      {"sh", "-c", "/test_proc alloc 96; echo alloc=$?; exec /test_proc sleep 100000"}));
  c["linux"]["cgroupsPath"] = std::string("/") + kParent + "/child1";
  c["linux"]["resources"] = {{"memory", {{"limit", 33554432}, {"swap", 33554432}}}};
  ASSERT_TRUE(oom_bundle_.WriteConfig(c.dump()));
  StartShim(oom_bundle_, "child1");
  Run(oom_bundle_, "child1");
  RunUntil([&] { return TopicsOf("child1").size() >= 3; }, 20s);
  EXPECT_EQ(TopicsOf("child1"),
            (std::vector<std::string>{"/tasks/create", "/tasks/start", "/tasks/oom"}));
  v2::StateRequest state;
  state.set_id("child1");
  EXPECT_EQ(Call<v2::StateResponse>("State", state).status(), v2::RUNNING);

  v2::KillRequest kill;
  kill.set_id("child1");
  kill.set_signal(SIGKILL);
  Call<podshim::wire::Empty>("Kill", kill);
  v2::WaitRequest wait;
  wait.set_id("child1");
  EXPECT_EQ(Call<v2::WaitResponse>("Wait", wait).exit_status(), 137u);
  RunUntil([&] { return TopicsOf("child1").size() >= 4; }, 5s);
  EXPECT_EQ(TopicsOf("child1").back(), "/tasks/exit");
  EXPECT_EQ(TopicsOf("child1").size(), 4u) << "one TaskOOM only";
  auto record = shim::task::TaskExitRecords(oom_bundle_.dir()).Read("child1");
  ASSERT_TRUE(record && *record);
  EXPECT_TRUE((*record)->oom);
  EXPECT_EQ(DeleteAndShutdown("child1"), 137u);
  EXPECT_TRUE(Eventually([&] { return ProcessGone(shim_pid_); }, 10s)) << "the shim still runs";
  std::printf("VmShimOomTest child: guest seconds %.2f\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
}

// The shim server dies (SIGKILL) after an OOM kill it recorded: containerd's `delete` reads the
// record and publishes TaskOOM itself, before containerd publishes the exit it prints.
TEST_F(VmShimOomTest, AfterAShimCrashDeletePublishesTheRecordedOom) {
  Config(oom_bundle_, "crash1", 96);
  StartShim(oom_bundle_, "crash1");
  Run(oom_bundle_, "crash1");
  v2::WaitRequest wait;
  wait.set_id("crash1");
  EXPECT_EQ(Call<v2::WaitResponse>("Wait", wait).exit_status(), 137u);
  RunUntil([&] { return TopicsOf("crash1").size() >= 4; }, 5s);
  ASSERT_EQ(::kill(shim_pid_, SIGKILL), 0);
  ASSERT_TRUE(Eventually([&] { return ProcessGone(shim_pid_); }, 10s));
  client_.reset();
  forwarded_.clear();

  std::string bytes;
  ASSERT_EQ(Shim(oom_bundle_, "crash1", "delete", &bytes), 0);
  v2::DeleteResponse deleted;
  ASSERT_TRUE(deleted.ParseFromString(bytes));
  EXPECT_EQ(deleted.exit_status(), 137u);
  EXPECT_NE(deleted.pid(), 0u);
  EXPECT_EQ(TopicsOf("crash1"), (std::vector<std::string>{"/tasks/oom"}));
  EXPECT_FALSE(fs::exists(fs::path(kCgroupRoot) / kParent / "crash1")) << "cgroup left";
}

}  // namespace
}  // namespace podshim::vmtest
