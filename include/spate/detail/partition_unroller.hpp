// PartitionUnroller: what a persisted node keeps of a partition while it computes it and passes
// its records on, in memory within the budget or in a spill file, as its storage level says.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "spate/detail/block_store.hpp"
#include "spate/detail/memory_pool.hpp"
#include "spate/detail/spill_file.hpp"
#include "spate/detail/task_context.hpp"
#include "spate/serialization.hpp"
#include "spate/storage_level.hpp"

namespace spate::detail {

/// Keeps a copy of each record of one partition of a node persisted at `level`, as the task
/// computes it, and stores what it kept in the task's block store at finish(). One per task
/// and partition; not thread-safe.
///
/// The memory levels "unroll" the partition, as Spark does: the vector of records grows in
/// steps, and each step is reserved from the block store's memory pool first (charged as
/// capacity * sizeof(T), the old buffer included while the vector moves). When the pool refuses
/// a step, memory_only drops what it kept and keeps nothing more (the partition is computed
/// again when next read), and memory_and_disk writes what it kept to a spill file, frees it,
/// and writes every later record there too, so neither holds more than the pool grants.
/// disk_only writes every record to the spill file from the first. Until finish() nothing is
/// stored: a task that throws midway leaves no block, no reservation and no file behind.
template <class T>
class PartitionUnroller {
 public:
  PartitionUnroller(TaskContext& tc, StorageLevel level)
      : tc_(tc), level_(level), reservation_(tc.blocks().memory()) {
    if constexpr (is_serializable_v<T>) {
      if (level == StorageLevel::disk_only) start_disk();
    }
  }
  PartitionUnroller(const PartitionUnroller&) = delete;
  PartitionUnroller& operator=(const PartitionUnroller&) = delete;

  /// Keeps a copy of the partition's next record (nothing once the partition is dropped).
  void keep(const T& x) {
    if (mode_ == Mode::memory) {
      if (records_.size() < records_.capacity() || grow()) {
        records_.push_back(x);
        return;
      }
      leave_memory();
    }
    if constexpr (is_serializable_v<T>) {
      if (mode_ == Mode::disk) {
        writer_->add(x);
        ++disk_->records;
      }
    }
  }

  /// False once the partition is dropped (memory_only past the budget): nothing more is kept.
  bool keeping() const noexcept { return mode_ != Mode::dropped; }

  /// Stores what was kept as partition `p` of node `node_id`, once every record was kept:
  /// in memory with the reservation that grew with it, or on disk; a dropped partition is not
  /// stored.
  void finish(std::uint64_t node_id, std::size_t p) {
    if (mode_ == Mode::memory) {
      // Shrinking copies the records into a buffer of their size while the old one lives: it is
      // done only when the pool grants both, else the partition is kept with its spare room.
      std::size_t n = records_.size(), cap = records_.capacity();
      if (n < cap && reservation_.cover((cap + n) * sizeof(T))) records_.shrink_to_fit();
      std::size_t bytes = records_.capacity() * sizeof(T);
      reservation_.shrink_to(bytes);
      if (!reservation_.cover(bytes)) return;  // vector::reserve gave more than asked, and no room
      auto block = std::make_shared<const std::vector<T>>(std::move(records_));
      tc_.blocks().put_cached_reserved(node_id, p, std::move(block), bytes, reservation_);
      tc_.note_cached(node_id);
      return;
    }
    if constexpr (is_serializable_v<T>) {
      if (mode_ == Mode::disk) {
        writer_->flush();
        writer_.reset();
        disk_->file->end_writing();
        std::uint64_t bytes = disk_->file->size();
        tc_.blocks().put_cached_on_disk(node_id, p, std::move(disk_), bytes);
        tc_.note_cached(node_id);
      }
    }
  }

 private:
  enum class Mode { memory, disk, dropped };

  // The first step holds about 16 KiB; each later one half as much again as the vector holds.
  bool grow() {
    std::size_t cap = records_.capacity();
    std::size_t next = cap == 0 ? std::max<std::size_t>(1, kFirstBytes / sizeof(T)) : cap + cap / 2 + 1;
    // While the vector moves, its old buffer and the new one are both alive.
    if (!reservation_.cover(static_cast<std::uint64_t>(cap + next) * sizeof(T))) return false;
    records_.reserve(next);
    reservation_.shrink_to(static_cast<std::uint64_t>(records_.capacity()) * sizeof(T));
    return true;
  }

  // The pool refused a step.
  void leave_memory() {
    if constexpr (is_serializable_v<T>) {
      if (level_ == StorageLevel::memory_and_disk) {
        start_disk();
        for (const T& r : records_) writer_->add(r);
        disk_->records = records_.size();
        std::vector<T>().swap(records_);
        reservation_.reset();
        tc_.add_counter("cache.unroll.spilled", 1);
        return;
      }
    }
    std::vector<T>().swap(records_);
    reservation_.reset();
    mode_ = Mode::dropped;
    tc_.add_counter("cache.unroll.dropped", 1);
  }

  void start_disk() {
    disk_ = std::make_shared<DiskPartition>();
    disk_->file = std::make_unique<SpillFile>(tc_.blocks().spill_dir(), tc_.blocks().spill_compression());
    writer_.emplace(*disk_->file);
    mode_ = Mode::disk;
  }

  static constexpr std::size_t kFirstBytes = std::size_t{16} << 10;

  TaskContext& tc_;
  StorageLevel level_;
  Mode mode_ = Mode::memory;
  MemoryReservation reservation_;
  std::vector<T> records_;
  std::shared_ptr<DiskPartition> disk_;
  std::optional<RunWriter<T>> writer_;  // writes into disk_'s file: declared after it, ends first
};

}  // namespace spate::detail
