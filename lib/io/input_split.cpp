// Cutting input files into splits: the byte ranges that become a text source's partitions.
#include "io/input_split.hpp"

#include <algorithm>

#include "spate/error.hpp"

namespace spate::detail {
namespace {

// size * i needs up to 128 bits; GCC and Clang provide them on every 64-bit target.
__extension__ using Uint128 = unsigned __int128;

/// The start of split i of n over size bytes, i.e. floor(size * i / n) without overflow.
std::uint64_t split_boundary(std::uint64_t size, std::uint64_t i, std::uint64_t n) {
  return static_cast<std::uint64_t>(static_cast<Uint128>(size) * i / n);
}

}  // namespace

std::uint64_t split_target(std::uint64_t total_bytes, std::uint64_t parallelism) {
  const std::uint64_t parts = std::max<std::uint64_t>(1, parallelism);
  std::uint64_t target = std::clamp<std::uint64_t>((total_bytes + parts - 1) / parts, 1, kDefaultSplitBytes);
  if (const std::uint64_t n = (total_bytes + target - 1) / target; n > parts && n % parts != 0) {
    const std::uint64_t rounded = (n / parts + 1) * parts;
    target = std::max<std::uint64_t>(1, (total_bytes + rounded - 1) / rounded);
  }
  return target;
}

std::vector<InputSplit> plan_splits(const std::vector<InputFile>& files,
                                    std::uint64_t target_split_bytes) {
  if (target_split_bytes == 0) {
    throw config_error("the input split size must be at least 1 byte");
  }
  std::vector<InputSplit> splits;
  for (const InputFile& file : files) {
    if (file.size == 0) continue;  // no lines, so no task
    if (file.compression != Compression::none) {
      // A compressed stream can only be decoded from its start, so one task reads it all.
      splits.push_back(
          InputSplit{file.path, 0, file.size, file.compression, file.size, file.mtime_ns, file.etag});
      continue;
    }
    std::uint64_t n = file.size / target_split_bytes + (file.size % target_split_bytes != 0);
    for (std::uint64_t i = 0; i < n; ++i) {
      splits.push_back(InputSplit{file.path, split_boundary(file.size, i, n),
                                  split_boundary(file.size, i + 1, n), file.compression,
                                  file.size, file.mtime_ns, file.etag});
    }
  }
  return splits;
}

}  // namespace spate::detail
