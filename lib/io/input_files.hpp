// Listing the input files of a text source: a file, a directory or a glob pattern.
// Internal to lib/; the engine includes it as "io/input_files.hpp".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "spate/compression.hpp"

struct stat;

namespace spate::detail {

/// How a file's bytes are encoded, decided by its name: ".gz" is gzip, ".zst" is zstd.
using Compression = spate::Compression;

/// One input file as seen when the job was planned; size is in (compressed) bytes on disk,
/// mtime_ns its modification time in nanoseconds since the epoch. A reader compares both with
/// the file it opens, so a file changed since planning fails the job instead of being read.
struct InputFile {
  std::string path;
  std::uint64_t size = 0;
  Compression compression = Compression::none;
  std::optional<std::int64_t> mtime_ns;
  /// An S3 object's ETag as listed (with its quotes); empty for a local file. Readers ask for
  /// this version only (If-Match), so an object rewritten since planning fails the job.
  std::string etag;

  friend bool operator==(const InputFile&, const InputFile&) = default;
};

/// The modification time of a stat'ed file, in nanoseconds since the epoch.
std::int64_t mtime_ns_of(const struct ::stat& st) noexcept;

/// The compression a file name implies (by its extension, case-sensitive as in Hadoop).
Compression compression_for_path(std::string_view path) noexcept;

/// The readable name of a compression ("none", "gzip", "zstd"), for messages.
const char* compression_name(Compression compression) noexcept;

/// Expands spec into the files to read (an s3://bucket/... spec: the objects list_s3_objects
/// gives), sorted by path and without duplicates.
/// spec is an existing regular file; an existing directory (its regular files, not recursive,
/// skipping names that start with '_' or '.' as Hadoop and Spark do, subdirectories, and FIFOs,
/// sockets and devices); or, when no such path exists, a glob(3) pattern (with {a,b} braces)
/// whose matches are files or directories listed by the same rules (hidden matches are skipped
/// too). Throws io_error naming the path when nothing matches, a path or directory cannot be
/// read, a symbolic link in a directory points nowhere, or the result would be empty (the
/// message of an empty directory says what it holds instead).
std::vector<InputFile> list_input_files(const std::string& spec);

}  // namespace spate::detail
