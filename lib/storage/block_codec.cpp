#include "spate/detail/block_codec.hpp"

#include <fmt/format.h>
#include <lz4.h>
#include <xxhash.h>
#include <zstd.h>

#include "spate/serialization.hpp"

#include <cstring>
#include <limits>

namespace spate::detail {

namespace {

// Fast enough that compressing costs less than the bytes it saves on a network or a disk.
constexpr int kZstdLevel = 1;
// A varint of 64 bits takes at most 10 bytes; the header is codec + 2 varints + checksum.
constexpr std::size_t kMaxHeaderBytes = 1 + 10 + 10 + 8;
// No chunk is larger: a writer cuts chunks at kChunkBytes or at one record, and records are
// bounded by what the serializer accepts.
constexpr std::uint64_t kMaxChunkBytes = std::uint64_t{1} << 40;

// Seeded with the raw size and the codec, so that a damaged header fails the checksum too.
std::uint64_t checksum(std::string_view stored, std::uint64_t raw_size, Codec codec) {
  return XXH3_64bits_withSeed(stored.data(), stored.size(), (raw_size << 2) | static_cast<std::uint64_t>(codec));
}

struct Header {
  Codec codec{};
  std::uint64_t raw_size = 0;
  std::uint64_t stored_size = 0;
  std::uint64_t checksum = 0;
  std::size_t header_bytes = 0;
};

std::optional<Header> read_header(std::string_view bytes, std::uint64_t offset) {
  if (bytes.empty()) return std::nullopt;
  Header h;
  auto codec = static_cast<std::uint8_t>(bytes[0]);
  if (codec > static_cast<std::uint8_t>(Codec::zstd))
    throw corrupt_chunk(fmt::format("chunk at byte {}: unknown codec {}", offset, codec), offset);
  h.codec = static_cast<Codec>(codec);
  Reader in(bytes.substr(1));
  try {
    h.raw_size = in.read_varint();
    h.stored_size = in.read_varint();
  } catch (const serialization_error&) {
    // Cut short, or longer than 64 bits: only a whole header's worth of bytes tells which.
    if (bytes.size() < kMaxHeaderBytes) return std::nullopt;
    throw corrupt_chunk(fmt::format("chunk at byte {}: a length of more than 64 bits", offset), offset);
  }
  if (h.raw_size > kMaxChunkBytes || h.stored_size > kMaxChunkBytes ||
      (h.codec == Codec::none && h.raw_size != h.stored_size))
    throw corrupt_chunk(
        fmt::format("chunk at byte {}: impossible sizes ({} raw, {} stored)", offset, h.raw_size, h.stored_size),
        offset);
  if (in.remaining() < 8) return std::nullopt;
  in.read_bytes(&h.checksum, 8);  // little-endian hosts only, as the frame header
  h.header_bytes = 1 + in.offset();
  return h;
}

}  // namespace

std::string_view codec_name(Codec c) noexcept {
  switch (c) {
    case Codec::none: return "none";
    case Codec::lz4: return "lz4";
    case Codec::zstd: return "zstd";
  }
  return "unknown";
}

std::optional<Codec> parse_codec(std::string_view name) noexcept {
  for (auto c : {Codec::none, Codec::lz4, Codec::zstd})
    if (name == codec_name(c)) return c;
  return std::nullopt;
}

void append_chunk(std::string& out, std::string_view raw, Codec codec) {
  std::string compressed;
  if (codec == Codec::lz4 && raw.size() <= LZ4_MAX_INPUT_SIZE && !raw.empty()) {
    compressed.resize(static_cast<std::size_t>(LZ4_compressBound(static_cast<int>(raw.size()))));
    int n = LZ4_compress_default(raw.data(), compressed.data(), static_cast<int>(raw.size()),
                                 static_cast<int>(compressed.size()));
    compressed.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  } else if (codec == Codec::zstd && !raw.empty()) {
    compressed.resize(ZSTD_compressBound(raw.size()));
    std::size_t n = ZSTD_compress(compressed.data(), compressed.size(), raw.data(), raw.size(), kZstdLevel);
    compressed.resize(ZSTD_isError(n) ? 0 : n);
  }
  bool packed = !compressed.empty() && compressed.size() < raw.size();
  std::string_view stored = packed ? std::string_view(compressed) : raw;
  Codec used = packed ? codec : Codec::none;
  // The header goes through a Writer of its own and both parts are appended to `out`: a Writer
  // made from `out` would double (and zero) the whole buffer when it grows, once per chunk.
  Writer header;
  header.write_bytes(&used, 1);
  header.write_varint(raw.size());
  header.write_varint(stored.size());
  std::uint64_t sum = checksum(stored, raw.size(), used);
  header.write_bytes(&sum, 8);
  out.append(header.view());
  out.append(stored);
}

std::optional<std::size_t> chunk_size(std::string_view bytes, std::uint64_t offset) {
  auto h = read_header(bytes, offset);
  if (!h) return std::nullopt;
  return h->header_bytes + static_cast<std::size_t>(h->stored_size);
}

std::string_view decode_chunk(std::string_view chunk, std::string& scratch, std::uint64_t offset) {
  auto h = read_header(chunk, offset);
  if (!h || chunk.size() != h->header_bytes + h->stored_size)
    throw corrupt_chunk(fmt::format("chunk at byte {}: cut short", offset), offset);
  std::string_view stored = chunk.substr(h->header_bytes);
  if (checksum(stored, h->raw_size, h->codec) != h->checksum)
    throw corrupt_chunk(fmt::format("chunk at byte {}: checksum mismatch", offset), offset);
  if (h->codec == Codec::none) return stored;
  scratch.resize(static_cast<std::size_t>(h->raw_size));
  bool ok = false;
  if (h->codec == Codec::lz4) {
    ok = h->raw_size <= LZ4_MAX_INPUT_SIZE && stored.size() <= static_cast<std::size_t>(std::numeric_limits<int>::max()) &&
         LZ4_decompress_safe(stored.data(), scratch.data(), static_cast<int>(stored.size()),
                             static_cast<int>(scratch.size())) == static_cast<int>(h->raw_size);
  } else {
    std::size_t n = ZSTD_decompress(scratch.data(), scratch.size(), stored.data(), stored.size());
    ok = !ZSTD_isError(n) && n == h->raw_size;
  }
  // The checksum matched, so only a writer's bug (or a collision) gets here.
  if (!ok)
    throw corrupt_chunk(fmt::format("chunk at byte {}: {} data does not decompress to {} bytes", offset,
                                    codec_name(h->codec), h->raw_size),
                        offset);
  return scratch;
}

void ChunkDecoder::feed(std::string_view piece, const Sink& sink) {
  // Whole chunks are decoded straight from the piece; only a chunk cut by the piece's end is
  // copied, and completed from the next piece.
  while (!piece.empty()) {
    if (!pending_.empty()) {
      auto need = chunk_size(pending_, offset_);
      if (!need) {
        // Header still incomplete: add a few bytes and measure again.
        std::size_t take = std::min(piece.size(), kMaxHeaderBytes);
        pending_.append(piece.substr(0, take));
        piece.remove_prefix(take);
        continue;
      }
      if (pending_.size() > *need) {
        // The header bytes taken above ran into the next chunk: give them back.
        std::size_t extra = pending_.size() - *need;
        piece = std::string_view(piece.data() - extra, piece.size() + extra);
        pending_.resize(*need);
      }
      std::size_t take = std::min(piece.size(), *need - pending_.size());
      pending_.append(piece.substr(0, take));
      piece.remove_prefix(take);
      if (pending_.size() < *need) return;
      sink(decode_chunk(pending_, scratch_, offset_));
      offset_ += pending_.size();
      pending_.clear();
      continue;
    }
    auto size = chunk_size(piece, offset_);
    if (!size || *size > piece.size()) {
      pending_.assign(piece.substr(0, std::min(piece.size(), size.value_or(piece.size()))));
      piece.remove_prefix(pending_.size());
      continue;
    }
    sink(decode_chunk(piece.substr(0, *size), scratch_, offset_));
    offset_ += *size;
    piece.remove_prefix(*size);
  }
}

void ChunkDecoder::finish() {
  std::uint64_t at = offset_;
  bool cut = !pending_.empty();
  pending_.clear();
  offset_ = 0;
  if (cut) throw corrupt_chunk(fmt::format("chunk at byte {}: the block ends inside it", at), at);
}

}  // namespace spate::detail
