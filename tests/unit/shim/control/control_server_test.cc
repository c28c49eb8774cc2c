#include "shim/control/control_server.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/local/connect_pair.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <cstring>
#include <future>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "fixtures/fakes/fake_control_handler.h"
#include "fixtures/fakes/temp_dir.h"

namespace podshim::shim::control {
namespace {

namespace asio = boost::asio;
using nlohmann::json;
using Socket = asio::local::stream_protocol::socket;

// A blocking test client on one end of a connection; reads time out after 5 s.
class Client {
 public:
  explicit Client(Socket socket) : socket_(std::move(socket)) {}
  int fd() { return socket_.native_handle(); }

  bool Send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd(), data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }
  bool SendLine(std::string_view line) { return Send(std::string(line) + "\n"); }

  // The next line, or nullopt at EOF, error or timeout.
  std::optional<std::string> ReadLine(int timeout_ms = 5000) {
    for (;;) {
      std::size_t nl = buf_.find('\n');
      if (nl != std::string::npos) {
        std::string line = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        return line;
      }
      pollfd p{fd(), POLLIN, 0};
      if (::poll(&p, 1, timeout_ms) <= 0) return std::nullopt;
      char chunk[65536];
      ssize_t n = ::recv(fd(), chunk, sizeof(chunk), 0);
      if (n <= 0) return std::nullopt;
      buf_.append(chunk, static_cast<std::size_t>(n));
    }
  }
  json ReadJson() {
    std::optional<std::string> line = ReadLine();
    EXPECT_TRUE(line.has_value()) << "no response";
    if (!line) return json();
    json j = json::parse(*line, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << *line;
    return j;
  }
  json Ask(std::string_view line) {
    EXPECT_TRUE(SendLine(line));
    return ReadJson();
  }
  // True when the server closed the connection (EOF or reset) within the timeout.
  bool Closed(int timeout_ms = 5000) {
    for (;;) {
      pollfd p{fd(), POLLIN, 0};
      if (::poll(&p, 1, timeout_ms) <= 0) return false;
      char chunk[65536];
      ssize_t n = ::recv(fd(), chunk, sizeof(chunk), 0);
      if (n <= 0) return true;
    }
  }
  void Disconnect() {
    boost::system::error_code ignored;
    socket_.close(ignored);
  }

 private:
  Socket socket_;
  std::string buf_;
};

// The server runs on its own io_context thread, as in the shim; the test thread is the clients.
class ControlServerTest : public ::testing::Test {
 protected:
  // Runs f on the server's thread and waits for it.
  template <class F>
  auto OnLoop(F f) {
    std::packaged_task<decltype(f())()> task(std::move(f));
    auto result = task.get_future();
    asio::post(io_, [&task] { task(); });
    return result.get();
  }

  void SetUp() override { Start({}); }
  void TearDown() override { Stop(); }

  void Start(ControlServerOptions options) {
    handler_ = std::make_unique<testing::FakeControlHandler>(io_);
    server_ = std::make_unique<ControlServer>(io_, *handler_, std::move(options));
    thread_ = std::thread([this] { io_.run(); });
  }
  void Stop() {
    if (!thread_.joinable()) return;
    OnLoop([this] { server_->Close(); });
    guard_.reset();
    thread_.join();
    server_.reset();
    handler_.reset();
  }
  void Restart(ControlServerOptions options) {
    Stop();
    io_.restart();
    guard_.emplace(io_.get_executor());
    Start(std::move(options));
  }

  Client Pair() {
    Socket server_end(io_);
    Socket client_end(client_io_);
    asio::local::connect_pair(server_end, client_end);
    OnLoop([this, s = std::make_shared<Socket>(std::move(server_end))]() mutable {
      server_->Serve(std::move(*s));
    });
    return Client(std::move(client_end));
  }

  Client Connect(const std::filesystem::path& path) {
    Socket s(client_io_);
    boost::system::error_code ec;
    s.connect(asio::local::stream_protocol::endpoint(path.string()), ec);
    EXPECT_FALSE(ec) << ec.message();
    return Client(std::move(s));
  }

  std::size_t Clients() {
    return OnLoop([this] { return server_->client_count(); });
  }
  // Waits until the server holds `n` clients (they close asynchronously).
  bool WaitClients(std::size_t n) {
    for (int i = 0; i < 500; ++i) {
      if (Clients() == n) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard_{
      io_.get_executor()};
  asio::io_context client_io_;
  std::unique_ptr<testing::FakeControlHandler> handler_;
  std::unique_ptr<ControlServer> server_;
  std::thread thread_;
};

TEST_F(ControlServerTest, AnswersEveryCommand) {
  Client c = Pair();
  json status = c.Ask(R"({"command":"status"})");
  EXPECT_EQ(status, json::parse(R"({"ok":true,"result":{"phase":"Running","ready":true,
                                   "containerStatuses":[{"name":"web"}]}})"));
  json stats = c.Ask(R"({"command":"stats"})");
  EXPECT_EQ(stats["result"]["pod"]["memoryCurrent"], 4096);
  EXPECT_EQ(stats["result"]["containers"][1]["oomKills"], nullptr);
  EXPECT_EQ(c.Ask(R"({"command":"kill","container":"web","signal":"HUP"})"),
            json::parse(R"({"ok":true,"result":{"container":"web","signal":"SIGHUP"}})"));
  EXPECT_EQ(c.Ask(R"({"command":"restart","container":"proxy"})"),
            json::parse(R"({"ok":true,"result":{"container":"proxy"}})"));
  EXPECT_EQ(c.Ask(R"({"command":"stop","graceSeconds":5})"),
            json::parse(R"({"ok":true,"result":{"gracePeriodSeconds":5,
                                                "alreadyTerminating":false}})"));
  EXPECT_EQ(c.Ask(R"({"command":"exec","container":"web","argv":["echo","a","b"]})"),
            json::parse(R"({"ok":true,"result":{"exitCode":0,"stdout":"a b\n","stderr":"",
                                                "timedOut":false}})"));
  OnLoop([this] {
    EXPECT_EQ(handler_->kills, (std::vector<std::pair<std::string, int>>{{"web", SIGHUP}}));
    EXPECT_EQ(handler_->restarts, std::vector<std::string>{"proxy"});
  });
}

TEST_F(ControlServerTest, ErrorsKeepTheConnectionOpen) {
  Client c = Pair();
  EXPECT_EQ(c.Ask("this is not json"), json::parse(R"({"ok":false,"error":{"code":"bad_request",
                                                "message":"request is not valid JSON"}})"));
  EXPECT_EQ(c.Ask(R"({"id":1,"command":"reboot"})"),
            json::parse(R"({"id":1,"ok":false,"error":{"code":"unknown_command",
                                                       "message":"unknown command \"reboot\""}})"));
  json unknown = c.Ask(R"({"id":"k","command":"kill","container":"nope"})");
  EXPECT_EQ(unknown["id"], "k");
  EXPECT_EQ(unknown["ok"], false);
  EXPECT_EQ(unknown["error"]["code"], "unknown_container");
  EXPECT_EQ(c.Ask(R"({"command":"exec","container":"nope","argv":["ls"]})")["error"]["code"],
            "unknown_container");
  EXPECT_EQ(c.Ask(R"({"command":"restart","container":"nope"})")["error"]["code"],
            "unknown_container");
  EXPECT_EQ(c.Ask(R"({"command":"status"})")["ok"], true);
}

TEST_F(ControlServerTest, PipelinedRequestsAreAnsweredInOrder) {
  Client c = Pair();
  std::string batch;
  for (int i = 0; i < 50; ++i) {
    batch += i % 2 ? R"({"id":)" + std::to_string(i) +
                         R"(,"command":"status"})"
                         "\n"
                   : R"({"id":)" + std::to_string(i) +
                         R"(,"command":"exec","container":"web","argv":["x","y"]})"
                         "\r\n";
  }
  ASSERT_TRUE(c.Send(batch));
  for (int i = 0; i < 50; ++i) {
    json r = c.ReadJson();
    EXPECT_EQ(r["id"], i);
    EXPECT_EQ(r["ok"], true);
  }
}

TEST_F(ControlServerTest, LastRequestWithoutNewlineIsAnsweredAtEndOfInput) {
  Client c = Pair();
  ASSERT_TRUE(c.Send(R"({"command":"status"})"));
  ::shutdown(c.fd(), SHUT_WR);
  EXPECT_EQ(c.ReadJson()["ok"], true);
  EXPECT_TRUE(c.Closed());
}

TEST_F(ControlServerTest, EventsReplayThenEnd) {
  OnLoop([this] {
    for (const char* t : {"PodStarted", "ContainerStarted", "ContainerReady"})
      handler_->AddEvent(t);
  });
  Client c = Pair();
  ASSERT_TRUE(c.SendLine(R"({"id":9,"command":"events","fromSeq":2})"));
  json first = c.ReadJson();
  EXPECT_EQ(first["id"], 9);
  EXPECT_EQ(first["result"]["seq"], 2);
  EXPECT_EQ(first["result"]["event"]["type"], "ContainerStarted");
  EXPECT_EQ(c.ReadJson()["result"]["seq"], 3);
  EXPECT_EQ(c.ReadJson(), json::parse(R"({"id":9,"ok":true,"result":{"end":true,"nextSeq":4,
                                                                       "podFinished":false}})"));
  // Without follow the connection stays usable.
  EXPECT_EQ(c.Ask(R"({"command":"status"})")["ok"], true);
}

TEST_F(ControlServerTest, EventsFollowUntilThePodFinishes) {
  OnLoop([this] { handler_->AddEvent("PodStarted"); });
  Client c = Pair();
  ASSERT_TRUE(c.SendLine(R"({"command":"events","follow":true})"));
  EXPECT_EQ(c.ReadJson()["result"]["event"]["type"], "PodStarted");
  EXPECT_FALSE(c.ReadLine(100).has_value());  // nothing new yet
  OnLoop([this] {
    handler_->AddEvent("ContainerStarted");
    server_->NotifyEvents();
  });
  json started = c.ReadJson();
  EXPECT_EQ(started["result"]["seq"], 2);
  EXPECT_EQ(started["result"]["event"]["type"], "ContainerStarted");
  OnLoop([this] {
    handler_->Finish();
    server_->NotifyEvents();
  });
  EXPECT_EQ(c.ReadJson()["result"]["event"]["type"], "PodFinished");
  EXPECT_EQ(c.ReadJson()["result"], json::parse(R"({"end":true,"nextSeq":4,"podFinished":true})"));
  EXPECT_TRUE(c.Closed());
  EXPECT_TRUE(WaitClients(0));
}

TEST_F(ControlServerTest, RefusesAPeerWithAnotherUid) {
  ControlServerOptions options;
  options.allowed_uids = {::geteuid() + 12345};
  Restart(options);
  Client c = Pair();
  json r = c.ReadJson();
  EXPECT_EQ(r["ok"], false);
  EXPECT_EQ(r["error"]["code"], "permission_denied");
  EXPECT_NE(r["error"]["message"].get<std::string>().find(std::to_string(::geteuid())),
            std::string::npos);
  EXPECT_TRUE(c.Closed());
  EXPECT_TRUE(WaitClients(0));
}

TEST_F(ControlServerTest, AFullServerClosesTheOldestIdleClientForANewOne) {
  ControlServerOptions options;
  options.max_clients = 3;
  Restart(options);
  Client a = Pair();
  EXPECT_EQ(a.Ask(R"({"command":"status"})")["ok"], true);
  Client b = Pair();
  // b's answer is queued after a's was written: b's last activity is later, whatever the order
  // in which the loop ran a's write completion and b's arrival.
  EXPECT_EQ(b.Ask(R"({"command":"status"})")["ok"], true);
  Client trickling = Pair();
  ASSERT_TRUE(trickling.Send(R"({"command":"sta)"));
  ASSERT_TRUE(WaitClients(3));
  // The newcomer is served; `a`, idle the longest, made room.
  Client d = Pair();
  EXPECT_EQ(d.Ask(R"({"command":"status"})")["ok"], true);
  EXPECT_TRUE(a.Closed());
  EXPECT_EQ(b.Ask(R"({"command":"status"})")["ok"], true);
  // Idle connections go before one in the middle of a request line.
  Client e = Pair();
  EXPECT_EQ(e.Ask(R"({"command":"status"})")["ok"], true);
  EXPECT_TRUE(d.Closed());  // answered before b was
  ASSERT_TRUE(trickling.SendLine(R"(tus"})"));
  EXPECT_EQ(trickling.ReadJson()["ok"], true);
  EXPECT_EQ(b.Ask(R"({"command":"status"})")["ok"], true);
}

TEST_F(ControlServerTest, TooManyClientsAreRefusedWhenNoneIsIdle) {
  ControlServerOptions options;
  options.max_clients = 2;
  Restart(options);
  OnLoop([this] { handler_->AddEvent("PodStarted"); });
  Client a = Pair();
  Client b = Pair();
  for (Client* c : {&a, &b}) {  // events streams are never closed to make room
    ASSERT_TRUE(c->SendLine(R"({"command":"events","follow":true})"));
    EXPECT_EQ(c->ReadJson()["result"]["seq"], 1);
  }
  Client c = Pair();
  json r = c.ReadJson();
  EXPECT_EQ(r["error"]["code"], "unavailable");
  EXPECT_EQ(r["error"]["message"],
            "too many control clients at once (the limit is 2, and each is running an exec or an "
            "events stream); try again");
  EXPECT_TRUE(c.Closed());
  OnLoop([this] {
    handler_->AddEvent("ContainerStarted");
    server_->NotifyEvents();
  });
  EXPECT_EQ(a.ReadJson()["result"]["seq"], 2);
  EXPECT_EQ(b.ReadJson()["result"]["seq"], 2);
}

TEST_F(ControlServerTest, IdleClientsAreClosedAfterTheIdleTimeout) {
  ControlServerOptions options;
  options.idle_timeout = std::chrono::milliseconds(500);
  Restart(options);
  OnLoop([this] { handler_->AddEvent("PodStarted"); });
  Client follower = Pair();
  ASSERT_TRUE(follower.SendLine(R"({"command":"events","follow":true})"));
  EXPECT_EQ(follower.ReadJson()["result"]["seq"], 1);
  Client silent = Pair();
  Client answered = Pair();
  EXPECT_EQ(answered.Ask(R"({"command":"status"})")["ok"], true);
  EXPECT_TRUE(silent.Closed());
  EXPECT_TRUE(answered.Closed());
  EXPECT_TRUE(WaitClients(1));
  // The follower is not idle: it still gets what happens.
  OnLoop([this] {
    handler_->AddEvent("ContainerStarted");
    server_->NotifyEvents();
  });
  EXPECT_EQ(follower.ReadJson()["result"]["seq"], 2);
}

TEST_F(ControlServerTest, ARequestNotCompleteInTimeIsRefusedAndClosed) {
  ControlServerOptions options;
  options.request_timeout = std::chrono::milliseconds(300);
  Restart(options);
  Client slow = Pair();
  // A byte every 20 ms keeps coming, but the deadline runs from the request's first byte.
  std::atomic<bool> stop{false};
  std::thread trickle([&] {
    std::string line = R"({"command":"status","pad":")" + std::string(5000, 'x');
    for (char ch : line) {
      if (stop || !slow.Send(std::string(1, ch))) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  json r = slow.ReadJson();
  stop = true;
  trickle.join();
  EXPECT_EQ(r["error"]["code"], "bad_request");
  EXPECT_EQ(r["error"]["message"],
            "request line not complete within 300ms of its first byte; closing the connection");
  EXPECT_TRUE(slow.Closed());
  // A request sent at once is not affected, nor is the pause between requests.
  Client quick = Pair();
  EXPECT_EQ(quick.Ask(R"({"command":"status"})")["ok"], true);
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  EXPECT_EQ(quick.Ask(R"({"command":"status"})")["ok"], true);
}

TEST_F(ControlServerTest, DeeplyNestedRequestsAreAnsweredAndTheServerLives) {
  Client c = Pair();
  const std::string deep = std::string(100'000, '[') + std::string(100'000, ']');
  json r = c.Ask(R"({"id":)" + deep + R"(,"command":"status"})");
  EXPECT_EQ(r["error"]["code"], "bad_request");
  EXPECT_EQ(r["error"]["message"], "request nests deeper than 64 levels");
  EXPECT_FALSE(r.contains("id"));
  r = c.Ask(R"({"command":"status","x":)" + deep + "}");
  EXPECT_EQ(r["error"]["code"], "bad_request");
  EXPECT_EQ(c.Ask(R"({"id":2,"command":"status"})")["id"], 2);
}

TEST_F(ControlServerTest, LineWithoutNewlineOverTheCapIsRefusedAndClosed) {
  Client big = Pair();
  Client other = Pair();
  std::string chunk(2 << 20, 'x');
  big.Send(chunk);  // may fail part-way once the server closes: that is the point
  json r = big.ReadJson();
  EXPECT_EQ(r["ok"], false);
  EXPECT_EQ(r["error"]["code"], "too_large");
  EXPECT_TRUE(big.Closed());
  EXPECT_EQ(other.Ask(R"({"command":"status"})")["ok"], true);
}

TEST_F(ControlServerTest, ClientThatDoesNotReadIsDropped) {
  ControlServerOptions options;
  options.max_queued_bytes = 256 * 1024;
  Restart(options);
  OnLoop([this] { handler_->exec_output_bytes = 100 * 1024; });
  Client slow = Pair();
  // Shrink the client's receive buffer so that the kernel cannot absorb the answers.
  int small = 4096;
  ::setsockopt(slow.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  std::string batch;
  for (int i = 0; i < 40; ++i)
    batch += R"({"command":"exec","container":"web","argv":["x"]})"
             "\n";
  ASSERT_TRUE(slow.Send(batch));
  Client other = Pair();
  EXPECT_TRUE(WaitClients(1));  // the slow one is gone, the other is still there
  EXPECT_EQ(other.Ask(R"({"command":"status"})")["ok"], true);
}

class ControlSocketTest : public ControlServerTest {
 protected:
  void SetUp() override {
    ControlServerTest::SetUp();
    ASSERT_TRUE(dir_.ok());
    path_ = dir_.path() / "podshim.sock";
  }
  Status Listen() {
    return OnLoop([this] { return server_->Listen(path_); });
  }
  testing::TempDir dir_;
  std::filesystem::path path_;
};

TEST_F(ControlSocketTest, SocketIsMode0600AndRemovedOnClose) {
  mode_t old = ::umask(0);  // the mode must not depend on the umask
  Status st = Listen();
  ::umask(old);
  ASSERT_TRUE(st.has_value()) << st.error().ToString();
  struct stat s {};
  ASSERT_EQ(::stat(path_.c_str(), &s), 0);
  EXPECT_TRUE(S_ISSOCK(s.st_mode));
  EXPECT_EQ(s.st_mode & 07777, 0600u);
  Client c = Connect(path_);
  EXPECT_EQ(c.Ask(R"({"command":"status"})")["ok"], true);
  OnLoop([this] { server_->Close(); });
  EXPECT_FALSE(std::filesystem::exists(path_));
}

TEST_F(ControlSocketTest, AnotherUserCannotConnect) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to become another user";
  Status st = Listen();
  ASSERT_TRUE(st.has_value()) << st.error().ToString();
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path_.c_str(), path_.native().size());
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {  // only syscalls in the child: the parent has threads
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(2);
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
    ::_exit(rc != 0 && errno == EACCES ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "2: could not become nobody; 1: connect was not EACCES";
}

TEST_F(ControlSocketTest, StaleSocketIsReplacedLiveOneIsAConflict) {
  {
    // A socket file left by a shim that died: bound, then closed.
    Socket s(client_io_);
    s.open();
    s.bind(asio::local::stream_protocol::endpoint(path_.string()));
  }
  ASSERT_TRUE(std::filesystem::exists(path_));
  Status st = Listen();
  ASSERT_TRUE(st.has_value()) << st.error().ToString();

  testing::FakeControlHandler other_handler(io_);
  Status second = OnLoop([&] {
    ControlServer other(io_, other_handler);
    return other.Listen(path_);
  });
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code(), podshim::ErrorCode::kConflict);
  Client c = Connect(path_);  // the first server still answers
  EXPECT_EQ(c.Ask(R"({"command":"status"})")["ok"], true);
}

TEST_F(ControlSocketTest, PathTooLongIsAClearError) {
  Status st = OnLoop([this] { return server_->Listen(dir_.path() / std::string(200, 'a')); });
  ASSERT_FALSE(st.has_value());
  EXPECT_NE(st.error().ToString().find("must be 1 to 107 bytes long"), std::string::npos)
      << st.error().ToString();
}

TEST_F(ControlSocketTest, TwentyClientsAndThreeMisbehavingOnesAtOnce) {
  Status st = Listen();
  ASSERT_TRUE(st.has_value()) << st.error().ToString();
  OnLoop([this] {
    for (int i = 0; i < 5000; ++i) handler_->AddEvent("ContainerReady");
  });

  std::vector<Client> good;
  for (int i = 0; i < 20; ++i) good.push_back(Connect(path_));
  Client garbage = Connect(path_);
  Client big = Connect(path_);
  Client vanishing = Connect(path_);

  // The one that goes away mid-stream: asks for a long follow, reads a little, disconnects.
  ASSERT_TRUE(vanishing.SendLine(R"({"command":"events","follow":true})"));
  ASSERT_TRUE(vanishing.ReadLine().has_value());
  // Garbage, then a 2 MiB line without a newline, sent from another thread since the server
  // stops reading it after the cap.
  const char kGarbage[] = "\x00\x01{{{not json\n";
  ASSERT_TRUE(garbage.Send(std::string(kGarbage, sizeof(kGarbage) - 1)));
  std::thread big_sender([&big] { big.Send(std::string(2 << 20, '{')); });
  // Every good client asks for the status, some exec and a full events replay.
  for (int i = 0; i < 20; ++i) {
    std::string req = i % 3 == 0   ? R"({"command":"events"})"
                      : i % 3 == 1 ? R"({"command":"exec","container":"web","argv":["x","y"]})"
                                   : R"({"command":"status"})";
    ASSERT_TRUE(good[i].SendLine(req));
  }
  vanishing.Disconnect();

  for (int i = 0; i < 20; ++i) {
    if (i % 3 == 0) {
      for (int seq = 1; seq <= 5000; ++seq) {
        std::optional<std::string> line = good[i].ReadLine();
        ASSERT_TRUE(line.has_value()) << "client " << i << " seq " << seq;
      }
      EXPECT_EQ(good[i].ReadJson()["result"]["end"], true);
    } else {
      EXPECT_EQ(good[i].ReadJson()["ok"], true) << "client " << i;
    }
  }
  EXPECT_EQ(garbage.ReadJson()["error"]["code"], "bad_request");
  EXPECT_EQ(big.ReadJson()["error"]["code"], "too_large");
  EXPECT_TRUE(big.Closed());
  big_sender.join();

  // The server keeps going: the good clients and a newcomer are still served.
  EXPECT_EQ(good[0].Ask(R"({"command":"stats"})")["ok"], true);
  EXPECT_EQ(garbage.Ask(R"({"command":"status"})")["ok"], true);
  Client late = Connect(path_);
  EXPECT_EQ(late.Ask(R"({"command":"status"})")["ok"], true);
  EXPECT_TRUE(WaitClients(22));  // 20 good + garbage + late; big and vanishing are gone
}

}  // namespace
}  // namespace podshim::shim::control
