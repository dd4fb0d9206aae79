// ObjectFileBytes: reads at any offset of an object file, on a local filesystem or in S3.
// Internal to lib/; included as "io/object_file_bytes.hpp".
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace spate::detail {

/// Random reads of one object file of a size known at planning. Not thread-safe; one per reader.
class ObjectFileBytes {
 public:
  virtual ~ObjectFileBytes() = default;
  /// The file's size in bytes.
  virtual std::uint64_t size() const noexcept = 0;
  /// Reads exactly n bytes at offset into out; throws io_error naming the file when it cannot.
  virtual void read_at(std::uint64_t offset, std::size_t n, std::string& out) = 0;
};

/// Opens path (a local file, or "s3://bucket/key" read with ranged GETs of the version with
/// etag): the file must still have the size and modification time (local) or ETag (S3) seen at
/// planning, else io_error says it changed since the job was planned. mtime_ns unset: not checked.
std::unique_ptr<ObjectFileBytes> open_object_file_bytes(const std::string& path, std::uint64_t size,
                                                        std::optional<std::int64_t> mtime_ns,
                                                        const std::string& etag);

/// Throws io_error: the object file at path is damaged at byte offset, because `why`.
[[noreturn]] void throw_damaged_object_file(const std::string& path, std::uint64_t offset,
                                            std::string_view why);

}  // namespace spate::detail
