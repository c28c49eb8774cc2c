// libFuzzer target: what a peer can send the containerd shim's ttrpc server. The input is cut
// into chunks (its first byte picks the chunk size) and fed to a FrameReader; each frame's payload
// is decoded as a Request, its payload as each stage-1 task request, and as a Response.
// Properties checked besides crashes: the reader never hands out a payload over 4 MiB or one
// longer than its header says, and a decoded call re-encoded decodes to the same call.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "shim/proto/task.pb.h"
#include "shim/ttrpc/frame.h"
#include "shim/ttrpc/messages.h"

namespace ttrpc = podshim::shim::ttrpc;
namespace v2 = containerd::task::v2;

namespace {

void DecodeTaskRequests(const std::string& payload) {
  v2::CreateTaskRequest create;
  v2::StartRequest start;
  v2::WaitRequest wait;
  v2::StateRequest state;
  v2::PidsRequest pids;
  v2::KillRequest kill;
  v2::DeleteRequest del;
  v2::ConnectRequest connect;
  v2::ShutdownRequest shutdown;
  (void)create.ParseFromString(payload);
  (void)start.ParseFromString(payload);
  (void)wait.ParseFromString(payload);
  (void)state.ParseFromString(payload);
  (void)pids.ParseFromString(payload);
  (void)kill.ParseFromString(payload);
  (void)del.ParseFromString(payload);
  (void)connect.ParseFromString(payload);
  (void)shutdown.ParseFromString(payload);
}

void CheckCall(const ttrpc::RpcCall& call) {
  DecodeTaskRequests(call.payload);
  ttrpc::Metadata metadata;
  if (!call.ns.empty()) metadata.emplace_back(std::string(ttrpc::kNamespaceKey), call.ns);
  ttrpc::OutgoingCall out{call.service, call.method, call.payload, &metadata,
                          std::chrono::nanoseconds(call.timeout_nano)};
  auto frame = ttrpc::EncodeRequestFrame(1, out);
  if (!frame) return;
  auto again = ttrpc::DecodeRequest(std::string_view(*frame).substr(ttrpc::kFrameHeaderSize));
  if (!again || again->service != call.service || again->method != call.method ||
      again->payload != call.payload || again->ns != call.ns ||
      again->timeout_nano != call.timeout_nano) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  size_t chunk = data[0] % 16 + 1;
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  ttrpc::FrameReader reader;
  while (!input.empty()) {
    std::string_view piece = input.substr(0, chunk);
    while (!piece.empty()) {
      size_t used = reader.Feed(piece);
      piece.remove_prefix(used);
      input.remove_prefix(used);
      auto frame = reader.Take();
      if (!frame) {
        if (used == 0) std::abort();  // no progress without a frame to take
        continue;
      }
      if (frame->payload.size() > ttrpc::kMaxFramePayload) std::abort();
      if (frame->oversized) continue;
      if (frame->payload.size() != frame->header.length) std::abort();
      if (auto call = ttrpc::DecodeRequest(frame->payload)) CheckCall(*call);
      (void)ttrpc::DecodeResponse(frame->payload);
    }
  }
  return 0;
}
