// ttrpc's Request and Response messages (shim/proto/ttrpc.proto) to and from the frames that
// carry them: what the server decodes and answers, and what the client sends and reads back.
// A response carries a google.rpc.Status only on failure, as ttrpc 1.1 does.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "shim/ttrpc/rpc_call.h"

namespace podshim::shim::ttrpc {

// The metadata key containerd's namespaces package reads and writes.
inline constexpr std::string_view kNamespaceKey = "containerd-namespace-ttrpc";

using Metadata = std::vector<std::pair<std::string, std::string>>;

// A request payload as a call; the namespace is the first kNamespaceKey value. kInvalidSpec
// when the bytes are not a Request.
Result<RpcCall> DecodeRequest(std::string_view payload);

// A whole response frame for `stream_id`. A reply message too big for one frame becomes a
// ResourceExhausted status.
std::string EncodeResponseFrame(uint32_t stream_id, const RpcResult& result);

struct OutgoingCall {
  std::string_view service;
  std::string_view method;
  std::string_view payload;
  const Metadata* metadata = nullptr;   // may be null
  std::chrono::nanoseconds timeout{0};  // sent as timeout_nano; 0: none
};

// A whole request frame, or kInvalidSpec when it would exceed the frame limit.
Result<std::string> EncodeRequestFrame(uint32_t stream_id, const OutgoingCall& call);

// A response payload as the call's result: the reply message, or the status it carries
// (Internal when the bytes are not a Response).
RpcResult DecodeResponse(std::string_view payload);

}  // namespace podshim::shim::ttrpc
