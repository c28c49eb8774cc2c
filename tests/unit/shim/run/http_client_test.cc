// HttpGetClient against test_proc's http/https servers on 127.0.0.1 (a child process; a
// self-signed certificate it makes at start): status codes, same-host and other-host redirects,
// the redirect limit, the header fields sent, timeouts (a server that never answers, a listener
// that never accepts, a TLS client on a plain server), a huge response. Plus the pure pieces.
#include "shim/run/http_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include "fixtures/loopback_socket.h"
#include "shim/run/probe_runner.h"

namespace podshim::shim {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// `test_proc http|https 0 DIR` as a child; killed (with its connection children) at the end.
class TestServer {
 public:
  TestServer(const char* mode, const fs::path& dir) {
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], 1);
      ::execl(PODSHIM_TEST_PROC, PODSHIM_TEST_PROC, mode, "0", dir.c_str(), nullptr);
      ::_exit(127);
    }
    ::close(out[1]);
    FILE* f = ::fdopen(out[0], "r");
    if (f == nullptr || std::fscanf(f, "listening %d", &port_) != 1) port_ = 0;
    if (f != nullptr) std::fclose(f);
  }
  ~TestServer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  int port() const { return port_; }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

class HttpClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("podshim-http-client-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  ProbeOutcome Get(int port, bool tls, std::string path, std::vector<HttpHeader> headers = {},
                   HttpGetClient::Duration timeout = 5s) {
    HttpGetAction a;
    a.port = port;
    a.path = std::move(path);
    a.scheme = tls ? HttpScheme::kHttps : HttpScheme::kHttp;
    a.http_headers = std::move(headers);
    auto target = HttpGetTargetFor(a, kProbeUserAgent);
    EXPECT_TRUE(target);
    std::optional<ProbeOutcome> out;
    client_.Get(
        *target, [](int family) { return TcpSocketInNetns(-1, family); }, timeout,
        [&](ProbeOutcome o) { out = std::move(o); });
    EXPECT_FALSE(out.has_value()) << "the callback must not run inside Get";
    auto start = std::chrono::steady_clock::now();
    while (!out && std::chrono::steady_clock::now() - start < 20s) io_.run_one_for(100ms);
    EXPECT_TRUE(out.has_value()) << "no outcome within 20 s";
    return out.value_or(ProbeOutcome{false, "no outcome"});
  }

  std::string Requests() const {
    std::ifstream in(dir_ / "requests");
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  int CountRequests() const {
    std::string r = Requests();
    int n = 0;
    for (std::size_t at = r.find("GET "); at != std::string::npos; at = r.find("GET ", at + 1)) {
      ++n;
    }
    return n;
  }

  fs::path dir_;
  boost::asio::io_context io_;
  HttpGetClient client_{io_};
};

TEST_F(HttpClientTest, HttpsStatusCodesDecideTheOutcome) {
  TestServer server("https", dir_);
  ASSERT_GT(server.port(), 0);
  ProbeOutcome ok = Get(server.port(), true, "/status/200");
  EXPECT_TRUE(ok.success) << ok.message;
  EXPECT_EQ(ok.message, "HTTP 200");
  ProbeOutcome missing = Get(server.port(), true, "/status/404");
  EXPECT_FALSE(missing.success);
  EXPECT_EQ(missing.message, "HTTP probe failed with statuscode: 404");
  ProbeOutcome broken = Get(server.port(), true, "/status/500");
  EXPECT_FALSE(broken.success);
  EXPECT_EQ(broken.message, "HTTP probe failed with statuscode: 500");
  ProbeOutcome early = Get(server.port(), true, "/status/199");
  EXPECT_FALSE(early.success) << early.message;
}

TEST_F(HttpClientTest, SameHostRedirectsAreFollowedOverHttpsAndHttp) {
  for (const char* mode : {"https", "http"}) {
    TestServer server(mode, dir_);
    ASSERT_GT(server.port(), 0);
    bool tls = mode[4] == 's';
    ProbeOutcome ok = Get(server.port(), tls, "/redirect/status/200");
    EXPECT_TRUE(ok.success) << mode << ": " << ok.message;
    // The 302 alone would be success: the 404 proves the redirect was followed.
    ProbeOutcome missing = Get(server.port(), tls, "/redirect/status/404");
    EXPECT_FALSE(missing.success) << mode;
    EXPECT_EQ(missing.message, "HTTP probe failed with statuscode: 404") << mode;
  }
  EXPECT_EQ(CountRequests(), 8) << Requests();
}

TEST_F(HttpClientTest, RedirectToAnotherHostIsNotFollowedAndCountsAsSuccess) {
  TestServer server("https", dir_);
  ASSERT_GT(server.port(), 0);
  ProbeOutcome o = Get(server.port(), true, "/away");
  EXPECT_TRUE(o.success) << o.message;
  EXPECT_NE(o.message.find("302"), std::string::npos) << o.message;
  EXPECT_NE(o.message.find("terminated redirects"), std::string::npos) << o.message;
  EXPECT_EQ(CountRequests(), 1);
}

TEST_F(HttpClientTest, StopsAfterTenRequests) {
  TestServer server("https", dir_);
  ASSERT_GT(server.port(), 0);
  std::string nine;
  for (int i = 0; i < 9; ++i) nine += "/redirect";
  ProbeOutcome ok = Get(server.port(), true, nine + "/status/200");
  EXPECT_TRUE(ok.success) << ok.message;
  EXPECT_EQ(CountRequests(), 10);
  ProbeOutcome stopped = Get(server.port(), true, "/redirect" + nine + "/status/200");
  EXPECT_FALSE(stopped.success);
  EXPECT_NE(stopped.message.find("stopped after 10 redirects"), std::string::npos)
      << stopped.message;
  EXPECT_EQ(CountRequests(), 20);
}

TEST_F(HttpClientTest, SendsKubeletsHeaderFields) {
  TestServer server("https", dir_);
  ASSERT_GT(server.port(), 0);
  ProbeOutcome o = Get(server.port(), true, "/status/200?x=1", {{"X-Probe", "yes"}});
  ASSERT_TRUE(o.success) << o.message;
  std::string port = std::to_string(server.port());
  EXPECT_EQ(Requests(), "GET /status/200?x=1 HTTP/1.1\r\nHost: 127.0.0.1:" + port +
                            "\r\nUser-Agent: kube-probe/podshim\r\nAccept: */*\r\nX-Probe: yes\r\n"
                            "Connection: close\r\n\r\n");
  fs::remove(dir_ / "requests");
  o = Get(server.port(), true, "/status/200",
          {{"Accept", ""}, {"host", "example.test"}, {"User-Agent", "mine"}});
  ASSERT_TRUE(o.success) << o.message;
  EXPECT_EQ(Requests(),
            "GET /status/200 HTTP/1.1\r\nHost: example.test\r\nUser-Agent: mine\r\n"
            "Connection: close\r\n\r\n");
}

TEST_F(HttpClientTest, PlainHttpStillWorks) {
  TestServer server("http", dir_);
  ASSERT_GT(server.port(), 0);
  EXPECT_TRUE(Get(server.port(), false, "/status/204").success);
  ProbeOutcome o = Get(server.port(), false, "/status/503");
  EXPECT_EQ(o.message, "HTTP probe failed with statuscode: 503");
  EXPECT_NE(Requests().find("User-Agent: kube-probe/podshim\r\n"), std::string::npos);
}

TEST_F(HttpClientTest, ServerThatNeverAnswersTimesOut) {
  TestServer server("https", dir_);
  ASSERT_GT(server.port(), 0);
  ProbeOutcome o = Get(server.port(), true, "/hang", {}, 500ms);
  EXPECT_FALSE(o.success);
  EXPECT_EQ(o.message, "127.0.0.1:" + std::to_string(server.port()) + ": timed out after 500ms");
  EXPECT_EQ(CountRequests(), 1);  // the request got there
}

TEST_F(HttpClientTest, TlsHandshakeThatNeverCompletesTimesOut) {
  auto b =
      podshim::testing::BindLoopback(/*listen=*/true);  // the kernel accepts, nobody speaks TLS
  ASSERT_GT(b.port, 0);
  ProbeOutcome o = Get(b.port, true, "/", {}, 300ms);
  EXPECT_FALSE(o.success);
  EXPECT_NE(o.message.find("timed out after 300ms"), std::string::npos) << o.message;
}

TEST_F(HttpClientTest, HttpsToAPlainServerFailsTheHandshake) {
  TestServer server("http", dir_);
  ASSERT_GT(server.port(), 0);
  ProbeOutcome o = Get(server.port(), true, "/status/200");
  EXPECT_FALSE(o.success);
  EXPECT_NE(o.message.find("tls handshake with 127.0.0.1:"), std::string::npos) << o.message;
}

TEST_F(HttpClientTest, ConnectionRefused) {
  auto b = podshim::testing::BindLoopback(/*listen=*/false);
  ASSERT_GT(b.port, 0);
  ProbeOutcome o = Get(b.port, true, "/");
  EXPECT_FALSE(o.success);
  EXPECT_EQ(o.message,
            "dial tcp 127.0.0.1:" + std::to_string(b.port) + ": connect: Connection refused");
}

TEST_F(HttpClientTest, HugeResponseReadsOnlyTheHeader) {
  TestServer server("https", dir_);
  ASSERT_GT(server.port(), 0);
  ProbeOutcome o = Get(server.port(), true, "/huge");  // 16 MiB body, never read
  EXPECT_TRUE(o.success) << o.message;
}

HttpGetTarget From(std::string path, bool tls = false) {
  HttpGetAction a;
  a.port = 8080;
  a.path = std::move(path);
  a.scheme = tls ? HttpScheme::kHttps : HttpScheme::kHttp;
  a.http_headers = {{"Host", "svc.test"}, {"X-A", "1"}};
  return HttpGetTargetFor(a, kProbeUserAgent).value();
}

TEST(HttpRedirectTest, RelativeLocationsKeepHostPortSchemeAndHeaders) {
  HttpGetTarget from = From("/a/b?q=1", true);
  auto abs_path = FollowRedirect(from, "/c");
  ASSERT_TRUE(abs_path);
  EXPECT_EQ(abs_path->path, "/c");
  EXPECT_EQ(abs_path->port, 8080);
  EXPECT_TRUE(abs_path->tls);
  EXPECT_EQ(abs_path->headers.size(), 2u);  // the custom Host stays
  EXPECT_EQ(FollowRedirect(from, "c#frag")->path, "/a/c");
  EXPECT_EQ(FollowRedirect(from, "?r=2")->path, "/a/b?r=2");
}

TEST(HttpRedirectTest, AbsoluteLocationsOnTheSameHostMayChangeSchemeAndPort) {
  HttpGetTarget from = From("/x");
  auto https = FollowRedirect(from, "https://127.0.0.1/secure");
  ASSERT_TRUE(https);
  EXPECT_TRUE(https->tls);
  EXPECT_EQ(https->port, 443);
  EXPECT_EQ(https->path, "/secure");
  ASSERT_EQ(https->headers.size(), 1u);  // Go drops the custom Host on absolute redirects
  EXPECT_EQ(https->headers[0].name, "X-A");
  auto port = FollowRedirect(from, "HTTP://user@127.0.0.1:9000");
  ASSERT_TRUE(port);
  EXPECT_FALSE(port->tls);
  EXPECT_EQ(port->port, 9000);
  EXPECT_EQ(port->path, "/");
  auto scheme_relative = FollowRedirect(from, "//127.0.0.1:81/y");
  ASSERT_TRUE(scheme_relative);
  EXPECT_EQ(scheme_relative->port, 81);
  EXPECT_EQ(scheme_relative->path, "/y");
}

TEST(HttpRedirectTest, OtherHostsAndGarbageAreNotFollowed) {
  HttpGetTarget from = From("/x");
  EXPECT_FALSE(FollowRedirect(from, "http://10.0.0.1/"));
  EXPECT_FALSE(FollowRedirect(from, "http://localhost:8080/"));  // another hostname, as in Go
  EXPECT_FALSE(FollowRedirect(from, "https://127.0.0.1:99999/"));
  EXPECT_FALSE(FollowRedirect(from, "http:///nohost"));
  HttpGetAction v6;
  v6.host = "::1";
  v6.port = 80;
  HttpGetTarget from6 = HttpGetTargetFor(v6, kProbeUserAgent).value();
  EXPECT_EQ(HttpEndpoint(from6), "[::1]:80");
  auto same6 = FollowRedirect(from6, "http://[::1]:81/z");
  ASSERT_TRUE(same6);
  EXPECT_EQ(same6->port, 81);
}

TEST(HttpRequestFieldsTest, DefaultsAndOverrides) {
  HttpGetAction a;
  a.port = 80;
  HttpGetTarget t = HttpGetTargetFor(a, kHookUserAgent).value();
  EXPECT_EQ(t.path, "/");
  auto fields = HttpRequestFields(t);
  ASSERT_EQ(fields.size(), 3u);
  EXPECT_EQ(fields[0].name + ": " + fields[0].value, "Host: 127.0.0.1:80");
  EXPECT_EQ(fields[1].name + ": " + fields[1].value, "User-Agent: kube-lifecycle/podshim");
  EXPECT_EQ(fields[2].name + ": " + fields[2].value, "Accept: */*");
  a.host = "db.example";
  EXPECT_FALSE(HttpGetTargetFor(a, kProbeUserAgent));
}

}  // namespace
}  // namespace podshim::shim
