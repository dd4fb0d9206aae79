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

// What an output's chunks and index take in memory.
std::uint64_t bytes_held(const std::vector<std::string>& chunks, const std::vector<std::uint32_t>& ends) {
  std::uint64_t n = chunks.capacity() * sizeof(std::string) + ends.capacity() * sizeof(std::uint32_t);
  for (const auto& c : chunks)
    if (c.capacity() > 15) n += c.capacity() + 1;  // beyond the string's own buffer
  return n;
}

}  // namespace

SerializedMapOutput::SerializedMapOutput(std::vector<std::string> chunks, std::vector<std::uint32_t> ends,
                                         std::uint64_t records, std::unique_ptr<MemoryReservation> memory,
                                         std::unique_ptr<MemoryReservation> output_memory)
    : chunks_(std::move(chunks)),
      ends_(std::move(ends)),
      records_(records),
      memory_(std::move(memory)),
      output_memory_(std::move(output_memory)) {}

std::span<const std::string> SerializedMapOutput::chunks_of(std::size_t r) const {
  if (r >= ends_.size())
    throw error(fmt::format("bucket {} of a map output with {} buckets", r, ends_.size()));
  std::size_t begin = r == 0 ? 0 : ends_[r - 1];
  return std::span<const std::string>(chunks_).subspan(begin, ends_[r] - begin);
}

std::uint64_t SerializedMapOutput::bucket_size(std::size_t r) const {
  std::uint64_t n = 0;
  for (const auto& c : chunks_of(r)) n += c.size();
  return n;
}

void SerializedMapOutput::read_bucket(std::size_t r, const PieceSink& sink) const {
  for (const auto& c : chunks_of(r)) sink(c);
}

std::uint64_t SerializedMapOutput::buffer_bytes() const noexcept { return bytes_held(chunks_, ends_); }

std::shared_ptr<const MapOutput> SerializedMapOutput::to_disk(const std::string& dir) const {
  auto file = std::make_unique<SpillFile>(dir, kStoredAsIs);
  std::vector<std::vector<std::uint64_t>> blocks(ends_.size());
  std::vector<std::uint64_t> sizes(ends_.size());
  for (std::size_t b = 0; b < ends_.size(); ++b) {
    // Chunks are gathered into blocks of about kSpillBlockBytes: a reader holds one at a time.
    std::string block;
    auto put = [&] {
      if (block.empty()) return;
      blocks[b].push_back(file->size());
      file->append(block);
      block.clear();
    };
    for (const auto& c : chunks_of(b)) {
      sizes[b] += c.size();
      if (block.size() + c.size() > kSpillBlockBytes) put();
      block += c;
    }
    put();
  }
  return std::make_shared<SpilledMapOutput>(std::move(file), std::move(blocks), std::move(sizes), records_);
}

SpilledMapOutput::SpilledMapOutput(std::unique_ptr<SpillFile> file, std::vector<std::vector<std::uint64_t>> blocks,
                                   std::vector<std::uint64_t> sizes, std::uint64_t records)
    : file_(std::move(file)), blocks_(std::move(blocks)), sizes_(std::move(sizes)), records_(records) {
  file_->end_writing();  // kept for the output's life: without the megabyte append() reuses
}

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
  std::string& chunk = k.sealed.emplace_back();
  append_chunk(chunk, k.raw.view(), codec_);
  k.size += chunk.size();
  k.sealed_bytes += chunk.capacity() + sizeof(std::string);
  raw_bytes_ += k.raw.size();
  k.raw.clear();
}

void MapOutputBuilder::check_memory() {
  std::uint64_t bytes = 0;
  for (const auto& k : buckets_) bytes += k.raw.capacity() + k.sealed_bytes;
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
  std::string block;
  for (std::size_t b = 0; b < buckets_.size(); ++b) {
    Bucket& k = buckets_[b];
    seal(b);
    if (k.sealed.empty()) continue;
    for (const auto& c : k.sealed) block += c;
    blocks_[b].push_back(file_->size());
    file_->append(block);
    block.clear();
    k.sealed = {};
    k.sealed_bytes = 0;
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
  std::size_t count = 0;
  for (std::size_t b = 0; b < buckets_.size(); ++b) {
    seal(b);
    count += buckets_[b].sealed.size();
  }
  if (count > UINT32_MAX) throw error(fmt::format("a map output of {} chunks: more than a bucket index holds", count));
  // The chunks move, not their bytes.
  std::vector<std::string> chunks;
  chunks.reserve(count);
  std::vector<std::uint32_t> ends(buckets_.size());
  std::uint64_t total = 0;
  for (std::size_t b = 0; b < buckets_.size(); ++b) {
    total += buckets_[b].size;
    for (auto& c : buckets_[b].sealed) chunks.push_back(std::move(c));
    buckets_[b] = Bucket();
    ends[b] = static_cast<std::uint32_t>(chunks.size());
  }
  tc_.add_counter("shuffle.write.bytes", total);
  tc_.add_counter("shuffle.write.raw_bytes", raw_bytes_);
  std::uint64_t held = bytes_held(chunks, ends);
  memory_->reset();
  memory_->cover(held);  // held while the output lives (it may exceed the budget by a floor)
  output_memory_->reset();
  output_memory_->cover(held);
  return std::make_shared<SerializedMapOutput>(std::move(chunks), std::move(ends), records_, std::move(memory_),
                                               std::move(output_memory_));
}

}  // namespace spate::detail
