// Cutting input files into splits: the byte ranges that become a text source's partitions.
// Internal to lib/; the engine includes it as "io/input_split.hpp".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "io/input_files.hpp"

namespace spate::detail {

/// The bytes [begin, end) of one file that one task reads. A compressed file is always one split
/// with begin 0 and end file_size (compressed bytes). file_size and file_mtime_ns are the size
/// and modification time seen at planning; a reader never reads past file_size, and fails if
/// the file it opens differs in either (without a planned mtime, only if it became shorter).
struct InputSplit {
  std::string path;
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
  Compression compression = Compression::none;
  std::uint64_t file_size = 0;
  std::optional<std::int64_t> file_mtime_ns;
  /// The planned ETag of an S3 object (InputFile::etag); empty for a local file.
  std::string etag;

  friend bool operator==(const InputSplit&, const InputSplit&) = default;
};

/// The default split size: Hadoop's block size, a good task size for line-oriented input.
inline constexpr std::uint64_t kDefaultSplitBytes = 64ull << 20;

/// The split size for `total_bytes` of input read by `parallelism` tasks at once: at least one
/// split per task, at most kDefaultSplitBytes each, and past one round, a number of splits that is
/// a multiple of `parallelism` (three splits on two cores take two rounds with one core idle in
/// the second; four smaller ones keep both busy).
std::uint64_t split_target(std::uint64_t total_bytes, std::uint64_t parallelism);

/// Splits files, in the given order, into ranges of at most target_split_bytes: a plain file of
/// n bytes gets ceil(n / target) splits of equal size (within one byte), so no tiny tail split;
/// a compressed file gets exactly one split; an empty file gets none (it has no lines).
/// Deterministic: the same files and target give the same splits. Throws config_error when
/// target_split_bytes is 0.
std::vector<InputSplit> plan_splits(const std::vector<InputFile>& files,
                                    std::uint64_t target_split_bytes);

}  // namespace spate::detail
