// BlockStore: shuffle map outputs and cached partitions held by one process.
#pragma once

#include "spate/detail/memory_pool.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <utility>
#include <string>
#include <vector>

#include "spate/serialization.hpp"

namespace spate::detail {

/// The output of one map task of one shuffle: one bucket per reduce partition.
class MapOutput {
 public:
  virtual ~MapOutput() = default;
  /// Number of records written to all buckets.
  virtual std::uint64_t records() const noexcept = 0;
  /// Bucket r as bytes (records one after another), for a reducer in another process.
  virtual std::string bucket_bytes(std::size_t r) const = 0;
  /// Bucket r when it is kept as bytes already (nullptr otherwise): sent without a copy.
  virtual const std::string* stored_bucket(std::size_t) const noexcept { return nullptr; }
  /// Number of buckets.
  virtual std::size_t num_buckets() const noexcept = 0;
  /// Bytes of memory this output holds that moving it to disk would free.
  virtual std::uint64_t memory_bytes() const noexcept { return 0; }
  /// The same output written to a spill file in `dir` (nullptr when it cannot move to disk).
  virtual std::shared_ptr<const MapOutput> to_disk(const std::string& /*dir*/) const { return nullptr; }
};

/// A map output whose buckets are typed vectors, kept in this process's memory.
template <class R>
class TypedMapOutput final : public MapOutput {
 public:
  explicit TypedMapOutput(std::size_t num_buckets) : buckets_(num_buckets) {}
  std::uint64_t records() const noexcept override {
    std::uint64_t n = 0;
    for (const auto& b : buckets_) n += b.size();
    return n;
  }
  std::string bucket_bytes(std::size_t r) const override {
    Writer w;
    for (const R& rec : buckets_.at(r)) serialize_to(w, rec);
    return std::move(w).take();
  }
  std::size_t num_buckets() const noexcept override { return buckets_.size(); }
  /// Bucket for reduce partition r.
  std::vector<R>& bucket(std::size_t r) { return buckets_[r]; }
  const std::vector<R>& bucket(std::size_t r) const { return buckets_[r]; }

 private:
  std::vector<std::vector<R>> buckets_;
};

/// Thread-safe store of blocks. Blocks are immutable once put and shared by pointer, so a
/// reader keeps its block alive even when it is dropped from the store meanwhile.
class BlockStore {
 public:
  /// Stores the output of map task `map_partition` of shuffle `shuffle_id`; the first put wins.
  void put_map_output(int shuffle_id, std::size_t map_partition,
                      std::shared_ptr<const MapOutput> output);
  /// The stored map output, or nullptr when it was never written or was lost.
  std::shared_ptr<const MapOutput> map_output(int shuffle_id, std::size_t map_partition) const;
  /// Forgets every map output of a shuffle.
  void drop_shuffle(int shuffle_id);

  /// Stores a cached partition of node `node_id`, with its approximate size in bytes, when it
  /// fits in the budget; returns whether it was kept (one that is not is computed again when
  /// next read, as Spark does with a partition that does not fit in memory).
  bool put_cached_block(std::uint64_t node_id, std::size_t partition,
                        std::shared_ptr<const void> block, std::size_t bytes);
  /// The cached partition, or nullptr.
  std::shared_ptr<const void> cached_block(std::uint64_t node_id, std::size_t partition) const;
  /// Frees every cached partition of a node.
  void drop_cached(std::uint64_t node_id);
  /// Bytes held by cached partitions.
  std::size_t cached_bytes() const;
  /// Sets the memory budget of this process's tasks (default: unlimited): cached partitions,
  /// aggregation tables, groups and sort runs reserve from it.
  void set_budget(std::uint64_t bytes);
  /// The memory budget.
  std::uint64_t budget() const;
  /// The pool tasks reserve memory from.
  MemoryPool& memory() noexcept { return memory_; }
  /// What shuffle outputs kept in memory may hold together: half the budget, so that tasks'
  /// tables and sort buffers always have the other half to work in (outputs past it spill).
  MemoryPool& output_memory() noexcept { return output_memory_; }
  /// Where tasks spill what does not fit: SPATE_SPILL_DIR, else TMPDIR, else /tmp.
  const std::string& spill_dir() const noexcept { return spill_dir_; }
  /// Moves map outputs held in memory to disk, largest first, until about `bytes` are freed
  /// (once their readers let go); returns the bytes moved. The memory pool calls it when a
  /// reservation is refused, so that a running task's table wins over an idle output.
  std::uint64_t move_outputs_to_disk(std::uint64_t bytes);

  BlockStore();
  BlockStore(const BlockStore&) = delete;
  BlockStore& operator=(const BlockStore&) = delete;

 private:
  // First, so that it outlives the blocks that hold reservations in it.
  MemoryPool memory_;
  MemoryPool output_memory_;
  mutable std::mutex mutex_;
  std::map<std::pair<int, std::size_t>, std::shared_ptr<const MapOutput>> map_outputs_;
  struct Cached {
    std::shared_ptr<const void> block;
    std::size_t bytes;
  };
  std::map<std::pair<std::uint64_t, std::size_t>, Cached> cached_;
  std::uint64_t cached_total_ = 0;
  std::string spill_dir_ = default_spill_dir();
  static std::string default_spill_dir();
};

}  // namespace spate::detail
