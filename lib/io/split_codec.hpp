// Input splits in task state: how a source node's splits travel to an executor.
#pragma once

#include <optional>
#include <tuple>
#include <vector>

#include "io/input_split.hpp"
#include "spate/error.hpp"
#include "spate/serialization.hpp"

namespace spate::detail {

/// A split as it travels: path, begin, end, compression code, file size, planned mtime, ETag.
using SplitFields = std::tuple<std::string, std::uint64_t, std::uint64_t, std::uint8_t,
                               std::uint64_t, std::optional<std::int64_t>, std::string>;

/// Writes the splits of a source node.
inline void save_splits(Writer& w, const std::vector<InputSplit>& splits) {
  w.write_varint(splits.size());
  for (const auto& s : splits)
    serialize_to(w, SplitFields(s.path, s.begin, s.end, static_cast<std::uint8_t>(s.compression),
                           s.file_size, s.file_mtime_ns, s.etag));
}

/// Reads splits written by save_splits; a compression code out of range is a serialization_error.
inline std::vector<InputSplit> load_splits(Reader& r) {
  std::vector<InputSplit> splits(r.read_count(5));
  for (auto& s : splits) {
    auto [path, begin, end, compression, size, mtime, etag] = deserialize_from<SplitFields>(r);
    if (compression > static_cast<std::uint8_t>(Compression::zstd) || begin > end || end > size)
      throw serialization_error("malformed input split for " + path);
    s = InputSplit{std::move(path), begin, end, static_cast<Compression>(compression), size, mtime,
                   std::move(etag)};
  }
  return splits;
}

}  // namespace spate::detail
