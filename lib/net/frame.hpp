// The wire format between spate processes: a fixed 8-byte header, then the payload.
// Internal; included as "net/frame.hpp".
//
//   offset 0  magic    2 bytes  's' 'p' (0x7073 as a little-endian u16)
//   offset 2  version  u8       kProtocolVersion; any other value is refused
//   offset 3  type     u8       a FrameType; 0 and unlisted values are refused
//   offset 4  length   u32 LE   payload bytes that follow; at most the receiver's limit
//
// Every check happens on the 8 header bytes, before anything is allocated for the payload; the
// receiver then reads the payload in growing chunks, so a peer that claims a large payload and
// sends less costs only what it actually sent. Payload contents are encoded with spate's
// Writer/Reader (include/spate/serialization.hpp) by whoever owns the message.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace spate::detail::net {

/// The version this build speaks. A frame with another version is refused (no negotiation:
/// every process of a job runs the same executable, and registration checks that too).
inline constexpr std::uint8_t kProtocolVersion = 1;

/// The size of the fixed frame header.
inline constexpr std::size_t kFrameHeaderBytes = 8;

/// The default largest payload a frame may declare (512 MiB). A connection sends a larger
/// message as `continued` frames followed by one frame of the message's own type.
inline constexpr std::size_t kMaxFrameBytes = std::size_t{512} << 20;

/// The default largest message (the payloads of its continued frames and its last frame
/// together) a connection accepts: far more than any block or result spate sends whole, and
/// a peer makes us allocate only what it actually sends.
inline constexpr std::size_t kMaxMessageBytes = std::size_t{64} << 30;

/// The two magic bytes every frame starts with.
inline constexpr std::array<char, 2> kFrameMagic = {'s', 'p'};

/// The messages spate processes exchange. The values are the wire encoding: never renumber.
/// Comments give the direction (C = connecting side, S = listening side; D = driver,
/// E = executor, R = reducer fetching from another executor).
enum class FrameType : std::uint8_t {
  // Handshake (net/auth.hpp): C->S hello, S->C challenge, C->S auth_response,
  // S->C auth_ok or auth_refused; C may send auth_refused when S's proof is wrong.
  hello = 1,
  challenge = 2,
  auth_response = 3,
  auth_ok = 4,
  auth_refused = 5,
  // Registration: E->D register_executor; D->E executor_registered or registration_refused.
  register_executor = 10,
  executor_registered = 11,
  registration_refused = 12,
  // Tasks: D->E launch_task, kill_task; E->D task_result, task_failed.
  launch_task = 20,
  task_result = 21,
  task_failed = 22,
  kill_task = 23,
  // Liveness, both directions.
  heartbeat = 30,
  // Blocks (shuffle outputs): R->E fetch_block asks for one bucket of many map outputs; E->R
  // block_data frames answer with them in order, many to a frame (a bucket it lacks is marked
  // missing inside); D->E remove_blocks (unpersist, finished shuffles). block_missing is no
  // longer sent (its number stays taken).
  fetch_block = 40,
  block_data = 41,
  block_missing = 42,
  remove_blocks = 43,
  // Broadcast values: E->D fetch_broadcast; D->E broadcast_data or broadcast_missing.
  fetch_broadcast = 50,
  broadcast_data = 51,
  broadcast_missing = 52,
  // Either side is about to close the connection; the payload may carry the reason.
  shutdown = 60,
  // The payload is the next part of a message larger than one frame; the message ends with a
  // frame of its own type carrying the last part. Either direction; nothing else interleaves.
  continued = 61,
};

/// True when `value` is one of FrameType's enumerators.
bool is_known_frame_type(std::uint8_t value) noexcept;

/// The enumerator's name ("launch_task"), or "unknown" for a value that is not one.
std::string_view frame_type_name(FrameType type) noexcept;

/// True for the frames that belong to the handshake; after it they are out of order.
bool is_handshake_frame(FrameType type) noexcept;

/// One message: its type and its payload bytes.
struct Frame {
  FrameType type{};
  std::string payload;

  friend bool operator==(const Frame&, const Frame&) = default;
};

/// What a valid header says.
struct FrameHeader {
  FrameType type{};
  std::uint32_t payload_bytes = 0;
};

/// The 8 header bytes of a frame of `type` with `payload_bytes` bytes of payload. Throws
/// net_error when payload_bytes exceeds max_payload_bytes (or the u32 length field).
std::array<char, kFrameHeaderBytes> encode_frame_header(
    FrameType type, std::size_t payload_bytes, std::size_t max_payload_bytes = kMaxFrameBytes);

/// Header and payload in one string (for tests, fuzzers and small messages; the connection
/// sends the two parts without copying). Throws like encode_frame_header.
std::string encode_frame(FrameType type, std::string_view payload,
                         std::size_t max_payload_bytes = kMaxFrameBytes);

/// Checks the 8 header bytes in order (magic, version, type, length) and returns what they say;
/// throws net_error naming the first thing that is wrong. Allocates nothing.
FrameHeader decode_frame_header(const std::array<char, kFrameHeaderBytes>& bytes,
                                std::size_t max_payload_bytes = kMaxFrameBytes);

/// Decodes exactly one whole frame from `bytes`; throws net_error when the header is invalid,
/// the bytes end early, or bytes follow the frame. Allocates only the payload actually present.
Frame decode_frame(std::string_view bytes, std::size_t max_payload_bytes = kMaxFrameBytes);

}  // namespace spate::detail::net
