#include "shim/ttrpc/event_forwarder.h"

#include <boost/asio/post.hpp>
#include <utility>

#include "common/line_log.h"
#include "shim/proto/events.pb.h"

namespace podshim::shim::ttrpc {
namespace {

namespace asio = boost::asio;

std::string ForwardRequestBytes(std::string_view ns, std::string_view topic,
                                std::string_view type_url, std::string_view event) {
  auto now = std::chrono::system_clock::now().time_since_epoch();
  auto seconds = std::chrono::duration_cast<std::chrono::seconds>(now);
  ::containerd::events::ForwardRequest request;
  ::containerd::events::Envelope* envelope = request.mutable_envelope();
  envelope->mutable_timestamp()->set_seconds(seconds.count());
  envelope->mutable_timestamp()->set_nanos(static_cast<int32_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(now - seconds).count()));
  envelope->set_namespace_(std::string(ns));
  envelope->set_topic(std::string(topic));
  envelope->mutable_event()->set_type_url(std::string(type_url));
  envelope->mutable_event()->set_value(std::string(event));
  return request.SerializeAsString();
}

// An answer containerd gave that another attempt will not change.
bool Final(Code code) {
  return code == Code::kInvalidArgument || code == Code::kUnimplemented ||
         code == Code::kResourceExhausted || code == Code::kPermissionDenied;
}

}  // namespace

EventForwarder::EventForwarder(asio::io_context& io, std::string address,
                               EventForwarderOptions options)
    : io_(io),
      address_(std::move(address)),
      options_(options),
      client_(io, address_),
      retry_timer_(io) {}

EventForwarder::~EventForwarder() {
  flush_waiters_.clear();  // cancels their timers; the handlers see `alive_` expired
}

void EventForwarder::Publish(std::string_view ns, std::string_view topic, std::string_view type_url,
                             std::string_view event) {
  if (address_.empty()) {
    line_log::Debug("events: no containerd address; not forwarding " + std::string(topic) +
                    " for namespace " + std::string(ns));
    return;
  }
  if (queue_.size() >= options_.max_queued) {
    // The oldest event not being sent; when only the one in flight is queued, the new one.
    if (in_flight_ && queue_.size() <= 1) {
      ++dropped_;
      line_log::Error("events: dropping " + std::string(topic) + " for namespace " +
                      std::string(ns) + " (the queue is full)");
      return;
    }
    Drop(queue_.begin() + (in_flight_ ? 1 : 0),
         "(the queue is full at " + std::to_string(options_.max_queued) + " events)");
  }
  queue_.push_back(Item{ForwardRequestBytes(ns, topic, type_url, event), std::string(ns),
                        std::string(topic), 0});
  Pump();
}

void EventForwarder::Pump() {
  if (in_flight_ || retry_armed_ || queue_.empty()) return;
  in_flight_ = true;
  const Item& item = queue_.front();
  Metadata metadata{{std::string(kNamespaceKey), item.ns}};
  client_.Call(kEventsService, kForwardMethod, item.request, metadata, options_.call_timeout,
               [this, alive = std::weak_ptr<int>(alive_)](RpcResult result) {
                 if (!alive.expired()) OnForwarded(std::move(result));
               });
}

void EventForwarder::OnForwarded(RpcResult result) {
  in_flight_ = false;
  if (queue_.empty()) return;  // cannot happen: the front stays while in flight
  Item& item = queue_.front();
  if (result) {
    queue_.pop_front();
    ++forwarded_;
  } else if (!Final(result.error().code) && item.retries < options_.max_retries) {
    return Retry(item, result.error());
  } else {
    Drop(queue_.begin(),
         "after " + std::to_string(item.retries + 1) + " attempts: " + result.error().message);
  }
  if (queue_.empty()) return NotifyFlushed();
  Pump();
}

// Reconnects for the next attempt (the connection may be what failed) after a delay that grows
// with each retry, as runc's shim does; later events wait behind this one.
void EventForwarder::Retry(Item& item, const RpcError& error) {
  ++item.retries;
  // The first failure says why; the retries that follow are quiet unless they all fail.
  line_log::Write(item.retries == 1 ? line_log::Level::kWarning : line_log::Level::kDebug,
                  "events: forwarding " + item.topic + " failed (" + error.message + "); retry " +
                      std::to_string(item.retries) + " of " + std::to_string(options_.max_retries));
  client_.Close();
  retry_armed_ = true;
  retry_timer_.expires_after(options_.retry_delay * item.retries);
  retry_timer_.async_wait(
      [this, alive = std::weak_ptr<int>(alive_)](const boost::system::error_code& ec) {
        if (alive.expired()) return;
        retry_armed_ = false;
        if (!ec) Pump();
      });
}

void EventForwarder::Drop(std::deque<Item>::iterator it, std::string_view why) {
  ++dropped_;
  line_log::Error("events: dropping " + it->topic + " for namespace " + it->ns + " " +
                  std::string(why));
  queue_.erase(it);
}

void EventForwarder::Flush(std::chrono::milliseconds within, std::function<void(bool)> done) {
  if (queue_.empty()) {
    asio::post(io_, [done = std::move(done), alive = std::weak_ptr<int>(alive_)] {
      if (!alive.expired()) done(true);
    });
    return;
  }
  auto waiter = flush_waiters_.insert(
      flush_waiters_.end(),
      FlushWaiter{std::move(done), std::make_unique<asio::steady_timer>(io_, within)});
  waiter->timer->async_wait(
      [this, alive = std::weak_ptr<int>(alive_), waiter](const boost::system::error_code& ec) {
        if (alive.expired() || ec) return;  // cancelled: the waiter was already answered
        std::function<void(bool)> done = std::move(waiter->done);
        flush_waiters_.erase(waiter);
        done(false);
      });
}

void EventForwarder::NotifyFlushed() {
  std::list<FlushWaiter> waiters = std::move(flush_waiters_);
  flush_waiters_.clear();
  for (FlushWaiter& waiter : waiters) {
    waiter.timer.reset();
    waiter.done(true);
  }
}

}  // namespace podshim::shim::ttrpc
