// Fuzz target: the frame decoder, then the decoder of whatever message a valid frame carries.
//
// Checks, for any bytes:
// - decode_frame and decode_frame_header end in a value or a net_error (nothing else);
// - a frame that decodes re-encodes to exactly its input, with a payload within the limit; the
//   header alone gives the same type and length, and a lower limit refuses it;
// - its payload goes to the decoder the receiving side uses for that frame type (handshake or
//   protocol message), which ends in a value or a spate::error; a decoded message re-encodes to
//   bytes that decode again and re-encode to the same bytes;
// - the payload opened as a sealed frame (net/record_layer.hpp) under fixed keys ends in a
//   net_error, and never opens: forging a tag without the key is what the layer rules out.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cluster/protocol.hpp"
#include "spate/detail/block_codec.hpp"
#include "fuzz_support.hpp"
#include "net/auth.hpp"
#include "net/frame.hpp"
#include "net/net_error.hpp"
#include "net/record_layer.hpp"

namespace {

namespace net = spate::detail::net;
namespace protocol = spate::detail::protocol;
using spate_fuzz::fail;
using spate_fuzz::refused_or_done;

// Small limits, so that the length checks are reached by inputs of a few kilobytes.
constexpr std::size_t kMaxPayload = 2048;
constexpr std::size_t kTinyMaxPayload = 16;

// Runs f(); net_error is how the frame layer refuses bytes. Anything else aborts.
template <class F>
bool net_refused_or_done(F&& f) {
  try {
    f();
    return true;
  } catch (const net::net_error&) {
    return false;
  } catch (const spate::error& e) {
    fail(std::string("the frame layer threw a spate::error that is not a net_error: ") + e.what());
  }
}

// decode, encode, decode again: the second encoding must be accepted and be a fixed point.
template <class Decode>
void check_message(std::string_view payload, Decode decode) {
  std::string once;
  if (!refused_or_done([&] { once = protocol::encode(decode(payload)); })) return;
  std::string twice;
  if (!refused_or_done([&] { twice = protocol::encode(decode(once)); }))
    fail("a decoded message, encoded again, is refused by its own decoder");
  if (twice != once) fail("a message's encoding is not stable across decode and encode");
}

// block_data: the entries, written again, read back as the same entries, and write the same.
void check_blocks(std::string_view payload) {
  auto encode = [](const std::vector<protocol::BlockEntry>& entries) {
    spate::Writer w;
    for (const auto& e : entries) protocol::append_block(w, e.map, e.kind, e.bytes);
    return std::move(w).take();
  };
  std::string once;
  std::vector<protocol::BlockEntry> entries;
  if (!refused_or_done([&] { once = encode(entries = protocol::decode_blocks(payload)); })) return;
  // Each bucket's pieces through a chunk decoder: damaged chunks are refused as such, and
  // nothing else is thrown.
  spate::detail::ChunkDecoder decoder;
  for (const auto& e : entries) {
    if (e.kind == protocol::BlockPiece::missing) continue;
    try {
      decoder.feed(e.bytes, [](std::string_view) {});
      if (e.kind == protocol::BlockPiece::last) decoder.finish();
    } catch (const spate::detail::corrupt_chunk&) {
      decoder.reset();
    }
  }
  std::string twice;
  if (!refused_or_done([&] { twice = encode(protocol::decode_blocks(once)); }))
    fail("decoded blocks, encoded again, are refused by their own decoder");
  if (twice != once) fail("a block_data encoding is not stable across decode and encode");
}

void check_handshake(net::FrameType type, std::string_view payload) {
  switch (type) {
    case net::FrameType::hello: {
      net::Hello h;
      if (net_refused_or_done([&] { h = net::decode_hello(payload); }) &&
          net::encode_hello(h) != payload)
        fail("a decoded hello does not encode to its payload");
      break;
    }
    case net::FrameType::challenge: {
      net::Nonce n;
      if (net_refused_or_done([&] { n = net::decode_challenge(payload); }) &&
          net::encode_challenge(n) != payload)
        fail("a decoded challenge does not encode to its payload");
      break;
    }
    case net::FrameType::auth_response:
    case net::FrameType::auth_ok: {
      // A proof is checked, never parsed: any bytes must give an answer, not an exception.
      const net::Nonce zero{};
      net_refused_or_done([&] {
        if (net::verify_proof("", net::HandshakeSide::server, zero, zero, payload) &&
            payload.size() != net::kProofBytes)
          fail("verify_proof accepted a proof of the wrong length");
      });
      break;
    }
    case net::FrameType::auth_refused: {
      std::string reason;
      if (!net_refused_or_done([&] { reason = net::decode_refusal(payload); })) break;
      if (reason.size() > net::kMaxRefusalBytes) fail("decode_refusal passed an over-long reason");
      std::string again;
      if (!net_refused_or_done([&] { again = net::decode_refusal(net::encode_refusal(reason)); }) ||
          again != reason)
        fail("a refusal reason does not survive encode and decode");
      break;
    }
    default: break;
  }
}

void check_payload(net::FrameType type, std::string_view payload) {
  using T = net::FrameType;
  switch (type) {
    case T::register_executor: return check_message(payload, protocol::decode_registration);
    case T::executor_registered: return check_message(payload, protocol::decode_welcome);
    case T::launch_task: return check_message(payload, protocol::decode_launch);
    case T::task_result: return check_message(payload, protocol::decode_result);
    case T::task_failed: return check_message(payload, protocol::decode_failure);
    case T::heartbeat: return check_message(payload, protocol::decode_heartbeat);
    case T::fetch_block: return check_message(payload, protocol::decode_fetch);
    case T::remove_blocks: return check_message(payload, protocol::decode_remove_blocks);
    case T::fetch_broadcast:
    case T::broadcast_missing: return check_message(payload, protocol::decode_broadcast_request);
    case T::broadcast_data: return check_message(payload, protocol::decode_broadcast_data);
    case T::block_data: return check_blocks(payload);
    // Free text (registration_refused, block_missing, shutdown) or nothing at all (kill_task):
    // no decoder to run. The records inside a block are fuzz_records' business.
    default:
      if (net::is_handshake_frame(type)) check_handshake(type, payload);
      return;
  }
}

// A block server's answer: a bucket with records, an empty one, one in two pieces, one it does not
// hold.
std::string blocks_payload() {
  spate::Writer w;
  const std::string records("\x03"
                            "abc"
                            "\x01\0\0\0\0\0\0\0",
                            12);
  std::string lz4, plain;
  spate::detail::append_chunk(lz4, records + records + records, spate::detail::Codec::lz4);
  spate::detail::append_chunk(plain, records, spate::detail::Codec::none);
  protocol::append_block(w, 0, protocol::BlockPiece::last, lz4);
  protocol::append_block(w, 2, protocol::BlockPiece::last);
  protocol::append_block(w, 4, protocol::BlockPiece::more, plain.substr(0, 5));
  protocol::append_block(w, 4, protocol::BlockPiece::last, plain.substr(5));
  protocol::append_block(w, 5, protocol::BlockPiece::missing);
  return std::move(w).take();
}

// Seeds: a frame of every type, with the payloads real processes send.
std::vector<std::string> real_frames() {
  using T = net::FrameType;
  net::Nonce nonce;
  for (std::size_t i = 0; i < nonce.size(); ++i) nonce[i] = static_cast<unsigned char>(i * 37);
  const net::Proof proof = net::compute_proof("secret", net::HandshakeSide::client, nonce, nonce);
  protocol::Registration reg{"exec-1",      "10.0.0.2",     40123, 4,
                             "fp:0123abcd", "/usr/bin/job", 4242,  std::uint64_t{1} << 30};
  protocol::Launch launch{7,
                          true,
                          2,
                          3,
                          1,
                          {{0, {"10.0.0.2:40123", "10.0.0.3:40125"}}, {1, {}}},
                          std::string("stage\0bytes", 11)};
  protocol::Result result{7,
                          {{"input.records", 100}, {"shuffle.write.bytes", 4096}},
                          {{1, std::string("\x05\0\0\0\0\0\0\0", 8)}},
                          {3, 9},
                          "result"};
  protocol::Failure failure{8, false, "fetch failure: shuffle 0", true, 0, 2, "10.0.0.3:40125"};
  std::vector<std::pair<T, std::string>> frames = {
      {T::hello, net::encode_hello({net::PeerRole::fetcher, nonce})},
      {T::challenge, net::encode_challenge(nonce)},
      {T::auth_response, net::encode_proof(proof)},
      {T::auth_ok, net::encode_proof(proof)},
      {T::auth_refused, net::encode_refusal("authentication failed")},
      {T::register_executor, protocol::encode(reg)},
      {T::executor_registered, protocol::encode(protocol::Welcome{1000, 10000})},
      {T::registration_refused, "a different build of the program"},
      {T::launch_task, protocol::encode(launch)},
      {T::task_result, protocol::encode(result)},
      {T::task_failed, protocol::encode(failure)},
      {T::kill_task, ""},
      {T::heartbeat, ""},
      {T::heartbeat, protocol::encode(protocol::Heartbeat{1 << 20, 1 << 30})},
      {T::fetch_block, protocol::encode(protocol::Fetch{1, 3, {0, 2, 5, 1000}})},
      {T::block_data, blocks_payload()},
      {T::block_missing, "no such map output here"},
      {T::remove_blocks, protocol::encode(protocol::RemoveBlocks{protocol::RemoveBlocks::Kind::shuffle, 12})},
      {T::fetch_broadcast, protocol::encode(protocol::BroadcastRequest{3})},
      {T::broadcast_data, protocol::encode(protocol::BroadcastData{3, "value"})},
      {T::broadcast_missing, protocol::encode(protocol::BroadcastRequest{4})},
      {T::shutdown, "driver finished"},
  };
  std::vector<std::string> out;
  for (const auto& [type, payload] : frames) out.push_back(net::encode_frame(type, payload));
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spate_fuzz::write_seeds_if_asked("frame", real_frames());
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);

  // The header alone, as the connection checks it before reading a payload.
  bool header_ok = false;
  net::FrameHeader header;
  std::array<char, net::kFrameHeaderBytes> head{};
  if (size >= head.size()) {
    std::memcpy(head.data(), data, head.size());
    header_ok = net_refused_or_done([&] { header = net::decode_frame_header(head, kMaxPayload); });
    if (header_ok && header.payload_bytes > kMaxPayload)
      fail("decode_frame_header accepted a length over its limit");
    net::FrameHeader tiny;
    const bool tiny_ok =
        net_refused_or_done([&] { tiny = net::decode_frame_header(head, kTinyMaxPayload); });
    if (tiny_ok != (header_ok && header.payload_bytes <= kTinyMaxPayload))
      fail("decode_frame_header's verdict under a lower limit is not the length check alone");
  }

  net::Frame frame;
  const bool frame_ok = net_refused_or_done([&] { frame = net::decode_frame(bytes, kMaxPayload); });
  if (header_ok && size == net::kFrameHeaderBytes + header.payload_bytes && !frame_ok)
    fail("a valid header followed by exactly its payload is refused");
  if (!frame_ok) return 0;
  if (!header_ok || header.type != frame.type || header.payload_bytes != frame.payload.size())
    fail("decode_frame and decode_frame_header disagree");
  if (net::encode_frame(frame.type, frame.payload, kMaxPayload) != bytes)
    fail("a decoded frame does not encode to its input");

  check_payload(frame.type, frame.payload);

  // The same frame as the record layer receives it: the opener must refuse it, whatever it is.
  static const net::SessionKeys keys =
      net::derive_session_keys("fuzz secret", net::Nonce{}, net::Nonce{}, net::HandshakeSide::server);
  net::FrameOpener opener(keys.receive);
  std::string sealed = frame.payload;
  if (net_refused_or_done([&] { opener.open(head, sealed.data(), sealed.size()); }))
    fail("the record layer opened a frame nobody sealed under its keys");
  return 0;
}
