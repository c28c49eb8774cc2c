// The ttrpc client against the ttrpc server on a real unix socket: replies, statuses,
// metadata, overlapping calls, deadlines, an absent server, reconnecting after a restart.
#include "shim/ttrpc/client.h"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fixtures/fakes/temp_dir.h"
#include "shim/ttrpc/server.h"
#include "unit/shim/ttrpc/ttrpc_test_util.h"

namespace podshim::shim::ttrpc {
namespace {

using testing::ListenAt;
using testing::RunUntil;
using namespace std::chrono_literals;

class ClientTest : public ::testing::Test {
 protected:
  ClientTest() : path_((dir_.path() / "t.sock").string()), client_(io_, path_) {}

  // A server whose handler echoes "<ns>:<method>:<payload>", fails method "Fail" with
  // NotFound and leaves method "Hang" unanswered.
  void StartServer() {
    server_ = std::make_unique<Server>(io_, [this](RpcCall call, Responder respond) {
      ++served_;
      if (call.method == "Fail") {
        return respond(std::unexpected(RpcError{Code::kNotFound, "no such task"}));
      }
      if (call.method == "Hang") return hung_.push_back(std::move(respond));
      if (call.method == "Later") return later_.push_back(std::move(respond));
      respond(RpcResult(call.ns + ":" + call.method + ":" + call.payload));
    });
    ASSERT_TRUE(server_->Serve(ListenAt(path_)));
  }
  void StopServer() {
    server_.reset();
    std::filesystem::remove(path_);
  }

  // Calls and runs the loop until the answer comes.
  RpcResult CallAndWait(std::string method, std::string payload = "",
                        std::chrono::milliseconds timeout = 2s) {
    std::optional<RpcResult> result;
    client_.Call("test.Service", method, payload, metadata_, timeout,
                 [&](RpcResult r) { result = std::move(r); });
    EXPECT_FALSE(result) << "done ran inside Call";
    EXPECT_TRUE(RunUntil(io_, [&] { return result.has_value(); }));
    return result.value_or(std::unexpected(RpcError{Code::kUnknown, "no answer"}));
  }

  podshim::testing::TempDir dir_;
  std::string path_;
  boost::asio::io_context io_;
  std::unique_ptr<Server> server_;
  Client client_;
  Metadata metadata_{{"containerd-namespace-ttrpc", "default"}};
  int served_ = 0;
  std::vector<Responder> hung_;
  std::vector<Responder> later_;
};

TEST_F(ClientTest, GetsTheReplyAndTheStatus) {
  StartServer();
  EXPECT_EQ(CallAndWait("Echo", "abc"), RpcResult("default:Echo:abc"));
  RpcResult failed = CallAndWait("Fail");
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, Code::kNotFound);
  EXPECT_EQ(failed.error().message, "no such task");
  EXPECT_EQ(server_->connection_count(), 1u);  // one connection for both calls
}

TEST_F(ClientTest, OverlappingCallsGetTheirOwnReplies) {
  StartServer();
  std::vector<std::string> got;
  auto record = [&](RpcResult r) { got.push_back(r ? *r : "error"); };
  client_.Call("s", "Later", "1", metadata_, 2s, record);
  client_.Call("s", "Echo", "2", metadata_, 2s, record);
  client_.Call("s", "Later", "3", metadata_, 2s, record);
  ASSERT_TRUE(RunUntil(io_, [&] { return later_.size() == 2 && got.size() == 1; }));
  later_[1](RpcResult("three"));
  later_[0](RpcResult("one"));
  ASSERT_TRUE(RunUntil(io_, [&] { return got.size() == 3; }));
  EXPECT_EQ(got, (std::vector<std::string>{"default:Echo:2", "three", "one"}));
  EXPECT_EQ(client_.pending_calls(), 0u);
}

TEST_F(ClientTest, ACallWithoutAReplyMeetsItsDeadline) {
  StartServer();
  auto start = std::chrono::steady_clock::now();
  RpcResult result = CallAndWait("Hang", "", 50ms);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Code::kDeadlineExceeded);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 50ms);
  ASSERT_EQ(hung_.size(), 1u);
  hung_[0](RpcResult("too late"));  // ignored by the client
  EXPECT_EQ(CallAndWait("Echo", "x"), RpcResult("default:Echo:x"));
}

TEST_F(ClientTest, AnAbsentServerIsUnavailableAndARestartedOneIsReached) {
  RpcResult absent = CallAndWait("Echo");
  ASSERT_FALSE(absent);
  EXPECT_EQ(absent.error().code, Code::kUnavailable);
  EXPECT_NE(absent.error().message.find(path_), std::string::npos) << absent.error().message;
  StartServer();
  EXPECT_EQ(CallAndWait("Echo", "1"), RpcResult("default:Echo:1"));
  // The server goes away with a call pending: Unavailable, then a new connection.
  std::optional<RpcResult> pending;
  client_.Call("s", "Hang", "", metadata_, 2s, [&](RpcResult r) { pending = std::move(r); });
  ASSERT_TRUE(RunUntil(io_, [&] { return hung_.size() == 1; }));
  StopServer();
  ASSERT_TRUE(RunUntil(io_, [&] { return pending.has_value(); }));
  EXPECT_EQ(pending->error().code, Code::kUnavailable);
  StartServer();
  EXPECT_EQ(CallAndWait("Echo", "2"), RpcResult("default:Echo:2"));
}

TEST_F(ClientTest, CloseFailsPendingCallsAndDestructionDropsThem) {
  StartServer();
  std::optional<RpcResult> closed;
  client_.Call("s", "Hang", "", metadata_, 2s, [&](RpcResult r) { closed = std::move(r); });
  ASSERT_TRUE(RunUntil(io_, [&] { return hung_.size() == 1; }));
  client_.Close();
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->error().code, Code::kUnavailable);
  bool called = false;
  {
    Client short_lived(io_, "unix://" + path_);
    short_lived.Call("s", "Hang", "", metadata_, 2s, [&](RpcResult) { called = true; });
    ASSERT_TRUE(RunUntil(io_, [&] { return hung_.size() == 2; }));
  }
  testing::RunFor(io_, 20ms);
  EXPECT_FALSE(called);
}

TEST_F(ClientTest, AnAddressTooLongFailsWithoutConnecting) {
  Client client(io_, std::string(200, 'a'));
  std::optional<RpcResult> result;
  client.Call("s", "m", "", {}, 1s, [&](RpcResult r) { result = std::move(r); });
  ASSERT_TRUE(RunUntil(io_, [&] { return result.has_value(); }));
  EXPECT_EQ(result->error().code, Code::kUnavailable);
}

}  // namespace
}  // namespace podshim::shim::ttrpc
