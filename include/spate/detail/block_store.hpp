// BlockStore: shuffle map outputs and cached partitions held by one process.
#pragma once

#include "spate/detail/memory_pool.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <utility>
#include <string>
#include <string_view>
#include <vector>

#include "spate/detail/block_codec.hpp"
#include "spate/error.hpp"
#include "spate/serialization.hpp"

namespace spate::detail {

struct DiskPartition;  // spill_file.hpp

/// Called with the pieces of a bucket in order: its chunks (block_codec.hpp) cut anywhere.
using PieceSink = std::function<void(std::string_view piece)>;

/// The output of one map task of one shuffle: one bucket per reduce partition, each a run of
/// chunks (block_codec.hpp) as it is sent to reducers.
class MapOutput {
 public:
  virtual ~MapOutput() = default;
  /// Number of records written to all buckets.
  virtual std::uint64_t records() const noexcept = 0;
  /// Number of buckets.
  virtual std::size_t num_buckets() const noexcept = 0;
  /// Stored bytes of bucket r (0 for an empty one): what a reducer fetches.
  virtual std::uint64_t bucket_size(std::size_t r) const = 0;
  /// Hands bucket r's stored bytes to `sink`, in one piece or several; throws io_error when
  /// they cannot be read back.
  virtual void read_bucket(std::size_t r, const PieceSink& sink) const = 0;
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
  std::size_t num_buckets() const noexcept override { return buckets_.size(); }
  // Typed outputs hold records that cannot be serialized: only this process reads them, in
  // place (read_buckets), so they have no stored form.
  std::uint64_t bucket_size(std::size_t r) const override { return buckets_.at(r).empty() ? 0 : 1; }
  void read_bucket(std::size_t, const PieceSink&) const override {
    throw error("a shuffle of records that cannot be serialized has no stored form");
  }
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
  /// Stores the output of map task `map_partition` of shuffle `shuffle_id`, replacing any
  /// earlier one: the scheduler runs a map task again only when it holds the earlier output
  /// lost or damaged (readers already holding that one keep it until they let go).
  void put_map_output(int shuffle_id, std::size_t map_partition,
                      std::shared_ptr<const MapOutput> output);
  /// The stored map output, or nullptr when it was never written or was lost.
  std::shared_ptr<const MapOutput> map_output(int shuffle_id, std::size_t map_partition) const;
  /// Forgets one map output (found damaged); a no-op when it is not here.
  void drop_map_output(int shuffle_id, std::size_t map_partition);
  /// Forgets every map output of a shuffle.
  void drop_shuffle(int shuffle_id);
  /// Says that no running stage reads shuffle `shuffle_id` any more (the scheduler knows): its
  /// outputs may wait on disk for a job that reads them again. Idle outputs stay in memory up to
  /// idle_output_limit() bytes in all; past it, those idle longest move to disk. An iterative job
  /// whose lineage holds every shuffle it made (PageRank) so keeps only the last few in memory.
  void shuffle_idle(int shuffle_id);
  /// Bytes of idle map outputs kept in memory: a sixty-fourth of the budget, at least 16 MiB.
  std::uint64_t idle_output_limit() const;
  /// Map outputs stored, of every shuffle.
  std::size_t map_outputs_held() const;
  /// Bytes of memory the stored map outputs hold (those on disk hold none).
  std::uint64_t map_output_memory() const;

  /// Stores a cached partition of node `node_id`, with its approximate size in bytes, when it
  /// fits in the budget; returns whether it was kept (one that is not is computed again when
  /// next read, as Spark does with a partition that does not fit in memory).
  bool put_cached_block(std::uint64_t node_id, std::size_t partition,
                        std::shared_ptr<const void> block, std::size_t bytes);
  /// Stores a cached partition of node `node_id` of `bytes` bytes whose memory the task already
  /// reserved while it computed the partition: the entry takes `bytes` of `reservation` over
  /// (the rest goes back to the pool and the reservation ends empty), so the memory is never
  /// free between the task's hold and the store's. Throws spate::error when the reservation is
  /// not from memory() or holds less than `bytes`.
  void put_cached_reserved(std::uint64_t node_id, std::size_t partition, std::shared_ptr<const void> block,
                           std::size_t bytes, MemoryReservation& reservation);
  /// Stores a cached partition of node `node_id` kept on disk (a DiskPartition) of `disk_bytes`
  /// bytes; it takes no memory from the budget, so it is always kept.
  void put_cached_on_disk(std::uint64_t node_id, std::size_t partition,
                          std::shared_ptr<const DiskPartition> block, std::uint64_t disk_bytes);
  /// The cached partition, or nullptr.
  std::shared_ptr<const void> cached_block(std::uint64_t node_id, std::size_t partition) const;
  /// A cached partition and where it is: a std::vector of records in memory, or a DiskPartition.
  struct CachedEntry {
    std::shared_ptr<const void> block;  // nullptr when the partition is not cached here
    bool on_disk = false;
  };
  /// The cached partition with where it is kept.
  CachedEntry cached_entry(std::uint64_t node_id, std::size_t partition) const;
  /// Frees every cached partition of a node.
  void drop_cached(std::uint64_t node_id);
  /// Bytes of memory held by cached partitions.
  std::size_t cached_bytes() const;
  /// Bytes of disk held by cached partitions.
  std::uint64_t cached_disk_bytes() const;
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
  /// How map outputs kept for other processes compress their chunks (none when every reader
  /// is in this process), and how spill files compress theirs.
  void set_compression(Codec shuffle, Codec spill) noexcept {
    shuffle_compression_ = shuffle;
    spill_compression_ = spill;
  }
  Codec shuffle_compression() const noexcept { return shuffle_compression_; }
  Codec spill_compression() const noexcept { return spill_compression_; }
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
  std::vector<int> idle_shuffles_;  // idle longest first
  struct Cached {
    std::shared_ptr<const void> block;
    std::size_t bytes;           // of memory, reserved from memory_
    std::uint64_t disk_bytes = 0;  // of a DiskPartition's file
    bool on_disk = false;          // block is a DiskPartition (bytes is then 0)
  };
  std::map<std::pair<std::uint64_t, std::size_t>, Cached> cached_;
  std::uint64_t cached_total_ = 0;
  std::uint64_t cached_disk_total_ = 0;
  std::string spill_dir_ = default_spill_dir();
  Codec shuffle_compression_ = Codec::lz4;
  Codec spill_compression_ = Codec::lz4;
  static std::string default_spill_dir();
};

}  // namespace spate::detail
