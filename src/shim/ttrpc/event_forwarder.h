// Forwards the shim's task events to containerd (Events/Forward on $TTRPC_ADDRESS) the way its
// runc shim does (runtime/v2/shim/publisher.go): a bounded queue, 5 s per call, 5 retries with
// reconnects; unlike it, strictly in order (one call in flight), so exit never overtakes start.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <string_view>

#include "shim/ttrpc/client.h"

namespace podshim::shim::ttrpc {

inline constexpr std::string_view kEventsService = "containerd.services.events.ttrpc.v1.Events";
inline constexpr std::string_view kForwardMethod = "Forward";

struct EventForwarderOptions {
  std::size_t max_queued = 2048;  // beyond: the oldest waiting event is dropped, with a log line
  // Retries after the first attempt, each on a new connection; then the event is dropped. Later
  // events wait behind it (order), so a down containerd costs the head event its retries only.
  // InvalidArgument, Unimplemented, PermissionDenied and ResourceExhausted are not retried.
  int max_retries = 5;
  std::chrono::milliseconds call_timeout{5000};
  std::chrono::milliseconds retry_delay{1000};  // the n-th retry waits n times this
};

class EventForwarder {
 public:
  // `address`: containerd's ttrpc socket ($TTRPC_ADDRESS); empty: events are dropped.
  EventForwarder(boost::asio::io_context& io, std::string address,
                 EventForwarderOptions options = {});
  ~EventForwarder();  // drops what is queued; Flush's callbacks do not run
  EventForwarder(const EventForwarder&) = delete;
  EventForwarder& operator=(const EventForwarder&) = delete;

  // Queues Envelope{timestamp now, ns, topic, Any{type_url, event}}: type_url without a prefix
  // ("containerd.events.TaskExit"), `event` the serialized message. Returns at once.
  void Publish(std::string_view ns, std::string_view topic, std::string_view type_url,
               std::string_view event);

  // `done(true)` once every event queued so far and since has been forwarded or dropped (the
  // queue is empty), or `done(false)` if that has not happened within `within`. Runs on the
  // io_context, never inside Flush.
  void Flush(std::chrono::milliseconds within, std::function<void(bool drained)> done);

  std::size_t queued() const { return queue_.size(); }  // including the one being sent
  uint64_t forwarded() const { return forwarded_; }
  uint64_t dropped() const { return dropped_; }

 private:
  struct Item {
    std::string request;  // a serialized ForwardRequest
    std::string ns;
    std::string topic;
    int retries = 0;
  };
  struct FlushWaiter {
    std::function<void(bool)> done;
    std::unique_ptr<boost::asio::steady_timer> timer;
  };

  void Pump();
  void OnForwarded(RpcResult result);
  void Retry(Item& item, const RpcError& error);
  void Drop(std::deque<Item>::iterator it, std::string_view why);
  void NotifyFlushed();

  boost::asio::io_context& io_;
  std::string address_;
  EventForwarderOptions options_;
  Client client_;
  boost::asio::steady_timer retry_timer_;
  std::deque<Item> queue_;
  bool in_flight_ = false;    // the front item's call has not come back
  bool retry_armed_ = false;  // the front item waits for retry_timer_
  std::list<FlushWaiter> flush_waiters_;
  uint64_t forwarded_ = 0;
  uint64_t dropped_ = 0;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace podshim::shim::ttrpc
