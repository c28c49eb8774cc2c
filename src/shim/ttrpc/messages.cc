#include "shim/ttrpc/messages.h"

#include <utility>

#include "shim/proto/ttrpc.pb.h"
#include "shim/ttrpc/frame.h"

namespace podshim::shim::ttrpc {
namespace {

std::string ResponseFrame(uint32_t stream_id, const ::ttrpc::Response& response) {
  std::string payload = response.SerializeAsString();
  Result<std::string> frame = EncodeFrame(stream_id, FrameType::kResponse, payload);
  if (frame) return std::move(*frame);
  ::ttrpc::Response refusal;
  refusal.mutable_status()->set_code(static_cast<int32_t>(Code::kResourceExhausted));
  refusal.mutable_status()->set_message("the reply of " + std::to_string(payload.size()) +
                                        " bytes exceeds ttrpc's message limit of " +
                                        std::to_string(kMaxFramePayload));
  return *EncodeFrame(stream_id, FrameType::kResponse, refusal.SerializeAsString());
}

}  // namespace

Result<RpcCall> DecodeRequest(std::string_view payload) {
  ::ttrpc::Request request;
  if (!request.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    return Error::Invalid("the ttrpc request payload (" + std::to_string(payload.size()) +
                          " bytes) is not a ttrpc.Request message");
  }
  RpcCall call;
  call.service = std::move(*request.mutable_service());
  call.method = std::move(*request.mutable_method());
  call.payload = std::move(*request.mutable_payload());
  call.timeout_nano = request.timeout_nano();
  for (::ttrpc::KeyValue& kv : *request.mutable_metadata()) {
    if (kv.key() == kNamespaceKey) {
      call.ns = std::move(*kv.mutable_value());
      break;
    }
  }
  return call;
}

std::string EncodeResponseFrame(uint32_t stream_id, const RpcResult& result) {
  ::ttrpc::Response response;
  if (result) {
    response.set_payload(*result);
  } else {
    response.mutable_status()->set_code(static_cast<int32_t>(result.error().code));
    response.mutable_status()->set_message(result.error().message);
  }
  return ResponseFrame(stream_id, response);
}

Result<std::string> EncodeRequestFrame(uint32_t stream_id, const OutgoingCall& call) {
  ::ttrpc::Request request;
  request.set_service(std::string(call.service));
  request.set_method(std::string(call.method));
  request.set_payload(std::string(call.payload));
  request.set_timeout_nano(call.timeout.count());
  if (call.metadata != nullptr) {
    for (const auto& [key, value] : *call.metadata) {
      ::ttrpc::KeyValue* kv = request.add_metadata();
      kv->set_key(key);
      kv->set_value(value);
    }
  }
  return EncodeFrame(stream_id, FrameType::kRequest, request.SerializeAsString());
}

RpcResult DecodeResponse(std::string_view payload) {
  ::ttrpc::Response response;
  if (!response.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    return std::unexpected(RpcError{Code::kInternal, "the ttrpc response payload (" +
                                                         std::to_string(payload.size()) +
                                                         " bytes) is not a ttrpc.Response"});
  }
  if (response.has_status() && response.status().code() != 0) {
    return std::unexpected(RpcError{static_cast<Code>(response.status().code()),
                                    std::move(*response.mutable_status()->mutable_message())});
  }
  return std::move(*response.mutable_payload());
}

}  // namespace podshim::shim::ttrpc
