// Tests of the wire format (lib/net/frame.hpp): layout, round trips, and every way a header or
// frame is refused, with the exact message.
#include <array>
#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "net/frame.hpp"
#include "net/net_error.hpp"

namespace {

namespace net = spate::detail::net;
using net::FrameType;

std::vector<FrameType> all_frame_types() {
  std::vector<FrameType> types;
  for (int v = 0; v <= 255; ++v) {
    if (net::is_known_frame_type(static_cast<std::uint8_t>(v))) {
      types.push_back(static_cast<FrameType>(v));
    }
  }
  return types;
}

std::array<char, net::kFrameHeaderBytes> header_bytes(char m0, char m1, std::uint8_t version,
                                                      std::uint8_t type, std::uint32_t length) {
  return {m0,
          m1,
          static_cast<char>(version),
          static_cast<char>(type),
          static_cast<char>(length & 0xff),
          static_cast<char>((length >> 8) & 0xff),
          static_cast<char>((length >> 16) & 0xff),
          static_cast<char>((length >> 24) & 0xff)};
}

std::string as_string(const std::array<char, net::kFrameHeaderBytes>& h) {
  return std::string(h.data(), h.size());
}

}  // namespace

TEST_CASE("every frame type the protocol lists is known, named, and nothing else is",
          "[net][frame]") {
  const auto types = all_frame_types();
  CHECK(types.size() == 22);
  for (FrameType t : types) CHECK(net::frame_type_name(t) != "unknown");
  CHECK(net::frame_type_name(FrameType::launch_task) == "launch_task");
  CHECK_FALSE(net::is_known_frame_type(0));
  CHECK_FALSE(net::is_known_frame_type(255));
  CHECK(net::is_handshake_frame(FrameType::hello));
  CHECK(net::is_handshake_frame(FrameType::auth_refused));
  CHECK_FALSE(net::is_handshake_frame(FrameType::heartbeat));
}

TEST_CASE("a frame header is magic 'sp', version, type, then a little-endian u32 length",
          "[net][frame]") {
  const auto h = net::encode_frame_header(FrameType::block_data, 0x01020304);
  CHECK(as_string(h) == std::string("sp\x01\x29\x04\x03\x02\x01", 8));
}

TEST_CASE("frames of every type round-trip with empty, small and large payloads", "[net][frame]") {
  std::string big(70'000, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7);
  for (FrameType type : all_frame_types()) {
    for (const std::string& payload : {std::string(), std::string("x"), big}) {
      const std::string wire = net::encode_frame(type, payload);
      REQUIRE(wire.size() == net::kFrameHeaderBytes + payload.size());
      const net::Frame back = net::decode_frame(wire);
      CHECK(back.type == type);
      CHECK(back.payload == payload);
    }
  }
}

TEST_CASE("a truncated header is refused with how many header bytes there were", "[net][frame]") {
  const std::string wire = net::encode_frame(FrameType::heartbeat, "");
  for (std::size_t n = 0; n < net::kFrameHeaderBytes; ++n) {
    CHECK_THROWS_MATCHES(
        net::decode_frame(wire.substr(0, n)), net::net_error,
        Catch::Message("spate: truncated frame: " + std::to_string(n) + " of 8 header bytes"));
  }
}

TEST_CASE("a truncated payload is refused with declared and present sizes", "[net][frame]") {
  const std::string wire = net::encode_frame(FrameType::task_result, std::string(100, 'r'));
  CHECK_THROWS_MATCHES(
      net::decode_frame(wire.substr(0, net::kFrameHeaderBytes + 10)), net::net_error,
      Catch::Message(
          "spate: truncated frame: a task_result frame declares 100 payload bytes, only 10 "
          "present"));
}

TEST_CASE("bytes after the end of a frame are refused", "[net][frame]") {
  const std::string wire = net::encode_frame(FrameType::heartbeat, "ab") + "xyz";
  CHECK_THROWS_MATCHES(
      net::decode_frame(wire), net::net_error,
      Catch::Message("spate: 3 bytes follow the end of a heartbeat frame of 2 payload bytes"));
}

TEST_CASE("an oversized length is refused from the header alone, before any allocation",
          "[net][frame]") {
  SECTION("over the default 512 MiB limit, with no payload present") {
    // Only the 8 header bytes exist: decoding must not try to read or reserve 4 GiB.
    const auto h = header_bytes('s', 'p', 1, 41, 0xffffffffu);
    CHECK_THROWS_MATCHES(net::decode_frame_header(h), net::net_error,
                         Catch::Message("spate: a block_data frame of 4294967295 payload bytes "
                                        "exceeds the frame limit of 536870912 bytes"));
    CHECK_THROWS_MATCHES(net::decode_frame(as_string(h)), net::net_error,
                         Catch::Message("spate: a block_data frame of 4294967295 payload bytes "
                                        "exceeds the frame limit of 536870912 bytes"));
  }
  SECTION("over a configured limit, by one byte") {
    const auto h = header_bytes('s', 'p', 1, 20, 1001);
    CHECK_THROWS_MATCHES(net::decode_frame_header(h, 1000), net::net_error,
                         Catch::Message("spate: a launch_task frame of 1001 payload bytes "
                                        "exceeds the frame limit of 1000 bytes"));
    CHECK(net::decode_frame_header(header_bytes('s', 'p', 1, 20, 1000), 1000).payload_bytes ==
          1000);
  }
  SECTION("the sender refuses to encode one") {
    CHECK_THROWS_MATCHES(net::encode_frame(FrameType::block_data, std::string(11, 'b'), 10),
                         net::net_error,
                         Catch::Message("spate: a block_data frame of 11 payload bytes exceeds "
                                        "the frame limit of 10 bytes"));
  }
}

TEST_CASE("bad magic is refused and shown readably (an HTTP client on the port)", "[net][frame]") {
  CHECK_THROWS_MATCHES(net::decode_frame("GET / HTTP/1.1\r\n"), net::net_error,
                       Catch::Message("spate: bad frame magic \"GE\" (0x47 0x45; expected "
                                      "\"sp\"): the peer does not speak spate's protocol"));
  CHECK_THROWS_MATCHES(
      net::decode_frame_header(header_bytes('\x00', '\xff', 1, 30, 0)), net::net_error,
      Catch::Message("spate: bad frame magic \"\\x00\\xff\" (0x00 0xff; expected \"sp\"): the "
                     "peer does not speak spate's protocol"));
}

TEST_CASE("an unknown version is refused, naming both versions", "[net][frame]") {
  for (std::uint8_t version : {0, 2, 255}) {
    CHECK_THROWS_MATCHES(
        net::decode_frame_header(header_bytes('s', 'p', version, 30, 0)), net::net_error,
        Catch::Message("spate: unsupported frame version " + std::to_string(version) +
                       " (this build speaks version 1): the peer runs a different build of "
                       "spate"));
  }
}

TEST_CASE("an unknown type is refused, naming the type byte", "[net][frame]") {
  for (std::uint8_t type : {0, 6, 9, 62, 255}) {
    CHECK_THROWS_MATCHES(net::decode_frame_header(header_bytes('s', 'p', 1, type, 0)),
                         net::net_error,
                         Catch::Message("spate: unknown frame type " + std::to_string(type)));
  }
}

TEST_CASE("header checks run in order: magic, then version, then type, then length",
          "[net][frame]") {
  CHECK_THROWS_WITH(net::decode_frame_header(header_bytes('x', 'p', 9, 0, 0xffffffffu)),
                    Catch::Contains("bad frame magic"));
  CHECK_THROWS_WITH(net::decode_frame_header(header_bytes('s', 'p', 9, 0, 0xffffffffu)),
                    Catch::Contains("unsupported frame version 9"));
  CHECK_THROWS_WITH(net::decode_frame_header(header_bytes('s', 'p', 1, 0, 0xffffffffu)),
                    Catch::Contains("unknown frame type 0"));
}
