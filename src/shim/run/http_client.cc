#include "shim/run/http_client.h"

#include <openssl/ssl.h>
#include <sys/socket.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <cstdint>
#include <limits>
#include <utility>

#include "common/quoted.h"

namespace podshim::shim {
namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
namespace http = boost::beast::http;
using asio::ip::tcp;

struct HttpGetClient::Tls {
  std::unique_ptr<ssl::context> context;

  // Made on first use; an error when OpenSSL could not make one.
  Result<ssl::context*> Get() {
    if (!context) {
      // Made from our own SSL_CTX: the Asio constructor taking a method throws on failure.
      SSL_CTX* raw = ::SSL_CTX_new(::TLS_client_method());
      if (raw == nullptr) {
        return Error::Domain(ErrorCode::kUnsupported, "OpenSSL could not make a TLS context");
      }
      // kubelet's prober: InsecureSkipVerify. The certificate is not checked.
      ::SSL_CTX_set_verify(raw, SSL_VERIFY_NONE, nullptr);
      context = std::make_unique<ssl::context>(raw);
    }
    return context.get();
  }
};

namespace {

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

bool IStartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && IEquals(s.substr(0, prefix.size()), prefix);
}

bool IsRedirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

// "host", "host:port", "[v6]", "[v6]:port" (userinfo already gone): hostname and port, the port
// nullopt when absent; false when malformed.
bool SplitAuthority(std::string_view authority, std::string& host, std::optional<int>& port) {
  std::string_view rest;
  if (authority.starts_with('[')) {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return false;
    host = std::string(authority.substr(1, close - 1));
    rest = authority.substr(close + 1);
  } else {
    auto colon = authority.find(':');
    host = std::string(authority.substr(0, colon));
    rest = colon == std::string_view::npos ? std::string_view() : authority.substr(colon);
  }
  port.reset();
  if (rest.empty()) return !host.empty();
  if (rest.front() != ':' || rest.size() < 2 || rest.size() > 6) return false;
  int p = 0;
  for (char c : rest.substr(1)) {
    if (c < '0' || c > '9') return false;
    p = p * 10 + (c - '0');
  }
  if (p < 1 || p > 65535) return false;
  port = p;
  return !host.empty();
}

// One GET with its redirects: the socket (or TLS stream) of the current request, the timer over
// the whole run, the callback. Completion handlers hold it alive; the first of outcome, error and
// timeout ends it, closes the connection and cancels the timer.
class Run : public std::enable_shared_from_this<Run> {
 public:
  Run(asio::io_context& io, HttpGetTarget target, SocketFactory sockets,
      std::shared_ptr<HttpGetClient::Tls> tls, HttpGetClient::Duration timeout, ProbeCallback done)
      : io_(io),
        timer_(io),
        target_(std::move(target)),
        sockets_(std::move(sockets)),
        tls_(std::move(tls)),
        timeout_(timeout),
        done_(std::move(done)),
        first_endpoint_(HttpEndpoint(target_)) {}

  void Start() {
    timer_.expires_after(timeout_);
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& e) {
      if (!e) {
        self->Finish(false,
                     self->first_endpoint_ + ": timed out after " + FormatTimeout(self->timeout_));
      }
    });
    Connect();
  }

 private:
  void Connect() {
    ++requests_;
    endpoint_ = HttpEndpoint(target_);
    secure_.reset();
    socket_.reset();
    buffer_.clear();
    parser_.emplace();
    parser_->header_limit(kMaxHttpHeaderBytes);
    // The body is never read, so its announced size must not fail the header.
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    tcp::endpoint ep(target_.address, static_cast<unsigned short>(target_.port));
    auto fd = sockets_(target_.address.is_v6() ? AF_INET6 : AF_INET);
    if (!fd) {
      Finish(false, "dial tcp " + endpoint_ + ": " + fd.error().ToString());
      return;
    }
    socket_.emplace(io_);
    boost::system::error_code ec;
    socket_->assign(ep.protocol(), fd->get(), ec);
    if (ec) {
      Finish(false, "dial tcp " + endpoint_ + ": " + ec.message());
      return;
    }
    (void)fd->Release();  // the asio socket owns it now
    socket_->async_connect(ep, [self = shared_from_this()](const boost::system::error_code& e) {
      self->OnConnected(e);
    });
  }

  void OnConnected(const boost::system::error_code& e) {
    if (finished_) return;
    if (e) {
      Finish(false, "dial tcp " + endpoint_ + ": connect: " + e.message());
      return;
    }
    if (!target_.tls) {
      Send(*socket_);
      return;
    }
    auto ctx = tls_->Get();
    if (!ctx) {
      Finish(false, "tls to " + endpoint_ + ": " + ctx.error().ToString());
      return;
    }
    secure_.emplace(std::move(*socket_), **ctx);
    socket_.reset();
    secure_->async_handshake(
        ssl::stream_base::client, [self = shared_from_this()](const boost::system::error_code& he) {
          if (self->finished_) return;
          if (he) {
            self->Finish(false, "tls handshake with " + self->endpoint_ + ": " + he.message());
            return;
          }
          self->Send(*self->secure_);
        });
  }

  template <class Stream>
  void Send(Stream& stream) {
    request_ = {};
    request_.method(http::verb::get);
    request_.target(target_.path);
    request_.version(11);
    for (const HttpHeader& h : HttpRequestFields(target_)) request_.insert(h.name, h.value);
    request_.set(http::field::connection, "close");
    http::async_write(
        stream, request_,
        [self = shared_from_this(), &stream](const boost::system::error_code& e, std::size_t) {
          if (self->finished_) return;
          if (e) {
            self->Finish(false, "send request to " + self->endpoint_ + ": " + e.message());
            return;
          }
          http::async_read_header(
              stream, self->buffer_, *self->parser_,
              [self](const boost::system::error_code& re, std::size_t) { self->OnHeader(re); });
        });
  }

  void OnHeader(const boost::system::error_code& e) {
    if (finished_) return;
    if (e) {
      Finish(false, "read response from " + endpoint_ + ": " + e.message());
      return;
    }
    const auto& res = parser_->get();
    int status = static_cast<int>(res.result_int());
    auto location = res.find(http::field::location);
    if (!IsRedirect(status) || location == res.end()) {
      ProbeOutcome outcome = HttpStatusOutcome(status);
      Finish(outcome.success, std::move(outcome.message));
      return;
    }
    std::string_view loc(location->value().data(), location->value().size());
    std::optional<HttpGetTarget> next = FollowRedirect(target_, loc);
    if (!next) {
      Finish(true, "HTTP " + std::to_string(status) + ": probe terminated redirects (to " +
                       Quoted(loc.substr(0, 200)) + ", another host)");
      return;
    }
    if (requests_ >= kMaxHttpRequests) {
      Finish(false, "GET " + endpoint_ + target_.path + ": stopped after " +
                        std::to_string(kMaxHttpRequests) + " redirects");
      return;
    }
    target_ = std::move(*next);
    // Not from inside the completion of the stream that Connect() replaces.
    asio::post(io_, [self = shared_from_this()] {
      if (!self->finished_) self->Connect();
    });
  }

  void Finish(bool ok, std::string message) {
    if (finished_) return;
    finished_ = true;
    boost::system::error_code ignored;
    timer_.cancel(ignored);
    if (socket_) socket_->close(ignored);
    if (secure_) secure_->next_layer().close(ignored);
    ProbeCallback done = std::move(done_);
    done(ProbeOutcome{ok, std::move(message)});
  }

  asio::io_context& io_;
  asio::steady_timer timer_;
  HttpGetTarget target_;
  SocketFactory sockets_;
  std::shared_ptr<HttpGetClient::Tls> tls_;
  HttpGetClient::Duration timeout_;
  ProbeCallback done_;
  std::string first_endpoint_;
  std::string endpoint_;
  int requests_ = 0;
  std::optional<tcp::socket> socket_;
  std::optional<ssl::stream<tcp::socket>> secure_;
  boost::beast::flat_buffer buffer_;
  std::optional<http::response_parser<http::empty_body>> parser_;
  http::request<http::empty_body> request_;
  bool finished_ = false;
};

}  // namespace

std::optional<asio::ip::address> ProbeHostAddress(std::string_view host) {
  if (host.empty() || host == "localhost") return asio::ip::address_v4::loopback();
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(std::string(host), ec);
  if (ec) return std::nullopt;
  return addr;
}

Result<HttpGetTarget> HttpGetTargetFor(const HttpGetAction& action, std::string_view user_agent) {
  auto addr = ProbeHostAddress(action.host);
  if (!addr) return Error::Invalid("host " + Quoted(action.host) + " is not an IP address");
  HttpGetTarget t;
  t.host = action.host.empty() ? addr->to_string() : action.host;
  t.address = *addr;
  t.port = action.port;
  t.tls = action.scheme == HttpScheme::kHttps;
  t.path = action.path.empty() ? "/" : action.path;
  if (t.path.front() != '/') t.path.insert(t.path.begin(), '/');
  t.headers = action.http_headers;
  t.user_agent = std::string(user_agent);
  return t;
}

std::string HttpEndpoint(const HttpGetTarget& t) {
  if (t.address.is_v6()) return "[" + t.address.to_string() + "]:" + std::to_string(t.port);
  return t.address.to_string() + ":" + std::to_string(t.port);
}

std::vector<HttpHeader> HttpRequestFields(const HttpGetTarget& t) {
  const HttpHeader* host = nullptr;
  bool has_agent = false;
  const HttpHeader* accept = nullptr;
  for (const HttpHeader& h : t.headers) {
    if (IEquals(h.name, "Host") && !host) host = &h;
    has_agent |= IEquals(h.name, "User-Agent");
    if (IEquals(h.name, "Accept") && !accept) accept = &h;
  }
  std::vector<HttpHeader> out;
  out.push_back({"Host", host ? host->value : HttpEndpoint(t)});
  if (!has_agent) out.push_back({"User-Agent", t.user_agent});
  if (!accept) out.push_back({"Accept", "*/*"});
  for (const HttpHeader& h : t.headers) {
    if (IEquals(h.name, "Host")) continue;  // sent once, first
    if (IEquals(h.name, "Accept") && accept->value.empty()) continue;
    out.push_back(h);
  }
  return out;
}

ProbeOutcome HttpStatusOutcome(int status) {
  if (status >= 200 && status < 400) return {true, "HTTP " + std::to_string(status)};
  return {false, "HTTP probe failed with statuscode: " + std::to_string(status)};
}

std::optional<HttpGetTarget> FollowRedirect(const HttpGetTarget& from, std::string_view location) {
  if (auto hash = location.find('#'); hash != std::string_view::npos) {
    location = location.substr(0, hash);
  }
  HttpGetTarget next = from;
  bool absolute = false;
  std::string_view rest = location;
  if (IStartsWith(rest, "http://")) {
    next.tls = false;
    rest.remove_prefix(5);
    absolute = true;
  } else if (IStartsWith(rest, "https://")) {
    next.tls = true;
    rest.remove_prefix(6);
    absolute = true;
  } else if (rest.starts_with("//")) {
    absolute = true;
  }
  if (absolute) {
    rest.remove_prefix(2);  // the "//"
    auto end = rest.find_first_of("/?");
    std::string_view authority = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end);
    if (auto at = authority.rfind('@'); at != std::string_view::npos) {
      authority = authority.substr(at + 1);
    }
    std::string host;
    std::optional<int> port;
    if (!SplitAuthority(authority, host, port)) return std::nullopt;
    if (!IEquals(host, from.host)) return std::nullopt;
    next.port = port.value_or(next.tls ? 443 : 80);
    next.path = rest.empty() ? "/" : std::string(rest);
    if (next.path.front() == '?') next.path.insert(next.path.begin(), '/');
    // Go keeps a custom Host only through relative redirects.
    std::erase_if(next.headers, [](const HttpHeader& h) { return IEquals(h.name, "Host"); });
    return next;
  }
  std::string_view base = from.path;
  base = base.substr(0, base.find('?'));
  if (location.empty()) {
    next.path = std::string(base);
  } else if (location.front() == '/') {
    next.path = std::string(location);
  } else if (location.front() == '?') {
    next.path = std::string(base) + std::string(location);
  } else {
    next.path = std::string(base.substr(0, base.rfind('/') + 1)) + std::string(location);
  }
  return next;
}

HttpGetClient::HttpGetClient(asio::io_context& io) : io_(&io), tls_(std::make_shared<Tls>()) {}
HttpGetClient::~HttpGetClient() = default;

void HttpGetClient::Get(HttpGetTarget target, SocketFactory sockets, Duration timeout,
                        ProbeCallback done) {
  auto run = std::make_shared<Run>(*io_, std::move(target), std::move(sockets), tls_, timeout,
                                   std::move(done));
  // Start may finish at once (no socket); Finish must not call back from inside this call.
  asio::post(*io_, [run] { run->Start(); });
}

}  // namespace podshim::shim
