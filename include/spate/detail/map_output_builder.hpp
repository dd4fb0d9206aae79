// Serialized map outputs: what a map task writes for its reducers. Buckets are kept as bytes
// (compact: a short string costs its length and a byte, not a 32-byte object; and sent to other
// processes as they are). They stay in memory while the process's memory budget allows; past it
// they go to an anonymous spill file that lives as long as the output.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "spate/detail/block_store.hpp"
#include "spate/detail/external_sort.hpp"
#include "spate/detail/memory_pool.hpp"
#include "spate/detail/spill_file.hpp"
#include "spate/detail/task_context.hpp"
#include "spate/serialization.hpp"

namespace spate::detail {

/// A map output held in memory as bytes, with its share of the memory budget.
class SerializedMapOutput final : public MapOutput {
 public:
  SerializedMapOutput(std::vector<std::string> buckets, std::uint64_t records,
                      std::unique_ptr<MemoryReservation> memory, std::unique_ptr<MemoryReservation> output_memory)
      : buckets_(std::move(buckets)),
        records_(records),
        memory_(std::move(memory)),
        output_memory_(std::move(output_memory)) {}
  std::uint64_t records() const noexcept override { return records_; }
  std::string bucket_bytes(std::size_t r) const override { return buckets_.at(r); }
  const std::string* stored_bucket(std::size_t r) const noexcept override {
    return r < buckets_.size() ? &buckets_[r] : nullptr;
  }
  std::size_t num_buckets() const noexcept override { return buckets_.size(); }
  std::uint64_t memory_bytes() const noexcept override { return memory_ ? memory_->held() : 0; }
  std::shared_ptr<const MapOutput> to_disk(const std::string& dir) const override;

 private:
  std::vector<std::string> buckets_;
  std::uint64_t records_;
  std::unique_ptr<MemoryReservation> memory_;
  std::unique_ptr<MemoryReservation> output_memory_;
};

/// A map output in a spill file: each bucket is a list of blocks, read back on demand.
class SpilledMapOutput final : public MapOutput {
 public:
  SpilledMapOutput(std::unique_ptr<SpillFile> file, std::vector<std::vector<std::uint64_t>> blocks,
                   std::uint64_t records)
      : file_(std::move(file)), blocks_(std::move(blocks)), records_(records) {}
  std::uint64_t records() const noexcept override { return records_; }
  std::string bucket_bytes(std::size_t r) const override {
    std::string out, block;
    for (std::uint64_t offset : blocks_.at(r)) {
      file_->read(offset, block);
      out += block;
    }
    return out;
  }
  std::size_t num_buckets() const noexcept override { return blocks_.size(); }

 private:
  std::unique_ptr<SpillFile> file_;
  std::vector<std::vector<std::uint64_t>> blocks_;
  std::uint64_t records_;
};

inline std::shared_ptr<const MapOutput> SerializedMapOutput::to_disk(const std::string& dir) const {
  auto file = std::make_unique<SpillFile>(dir);
  std::vector<std::vector<std::uint64_t>> blocks(buckets_.size());
  for (std::size_t b = 0; b < buckets_.size(); ++b) {
    if (buckets_[b].empty()) continue;
    blocks[b].push_back(file->size());
    file->append(buckets_[b]);
  }
  return std::make_shared<SpilledMapOutput>(std::move(file), std::move(blocks), records_);
}

/// Builds a map output: records are serialized into their bucket as they come; when the memory
/// budget refuses more, the buckets so far go to a spill file and the rest follows them there.
class MapOutputBuilder {
 public:
  MapOutputBuilder(TaskContext& tc, std::size_t num_buckets)
      : tc_(tc),
        writers_(num_buckets),
        memory_(std::make_unique<MemoryReservation>(tc.blocks().memory())),
        output_memory_(std::make_unique<MemoryReservation>(tc.blocks().output_memory())) {}

  /// The writer of bucket b; call counted() after writing each record.
  Writer& bucket(std::size_t b) { return writers_[b]; }
  void counted() {
    if ((++records_ & 1023) == 0) check_memory();
  }

  /// The finished output.
  std::shared_ptr<MapOutput> finish() && {
    tc_.add_counter("shuffle.write.records", records_);
    if (file_) {
      flush_all();
      tc_.add_counter("shuffle.write.bytes", file_->size());
      return std::make_shared<SpilledMapOutput>(std::move(file_), std::move(blocks_), records_);
    }
    std::vector<std::string> buckets;
    buckets.reserve(writers_.size());
    std::uint64_t bytes = 0;
    for (auto& w : writers_) {
      buckets.push_back(std::move(w).take());
      buckets.back().shrink_to_fit();
      bytes += buckets.back().capacity();
    }
    tc_.add_counter("shuffle.write.bytes", bytes);
    memory_->reset();
    memory_->cover(bytes);  // held while the output lives (it may exceed the budget by a floor)
    output_memory_->reset();
    output_memory_->cover(bytes);
    return std::make_shared<SerializedMapOutput>(std::move(buckets), records_, std::move(memory_),
                                                 std::move(output_memory_));
  }

 private:
  void check_memory() {
    std::uint64_t bytes = 0;
    for (const auto& w : writers_) bytes += w.capacity();
    if (file_) {
      if (bytes >= kFlushBytes) flush_all();
      return;
    }
    if ((output_memory_->cover(bytes) && memory_->cover(bytes)) || bytes < kMinSpillBytes) return;
    file_ = std::make_unique<SpillFile>(tc_.blocks().spill_dir());
    blocks_.resize(writers_.size());
    flush_all();
  }

  void flush_all() {
    std::uint64_t before = file_->size();
    for (std::size_t b = 0; b < writers_.size(); ++b) {
      if (writers_[b].size() == 0) continue;
      blocks_[b].push_back(file_->size());
      std::string block = std::move(writers_[b]).take();
      file_->append(block);
      writers_[b] = Writer();
    }
    tc_.add_counter("spill.bytes", file_->size() - before);
    memory_->reset();
    output_memory_->reset();
  }

  // Once spilling, buckets are written out whenever they hold this much together.
  static constexpr std::uint64_t kFlushBytes = std::uint64_t{4} << 20;

  TaskContext& tc_;
  std::vector<Writer> writers_;
  std::unique_ptr<MemoryReservation> memory_;
  std::unique_ptr<MemoryReservation> output_memory_;
  std::uint64_t records_ = 0;
  std::unique_ptr<SpillFile> file_;
  std::vector<std::vector<std::uint64_t>> blocks_;
};

}  // namespace spate::detail
