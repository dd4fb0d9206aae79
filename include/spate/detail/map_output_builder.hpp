// Serialized map outputs: what a map task writes for its reducers. Each bucket is a run of
// chunks (block_codec.hpp): records serialized, compressed and checksummed in pieces of about
// kChunkBytes, in the form a reducer fetches. Each chunk is a string of its own, made once at
// its exact size and never copied again (a bucket's bytes are copied twice in all: into its
// writer, then into a chunk); an empty bucket costs 4 bytes. Outputs stay in memory while the
// process's memory budget allows; past it they go to an anonymous spill file that lives as long
// as the output.
//
// Nothing here depends on user types: lib/storage/map_output.cpp compiles it once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "spate/detail/block_codec.hpp"
#include "spate/detail/block_store.hpp"
#include "spate/detail/memory_pool.hpp"
#include "spate/detail/spill_file.hpp"
#include "spate/detail/task_context.hpp"
#include "spate/serialization.hpp"

namespace spate::detail {

/// A map output held in memory, with its share of the memory budget.
class SerializedMapOutput final : public MapOutput {
 public:
  /// `chunks` holds every bucket's chunks, bucket after bucket; bucket b's are those before
  /// index `ends[b]` and from `ends[b-1]` on.
  SerializedMapOutput(std::vector<std::string> chunks, std::vector<std::uint32_t> ends, std::uint64_t records,
                      std::unique_ptr<MemoryReservation> memory, std::unique_ptr<MemoryReservation> output_memory);
  std::uint64_t records() const noexcept override { return records_; }
  std::size_t num_buckets() const noexcept override { return ends_.size(); }
  std::uint64_t bucket_size(std::size_t r) const override;
  void read_bucket(std::size_t r, const PieceSink& sink) const override;
  std::uint64_t memory_bytes() const noexcept override { return memory_ ? memory_->held() : 0; }
  std::shared_ptr<const MapOutput> to_disk(const std::string& dir) const override;
  /// Bucket r's chunks, valid while the output lives.
  std::span<const std::string> chunks_of(std::size_t r) const;
  /// Bytes its buffers take (the reservation rounds this up).
  std::uint64_t buffer_bytes() const noexcept;

 private:
  std::vector<std::string> chunks_;
  std::vector<std::uint32_t> ends_;
  std::uint64_t records_;
  std::unique_ptr<MemoryReservation> memory_;
  std::unique_ptr<MemoryReservation> output_memory_;
};

/// A map output in a spill file: each bucket is a list of blocks, read back on demand.
class SpilledMapOutput final : public MapOutput {
 public:
  /// `blocks[b]` lists the offsets of bucket b's blocks in `file`; `sizes[b]` is its size.
  SpilledMapOutput(std::unique_ptr<SpillFile> file, std::vector<std::vector<std::uint64_t>> blocks,
                   std::vector<std::uint64_t> sizes, std::uint64_t records);
  std::uint64_t records() const noexcept override { return records_; }
  std::size_t num_buckets() const noexcept override { return blocks_.size(); }
  std::uint64_t bucket_size(std::size_t r) const override { return sizes_.at(r); }
  void read_bucket(std::size_t r, const PieceSink& sink) const override;

 private:
  std::unique_ptr<SpillFile> file_;
  std::vector<std::vector<std::uint64_t>> blocks_;
  std::vector<std::uint64_t> sizes_;
  std::uint64_t records_;
};

/// Builds a map output: records are serialized into their bucket as they come, each bucket's
/// bytes sealed into a chunk every kChunkBytes; when the memory budget refuses more, the buckets
/// so far go to a spill file and the rest follows them there.
class MapOutputBuilder {
 public:
  MapOutputBuilder(TaskContext& tc, std::size_t num_buckets);
  ~MapOutputBuilder();
  MapOutputBuilder(const MapOutputBuilder&) = delete;
  MapOutputBuilder& operator=(const MapOutputBuilder&) = delete;

  /// The writer of bucket b; call counted(b) after writing each record to it.
  Writer& bucket(std::size_t b) { return buckets_[b].raw; }
  /// Notes one record written to bucket b.
  void counted(std::size_t b) {
    if (buckets_[b].raw.size() >= kChunkBytes) seal(b);
    if ((++records_ & 1023) == 0) check_memory();
  }

  /// The finished output.
  std::shared_ptr<MapOutput> finish() &&;

 private:
  struct Bucket {
    Writer raw;                       // records not yet in a chunk
    std::vector<std::string> sealed;  // chunks, not yet in the spill file
    std::uint64_t sealed_bytes = 0;   // their capacity, for the memory budget
    std::uint64_t size = 0;           // stored bytes, spilled or not
  };
  void seal(std::size_t b);
  void check_memory();
  void flush_all();

  TaskContext& tc_;
  Codec codec_;
  std::vector<Bucket> buckets_;
  std::unique_ptr<MemoryReservation> memory_;
  std::unique_ptr<MemoryReservation> output_memory_;
  std::uint64_t records_ = 0;
  std::uint64_t raw_bytes_ = 0;  // sealed so far, before compression
  std::unique_ptr<SpillFile> file_;
  std::vector<std::vector<std::uint64_t>> blocks_;
};

}  // namespace spate::detail
