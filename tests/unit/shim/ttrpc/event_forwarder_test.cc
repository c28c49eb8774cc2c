// The events forwarder against a fake containerd Events service on a unix socket: order,
// the envelope's fields, retries while containerd is down, drops, the queue bound and Flush.
#include "shim/ttrpc/event_forwarder.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fixtures/fakes/temp_dir.h"
#include "shim/proto/events.pb.h"
#include "shim/ttrpc/server.h"
#include "unit/shim/ttrpc/ttrpc_test_util.h"

namespace podshim::shim::ttrpc {
namespace {

using testing::ListenAt;
using testing::RunUntil;
using namespace std::chrono_literals;

EventForwarderOptions Options(void (*set)(EventForwarderOptions&)) {
  EventForwarderOptions options;
  set(options);
  return options;
}

struct Received {
  std::string ns;  // from the metadata
  ::containerd::events::Envelope envelope;
};

class EventForwarderTest : public ::testing::Test {
 protected:
  EventForwarderTest() : path_((dir_.path() / "ttrpc.sock").string()) {}

  // Fake containerd: records each Forward; answers with `answer_` (success when unset), or
  // not at all while `hold_` is set.
  void StartContainerd() {
    containerd_ = std::make_unique<Server>(io_, [this](RpcCall call, Responder respond) {
      ++calls_;
      if (call.service != kEventsService || call.method != kForwardMethod) {
        return respond(std::unexpected(Unimplemented(call)));
      }
      if (hold_) return held_.push_back(std::move(respond));
      if (answer_) return respond(std::unexpected(*answer_));
      ::containerd::events::ForwardRequest request;
      EXPECT_TRUE(request.ParseFromString(call.payload));
      received_.push_back({call.ns, request.envelope()});
      respond(RpcResult(""));
    });
    ASSERT_TRUE(containerd_->Serve(ListenAt(path_)));
  }
  void StopContainerd() {
    containerd_.reset();
    std::filesystem::remove(path_);
  }
  std::unique_ptr<EventForwarder> MakeForwarder(EventForwarderOptions options = {}) {
    options.retry_delay = 5ms;
    options.call_timeout = std::min(options.call_timeout, std::chrono::milliseconds(500));
    return std::make_unique<EventForwarder>(io_, path_, options);
  }
  void PublishTask(EventForwarder& forwarder, const std::string& topic) {
    forwarder.Publish("default", "/tasks/" + topic, "containerd.events.Task" + topic, "\x0a\x02t1");
  }
  std::optional<bool> FlushAndWait(EventForwarder& forwarder, std::chrono::milliseconds within) {
    std::optional<bool> drained;
    forwarder.Flush(within, [&](bool d) { drained = d; });
    EXPECT_FALSE(drained) << "Flush called back inside Flush";
    RunUntil(
        io_, [&] { return drained.has_value(); }, within + 2s);
    return drained;
  }
  std::vector<std::string> Topics() const {
    std::vector<std::string> topics;
    for (const Received& r : received_) topics.push_back(r.envelope.topic());
    return topics;
  }

  podshim::testing::TempDir dir_;
  std::string path_;
  boost::asio::io_context io_;
  std::unique_ptr<Server> containerd_;
  std::vector<Received> received_;
  std::vector<Responder> held_;
  std::optional<RpcError> answer_;
  bool hold_ = false;
  int calls_ = 0;
};

TEST_F(EventForwarderTest, ForwardsEnvelopesInOrder) {
  StartContainerd();
  std::unique_ptr<EventForwarder> forwarder = MakeForwarder();
  auto before = std::chrono::system_clock::now();
  for (const char* topic : {"create", "start", "exit", "delete"}) PublishTask(*forwarder, topic);
  EXPECT_EQ(FlushAndWait(*forwarder, 2s), true);
  EXPECT_EQ(Topics(), (std::vector<std::string>{"/tasks/create", "/tasks/start", "/tasks/exit",
                                                "/tasks/delete"}));
  const Received& exit = received_[2];
  EXPECT_EQ(exit.ns, "default");
  EXPECT_EQ(exit.envelope.namespace_(), "default");
  EXPECT_EQ(exit.envelope.event().type_url(), "containerd.events.Taskexit");
  EXPECT_EQ(exit.envelope.event().value(), "\x0a\x02t1");
  EXPECT_GE(exit.envelope.timestamp().seconds(),
            std::chrono::duration_cast<std::chrono::seconds>(before.time_since_epoch()).count());
  EXPECT_EQ(forwarder->forwarded(), 4u);
  EXPECT_EQ(forwarder->queued(), 0u);
}

TEST_F(EventForwarderTest, RetriesWhileContainerdIsDownAndKeepsTheOrder) {
  std::unique_ptr<EventForwarder> forwarder = MakeForwarder();
  PublishTask(*forwarder, "create");
  PublishTask(*forwarder, "start");
  testing::RunFor(io_, 20ms);  // a few failed attempts (5, 10 ms apart)
  EXPECT_EQ(forwarder->queued(), 2u);
  StartContainerd();
  PublishTask(*forwarder, "exit");
  EXPECT_EQ(FlushAndWait(*forwarder, 3s), true);
  EXPECT_EQ(Topics(), (std::vector<std::string>{"/tasks/create", "/tasks/start", "/tasks/exit"}));
  EXPECT_EQ(forwarder->dropped(), 0u);
}

TEST_F(EventForwarderTest, ReconnectsAfterContainerdRestarts) {
  StartContainerd();
  std::unique_ptr<EventForwarder> forwarder = MakeForwarder();
  PublishTask(*forwarder, "create");
  EXPECT_EQ(FlushAndWait(*forwarder, 2s), true);
  StopContainerd();
  testing::RunFor(io_, 10ms);
  StartContainerd();
  PublishTask(*forwarder, "start");
  EXPECT_EQ(FlushAndWait(*forwarder, 2s), true);
  EXPECT_EQ(Topics(), (std::vector<std::string>{"/tasks/create", "/tasks/start"}));
}

TEST_F(EventForwarderTest, DropsAnEventAfterItsRetries) {
  std::unique_ptr<EventForwarder> forwarder =
      MakeForwarder(Options([](auto& o) { o.max_retries = 2; }));
  PublishTask(*forwarder, "create");
  EXPECT_EQ(FlushAndWait(*forwarder, 2s), true);  // 1 + 2 attempts, 5 + 10 ms apart
  EXPECT_EQ(forwarder->dropped(), 1u);
  StartContainerd();
  PublishTask(*forwarder, "start");
  EXPECT_EQ(FlushAndWait(*forwarder, 2s), true);
  EXPECT_EQ(Topics(), (std::vector<std::string>{"/tasks/start"}));
}

TEST_F(EventForwarderTest, AFinalAnswerIsNotRetried) {
  StartContainerd();
  answer_ = RpcError{Code::kInvalidArgument, "bad topic"};
  std::unique_ptr<EventForwarder> forwarder = MakeForwarder();
  PublishTask(*forwarder, "create");
  EXPECT_EQ(FlushAndWait(*forwarder, 2s), true);
  EXPECT_EQ(calls_, 1);
  EXPECT_EQ(forwarder->dropped(), 1u);
}

TEST_F(EventForwarderTest, AFullQueueDropsTheOldestWaitingEvent) {
  StartContainerd();
  hold_ = true;
  std::unique_ptr<EventForwarder> forwarder =
      MakeForwarder(Options([](auto& o) { o.max_queued = 3; }));
  PublishTask(*forwarder, "0");
  ASSERT_TRUE(RunUntil(io_, [&] { return held_.size() == 1; }));  // "0" is in flight
  for (const char* topic : {"1", "2", "3", "4"}) PublishTask(*forwarder, topic);
  EXPECT_EQ(forwarder->queued(), 3u);
  EXPECT_EQ(forwarder->dropped(), 2u);  // "1" and "2"
  hold_ = false;
  held_[0](RpcResult(""));
  EXPECT_EQ(FlushAndWait(*forwarder, 2s), true);
  EXPECT_EQ(Topics(), (std::vector<std::string>{"/tasks/3", "/tasks/4"}));
}

TEST_F(EventForwarderTest, FlushGivesUpAtItsDeadline) {
  StartContainerd();
  hold_ = true;
  std::unique_ptr<EventForwarder> forwarder = MakeForwarder();
  PublishTask(*forwarder, "create");
  EXPECT_EQ(FlushAndWait(*forwarder, 30ms), false);
  EXPECT_EQ(forwarder->queued(), 1u);
  std::optional<bool> drained;
  forwarder->Flush(1s, [&](bool d) { drained = d; });
  forwarder.reset();  // destroyed while flushing: the callback never runs
  testing::RunFor(io_, 20ms);
  EXPECT_FALSE(drained);
}

TEST_F(EventForwarderTest, WithoutAnAddressEventsAreDropped) {
  EventForwarder forwarder(io_, "");
  PublishTask(forwarder, "create");
  EXPECT_EQ(forwarder.queued(), 0u);
  EXPECT_EQ(FlushAndWait(forwarder, 1s), true);
}

}  // namespace
}  // namespace podshim::shim::ttrpc
