// One unary ttrpc call as the server hands it to a service, and how the service answers: a
// serialized reply message, or a gRPC status code with a message. The answer may come later
// (a task's Wait), on the loop's thread, exactly once.
#pragma once

#include <cstdint>
#include <expected>
#include <functional>
#include <string>

namespace podshim::shim::ttrpc {

// gRPC status codes (google.rpc.Code), as containerd's errdefs maps them.
enum class Code : int32_t {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kAlreadyExists = 6,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kAborted = 10,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
};

struct RpcError {
  Code code = Code::kUnknown;
  std::string message;
  bool operator==(const RpcError&) const = default;
};

// The serialized reply message, or the status to answer with.
using RpcResult = std::expected<std::string, RpcError>;
// Called exactly once per call; may be called after the handler returned.
using Responder = std::function<void(RpcResult)>;

struct RpcCall {
  std::string service;  // "containerd.task.v2.Task"
  std::string method;   // "Create"
  std::string payload;  // the serialized request message
  // The `containerd-namespace-ttrpc` metadata value; empty when the caller sent none (ctr).
  std::string ns;
  int64_t timeout_nano = 0;  // 0: no deadline
};

using RpcHandler = std::function<void(RpcCall call, Responder respond)>;

// The answer to a call of a service or method the handler does not serve (containerd requires
// Unimplemented for both): "containerd.task.v2.Task/Checkpoint is not implemented".
inline RpcError Unimplemented(const RpcCall& call) {
  return RpcError{Code::kUnimplemented, call.service + "/" + call.method + " is not implemented"};
}

}  // namespace podshim::shim::ttrpc
