// Map statuses: bucket sizes in one byte each, carried from map task to driver to reducer.
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>

#include "cluster/protocol.hpp"

namespace protocol = spate::detail::protocol;

TEST_CASE("a bucket size in one byte is 0 only for an empty bucket and within 10% above otherwise") {
  CHECK(protocol::compress_size(0) == 0);
  CHECK(protocol::decompress_size(0) == 0);
  std::uint8_t previous = 0;
  for (std::uint64_t size = 1; size < (std::uint64_t{1} << 34); size = size * 3 / 2 + 1) {
    INFO(size);
    std::uint8_t code = protocol::compress_size(size);
    CHECK(code > 0);
    CHECK(code >= previous);
    previous = code;
    auto back = static_cast<double>(protocol::decompress_size(code));
    CHECK(back >= static_cast<double>(size) * 0.999);
    CHECK(back <= static_cast<double>(size) * 1.1 + 1);
  }
  CHECK(protocol::compress_size(~std::uint64_t{0}) == 255);
}

TEST_CASE("bucket sizes travel with task results and launches, and a launch with the wrong count is refused") {
  protocol::Result r;
  r.task_id = 7;
  r.bucket_sizes = std::string("\x00\x05\x00\xff", 4);
  CHECK(protocol::decode_result(protocol::encode(r)).bucket_sizes == r.bucket_sizes);

  protocol::Launch l;
  l.task_id = 9;
  l.shuffles.push_back({3, {"127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:1"}, std::string("\x00\x01\x02", 3)});
  l.shuffles.push_back({4, {"127.0.0.1:1"}, ""});
  auto back = protocol::decode_launch(protocol::encode(l));
  REQUIRE(back.shuffles.size() == 2);
  CHECK(back.shuffles[0].sizes == l.shuffles[0].sizes);
  CHECK(back.shuffles[0].addresses == l.shuffles[0].addresses);
  CHECK(back.shuffles[1].sizes.empty());

  l.shuffles[0].sizes = std::string("\x01\x01", 2);  // two sizes for three map outputs
  CHECK_THROWS_WITH(protocol::decode_launch(protocol::encode(l)),
                    Catch::Contains("2 bucket sizes for 3 map outputs"));
}
