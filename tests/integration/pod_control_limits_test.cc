// The control socket's limits against a real pod (docs/control-api.md "Transport and access"):
// a request nesting too deep is refused and the shim keeps supervising; connections that are idle
// or trickle a request byte by byte neither lock out `podshim ctl` when they fill the client
// limit nor stay open past their timeouts (shortened for the test through the shim's hidden
// PODSHIM_CONTROL_*_TIMEOUT_FOR_TEST variables).
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/unique_fd.h"
#include "gtest/gtest.h"
#include "integration/pod_fixture.h"
#include "shim/control/control_client.h"
#include "shim/control/control_protocol.h"
#include "shim/control/control_server.h"

namespace {

using namespace podshim::pod_test;  // NOLINT: the fixture and its helpers
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using json = nlohmann::json;
namespace control = podshim::shim::control;

// A raw connection to the control socket whose reads wait at most a given time (poll), so a
// shim that neither answers nor closes fails the test instead of hanging it.
class Conn {
 public:
  explicit Conn(const fs::path& socket) {
    auto fd = control::ConnectControlSocket(socket.string());
    if (fd) fd_ = std::move(*fd);
  }
  bool connected() const { return fd_.get() >= 0; }
  bool Send(std::string_view data) { return control::SendAll(fd_.get(), data); }

  // The next line, or nullopt when the connection ended or nothing came within `timeout`.
  std::optional<std::string> ReadLine(std::chrono::milliseconds timeout = 20s) {
    auto end = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (std::size_t nl = buf_.find('\n'); nl != std::string::npos) {
        std::string line = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        return line;
      }
      if (!Fill(end)) return std::nullopt;
    }
  }
  json ReadJson(std::chrono::milliseconds timeout = 20s) {
    std::optional<std::string> line = ReadLine(timeout);
    return line ? json::parse(*line, nullptr, /*allow_exceptions=*/false) : json();
  }
  json Call(const std::string& line) { return Send(line + "\n") ? ReadJson() : json(); }

  // True when the shim closed the connection within `timeout` (lines before the end are kept).
  bool ClosedWithin(std::chrono::milliseconds timeout) {
    auto end = std::chrono::steady_clock::now() + timeout;
    while (Fill(end)) {
    }
    return eof_;
  }
  const std::string& unread() const { return buf_; }

 private:
  // Reads what is there; false at the end of the connection or at `end`.
  bool Fill(std::chrono::steady_clock::time_point end) {
    if (eof_) return false;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        end - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_.get(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char chunk[65536];
    ssize_t n = ::recv(fd_.get(), chunk, sizeof(chunk), 0);
    if (n <= 0) {
      eof_ = n == 0 || errno == ECONNRESET;
      return false;
    }
    buf_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }

  podshim::UniqueFd fd_;
  std::string buf_;
  bool eof_ = false;
};

std::string ErrorCode(const json& response) {
  if (!response.is_object() || response.value("ok", true)) return "";
  if (!response.contains("error") || !response["error"].is_object()) return "?";
  return response["error"].value("code", "");
}
// The error message of a response, or "" when it is not an error.
std::string ErrorMessage(const json& response) {
  std::string code = ErrorCode(response);
  if (code.empty() || code == "?") return "";
  return response["error"].value("message", "");
}

class PodControlLimitsTest : public PodRunTest {
 protected:
  void TearDown() override {
    ::unsetenv("PODSHIM_CONTROL_IDLE_TIMEOUT_FOR_TEST");
    ::unsetenv("PODSHIM_CONTROL_REQUEST_TIMEOUT_FOR_TEST");
    PodRunTest::TearDown();
  }

  fs::path Socket() const { return state_ / "podshim.sock"; }

  // An app running until SIGTERM; the shim's pid once its socket answers and the app runs.
  pid_t StartPod(const std::string& base) {
    WriteManifest(UniqueName(base), Spec("Never", "", C("app", kUntilTerm)));
    pid_t pid = Spawn();
    if (pid <= 0) return -1;
    bool listening = WaitUntil([&] { return Conn(Socket()).connected(); }, 20s);
    EXPECT_TRUE(listening) << "no control socket at " << Socket() << "\n" << Dump();
    EXPECT_TRUE(WaitForEventN("ContainerStarted", "app", 0, 20s, pid)) << Dump();
    return pid;
  }

  // `podshim ctl --socket <socket> ARGS`: its exit status; stdout and stderr go to `out`.
  int Ctl(const std::string& args, std::string& out) {
    const fs::path file = tmp_ / "ctl.out";
    std::string cmd = std::string(PODSHIM_BINARY) + " ctl --socket " + Socket().string() + " " +
                      args + " >" + file.string() + " 2>&1 </dev/null";
    int st = std::system(cmd.c_str());
    out = ReadText(file);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  }
};

std::string Nested(std::size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

TEST_F(PodControlLimitsTest, ADeeplyNestedRequestIsRefusedAndThePodKeepsItsShim) {
  pid_t pid = StartPod("pcl-deep");
  ASSERT_GT(pid, 0);
  Conn c(Socket());
  // 100,000 levels in the id (echoed in the answer) and in a field: each is refused by name.
  for (const std::string& line :
       {R"({"id":)" + Nested(100'000) + R"(,"command":"status"})",
        R"({"command":"exec","container":"app","argv":)" + Nested(100'000) + "}"}) {
    json r = c.Call(line);
    EXPECT_EQ(ErrorCode(r), "bad_request") << r.dump() << "\n" << Dump();
    EXPECT_EQ(ErrorMessage(r),
              "request nests deeper than " + std::to_string(control::kMaxRequestDepth) + " levels");
    EXPECT_FALSE(r.is_object() && r.contains("id")) << r.dump();
  }
  // The same connection, a new one and `ctl status` are still answered by the same shim.
  json again = c.Call(R"({"id":"again","command":"status"})");
  EXPECT_TRUE(again.is_object() && again["id"] == "again") << again.dump();
  std::string out;
  EXPECT_EQ(Ctl("status", out), 0) << out << Dump();
  EXPECT_NE(out.find("app"), std::string::npos) << out;
  EXPECT_FALSE(PollExit(pid, 0ms).has_value()) << "the shim died\n" << Dump();
  EXPECT_EQ(Ctl("stop", out), 0) << out;
  EXPECT_EQ(WaitBounded(pid, 30s), 0) << Dump();  // a requested stop, the app exits 0
  ExpectNothingLeft();
}

TEST_F(PodControlLimitsTest, IdleAndTricklingConnectionsAtTheLimitDoNotLockOutCtl) {
  pid_t pid = StartPod("pcl-full");
  ASSERT_GT(pid, 0);
  // Fill every slot: half connected and silent, half in the middle of a request line.
  std::vector<std::unique_ptr<Conn>> held;
  for (std::size_t i = 0; i < control::kMaxControlClients; ++i) {
    held.push_back(std::make_unique<Conn>(Socket()));
    ASSERT_TRUE(held.back()->connected()) << i;
    if (i % 2 == 1) {
      ASSERT_TRUE(held.back()->Send(R"({"command":"sta)")) << i;
    }
  }
  // The shim has taken them all (the last one answers once the earlier ones are accepted).
  ASSERT_EQ(held.back()->Call(R"(tus"})")["ok"], true) << Dump();

  // `ctl status` and then `ctl stop` get in, each by closing the oldest idle connection.
  std::string out;
  EXPECT_EQ(Ctl("status", out), 0) << out << Dump();
  EXPECT_TRUE(held.front()->ClosedWithin(5s)) << "the oldest idle connection is still open";
  EXPECT_EQ(Ctl("stop", out), 0) << out << Dump();
  EXPECT_EQ(WaitBounded(pid, 30s), 0) << Dump();
  ExpectNothingLeft();
}

TEST_F(PodControlLimitsTest, IdleAndTricklingConnectionsAreClosedAfterTheirTimeouts) {
  // Short, but long enough for a loaded (sanitizer) build to send a first request in time.
  ::setenv("PODSHIM_CONTROL_IDLE_TIMEOUT_FOR_TEST", "1s", 1);
  ::setenv("PODSHIM_CONTROL_REQUEST_TIMEOUT_FOR_TEST", "500ms", 1);
  pid_t pid = StartPod("pcl-idle");
  ASSERT_GT(pid, 0);

  Conn follower(Socket());  // an events stream is never timed out
  ASSERT_TRUE(follower.Send(R"({"command":"events","follow":true})"
                            "\n"));
  ASSERT_TRUE(follower.ReadLine().has_value());
  Conn silent(Socket());
  Conn answered(Socket());
  EXPECT_EQ(answered.Call(R"({"command":"status"})")["ok"], true);

  // A client sending its request a byte every 50 ms never completes it in time.
  Conn trickler(Socket());
  std::atomic<bool> stop_trickling{false};
  std::thread trickle([&] {
    const std::string line = R"({"command":"status","padding":")" + std::string(1000, 'x');
    for (char ch : line) {
      if (stop_trickling || !trickler.Send(std::string(1, ch))) return;
      std::this_thread::sleep_for(50ms);
    }
  });
  json r = trickler.ReadJson(20s);
  stop_trickling = true;
  trickle.join();
  EXPECT_EQ(ErrorCode(r), "bad_request") << r.dump();
  EXPECT_EQ(ErrorMessage(r),
            "request line not complete within 500ms of its first byte; closing the connection");
  EXPECT_TRUE(trickler.ClosedWithin(20s));

  EXPECT_TRUE(silent.ClosedWithin(20s)) << "a silent connection was not closed";
  EXPECT_TRUE(answered.ClosedWithin(20s)) << "an idle connection was not closed";
  EXPECT_EQ(silent.unread(), "");  // idle connections are closed without a word

  // The follower is still there: it sees the stop's events and the end of the stream.
  std::string out;
  EXPECT_EQ(Ctl("stop", out), 0) << out;
  bool finished = false;
  for (int i = 0; i < 100 && !finished; ++i) {
    json line = follower.ReadJson(20s);
    ASSERT_TRUE(line.is_object()) << "the follower lost its stream\n" << Dump();
    finished = line["result"].is_object() && line["result"].value("end", false);
  }
  EXPECT_TRUE(finished);
  EXPECT_EQ(WaitBounded(pid, 30s), 0) << Dump();
  ExpectNothingLeft();
}

}  // namespace
