// The frame codec and the Request/Response messages, checked against the bytes containerd 1.6
// sent and received (fact sheet §3) and against split and oversized input.
#include "shim/ttrpc/frame.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "shim/proto/ttrpc.pb.h"
#include "shim/ttrpc/messages.h"

namespace podshim::shim::ttrpc {
namespace {

using namespace std::string_literals;

// containerd's Connect{id "lp1"} on stream 1, and the shim's reply (shim_pid 20292,
// task_pid 20352).
const std::string kConnectRequest =
    "\x00\x00\x00\x29\x00\x00\x00\x01\x01\x00"
    "\x0a\x17"
    "containerd.task.v2.Task"
    "\x12\x07"
    "Connect"
    "\x1a\x05\x0a\x03"
    "lp1"s;
const std::string kConnectReplyMessage = "\x08\xc4\x9e\x01\x10\x80\x9f\x01"s;
const std::string kConnectResponse =
    "\x00\x00\x00\x0a\x00\x00\x00\x01\x02\x00"
    "\x12\x08"s +
    kConnectReplyMessage;

TEST(FrameReaderTest, DecodesContainerdsConnectRequest) {
  FrameReader reader;
  EXPECT_EQ(reader.Feed(kConnectRequest), kConnectRequest.size());
  std::optional<Frame> frame = reader.Take();
  ASSERT_TRUE(frame);
  EXPECT_FALSE(frame->oversized);
  EXPECT_EQ(frame->header.length, 0x29u);
  EXPECT_EQ(frame->header.stream_id, 1u);
  EXPECT_EQ(frame->header.type, 1);
  EXPECT_EQ(frame->header.flags, 0);
  Result<RpcCall> call = DecodeRequest(frame->payload);
  ASSERT_TRUE(call) << call.error().ToString();
  EXPECT_EQ(call->service, "containerd.task.v2.Task");
  EXPECT_EQ(call->method, "Connect");
  EXPECT_EQ(call->payload, "\x0a\x03lp1");
  EXPECT_EQ(call->ns, "");  // ctr sends no namespace
  EXPECT_EQ(call->timeout_nano, 0);
  EXPECT_TRUE(reader.idle());
  EXPECT_FALSE(reader.Take());
}

TEST(FrameEncodeTest, EncodesTheConnectResponseByteForByte) {
  EXPECT_EQ(EncodeResponseFrame(1, RpcResult(kConnectReplyMessage)), kConnectResponse);
}

TEST(FrameEncodeTest, AnErrorCarriesAStatusAndNoPayload) {
  std::string frame = EncodeResponseFrame(7, std::unexpected(RpcError{Code::kNotFound, "gone"}));
  FrameReader reader;
  reader.Feed(frame);
  std::optional<Frame> decoded = reader.Take();
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->header.stream_id, 7u);
  EXPECT_EQ(decoded->header.type, 2);
  ::ttrpc::Response response;
  ASSERT_TRUE(response.ParseFromString(decoded->payload));
  EXPECT_EQ(response.status().code(), 5);
  EXPECT_EQ(response.status().message(), "gone");
  EXPECT_TRUE(response.payload().empty());
  RpcResult result = DecodeResponse(decoded->payload);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Code::kNotFound);
  EXPECT_EQ(result.error().message, "gone");
}

TEST(FrameEncodeTest, AnEmptySuccessIsAnEmptyPayload) {
  EXPECT_EQ(EncodeResponseFrame(3, RpcResult("")), "\x00\x00\x00\x00\x00\x00\x00\x03\x02\x00"s);
  EXPECT_EQ(DecodeResponse(""), RpcResult(""));
}

TEST(FrameEncodeTest, AReplyOverTheLimitBecomesResourceExhausted) {
  std::string big(kMaxFramePayload, 'x');
  std::string frame = EncodeResponseFrame(1, RpcResult(big));
  ASSERT_LT(frame.size(), 1024u);
  FrameReader reader;
  reader.Feed(frame);
  RpcResult result = DecodeResponse(reader.Take()->payload);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Code::kResourceExhausted);
}

TEST(FrameEncodeTest, RefusesAPayloadOverFourMebibytes) {
  EXPECT_TRUE(EncodeFrame(1, FrameType::kRequest, std::string(kMaxFramePayload, 'x')));
  Result<std::string> over =
      EncodeFrame(1, FrameType::kRequest, std::string(kMaxFramePayload + 1, 'x'));
  ASSERT_FALSE(over);
  EXPECT_NE(over.error().ToString().find("4194304"), std::string::npos) << over.error().ToString();
}

TEST(FrameReaderTest, AssemblesAFrameFedByteByByte) {
  FrameReader reader;
  for (std::size_t i = 0; i < kConnectRequest.size(); ++i) {
    EXPECT_FALSE(reader.Take()) << "complete after " << i << " bytes";
    EXPECT_EQ(reader.Feed(std::string_view(kConnectRequest).substr(i, 1)), 1u);
    EXPECT_EQ(reader.idle(), i + 1 == kConnectRequest.size());
  }
  std::optional<Frame> frame = reader.Take();
  ASSERT_TRUE(frame);
  EXPECT_EQ(frame->payload, kConnectRequest.substr(kFrameHeaderSize));
}

TEST(FrameReaderTest, SplitsTwoFramesReadAtOnce) {
  std::string two = kConnectRequest + EncodeResponseFrame(3, RpcResult("ab"));
  FrameReader reader;
  std::string_view data = two;
  data.remove_prefix(reader.Feed(data));
  EXPECT_EQ(data.size(), two.size() - kConnectRequest.size());
  EXPECT_EQ(reader.Take()->header.stream_id, 1u);
  data.remove_prefix(reader.Feed(data));
  EXPECT_TRUE(data.empty());
  std::optional<Frame> second = reader.Take();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->header.stream_id, 3u);
  EXPECT_EQ(second->header.type, 2);
  EXPECT_EQ(DecodeResponse(second->payload), RpcResult("ab"));
}

TEST(FrameReaderTest, ReportsAnOversizedFrameAtItsHeaderAndSkipsItsPayload) {
  std::array<char, kFrameHeaderSize> header = EncodeFrameHeader({kMaxFramePayload + 1, 5, 1, 0});
  FrameReader reader;
  EXPECT_EQ(reader.Feed(std::string_view(header.data(), header.size())), kFrameHeaderSize);
  std::optional<Frame> frame = reader.Take();
  ASSERT_TRUE(frame);
  EXPECT_TRUE(frame->oversized);
  EXPECT_EQ(frame->header.stream_id, 5u);
  EXPECT_EQ(frame->header.length, kMaxFramePayload + 1);
  EXPECT_TRUE(frame->payload.empty());
  // The payload goes by in chunks and is not kept; the next frame decodes.
  std::string chunk(64 * 1024, 'z');
  std::size_t left = kMaxFramePayload + 1;
  while (left > 0) {
    std::size_t n = std::min(left, chunk.size());
    EXPECT_EQ(reader.Feed(std::string_view(chunk).substr(0, n)), n);
    EXPECT_FALSE(reader.Take());
    left -= n;
    EXPECT_EQ(reader.idle(), left == 0);
  }
  EXPECT_EQ(reader.Feed(kConnectRequest), kConnectRequest.size());
  std::optional<Frame> next = reader.Take();
  ASSERT_TRUE(next);
  EXPECT_FALSE(next->oversized);
  EXPECT_EQ(next->header.stream_id, 1u);
}

TEST(FrameReaderTest, AcceptsAFrameOfExactlyTheLimit) {
  std::string payload(kMaxFramePayload, 'p');
  std::string frame = *EncodeFrame(9, FrameType::kRequest, payload);
  FrameReader reader;
  EXPECT_EQ(reader.Feed(frame), frame.size());
  std::optional<Frame> decoded = reader.Take();
  ASSERT_TRUE(decoded);
  EXPECT_FALSE(decoded->oversized);
  EXPECT_EQ(decoded->payload.size(), kMaxFramePayload);
}

TEST(MessagesTest, TakesTheNamespaceFromMetadata) {
  Metadata metadata{{"other", "x"},
                    {"containerd-namespace-ttrpc", "k8s.io"},
                    {"containerd-namespace-ttrpc", "second"}};
  OutgoingCall out{"containerd.task.v2.Task", "State", "\x0a\x01x", &metadata,
                   std::chrono::seconds(2)};
  std::string frame = *EncodeRequestFrame(11, out);
  FrameReader reader;
  reader.Feed(frame);
  Result<RpcCall> call = DecodeRequest(reader.Take()->payload);
  ASSERT_TRUE(call);
  EXPECT_EQ(call->ns, "k8s.io");
  EXPECT_EQ(call->method, "State");
  EXPECT_EQ(call->timeout_nano, 2'000'000'000);
}

TEST(MessagesTest, GarbageIsNotARequest) {
  Result<RpcCall> call = DecodeRequest("\xff\xff\xff\xff garbage");
  ASSERT_FALSE(call);
  EXPECT_NE(call.error().ToString().find("not a ttrpc.Request"), std::string::npos);
  RpcResult reply = DecodeResponse("\xff\xff\xff\xff");
  ASSERT_FALSE(reply);
  EXPECT_EQ(reply.error().code, Code::kInternal);
}

TEST(MessagesTest, UnimplementedNamesTheMethod) {
  RpcCall call{"containerd.task.v2.Task", "Checkpoint", "", "", 0};
  RpcError error = Unimplemented(call);
  EXPECT_EQ(error.code, Code::kUnimplemented);
  EXPECT_EQ(error.message, "containerd.task.v2.Task/Checkpoint is not implemented");
}

}  // namespace
}  // namespace podshim::shim::ttrpc
