// Chunks: the unit in which shuffle blocks and spill files hold bytes. A chunk is a run of whole
// records, compressed (or not) and checksummed on its own, so that a reader can check and
// decompress a block piece by piece as it arrives, and a damaged byte is found where it is.
//
//   codec      u8       a Codec value
//   raw size   varint   bytes after decompression
//   size       varint   stored bytes that follow the checksum
//   checksum   u64 LE   XXH3-64 of the stored bytes, seeded with raw size * 4 + codec
//   stored     `size` bytes
//
// Compiled once in lib/storage/block_codec.cpp; LZ4, zstd and xxHash stay out of user builds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "spate/error.hpp"

namespace spate::detail {

/// How chunks are compressed. The values are the stored encoding: never renumber.
enum class Codec : std::uint8_t { none = 0, lz4 = 1, zstd = 2 };

/// "none", "lz4" or "zstd".
std::string_view codec_name(Codec c) noexcept;
/// The codec a name means ("none", "lz4", "zstd"), or nullopt.
std::optional<Codec> parse_codec(std::string_view name) noexcept;

/// A chunk whose checksum, header or compressed bytes are wrong: the bytes were damaged on disk,
/// in memory or on the wire. The message says at which byte of its block the chunk starts.
class corrupt_chunk : public error {
 public:
  corrupt_chunk(const std::string& what, std::uint64_t offset) : error(what), offset_(offset) {}
  /// Where the damaged chunk starts, counted from the start of its block.
  std::uint64_t offset() const noexcept { return offset_; }

 private:
  std::uint64_t offset_;
};

/// Raw bytes a map output gathers into one chunk before compressing it: LZ4's window, and small
/// enough that thousands of buckets filling at once stay cheap.
inline constexpr std::size_t kChunkBytes = std::size_t{64} << 10;

/// Appends `raw` to `out` as one chunk. Stored uncompressed when `codec` would not make it
/// smaller (or is none).
void append_chunk(std::string& out, std::string_view raw, Codec codec);

/// The size of the chunk at the start of `bytes`, header included, when its header is whole;
/// nullopt when more bytes are needed to tell. Throws corrupt_chunk (at `offset`) for a header
/// that cannot be right.
std::optional<std::size_t> chunk_size(std::string_view bytes, std::uint64_t offset = 0);

/// Checks and decodes the one whole chunk `chunk` (as chunk_size() measured it), returning its
/// raw bytes: a view into `chunk` when it was stored uncompressed, else into `scratch`. Throws
/// corrupt_chunk naming `offset` when the checksum or the compressed bytes are wrong.
std::string_view decode_chunk(std::string_view chunk, std::string& scratch, std::uint64_t offset = 0);

/// Turns a block that arrives in pieces cut anywhere into its chunks' raw bytes: feed() the
/// pieces in order, then finish(). Holds at most one chunk between pieces.
class ChunkDecoder {
 public:
  /// Called with each chunk's raw bytes, valid during the call.
  using Sink = std::function<void(std::string_view raw)>;

  /// Decodes the chunks `piece` completes and hands each to `sink`; keeps a partial chunk for
  /// the next piece. Throws corrupt_chunk.
  void feed(std::string_view piece, const Sink& sink);
  /// Ends the block, leaving the decoder ready for the next; throws corrupt_chunk when the
  /// block ended inside a chunk.
  void finish();
  /// Forgets a block left part way, ready for the next.
  void reset() noexcept {
    pending_.clear();
    offset_ = 0;
  }

 private:
  std::string pending_;   // the start of a chunk that continues in the next piece
  std::string scratch_;   // decompressed bytes
  std::uint64_t offset_ = 0;  // where pending_ (or the next chunk) starts in the block
};

}  // namespace spate::detail
