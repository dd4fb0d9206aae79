// TaskContext: what a running task knows about itself and where its blocks live.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace spate::detail {

class BlockStore;

/// Fetches shuffle buckets written in other processes (by the executor that holds them).
class BucketFetcher {
 public:
  virtual ~BucketFetcher() = default;
  /// The bytes of bucket `reduce` of map output `map` of shuffle `shuffle`; throws when the
  /// bucket cannot be fetched.
  virtual std::string fetch(int shuffle, std::size_t map, std::size_t reduce) = 0;
};

/// Identity of one task attempt and its access to the block store; owned by the scheduler,
/// lent to node code for the duration of one task.
class TaskContext {
 public:
  TaskContext(BlockStore& blocks, int stage, std::size_t partition, int attempt)
      : blocks_(blocks), stage_(stage), partition_(partition), attempt_(attempt) {}

  /// The block store holding shuffle outputs and cached partitions.
  BlockStore& blocks() const noexcept { return blocks_; }
  /// Where buckets missing from blocks() come from; nullptr when every bucket is local.
  BucketFetcher* fetcher() const noexcept { return fetcher_; }
  void set_fetcher(BucketFetcher* f) noexcept { fetcher_ = f; }
  /// The stage this task belongs to.
  int stage() const noexcept { return stage_; }
  /// The partition this task computes.
  std::size_t partition() const noexcept { return partition_; }
  /// The attempt number, 1-based.
  int attempt() const noexcept { return attempt_; }

  /// Records read by this task (for metrics); nodes that read input add to it.
  std::uint64_t records_read = 0;
  /// Bytes read from input files by this task.
  std::uint64_t bytes_read = 0;

  /// Adds n to a named counter; the engine keeps the counters of successful attempts only.
  void add_counter(const std::string& name, std::uint64_t n) {
    for (auto& [k, v] : counters_)
      if (k == name) {
        v += n;
        return;
      }
    counters_.emplace_back(name, n);
  }
  /// The counters this attempt added to.
  const std::vector<std::pair<std::string, std::uint64_t>>& counters() const noexcept {
    return counters_;
  }

 private:
  BlockStore& blocks_;
  int stage_;
  std::size_t partition_;
  int attempt_;
  std::vector<std::pair<std::string, std::uint64_t>> counters_;
  BucketFetcher* fetcher_ = nullptr;
};

}  // namespace spate::detail
