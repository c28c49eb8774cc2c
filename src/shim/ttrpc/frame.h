// ttrpc's framing (containerd/ttrpc 1.1 channel.go) without I/O: a 10-byte header (length u32 BE,
// stream id u32 BE, type u8, flags u8) and a payload of at most 4 MiB. FrameReader turns bytes as
// they arrive into whole frames; an oversized frame is reported at its header and then skipped.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace podshim::shim::ttrpc {

inline constexpr std::size_t kFrameHeaderSize = 10;
inline constexpr uint32_t kMaxFramePayload = 4u << 20;  // ttrpc's messageLengthMax

enum class FrameType : uint8_t { kRequest = 1, kResponse = 2 };

struct FrameHeader {
  uint32_t length = 0;
  uint32_t stream_id = 0;
  uint8_t type = 0;  // a FrameType, or a value from a newer ttrpc (3 = data in 1.2)
  uint8_t flags = 0;
};

struct Frame {
  FrameHeader header;
  std::string payload;
  // The header announced more than kMaxFramePayload: the payload is empty and the reader skips
  // the announced bytes; the caller answers ResourceExhausted for header.stream_id.
  bool oversized = false;
};

std::array<char, kFrameHeaderSize> EncodeFrameHeader(const FrameHeader& header);
FrameHeader DecodeFrameHeader(std::string_view ten_bytes);

// Header + payload; kInvalidSpec when the payload exceeds kMaxFramePayload.
Result<std::string> EncodeFrame(uint32_t stream_id, FrameType type, std::string_view payload);

// Incremental decoder for one direction of a connection. Memory: the 10-byte header plus the
// payload of the frame being read, allocated at its announced size (≤ 4 MiB) and handed out with
// the frame; skipped payloads are never stored.
class FrameReader {
 public:
  // Takes bytes from the front of `data` until a frame completes (or an oversized header is
  // read) or `data` runs out, and returns how many it took. Bytes after a completed frame are
  // left for the next call, after Take().
  std::size_t Feed(std::string_view data);

  // The frame Feed completed, once; nullopt while one is still incomplete.
  std::optional<Frame> Take();

  // True when no frame is partly read (a clean place for the peer to stop).
  bool idle() const;

 private:
  enum class State { kHeader, kPayload, kSkip };
  std::size_t FeedHeader(std::string_view data);

  State state_ = State::kHeader;
  std::array<char, kFrameHeaderSize> header_bytes_{};
  std::size_t header_filled_ = 0;
  FrameHeader header_;
  std::string payload_;
  std::size_t skip_left_ = 0;
  std::optional<Frame> ready_;
};

}  // namespace podshim::shim::ttrpc
