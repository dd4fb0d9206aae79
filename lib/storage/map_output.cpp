#include "spate/detail/map_output_builder.hpp"

#include <fmt/format.h>

#include "spate/detail/external_sort.hpp"

namespace spate::detail {

namespace {

// Once spilling, buckets are written out whenever they hold this much together.
constexpr std::uint64_t kFlushBytes = std::uint64_t{4} << 20;

// The file a map output spills to holds chunks already compressed and checksummed: storing
// them as they are keeps a bucket's bytes the same in memory, on disk and on the wire.
constexpr Codec kStoredAsIs = Codec::none;
// An output moved to disk is written in blocks of this size: a reader holds one at a time.
constexpr std::size_t kSpillBlockBytes = std::size_t{1} << 20;

}  // namespace

SerializedMapOutput::SerializedMapOutput(std::string data, std::vector<std::uint64_t> ends, std::uint64_t records,
                                         std::unique_ptr<MemoryReservation> memory,
                                         std::unique_ptr<MemoryReservation> output_memory)
    : data_(std::move(data)),
      ends_(std::move(ends)),
      records_(records),
      memory_(std::move(memory)),
      output_memory_(std::move(output_memory)) {}

std::string_view SerializedMapOutput::bucket(std::size_t r) const {
  if (r >= ends_.size())
    throw error(fmt::format("bucket {} of a map output with {} buckets", r, ends_.size()));
  std::uint64_t begin = r == 0 ? 0 : ends_[r - 1];
  return std::string_view(data_).substr(begin, ends_[r] - begin);
}

std::shared_ptr<const MapOutput> SerializedMapOutput::to_disk(const std::string& dir) const {
  auto file = std::make_unique<SpillFile>(dir, kStoredAsIs);
  std::vector<std::vector<std::uint64_t>> blocks(ends_.size());
  std::vector<std::uint64_t> sizes(ends_.size());
  for (std::size_t b = 0; b < ends_.size(); ++b) {
    std::string_view bytes = bucket(b);
    sizes[b] = bytes.size();
    for (std::size_t at = 0; at < bytes.size(); at += kSpillBlockBytes) {
      blocks[b].push_back(file->size());
      file->append(bytes.substr(at, kSpillBlockBytes));
    }
  }
  return std::make_shared<SpilledMapOutput>(std::move(file), std::move(blocks), std::move(sizes), records_);
}

SpilledMapOutput::SpilledMapOutput(std::unique_ptr<SpillFile> file, std::vector<std::vector<std::uint64_t>> blocks,
                                   std::vector<std::uint64_t> sizes, std::uint64_t records)
    : file_(std::move(file)), blocks_(std::move(blocks)), sizes_(std::move(sizes)), records_(records) {}

void SpilledMapOutput::read_bucket(std::size_t r, const PieceSink& sink) const {
  std::string block;
  for (std::uint64_t offset : blocks_.at(r)) {
    file_->read(offset, block);
    sink(block);
  }
}

MapOutputBuilder::MapOutputBuilder(TaskContext& tc, std::size_t num_buckets)
    : tc_(tc),
      codec_(tc.blocks().shuffle_compression()),
      buckets_(num_buckets),
      memory_(std::make_unique<MemoryReservation>(tc.blocks().memory())),
      output_memory_(std::make_unique<MemoryReservation>(tc.blocks().output_memory())) {}

MapOutputBuilder::~MapOutputBuilder() = default;

void MapOutputBuilder::seal(std::size_t b) {
  Bucket& k = buckets_[b];
  if (k.raw.size() == 0) return;
  std::size_t before = k.sealed.size();
  append_chunk(k.sealed, k.raw.view(), codec_);
  k.size += k.sealed.size() - before;
  raw_bytes_ += k.raw.size();
  k.raw.clear();
}

void MapOutputBuilder::check_memory() {
  std::uint64_t bytes = 0;
  for (const auto& k : buckets_) bytes += k.raw.capacity() + k.sealed.capacity();
  if (file_) {
    if (bytes >= kFlushBytes) flush_all();
    return;
  }
  if ((output_memory_->cover(bytes) && memory_->cover(bytes)) || bytes < kMinSpillBytes) return;
  file_ = std::make_unique<SpillFile>(tc_.blocks().spill_dir(), kStoredAsIs);
  blocks_.resize(buckets_.size());
  flush_all();
}

void MapOutputBuilder::flush_all() {
  std::uint64_t before = file_->size();
  for (std::size_t b = 0; b < buckets_.size(); ++b) {
    Bucket& k = buckets_[b];
    seal(b);
    if (k.sealed.empty()) continue;
    blocks_[b].push_back(file_->size());
    file_->append(k.sealed);
    k.sealed = std::string();
    k.raw = Writer();
  }
  tc_.add_counter("spill.bytes", file_->size() - before);
  memory_->reset();
  output_memory_->reset();
}

std::shared_ptr<MapOutput> MapOutputBuilder::finish() && {
  tc_.add_counter("shuffle.write.records", records_);
  std::vector<std::uint64_t> sizes(buckets_.size());
  if (file_) {
    flush_all();
    std::uint64_t total = 0;
    for (std::size_t b = 0; b < buckets_.size(); ++b) total += sizes[b] = buckets_[b].size;
    tc_.add_counter("shuffle.write.bytes", total);
    tc_.add_counter("shuffle.write.raw_bytes", raw_bytes_);
    return std::make_shared<SpilledMapOutput>(std::move(file_), std::move(blocks_), std::move(sizes), records_);
  }
  std::uint64_t total = 0;
  for (std::size_t b = 0; b < buckets_.size(); ++b) {
    seal(b);
    total += buckets_[b].sealed.size();
  }
  std::string data;
  data.reserve(total);
  std::vector<std::uint64_t> ends(buckets_.size());
  for (std::size_t b = 0; b < buckets_.size(); ++b) {
    data += buckets_[b].sealed;
    buckets_[b] = Bucket();  // frees as it goes: the peak is the output and one bucket
    ends[b] = data.size();
  }
  tc_.add_counter("shuffle.write.bytes", data.size());
  tc_.add_counter("shuffle.write.raw_bytes", raw_bytes_);
  std::uint64_t held = data.capacity() + ends.capacity() * sizeof(std::uint64_t);  // buffer_bytes()
  memory_->reset();
  memory_->cover(held);  // held while the output lives (it may exceed the budget by a floor)
  output_memory_->reset();
  output_memory_->cover(held);
  return std::make_shared<SerializedMapOutput>(std::move(data), std::move(ends), records_, std::move(memory_),
                                               std::move(output_memory_));
}

}  // namespace spate::detail
