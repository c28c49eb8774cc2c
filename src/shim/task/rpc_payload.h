// Request payloads in and reply messages out: a payload that does not parse as the method's
// request message is InvalidArgument naming the method; a reply is the serialized message.
#pragma once

#include <expected>
#include <string>
#include <string_view>

#include "shim/ttrpc/rpc_call.h"

namespace podshim::shim::task {

template <class Message>
std::expected<Message, ttrpc::RpcError> ParsePayload(const std::string& payload,
                                                     std::string_view method) {
  Message m;
  if (!m.ParseFromString(payload)) {
    return std::unexpected(ttrpc::RpcError{
        ttrpc::Code::kInvalidArgument,
        std::string(method) + ": the payload is not a valid " + m.GetTypeName() + " message"});
  }
  return m;
}

template <class Message>
ttrpc::RpcResult Reply(const Message& m) {
  return m.SerializeAsString();
}

inline ttrpc::RpcResult Fail(ttrpc::Code code, std::string message) {
  return std::unexpected(ttrpc::RpcError{code, std::move(message)});
}

}  // namespace podshim::shim::task
