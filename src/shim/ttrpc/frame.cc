#include "shim/ttrpc/frame.h"

#include <algorithm>
#include <utility>

namespace podshim::shim::ttrpc {
namespace {

void PutU32(char* out, uint32_t v) {
  out[0] = static_cast<char>(v >> 24);
  out[1] = static_cast<char>(v >> 16);
  out[2] = static_cast<char>(v >> 8);
  out[3] = static_cast<char>(v);
}

uint32_t GetU32(const char* in) {
  auto byte = [in](int i) { return static_cast<uint32_t>(static_cast<unsigned char>(in[i])); };
  return byte(0) << 24 | byte(1) << 16 | byte(2) << 8 | byte(3);
}

}  // namespace

std::array<char, kFrameHeaderSize> EncodeFrameHeader(const FrameHeader& header) {
  std::array<char, kFrameHeaderSize> out{};
  PutU32(out.data(), header.length);
  PutU32(out.data() + 4, header.stream_id);
  out[8] = static_cast<char>(header.type);
  out[9] = static_cast<char>(header.flags);
  return out;
}

FrameHeader DecodeFrameHeader(std::string_view ten_bytes) {
  FrameHeader header;
  header.length = GetU32(ten_bytes.data());
  header.stream_id = GetU32(ten_bytes.data() + 4);
  header.type = static_cast<uint8_t>(ten_bytes[8]);
  header.flags = static_cast<uint8_t>(ten_bytes[9]);
  return header;
}

Result<std::string> EncodeFrame(uint32_t stream_id, FrameType type, std::string_view payload) {
  if (payload.size() > kMaxFramePayload) {
    return Error::Invalid("ttrpc frame payload of " + std::to_string(payload.size()) +
                          " bytes exceeds the maximum of " + std::to_string(kMaxFramePayload));
  }
  FrameHeader header{static_cast<uint32_t>(payload.size()), stream_id, static_cast<uint8_t>(type),
                     0};
  std::array<char, kFrameHeaderSize> head = EncodeFrameHeader(header);
  std::string out;
  out.reserve(kFrameHeaderSize + payload.size());
  out.append(head.data(), head.size());
  out.append(payload);
  return out;
}

std::size_t FrameReader::FeedHeader(std::string_view data) {
  std::size_t n = std::min(data.size(), kFrameHeaderSize - header_filled_);
  std::copy_n(data.data(), n, header_bytes_.data() + header_filled_);
  header_filled_ += n;
  if (header_filled_ < kFrameHeaderSize) return n;
  header_filled_ = 0;
  header_ = DecodeFrameHeader(std::string_view(header_bytes_.data(), header_bytes_.size()));
  if (header_.length > kMaxFramePayload) {
    ready_ = Frame{header_, {}, true};
    skip_left_ = header_.length;
    state_ = State::kSkip;
  } else if (header_.length == 0) {
    ready_ = Frame{header_, {}, false};
  } else {
    payload_.reserve(header_.length);
    state_ = State::kPayload;
  }
  return n;
}

std::size_t FrameReader::Feed(std::string_view data) {
  std::size_t taken = 0;
  while (taken < data.size() && !ready_) {
    std::string_view rest = data.substr(taken);
    switch (state_) {
      case State::kHeader:
        taken += FeedHeader(rest);
        break;
      case State::kPayload: {
        std::size_t n = std::min<std::size_t>(rest.size(), header_.length - payload_.size());
        payload_.append(rest.data(), n);
        taken += n;
        if (payload_.size() == header_.length) {
          ready_ = Frame{header_, std::exchange(payload_, {}), false};
          state_ = State::kHeader;
        }
        break;
      }
      case State::kSkip: {
        std::size_t n = std::min(rest.size(), skip_left_);
        skip_left_ -= n;
        taken += n;
        if (skip_left_ == 0) state_ = State::kHeader;
        break;
      }
    }
  }
  return taken;
}

std::optional<Frame> FrameReader::Take() { return std::exchange(ready_, std::nullopt); }

bool FrameReader::idle() const { return state_ == State::kHeader && header_filled_ == 0; }

}  // namespace podshim::shim::ttrpc
