// Reading a byte range of an S3 object with ranged GETs. Internal; "io/s3_object_source.hpp".
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "io/byte_source.hpp"

namespace spate::detail {

/// The bytes [offset, size) of the object at uri ("s3://bucket/key"), of the version with etag
/// (every GET carries If-Match, so a rewritten object fails with io_error naming it). Reads with
/// ranged GETs straight into the caller's buffer: the first covers [offset, end_hint) and a
/// little more (a split's last line usually ends soon after its end), later ones 8 MiB each.
/// Credentials and endpoint come from the environment (S3Config::from_environment).
std::unique_ptr<ByteSource> open_s3_source(const std::string& uri, const std::string& etag,
                                           std::uint64_t size, std::uint64_t offset,
                                           std::uint64_t end_hint);

}  // namespace spate::detail
