#include "shim/control/control_server.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <string>
#include <tuple>
#include <utility>

#include "common/duration.h"
#include "common/quoted.h"
#include "common/unique_fd.h"
#include "shim/control/control_dispatch.h"
#include "shim/control/deadline_timer.h"
#include "shim/control/unix_listener.h"

namespace podshim::shim::control {
namespace {

namespace asio = boost::asio;
using Socket = asio::local::stream_protocol::socket;

constexpr std::size_t kReadChunk = 64 * 1024;
// Requests are not taken from a client while this much of its output is unsent: a client that
// pipelines requests without reading the answers slows itself down, not the shim.
constexpr std::size_t kPauseRequestsAtBytes = 1 << 20;
// A following client gets more events only while less than this is queued for it.
constexpr std::size_t kEventLowWater = 256 * 1024;

}  // namespace

// One client connection. Owned by the server's map; async operations hold a shared_ptr, and
// server_ is cleared when the server closes, so late completions find a closed session.
class ControlServer::Session : public std::enable_shared_from_this<Session> {
 public:
  Session(ControlServer* server, uint64_t id, Socket socket)
      : server_(server),
        id_(id),
        socket_(std::move(socket)),
        timer_(socket_.get_executor()),
        last_activity_(server->clock_.Now()) {}

  void Start(bool over_capacity) {
    std::shared_ptr<Session> self = shared_from_this();
    StartChecked(over_capacity);
    Rearm();
  }

  // May the server close this connection to make room for a new one? Not while an exec runs for
  // it or it reads an events stream: those are requests being served.
  bool Evictable() const { return !closed_ && !busy_ && !streaming_; }

  // Which evictable connection goes first (the smallest): one already closing, then one with
  // nothing under way, then one sending a request, then one not reading its responses; among
  // equals the one idle the longest.
  std::tuple<int, Clock::TimePoint, uint64_t> EvictionOrder() const {
    int rank = close_after_flush_ ? 0 : !out_.empty() ? 3 : request_started_ ? 2 : 1;
    return {rank, last_activity_, id_};
  }

  void Evict() {
    spdlog::info("control: {} clients at once; closing the oldest idle connection to make room",
                 server_->sessions_.size());
    Close();
  }

 private:
  void StartChecked(bool over_capacity) {
    if (over_capacity) {
      SendAndClose(FormatError(
          std::nullopt, {ErrorCode::kUnavailable,
                         "too many control clients at once (the limit is " +
                             std::to_string(options().max_clients) +
                             ", and each is running an exec or an events stream); try again"}));
      return;
    }
    ucred cred{};
    socklen_t len = sizeof(cred);
    if (::getsockopt(socket_.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
      SendAndClose(FormatError(std::nullopt, {ErrorCode::kInternal, std::string("SO_PEERCRED: ") +
                                                                        std::strerror(errno)}));
      return;
    }
    const std::vector<uid_t>& allowed = server_->options_.allowed_uids;
    bool ok = allowed.empty()
                  ? (cred.uid == 0 || cred.uid == ::geteuid())
                  : std::find(allowed.begin(), allowed.end(), cred.uid) != allowed.end();
    if (!ok) {
      spdlog::warn("control: refused a client with uid {} (pid {})", cred.uid, cred.pid);
      SendAndClose(FormatError(std::nullopt,
                               {ErrorCode::kPermissionDenied,
                                "uid " + std::to_string(cred.uid) + " may not control this shim"}));
      return;
    }
    ReadMore();
  }

 public:
  // The server is going away: no callback may touch it any more.
  void Shutdown() {
    server_ = nullptr;
    CloseSocket();
  }

  // New events were recorded.
  void Wake() {
    if (!streaming_) return;
    std::shared_ptr<Session> self = shared_from_this();
    PumpEvents();
    Rearm();
  }

 private:
  ControlHandler& handler() { return server_->handler_; }
  const ControlServerOptions& options() const { return server_->options_; }

  // When this connection is closed unless something happens first (docs/control-api.md
  // "Timeouts"): none while an exec runs or an events stream follows the pod; the request timeout
  // while a request line is arriving; otherwise the idle timeout after the last response was
  // queued or written (or the connection was made).
  std::optional<Clock::TimePoint> Deadline() const {
    if (closed_ || server_ == nullptr || busy_ || (streaming_ && stream_.follow)) {
      return std::nullopt;
    }
    if (request_started_ && !close_after_flush_) {
      return *request_started_ + options().request_timeout;
    }
    return last_activity_ + options().idle_timeout;
  }

  // Notes when the request line being received began (bytes after the last complete line and no
  // newline yet), then arms the timer at Deadline(). Called at the end of every callback.
  void Rearm() {
    if (closed_ || server_ == nullptr) return;
    bool partial = pending_.size() > consumed_ && !busy_ && !streaming_ &&
                   pending_.find('\n', consumed_) == std::string::npos;
    if (!partial) {
      request_started_.reset();
    } else if (!request_started_) {
      request_started_ = server_->clock_.Now();
    }
    std::optional<Clock::TimePoint> deadline = Deadline();
    if (deadline == armed_) return;
    armed_ = deadline;
    // The timer must not keep the session alive: `alive` shares the session's ownership.
    std::weak_ptr<int> alive(std::shared_ptr<int>(shared_from_this(), &alive_tag_));
    ArmDeadline(timer_, deadline, alive, [this] { OnDeadline(); });
  }

  void OnDeadline() {
    std::shared_ptr<Session> self = shared_from_this();
    armed_.reset();
    if (closed_ || server_ == nullptr) return;
    std::optional<Clock::TimePoint> deadline = Deadline();
    if (!deadline) return;
    if (*deadline > server_->clock_.Now()) return Rearm();  // re-armed meanwhile
    if (request_started_ && !close_after_flush_) {
      std::string limit = FormatDuration(options().request_timeout);
      spdlog::info("control: closing a client whose request was not complete within {}", limit);
      request_started_.reset();
      SendAndClose(FormatError(std::nullopt, {ErrorCode::kBadRequest,
                                              "request line not complete within " + limit +
                                                  " of its first byte; closing the connection"}));
      return Rearm();
    }
    spdlog::debug("control: closing a connection idle for {}",
                  FormatDuration(options().idle_timeout));
    Close();
  }

  void ReadMore() {
    if (reading_ || closed_ || read_eof_ || close_after_flush_) return;
    if (pending_.size() > options().max_request_bytes + kReadChunk) return;  // paused
    reading_ = true;
    socket_.async_read_some(asio::buffer(read_buf_),
                            [self = shared_from_this()](const boost::system::error_code& ec,
                                                        std::size_t n) { self->OnRead(ec, n); });
  }

  void OnRead(const boost::system::error_code& ec, std::size_t n) {
    reading_ = false;
    Handled(ec, n);
    Rearm();
  }

  void Handled(const boost::system::error_code& ec, std::size_t n) {
    if (closed_) return;
    if (ec == asio::error::eof) {
      read_eof_ = true;
      // While following events, the end of the client's input means it has gone.
      if (streaming_ && stream_.follow) return Close();
    } else if (ec) {
      return Close();
    } else {
      pending_.append(read_buf_.data(), n);
    }
    ProcessLines();
    ReadMore();
  }

  void ProcessLines() {
    while (!closed_ && !close_after_flush_ && !busy_ && !streaming_ &&
           queued_bytes_ < kPauseRequestsAtBytes) {
      std::size_t nl = pending_.find('\n', consumed_);
      if (nl == std::string::npos) {
        std::size_t partial = pending_.size() - consumed_;
        if (partial > options().max_request_bytes) {
          SendAndClose(FormatError(
              std::nullopt, {ErrorCode::kTooLarge, "request line exceeds " +
                                                       std::to_string(options().max_request_bytes) +
                                                       " bytes without a newline"}));
          return;
        }
        if (read_eof_ && partial > 0) {  // a last request without a newline still counts
          nl = pending_.size();
        } else {
          break;
        }
      }
      std::string_view line(pending_.data() + consumed_, nl - consumed_);
      consumed_ = std::min(nl + 1, pending_.size());
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.find_first_not_of(" \t") != std::string_view::npos) Handle(line);
    }
    if (consumed_ > 0 && (consumed_ == pending_.size() || consumed_ > kReadChunk)) {
      pending_.erase(0, consumed_);
      consumed_ = 0;
    }
    if (read_eof_ && !busy_ && !streaming_ && pending_.size() == consumed_) {
      FinishAfterFlush();
    }
  }

  void Handle(std::string_view line) {
    if (options().on_request) options().on_request();
    ParsedRequest parsed = ParseRequest(line);
    const std::optional<std::string>& id = parsed.id;
    if (!parsed.request) return Send(FormatError(id, parsed.request.error()));
    Request& request = *parsed.request;

    if (std::optional<std::string> answer = AnswerAtOnce(handler(), id, request)) {
      return Send(std::move(*answer));
    }
    if (const auto* upgrade = std::get_if<UpgradeRequest>(&request)) {
      Reply<UpgradeResult> r = handler().Upgrade(upgrade->binary);
      upgrade_pending_ = r.has_value();
      return Send(r ? FormatUpgradeResponse(id, *r) : FormatError(id, r.error()));
    }
    if (const auto* exec = std::get_if<ExecRequest>(&request)) {
      busy_ = true;
      std::weak_ptr<Session> weak = weak_from_this();
      handler().Exec(*exec, [weak, id](Reply<ExecResult> r) {
        std::shared_ptr<Session> self = weak.lock();
        if (!self || self->closed_) return;  // the client has gone: drop the result
        self->busy_ = false;
        self->Send(r ? FormatExecResponse(id, *r) : FormatError(id, r.error()));
        self->ProcessLines();
        self->ReadMore();
        self->Rearm();
      });
      return;
    }
    if (const auto* events = std::get_if<EventsRequest>(&request)) {
      streaming_ = true;
      stream_ = *events;
      stream_id_ = id;
      cursor_ = events->from_seq;
      if (read_eof_ && stream_.follow) return Close();
      return PumpEvents();
    }
  }

  // Sends recorded events from cursor_ while the write queue has room; ends the stream when
  // the replay is done (no follow) or the pod has finished and everything was sent (follow).
  void PumpEvents() {
    while (streaming_ && !closed_ && queued_bytes_ < kEventLowWater) {
      std::vector<EventRecord> batch = handler().EventsFrom(cursor_, options().replay_batch);
      for (EventRecord& e : batch) {
        cursor_ = e.seq + 1;
        Send(FormatEventResponse(stream_id_, e));
        if (closed_) return;
      }
      if (!batch.empty()) continue;
      bool finished = handler().PodFinished();
      if (stream_.follow && !finished) return;  // wait for NotifyEvents
      streaming_ = false;
      Send(FormatEventsEnd(stream_id_, std::max(cursor_, handler().NextEventSeq()), finished));
      if (stream_.follow) return FinishAfterFlush();
      ProcessLines();
      ReadMore();
      return;
    }
  }

  void Send(std::string line) {
    if (closed_ || close_after_flush_) return;
    line.push_back('\n');
    if (queued_bytes_ + line.size() > options().max_queued_bytes) {
      spdlog::warn("control: dropping a client that does not read its responses ({} bytes queued)",
                   queued_bytes_);
      return Close();
    }
    queued_bytes_ += line.size();
    out_.push_back(std::move(line));
    last_activity_ = server_->clock_.Now();
    WriteNext();
  }

  void SendAndClose(std::string line) {
    Send(std::move(line));
    FinishAfterFlush();
  }

  void FinishAfterFlush() {
    close_after_flush_ = true;
    if (!writing_ && out_.empty()) Close();
  }

  void WriteNext() {
    if (writing_ || out_.empty() || closed_) return;
    writing_ = true;
    asio::async_write(socket_, asio::buffer(out_.front()),
                      [self = shared_from_this()](const boost::system::error_code& ec,
                                                  std::size_t) { self->OnWritten(ec); });
  }

  void OnWritten(const boost::system::error_code& ec) {
    writing_ = false;
    if (closed_) return;
    if (ec) return Close();
    queued_bytes_ -= out_.front().size();
    out_.pop_front();
    if (server_ != nullptr) last_activity_ = server_->clock_.Now();  // the client reads
    if (out_.empty()) ReleaseUpgrade();
    if (out_.empty() && close_after_flush_) return Close();
    WriteNext();
    if (streaming_) PumpEvents();
    ProcessLines();
    ReadMore();
    Rearm();
  }

  void CloseSocket() {
    closed_ = true;
    timer_.cancel();
    boost::system::error_code ignored;
    socket_.shutdown(Socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

  // An accepted upgrade's reply is written, or its client has gone: the handler goes on (it
  // execs) from a fresh turn of the loop, with no session callback on the stack.
  void ReleaseUpgrade() {
    if (!std::exchange(upgrade_pending_, false) || server_ == nullptr) return;
    asio::post(server_->io_, [h = &handler(), alive = std::weak_ptr<int>(server_->alive_)] {
      if (!alive.expired()) h->UpgradeReplied();
    });
  }

  void Close() {
    if (closed_) return;
    ReleaseUpgrade();
    CloseSocket();
    out_.clear();
    queued_bytes_ = 0;
    if (server_ != nullptr) server_->Remove(id_);  // may drop the last owning reference
  }

  ControlServer* server_;
  uint64_t id_;
  Socket socket_;
  std::array<char, kReadChunk> read_buf_{};
  std::string pending_;  // received bytes; [consumed_, size) not handled yet
  std::size_t consumed_ = 0;
  std::deque<std::string> out_;
  std::size_t queued_bytes_ = 0;
  bool reading_ = false;
  bool writing_ = false;
  bool read_eof_ = false;
  bool busy_ = false;             // an exec is running for this client
  bool streaming_ = false;        // an events request is being answered
  bool upgrade_pending_ = false;  // an accepted upgrade's reply is not written yet
  bool close_after_flush_ = false;
  bool closed_ = false;
  EventsRequest stream_;
  std::optional<std::string> stream_id_;
  uint64_t cursor_ = 1;
  boost::asio::steady_timer timer_;
  Clock::TimePoint last_activity_;                   // connected, or a response queued/written
  std::optional<Clock::TimePoint> request_started_;  // a request line is arriving since then
  std::optional<Clock::TimePoint> armed_;            // what timer_ is set to
  int alive_tag_ = 0;                                // the pointee of Rearm()'s `alive`
};

ControlServer::ControlServer(asio::io_context& io, ControlHandler& handler,
                             ControlServerOptions options)
    : io_(io),
      handler_(handler),
      options_(std::move(options)),
      clock_(options_.clock != nullptr ? *options_.clock : steady_clock_) {}

ControlServer::~ControlServer() { Close(); }

void ControlServer::Serve(Socket socket) {
  bool over = sessions_.size() >= options_.max_clients && !MakeRoom();
  uint64_t id = next_session_id_++;
  auto session = std::make_shared<Session>(this, id, std::move(socket));
  sessions_.emplace(id, session);
  session->Start(over);
}

void ControlServer::NotifyEvents() {
  // Waking may close sessions (and erase them): iterate over a copy of the owners.
  std::vector<std::shared_ptr<Session>> sessions;
  for (auto& [id, s] : sessions_) sessions.push_back(s);
  for (auto& s : sessions) s->Wake();
}

void ControlServer::Remove(uint64_t id) { sessions_.erase(id); }

bool ControlServer::MakeRoom() {
  std::shared_ptr<Session> victim;  // owned here: closing it erases it from sessions_
  for (auto& [id, s] : sessions_) {
    if (s->Evictable() && (!victim || s->EvictionOrder() < victim->EvictionOrder())) victim = s;
  }
  if (!victim) return false;
  victim->Evict();
  return true;
}

void ControlServer::Close() {
  if (acceptor_) {
    boost::system::error_code ignored;
    acceptor_->close(ignored);
    acceptor_.reset();
    ::unlink(socket_path_.c_str());
  }
  std::map<uint64_t, std::shared_ptr<Session>> sessions;
  sessions.swap(sessions_);
  for (auto& [id, s] : sessions) s->Shutdown();
}

}  // namespace podshim::shim::control
