// ByteSource: the bytes of one input file from some offset on, as LineReader consumes them.
// Internal to lib/; included as "io/byte_source.hpp".
#pragma once

#include <cstddef>

namespace spate::detail {

/// A stream of bytes of one file from some offset on: raw, or decompressed; a local file or an
/// S3 object. Not thread-safe; owned by one reader.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  /// Reads up to max (> 0) bytes into dst; returns 0 only at the end of the stream.
  virtual std::size_t read(char* dst, std::size_t max) = 0;
  /// Throws io_error if the file has changed since the job was planned.
  virtual void check_unchanged() const = 0;
};

}  // namespace spate::detail
