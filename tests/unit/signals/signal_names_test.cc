#include "signals/signal_names.h"

#include <gtest/gtest.h>
#include <signal.h>

namespace podshim::signals {
namespace {

TEST(SignalNamesTest, ParsesNamesWithAndWithoutPrefixInAnyCase) {
  for (const char* text : {"SIGTERM", "TERM", "term", "sigterm", "SigTerm"}) {
    auto r = ParseSignal(text);
    ASSERT_TRUE(r) << text << ": " << r.error().ToString();
    EXPECT_EQ(*r, SIGTERM) << text;
  }
  EXPECT_EQ(*ParseSignal("KILL"), SIGKILL);
  EXPECT_EQ(*ParseSignal("SIGHUP"), SIGHUP);
  EXPECT_EQ(*ParseSignal("usr1"), SIGUSR1);
  EXPECT_EQ(*ParseSignal("WINCH"), SIGWINCH);
}

TEST(SignalNamesTest, ParsesAliases) {
  EXPECT_EQ(*ParseSignal("SIGIOT"), SIGABRT);
  EXPECT_EQ(*ParseSignal("CLD"), SIGCHLD);
  EXPECT_EQ(*ParseSignal("POLL"), SIGIO);
}

TEST(SignalNamesTest, BadNamesAreEscapedInErrors) {
  auto r = ParseSignal("SIG\nX\xff");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().context().rfind("invalid signal \"SIG\\nX\\xff\": ", 0), 0u)
      << r.error().context();
}

TEST(SignalNamesTest, ParsesNumbers) {
  EXPECT_EQ(*ParseSignal("15"), 15);
  EXPECT_EQ(*ParseSignal("9"), 9);
  EXPECT_EQ(*ParseSignal("1"), 1);
  EXPECT_EQ(*ParseSignal(std::to_string(SIGRTMAX)), SIGRTMAX);
}

TEST(SignalNamesTest, ParsesRealtimeForms) {
  EXPECT_EQ(*ParseSignal("SIGRTMIN"), SIGRTMIN);
  EXPECT_EQ(*ParseSignal("RTMIN+3"), SIGRTMIN + 3);
  EXPECT_EQ(*ParseSignal("sigrtmin+0"), SIGRTMIN);
  EXPECT_EQ(*ParseSignal("SIGRTMAX"), SIGRTMAX);
  EXPECT_EQ(*ParseSignal("RTMAX-2"), SIGRTMAX - 2);
  EXPECT_EQ(*ParseSignal("SIGRTMIN+" + std::to_string(SIGRTMAX - SIGRTMIN)), SIGRTMAX);
}

TEST(SignalNamesTest, RejectsBadInputWithItsText) {
  for (const char* text : {"", "0", "-1", "65", "999999999999", "NOPE", "SIG", "15x", " 15",
                           "RTMIN-1", "RTMAX+1", "RTMIN+", "RTMIN+x", "RTMIN+99", "RTMAX-99"}) {
    auto r = ParseSignal(text);
    ASSERT_FALSE(r) << "accepted \"" << text << "\" as " << *r;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidSpec) << text;
    EXPECT_NE(r.error().ToString().find(std::string("\"") + text + "\""), std::string::npos)
        << r.error().ToString();
  }
}

TEST(SignalNamesTest, NamesSignalsCanonically) {
  EXPECT_EQ(SignalName(SIGTERM), "SIGTERM");
  EXPECT_EQ(SignalName(SIGKILL), "SIGKILL");
  EXPECT_EQ(SignalName(SIGABRT), "SIGABRT");  // not the alias SIGIOT
  EXPECT_EQ(SignalName(SIGCHLD), "SIGCHLD");
  EXPECT_EQ(SignalName(SIGIO), "SIGIO");
  EXPECT_EQ(SignalName(SIGRTMIN), "SIGRTMIN");
  EXPECT_EQ(SignalName(SIGRTMIN + 2), "SIGRTMIN+2");
  EXPECT_EQ(SignalName(0), "0");
  EXPECT_EQ(SignalName(32), "32");  // reserved by glibc, no name
  EXPECT_EQ(SignalName(SIGRTMAX + 1), std::to_string(SIGRTMAX + 1));
}

TEST(SignalNamesTest, EverySendableSignalRoundTrips) {
  for (int sig = 1; sig <= SIGRTMAX; ++sig) {
    auto r = ParseSignal(SignalName(sig));
    ASSERT_TRUE(r) << SignalName(sig) << ": " << r.error().ToString();
    EXPECT_EQ(*r, sig) << SignalName(sig);
  }
}

}  // namespace
}  // namespace podshim::signals
