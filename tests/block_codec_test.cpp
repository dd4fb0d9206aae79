// Chunks (block_codec.hpp), spill files and map outputs: bytes come back as written under every
// codec, however they are cut on the way, and a damaged byte is caught and located.
#include <fcntl.h>
#include <unistd.h>

#include <random>
#include <string>
#include <vector>

#include "spate/detail/block_codec.hpp"
#include "spate/detail/block_store.hpp"
#include "spate/detail/map_output_builder.hpp"
#include "spate/detail/spill_file.hpp"
#include "test_support.hpp"

using spate::detail::ChunkDecoder;
using spate::detail::Codec;
using spate::detail::corrupt_chunk;

namespace {

// Text that compresses as logs do: repeated fields with varying numbers.
std::string log_like(std::size_t bytes, unsigned seed) {
  std::mt19937 rng(seed);
  std::string out;
  while (out.size() < bytes)
    out += "2026-12-03T03:14:07Z\tcampaign-" + std::to_string(rng() % 50) + "\tuser-" + std::to_string(rng() % 100000) +
           "\tclick\n";
  out.resize(bytes);
  return out;
}

std::string random_bytes(std::size_t bytes, unsigned seed) {
  std::mt19937 rng(seed);
  std::string out(bytes, '\0');
  for (auto& c : out) c = static_cast<char>(rng());
  return out;
}

// The raw bytes of every chunk in `block`, fed in pieces of the given sizes (cycled).
std::string decode_in_pieces(std::string_view block, const std::vector<std::size_t>& cuts) {
  std::string raw;
  ChunkDecoder decoder;
  std::size_t i = 0;
  while (!block.empty()) {
    std::size_t n = std::min(block.size(), cuts[i++ % cuts.size()]);
    decoder.feed(block.substr(0, n), [&](std::string_view chunk) { raw += chunk; });
    block.remove_prefix(n);
  }
  decoder.finish();
  return raw;
}

}  // namespace

TEST_CASE("every codec gives back the bytes it was given, and lz4 and zstd shrink log-like text") {
  std::string text = log_like(200'000, 1);
  for (Codec codec : {Codec::none, Codec::lz4, Codec::zstd}) {
    std::string block;
    for (std::size_t at = 0; at < text.size(); at += spate::detail::kChunkBytes)
      spate::detail::append_chunk(block, std::string_view(text).substr(at, spate::detail::kChunkBytes), codec);
    CHECK(decode_in_pieces(block, {block.size()}) == text);
    if (codec == Codec::none)
      CHECK(block.size() > text.size());
    else
      CHECK(block.size() * 3 < text.size());
  }
  CHECK(spate::detail::parse_codec("zstd") == Codec::zstd);
  CHECK_FALSE(spate::detail::parse_codec("gzip"));
}

TEST_CASE("bytes that do not compress are stored as they are, at a few bytes' cost") {
  std::string noise = random_bytes(50'000, 2);
  for (Codec codec : {Codec::lz4, Codec::zstd}) {
    std::string block;
    spate::detail::append_chunk(block, noise, codec);
    CHECK(block.size() <= noise.size() + 20);
    CHECK(static_cast<Codec>(block[0]) == Codec::none);
    CHECK(decode_in_pieces(block, {block.size()}) == noise);
  }
}

TEST_CASE("a block cut into pieces anywhere, down to single bytes, decodes to the same bytes") {
  std::string text = log_like(300'000, 3);
  std::string block;
  for (std::size_t at = 0; at < text.size(); at += 10'000)
    spate::detail::append_chunk(block, std::string_view(text).substr(at, 10'000), Codec::lz4);
  CHECK(decode_in_pieces(block, {1}) == text);
  CHECK(decode_in_pieces(block, {3, 7, 1, 30}) == text);
  CHECK(decode_in_pieces(block, {4095, 65536, 17}) == text);
}

TEST_CASE("a damaged byte anywhere in a block is caught, naming the byte its chunk starts at") {
  std::string block;
  std::vector<std::size_t> starts;
  for (unsigned i = 0; i < 4; ++i) {
    starts.push_back(block.size());
    spate::detail::append_chunk(block, log_like(20'000, 10 + i), i % 2 ? Codec::zstd : Codec::lz4);
  }
  std::mt19937 rng(5);
  for (int trial = 0; trial < 200; ++trial) {
    std::string damaged = block;
    std::size_t at = rng() % damaged.size();
    damaged[at] = static_cast<char>(damaged[at] ^ (1 + rng() % 255));
    std::size_t chunk = std::upper_bound(starts.begin(), starts.end(), at) - starts.begin() - 1;
    INFO("byte " << at << " of chunk " << chunk);
    try {
      std::string raw = decode_in_pieces(damaged, {1000});
      FAIL("a damaged block decoded");
    } catch (const corrupt_chunk& e) {
      // A damaged length may make the chunk appear to end early or late: the chunk named is
      // the damaged one, or (when its length grew past the end) the same one cut short.
      CHECK(e.offset() == starts[chunk]);
      CHECK_THAT(e.what(), Catch::Contains("chunk at byte " + std::to_string(starts[chunk])));
    }
  }
}

TEST_CASE("a block that ends inside a chunk is refused when it ends") {
  std::string block;
  spate::detail::append_chunk(block, log_like(5'000, 6), Codec::lz4);
  ChunkDecoder decoder;
  decoder.feed(std::string_view(block).substr(0, block.size() - 1), [](std::string_view) {});
  CHECK_THROWS_AS(decoder.finish(), corrupt_chunk);
  // and the decoder is ready for the next block
  std::string raw;
  decoder.feed(block, [&](std::string_view c) { raw += c; });
  decoder.finish();
  CHECK(raw == log_like(5'000, 6));
}

TEST_CASE("a spill file compresses its blocks and names itself and the offset of a damaged one") {
  spate_test::TempDir dir;
  spate::detail::SpillFile file(dir.str(), Codec::lz4);
  std::vector<std::uint64_t> offsets;
  for (unsigned i = 0; i < 3; ++i) {
    offsets.push_back(file.size());
    file.append(log_like(100'000, 20 + i));
  }
  CHECK(file.size() < 3 * 100'000 / 3);
  std::string out;
  CHECK(file.read(offsets[1], out) == offsets[2]);
  CHECK(out == log_like(100'000, 21));

  // One byte in the middle of the second block, changed on disk behind the file's back.
  std::string path = file.path();
  std::string fd_path = path.substr(0, path.find(' '));
  int fd = ::open(fd_path.c_str(), O_RDWR);
  REQUIRE(fd >= 0);
  char byte = 0;
  off_t at = static_cast<off_t>(offsets[1] + (offsets[2] - offsets[1]) / 2);
  REQUIRE(::pread(fd, &byte, 1, at) == 1);
  byte = static_cast<char>(byte ^ 0x40);
  REQUIRE(::pwrite(fd, &byte, 1, at) == 1);
  ::close(fd);
  try {
    file.read(offsets[1], out);
    FAIL("a damaged spill block was read");
  } catch (const spate::io_error& e) {
    CHECK_THAT(e.what(), Catch::Contains("spill file in '" + dir.str() + "'"));
    CHECK_THAT(e.what(), Catch::Contains("offset " + std::to_string(offsets[1])));
    CHECK_THAT(e.what(), Catch::Contains("checksum mismatch"));
  }
  // The blocks around it are whole.
  file.read(offsets[2], out);
  CHECK(out == log_like(100'000, 22));
}

TEST_CASE("a map output with thousands of empty buckets costs a few bytes per bucket") {
  spate::detail::BlockStore store;
  store.set_compression(Codec::lz4, Codec::lz4);
  spate::detail::TaskContext tc(store, 1, 0, 1);
  constexpr std::size_t kBuckets = 2001;
  spate::detail::MapOutputBuilder builder(tc, kBuckets);
  spate::serialize_to(builder.bucket(7), std::string("only record"));
  builder.counted(7);
  auto out = std::move(builder).finish();
  CHECK(out->num_buckets() == kBuckets);
  CHECK(dynamic_cast<const spate::detail::SerializedMapOutput&>(*out).buffer_bytes() <= kBuckets * 4 + 256);
  CHECK(out->bucket_size(6) == 0);
  CHECK(out->bucket_size(7) > 0);
  std::string raw;
  ChunkDecoder decoder;
  out->read_bucket(7, [&](std::string_view piece) { decoder.feed(piece, [&](std::string_view c) { raw += c; }); });
  decoder.finish();
  spate::Reader in(raw);
  CHECK(spate::deserialize_from<std::string>(in) == "only record");
  CHECK(in.at_end());
}
