// TextOutputOptions: how save_as_text_file encodes its part files.
#pragma once

#include "spate/compression.hpp"

namespace spate {

/// Settings of save_as_text_file. With gzip or zstd, each part is one compressed stream, written
/// as the records come (nothing is held whole), named part-NNNNN.gz or part-NNNNN.zst, and read
/// back by Context::text_file; a compressed part is one partition when read back.
struct TextOutputOptions {
  /// How each part file is encoded.
  Compression compression = Compression::none;
  /// The compressor's level (gzip 1-9, zstd 1-19); 0 picks the library's default (gzip 6,
  /// zstd 3). Ignored without compression.
  int level = 0;
};

}  // namespace spate
