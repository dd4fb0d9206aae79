// Encoding and checking frame headers (see frame.hpp for the layout).
#include "net/frame.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "net/net_error.hpp"

namespace spate::detail::net {
namespace {

// One byte for a message: itself when printable, else a hex escape, so "GE" from an HTTP
// client reads as such in the log.
std::string printable_byte(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u >= 0x20 && u < 0x7f) return std::string(1, c);
  return fmt::format("\\x{:02x}", u);
}

void check_length(FrameType type, std::size_t payload_bytes, std::size_t max_payload_bytes) {
  // The u32 field bounds what any limit can allow.
  const std::size_t limit = std::min<std::size_t>(max_payload_bytes, UINT32_MAX);
  if (payload_bytes > limit) {
    throw net_error(
        fmt::format("spate: a {} frame of {} payload bytes exceeds the frame limit of {} bytes",
                    frame_type_name(type), payload_bytes, limit));
  }
}

}  // namespace

bool is_known_frame_type(std::uint8_t value) noexcept {
  return frame_type_name(static_cast<FrameType>(value)) != "unknown";
}

std::string_view frame_type_name(FrameType type) noexcept {
  switch (type) {
    case FrameType::hello:
      return "hello";
    case FrameType::challenge:
      return "challenge";
    case FrameType::auth_response:
      return "auth_response";
    case FrameType::auth_ok:
      return "auth_ok";
    case FrameType::auth_refused:
      return "auth_refused";
    case FrameType::register_executor:
      return "register_executor";
    case FrameType::executor_registered:
      return "executor_registered";
    case FrameType::registration_refused:
      return "registration_refused";
    case FrameType::launch_task:
      return "launch_task";
    case FrameType::task_result:
      return "task_result";
    case FrameType::task_failed:
      return "task_failed";
    case FrameType::kill_task:
      return "kill_task";
    case FrameType::heartbeat:
      return "heartbeat";
    case FrameType::fetch_block:
      return "fetch_block";
    case FrameType::block_data:
      return "block_data";
    case FrameType::block_missing:
      return "block_missing";
    case FrameType::remove_blocks:
      return "remove_blocks";
    case FrameType::fetch_broadcast:
      return "fetch_broadcast";
    case FrameType::broadcast_data:
      return "broadcast_data";
    case FrameType::broadcast_missing:
      return "broadcast_missing";
    case FrameType::shutdown:
      return "shutdown";
    case FrameType::continued:
      return "continued";
  }
  return "unknown";
}

bool is_handshake_frame(FrameType type) noexcept {
  switch (type) {
    case FrameType::hello:
    case FrameType::challenge:
    case FrameType::auth_response:
    case FrameType::auth_ok:
    case FrameType::auth_refused:
      return true;
    default:
      return false;
  }
}

std::array<char, kFrameHeaderBytes> encode_frame_header(FrameType type, std::size_t payload_bytes,
                                                        std::size_t max_payload_bytes) {
  check_length(type, payload_bytes, max_payload_bytes);
  const auto n = static_cast<std::uint32_t>(payload_bytes);
  return {kFrameMagic[0],
          kFrameMagic[1],
          static_cast<char>(kProtocolVersion),
          static_cast<char>(type),
          static_cast<char>(n & 0xff),
          static_cast<char>((n >> 8) & 0xff),
          static_cast<char>((n >> 16) & 0xff),
          static_cast<char>((n >> 24) & 0xff)};
}

std::string encode_frame(FrameType type, std::string_view payload, std::size_t max_payload_bytes) {
  const auto header = encode_frame_header(type, payload.size(), max_payload_bytes);
  std::string out;
  out.reserve(kFrameHeaderBytes + payload.size());
  out.append(header.data(), header.size());
  out.append(payload);
  return out;
}

FrameHeader decode_frame_header(const std::array<char, kFrameHeaderBytes>& bytes,
                                std::size_t max_payload_bytes) {
  if (bytes[0] != kFrameMagic[0] || bytes[1] != kFrameMagic[1]) {
    throw net_error(fmt::format(
        "spate: bad frame magic \"{}{}\" (0x{:02x} 0x{:02x}; expected \"sp\"): the peer does "
        "not speak spate's protocol",
        printable_byte(bytes[0]), printable_byte(bytes[1]), static_cast<unsigned char>(bytes[0]),
        static_cast<unsigned char>(bytes[1])));
  }
  const auto version = static_cast<std::uint8_t>(bytes[2]);
  if (version != kProtocolVersion) {
    throw net_error(fmt::format(
        "spate: unsupported frame version {} (this build speaks version {}): the peer runs a "
        "different build of spate",
        version, kProtocolVersion));
  }
  const auto type_byte = static_cast<std::uint8_t>(bytes[3]);
  if (!is_known_frame_type(type_byte)) {
    throw net_error(fmt::format("spate: unknown frame type {}", type_byte));
  }
  const auto type = static_cast<FrameType>(type_byte);
  std::uint32_t n = 0;
  for (int i = 3; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[4 + i]);
  check_length(type, n, max_payload_bytes);
  return {type, n};
}

Frame decode_frame(std::string_view bytes, std::size_t max_payload_bytes) {
  if (bytes.size() < kFrameHeaderBytes) {
    throw net_error(fmt::format("spate: truncated frame: {} of {} header bytes", bytes.size(),
                                kFrameHeaderBytes));
  }
  std::array<char, kFrameHeaderBytes> header;
  std::memcpy(header.data(), bytes.data(), kFrameHeaderBytes);
  const FrameHeader h = decode_frame_header(header, max_payload_bytes);
  const std::string_view rest = bytes.substr(kFrameHeaderBytes);
  if (rest.size() < h.payload_bytes) {
    throw net_error(
        fmt::format("spate: truncated frame: a {} frame declares {} payload bytes, "
                    "only {} present",
                    frame_type_name(h.type), h.payload_bytes, rest.size()));
  }
  if (rest.size() > h.payload_bytes) {
    throw net_error(fmt::format("spate: {} bytes follow the end of a {} frame of {} payload bytes",
                                rest.size() - h.payload_bytes, frame_type_name(h.type),
                                h.payload_bytes));
  }
  return {h.type, std::string(rest)};
}

}  // namespace spate::detail::net
