// The byte layout of object files (described in spate/detail/object_file_format.hpp): the
// constants and little-endian helpers its writer and reader share. Internal.
#pragma once

#include <xxhash.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace spate::detail::object_file {

inline constexpr std::string_view kFileMagic = "SPATEOBJ";
inline constexpr std::uint32_t kVersion = 1;
inline constexpr std::string_view kBlockMagic = "SPOB";
inline constexpr std::string_view kIndexMagic = "SPIX";
inline constexpr std::string_view kEndMagic = "SPATEEND";
/// magic, record count, chunk length, checksum.
inline constexpr std::size_t kBlockHeaderBytes = 4 + 4 + 4 + 8;
/// index offset, block count, magic.
inline constexpr std::size_t kTrailerBytes = 8 + 8 + 8;
/// One index entry: block offset and record count.
inline constexpr std::size_t kIndexEntryBytes = 16;
/// A type name longer than this is not one a writer wrote.
inline constexpr std::uint32_t kMaxTypeNameBytes = 1 << 16;

inline void put_u32(std::string& out, std::uint32_t v) { out.append(reinterpret_cast<const char*>(&v), 4); }
inline void put_u64(std::string& out, std::uint64_t v) { out.append(reinterpret_cast<const char*>(&v), 8); }
// Little-endian hosts only, as the rest of spate's binary formats.
inline std::uint32_t get_u32(const char* p) {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline std::uint64_t get_u64(const char* p) {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
inline std::uint64_t hash(std::string_view bytes) { return XXH3_64bits(bytes.data(), bytes.size()); }
/// A block's checksum: its chunk, seeded with the hash of the block's first 12 bytes.
inline std::uint64_t block_checksum(std::string_view head12, std::string_view chunk) {
  return XXH3_64bits_withSeed(chunk.data(), chunk.size(), hash(head12));
}

}  // namespace spate::detail::object_file
