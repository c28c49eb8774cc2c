// The pod keeper's protocol: every message and orphan-exit line encodes and decodes back, bad
// input is refused, and a message with its fd crosses a real SOCK_SEQPACKET socketpair.
#include "shim/keeper/keeper_protocol.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "gtest/gtest.h"

namespace podshim::shim::keeper {
namespace {

TEST(KeeperProtocolTest, EveryKindRoundTrips) {
  const Message messages[] = {
      {MessageKind::kHold, {"web", 0, Stream::kStdout}},
      {MessageKind::kDrop, {"side-car", 12, Stream::kStderr}},
      {MessageKind::kHeld, {"a", 2147483647, Stream::kStderr}},
      {MessageKind::kTake, {}},
      {MessageKind::kEnd, {}},
  };
  for (const Message& m : messages) {
    const std::string text = Encode(m);
    auto back = Decode(text);
    ASSERT_TRUE(back) << text << ": " << back.error().ToString();
    EXPECT_EQ(*back, m) << text;
  }
  EXPECT_EQ(Encode({MessageKind::kHold, {"web", 3, Stream::kStderr}}), "hold err 3 web");
  EXPECT_EQ(Encode({MessageKind::kTake, {}}), "take");
}

TEST(KeeperProtocolTest, BadMessagesAreRefused) {
  for (const char* text : {"", "grab", "take now", "end 1", "hold", "hold out", "hold out 0",
                           "hold out 0 ", "hold in 0 web", "hold out -1 web", "hold out x web",
                           "hold out 1x web", "hold out 99999999999 web", "hold out 0 two words"}) {
    EXPECT_FALSE(Decode(text)) << "'" << text << "'";
  }
  EXPECT_FALSE(Decode("hold out 0 " + std::string(254, 'a')));
  EXPECT_TRUE(Decode("hold out 0 " + std::string(253, 'a')));
  EXPECT_FALSE(Decode(std::string(kMaxMessageBytes + 1, 'a')));
}

TEST(KeeperProtocolTest, OrphanExitsRoundTrip) {
  for (OrphanExit e : {OrphanExit{false, 0}, OrphanExit{false, 7}, OrphanExit{false, 255},
                       OrphanExit{true, 9}, OrphanExit{true, 15}}) {
    auto back = ParseOrphanExit(FormatOrphanExit(e));
    ASSERT_TRUE(back) << FormatOrphanExit(e);
    EXPECT_EQ(*back, e);
  }
  EXPECT_EQ(FormatOrphanExit({false, 7}), "exit 7\n");
  EXPECT_EQ(FormatOrphanExit({true, 9}), "signal 9\n");
  for (const char* text : {"", "exit", "exit -1", "exit 256", "signal 65", "died 3", "exit 7 x"}) {
    EXPECT_FALSE(ParseOrphanExit(text)) << "'" << text << "'";
  }
  EXPECT_EQ(OrphanExitName(1234, 98765), "1234-98765");
  EXPECT_EQ(SocketPath("/run/p"), "/run/p/keeper.sock");
  EXPECT_EQ(OrphanExitDir("/run/p"), "/run/p/orphan-exits");
}

TEST(KeeperProtocolTest, AMessageAndItsFdCrossASocketpair) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
  UniqueFd a(sv[0]), b(sv[1]);
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  UniqueFd read_end(p[0]), write_end(p[1]);
  const Message hold{MessageKind::kHold, {"web", 1, Stream::kStderr}};
  ASSERT_TRUE(Send(a.get(), hold, read_end.get()));
  ASSERT_TRUE(Send(a.get(), {MessageKind::kTake, {}}));
  auto got = Receive(b.get());
  ASSERT_TRUE(got && *got);
  EXPECT_EQ((*got)->message, hold);
  ASSERT_TRUE((*got)->fd);
  EXPECT_EQ(::fcntl((*got)->fd.get(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  // The fd received is the same pipe: what is written comes out of it.
  ASSERT_EQ(::write(write_end.get(), "x", 1), 1);
  char c = 0;
  EXPECT_EQ(::read((*got)->fd.get(), &c, 1), 1);
  EXPECT_EQ(c, 'x');
  auto take = Receive(b.get());
  ASSERT_TRUE(take && *take);
  EXPECT_EQ((*take)->message.kind, MessageKind::kTake);
  EXPECT_FALSE((*take)->fd);
  // A message that does not decode is an error; EOF is nullopt.
  ASSERT_EQ(::send(a.get(), "grab", 4, 0), 4);
  EXPECT_FALSE(Receive(b.get()));
  a.Reset();
  auto eof = Receive(b.get());
  ASSERT_TRUE(eof);
  EXPECT_FALSE(*eof);
}

}  // namespace
}  // namespace podshim::shim::keeper
