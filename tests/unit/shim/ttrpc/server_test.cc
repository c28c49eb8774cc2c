// The ttrpc server over a socketpair in a test io_context: out-of-order answers, a call left
// pending while others complete, refusals (oversize, even stream id, garbage), the peer check,
// the pending-call cap, a Responder outliving its connection and a peer leaving mid-frame.
#include "shim/ttrpc/server.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "unit/shim/ttrpc/ttrpc_test_util.h"

namespace podshim::shim::ttrpc {
namespace {

using namespace std::string_literals;
using namespace std::chrono_literals;
using testing::RawPeer;
using testing::RequestFrame;
using testing::RunFor;
using testing::RunUntil;

// Records every call and keeps its Responder for the test to answer.
struct Recorder {
  std::vector<RpcCall> calls;
  std::vector<Responder> responders;
  RpcHandler Handler() {
    return [this](RpcCall call, Responder respond) {
      calls.push_back(std::move(call));
      responders.push_back(std::move(respond));
    };
  }
};

class ServerTest : public ::testing::Test {
 protected:
  ServerTest() : server_(std::make_unique<Server>(io_, recorder_.Handler())), peer_(io_) {}

  void Connect() { server_->ServeConnection(peer_.TakeServerEnd()); }
  bool WaitCalls(std::size_t n) {
    return RunUntil(io_, [&] { return recorder_.calls.size() >= n; });
  }

  boost::asio::io_context io_;
  Recorder recorder_;
  std::unique_ptr<Server> server_;
  RawPeer peer_;
};

TEST_F(ServerTest, AnswersConnectWithTheGoldenBytes) {
  Connect();
  ASSERT_TRUE(
      peer_.Send("\x00\x00\x00\x29\x00\x00\x00\x01\x01\x00\x0a\x17"
                 "containerd.task.v2.Task\x12\x07"
                 "Connect\x1a\x05\x0a\x03lp1"s));
  ASSERT_TRUE(WaitCalls(1));
  EXPECT_EQ(recorder_.calls[0].method, "Connect");
  recorder_.responders[0](RpcResult("\x08\xc4\x9e\x01\x10\x80\x9f\x01"s));
  std::optional<Frame> frame = peer_.ReadFrame();
  ASSERT_TRUE(frame);
  std::array<char, kFrameHeaderSize> head = EncodeFrameHeader(frame->header);
  EXPECT_EQ(std::string(head.data(), head.size()) + frame->payload,
            "\x00\x00\x00\x0a\x00\x00\x00\x01\x02\x00\x12\x08\x08\xc4\x9e\x01\x10\x80\x9f\x01"s);
}

TEST_F(ServerTest, AnswersInTheOrderCallsComplete) {
  Connect();
  Metadata ns{{"containerd-namespace-ttrpc", "k8s.io"}};
  ASSERT_TRUE(peer_.Send(RequestFrame(1, "Start") + RequestFrame(3, "Connect", "", &ns) +
                         RequestFrame(5, "State")));
  ASSERT_TRUE(WaitCalls(3));
  EXPECT_EQ(recorder_.calls[1].ns, "k8s.io");
  EXPECT_EQ(recorder_.calls[0].ns, "");
  recorder_.responders[2](RpcResult("five"));
  recorder_.responders[0](std::unexpected(RpcError{Code::kNotFound, "no task"}));
  recorder_.responders[1](RpcResult("three"));
  std::vector<uint32_t> order;
  for (int i = 0; i < 3; ++i) {
    std::optional<Frame> frame = peer_.ReadFrame();
    ASSERT_TRUE(frame);
    order.push_back(frame->header.stream_id);
    if (frame->header.stream_id == 1) {
      EXPECT_EQ(RawPeer::Reply(*frame).error().code, Code::kNotFound);
    }
  }
  EXPECT_EQ(order, (std::vector<uint32_t>{5, 1, 3}));
}

TEST_F(ServerTest, APendingWaitDoesNotHoldUpOtherCalls) {
  Connect();
  ASSERT_TRUE(peer_.Send(RequestFrame(1, "Wait")));
  ASSERT_TRUE(WaitCalls(1));
  for (uint32_t id = 3; id < 3 + 2 * 20; id += 2) {
    ASSERT_TRUE(peer_.Send(RequestFrame(id, "State")));
    ASSERT_TRUE(WaitCalls(recorder_.calls.size() + 1));
    recorder_.responders.back()(RpcResult("state"));
    std::optional<Frame> frame = peer_.ReadFrame();
    ASSERT_TRUE(frame);
    EXPECT_EQ(frame->header.stream_id, id);
  }
  recorder_.responders[0](RpcResult("exited"));
  std::optional<Frame> wait = peer_.ReadFrame();
  ASSERT_TRUE(wait);
  EXPECT_EQ(wait->header.stream_id, 1u);
  EXPECT_EQ(RawPeer::Reply(*wait), RpcResult("exited"));
}

TEST_F(ServerTest, RefusesAnOversizedFrameAndAnswersTheNextRequest) {
  Connect();
  std::array<char, kFrameHeaderSize> head = EncodeFrameHeader({kMaxFramePayload + 1, 1, 1, 0});
  ASSERT_TRUE(peer_.Send(std::string(head.data(), head.size())));
  std::optional<Frame> refusal = peer_.ReadFrame();  // answered at the header already
  ASSERT_TRUE(refusal);
  EXPECT_EQ(refusal->header.stream_id, 1u);
  RpcResult result = RawPeer::Reply(*refusal);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Code::kResourceExhausted);
  EXPECT_EQ(result.error().message,
            "message length 4194305 exceed maximum message size of 4194304");
  ASSERT_TRUE(peer_.Send(std::string(kMaxFramePayload + 1, '\x0a')));
  ASSERT_TRUE(peer_.Send(RequestFrame(3, "State")));
  ASSERT_TRUE(WaitCalls(1));
  EXPECT_EQ(recorder_.calls[0].method, "State");
  recorder_.responders[0](RpcResult("ok"));
  std::optional<Frame> frame = peer_.ReadFrame();
  ASSERT_TRUE(frame);
  EXPECT_EQ(frame->header.stream_id, 3u);
  EXPECT_EQ(server_->connection_count(), 1u);
}

TEST_F(ServerTest, RefusesAnEvenStreamIdAndAGarbagePayload) {
  Connect();
  std::string garbage = *EncodeFrame(3, FrameType::kRequest, "\xff\xff\xff\xff");
  ASSERT_TRUE(peer_.Send(RequestFrame(2, "State") + garbage + RequestFrame(5, "State")));
  ASSERT_TRUE(WaitCalls(1));
  recorder_.responders[0](RpcResult("fine"));
  std::map<uint32_t, RpcResult> replies;
  for (int i = 0; i < 3; ++i) {
    std::optional<Frame> frame = peer_.ReadFrame();
    ASSERT_TRUE(frame);
    replies.emplace(frame->header.stream_id, RawPeer::Reply(*frame));
  }
  ASSERT_EQ(replies.size(), 3u);
  EXPECT_EQ(replies.at(2).error().code, Code::kInvalidArgument);
  EXPECT_EQ(replies.at(2).error().message, "StreamID must be odd for client initiated streams");
  EXPECT_EQ(replies.at(3).error().code, Code::kInvalidArgument);
  EXPECT_NE(replies.at(3).error().message.find("unmarshal request error"), std::string::npos);
  EXPECT_EQ(replies.at(5), RpcResult("fine"));
  EXPECT_EQ(recorder_.calls.size(), 1u);
}

TEST_F(ServerTest, IgnoresFramesOfOtherTypes) {
  Connect();
  std::string data = *EncodeFrame(1, static_cast<FrameType>(3), "stream data");
  std::string response = EncodeResponseFrame(3, RpcResult("x"));
  ASSERT_TRUE(peer_.Send(data + response + RequestFrame(5, "State")));
  ASSERT_TRUE(WaitCalls(1));
  recorder_.responders[0](RpcResult(""));
  std::optional<Frame> frame = peer_.ReadFrame();
  ASSERT_TRUE(frame);
  EXPECT_EQ(frame->header.stream_id, 5u);
  EXPECT_EQ(recorder_.calls.size(), 1u);
}

TEST_F(ServerTest, RefusesAStreamIdStillInUseAndASecondAnswer) {
  Connect();
  ASSERT_TRUE(peer_.Send(RequestFrame(1, "Wait") + RequestFrame(1, "State")));
  std::optional<Frame> refusal = peer_.ReadFrame();
  ASSERT_TRUE(refusal);
  EXPECT_EQ(RawPeer::Reply(*refusal).error().code, Code::kInvalidArgument);
  ASSERT_EQ(recorder_.calls.size(), 1u);
  recorder_.responders[0](RpcResult("first"));
  recorder_.responders[0](RpcResult("second"));
  std::optional<Frame> frame = peer_.ReadFrame();
  ASSERT_TRUE(frame);
  EXPECT_EQ(RawPeer::Reply(*frame), RpcResult("first"));
  EXPECT_FALSE(peer_.ReadFrame(100ms));
}

TEST_F(ServerTest, AResponderAfterTheConnectionClosedDoesNothing) {
  Connect();
  ASSERT_TRUE(peer_.Send(RequestFrame(1, "Wait") + RequestFrame(3, "Wait")));
  ASSERT_TRUE(WaitCalls(2));
  peer_.Close();
  ASSERT_TRUE(RunUntil(io_, [&] { return server_->connection_count() == 0; }));
  recorder_.responders[0](RpcResult("late"));
  server_.reset();  // and after the server is gone
  recorder_.responders[1](RpcResult("later"));
  RunFor(io_, 20ms);
}

TEST_F(ServerTest, APeerLeavingMidFrameClosesTheConnection) {
  std::vector<std::size_t> open_after;
  server_->OnConnectionClosed([&](std::size_t open) { open_after.push_back(open); });
  Connect();
  std::string frame = RequestFrame(1, "State", "payload");
  ASSERT_TRUE(peer_.Send(frame.substr(0, frame.size() - 3)));
  RunFor(io_, 20ms);
  EXPECT_EQ(server_->connection_count(), 1u);
  peer_.Close();
  ASSERT_TRUE(RunUntil(io_, [&] { return server_->connection_count() == 0; }));
  EXPECT_EQ(open_after, (std::vector<std::size_t>{0}));
  EXPECT_TRUE(recorder_.calls.empty());
}

TEST_F(ServerTest, ClosesAPeerOfAnotherUid) {
  ServerOptions options;
  options.allowed_uid = ::geteuid() + 1;
  server_ = std::make_unique<Server>(io_, recorder_.Handler(), options);
  Connect();
  EXPECT_EQ(server_->connection_count(), 0u);
  EXPECT_TRUE(peer_.WaitEof());
}

TEST_F(ServerTest, StopsReadingAtThePendingLimitUntilAnswersAreTaken) {
  ServerOptions options;
  options.max_pending_calls = 2;
  server_ = std::make_unique<Server>(io_, recorder_.Handler(), options);
  Connect();
  std::string requests;
  for (uint32_t id = 1; id <= 11; id += 2) requests += RequestFrame(id, "State");
  ASSERT_TRUE(peer_.Send(requests));
  ASSERT_TRUE(WaitCalls(2));
  RunFor(io_, 30ms);
  EXPECT_EQ(recorder_.calls.size(), 2u);  // paused with 4 requests unread
  recorder_.responders[0](RpcResult("a"));
  RunFor(io_, 30ms);
  EXPECT_EQ(recorder_.calls.size(), 3u);  // one answer written, one more call taken
  for (std::size_t i = 1; i < 6; ++i) {
    ASSERT_TRUE(WaitCalls(i + 1));
    recorder_.responders[i](RpcResult("b"));
  }
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(peer_.ReadFrame()) << i;
}

// A peer that pipelines requests without reading the answers is served only as far as the
// pending limits allow (answers of 64 KiB: the 1 MiB queue fills after 16 beyond the kernel's
// socket buffers); once it reads, every request is answered.
TEST_F(ServerTest, APeerNotReadingAnswersStopsBeingRead) {
  std::size_t calls = 0;
  server_ = std::make_unique<Server>(io_, [&](RpcCall, Responder respond) {
    ++calls;
    respond(RpcResult(std::string(64 * 1024, 'r')));
  });
  Connect();
  std::string requests;
  for (uint32_t id = 1; id < 2 * 500; id += 2) requests += RequestFrame(id, "State");
  ASSERT_TRUE(peer_.Send(requests));  // about 20 KB: fits the socket buffer
  RunFor(io_, 100ms);
  EXPECT_LT(calls, 100u);
  EXPECT_GT(calls, 10u);
  for (int i = 0; i < 500; ++i) ASSERT_TRUE(peer_.ReadFrame()) << i;
  EXPECT_EQ(calls, 500u);
}

TEST_F(ServerTest, CloseWhenFlushedWritesQueuedAnswersThenCloses) {
  Connect();
  ASSERT_TRUE(peer_.Send(RequestFrame(1, "Shutdown") + RequestFrame(3, "Wait")));
  ASSERT_TRUE(WaitCalls(2));
  recorder_.responders[0](RpcResult(""));
  bool done = false;
  server_->CloseWhenFlushed(1s, [&] { done = true; });
  std::optional<Frame> frame = peer_.ReadFrame();
  ASSERT_TRUE(frame);
  EXPECT_EQ(frame->header.stream_id, 1u);
  EXPECT_TRUE(peer_.WaitEof());
  ASSERT_TRUE(RunUntil(io_, [&] { return done; }));
  EXPECT_EQ(server_->connection_count(), 0u);
  recorder_.responders[1](RpcResult("late"));
}

TEST_F(ServerTest, ServeTakesOnlyAListeningUnixSocket) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
  UniqueFd connected(fds[0]), other(fds[1]);
  Status status = server_->Serve(std::move(connected));
  ASSERT_FALSE(status);
  EXPECT_NE(status.error().ToString().find("not a listening AF_UNIX socket"), std::string::npos);
  server_->Close();
  Status closed = server_->Serve(UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)));
  ASSERT_FALSE(closed);
  EXPECT_EQ(closed.error().ToString().find("the ttrpc server is closed"), 0u);
}

TEST_F(ServerTest, AHandlerMayCloseTheServer) {
  server_ = std::make_unique<Server>(io_, [this](RpcCall, Responder respond) {
    respond(RpcResult(""));
    server_->Close();
  });
  Connect();
  ASSERT_TRUE(peer_.Send(RequestFrame(1, "Shutdown") + RequestFrame(3, "State")));
  EXPECT_TRUE(peer_.WaitEof());
  EXPECT_EQ(server_->connection_count(), 0u);
}

}  // namespace
}  // namespace podshim::shim::ttrpc
